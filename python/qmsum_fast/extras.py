"""The optional dependencies (extras) a command needs, checked before it starts.

Generation with a model needs the ``gen`` extra (torch, transformers and
their kin); without it the command says which extra to install, in one line,
instead of ending in ``No module named 'torch'`` halfway through.
"""

from __future__ import annotations

import importlib.util

from .errors import InputError

GEN_INSTALL = 'pip install "qmsum-fast[gen]"'
# What an in-process model run imports; a served run only counts tokens (transformers).
LOCAL_MODULES = ("torch", "transformers", "huggingface_hub")
SERVED_MODULES = ("transformers",)


def require_gen(what: str, modules: tuple[str, ...] = LOCAL_MODULES) -> None:
    """Refuses ``what`` in one line when a module of the gen extra is missing."""
    for module in modules:
        if _missing(module):
            raise InputError(f"{what} needs the gen extra ({module} is not installed): {GEN_INSTALL}")


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a half-installed package; or one whose __spec__ is None
        return True
