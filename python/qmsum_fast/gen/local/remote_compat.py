"""Remote code written for transformers 4, run under transformers 5.

A model folder's own ``modeling_*.py`` (``--trust-remote-code``; LongLLaMA's
``syzymon/long_llama_3b_v1_1`` was written for transformers 4.30) meets four
changes in transformers 5, three of them silent. Each is detected, fixed only
where it applies (this transformers behaves so and the code expects otherwise),
and named once on stderr:

1. ``config.rope_scaling`` is an alias of ``rope_parameters``, which
   transformers 5 fills with the default RoPE parameters, so code asserting
   ``rope_scaling is None`` refuses to build. The config the remote code sees
   answers None while its RoPE parameters are those defaults (the user set none).
2. Models are built on the meta device and non-persistent buffers (rotary
   ``inv_freq``, cos/sin tables) come back as uninitialised memory, which the
   remote ``_init_weights`` never refills. They are computed again by the
   modules' own ``__init__`` (the model built once more with its parameters on
   the meta device and its buffers on the CPU) and copied in where they differ.
3. ``generate`` keeps the cache under ``cache``; a transformers-4
   ``prepare_inputs_for_generation`` reads only ``past_key_values``, so the
   cache is dropped and every step reprocesses the whole prompt. It is handed
   the cache as ``past_key_values``; and no DynamicCache is made for it (which
   transformers 4.56 does too): it starts without a cache and keeps its own
   format, as transformers 4.30 let it.
4. ``generate`` passes full-length ``position_ids``, which a transformers-4
   ``prepare_inputs_for_generation`` takes as its own (it makes them from the
   attention mask); they are not passed to it.

The remote code is loaded once (:func:`qmsum_fast.gen.local.models._from_pretrained`
chooses the attention beforehand). A later load in the same process would get
the class transformers registered on the first, which lacks ``generate``; the
config then gets a class of its own, so the class comes from the code again.
A remote model that fails anyway, at load or at generate, is one
:class:`InputError` naming the model and the step.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InputError
from .load_errors import describe_error

# What transformers 5 passes prepare_inputs_for_generation that transformers 4 did not.
_NEW_GENERATE_ARGUMENTS = ("next_sequence_length", "is_first_iteration")


def is_remote_config(config, auto_class) -> bool:
    """Whether ``auto_class``, trusting remote code, builds this config's model from
    the folder's own code: whenever the config's ``auto_map`` names it (even once
    an earlier load registered that code for the config class)."""
    return auto_class.__name__ in (getattr(config, "auto_map", None) or {})


def where(exc: BaseException) -> str:
    """`` (file.py, line N)``: the innermost line of the folder's own code that
    the exception passed through (an assertion has no message of its own), or ""."""
    import traceback

    # transformers runs a folder's code from a copy in this package of its modules cache.
    from transformers.utils.hub import TRANSFORMERS_DYNAMIC_MODULE_NAME as package

    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if package in Path(frame.filename).parts]
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""


class RemoteCompat:
    """The fixes for one remote-code model: :meth:`before_load` on its config,
    :meth:`after_load` on the loaded model."""

    def __init__(self, path: str) -> None:
        self.path = path

    def say(self, fix: str) -> None:
        sys.stderr.write(f"qmsum-fast: remote code {self.path}: {fix}\n")

    def fail(self, step: str, exc: BaseException) -> InputError:
        return InputError(f"--model {self.path}: remote code fails at {step}: {describe_error(exc)}{where(exc)}")

    def before_load(self, config, auto_class) -> None:
        for fix in _config_for_remote_code(config, auto_class):
            self.say(fix)

    def after_load(self, model, dtype) -> Any:
        # transformers registers a class built from a folder's code for its auto class.
        if getattr(type(model), "_auto_class", None) is None:
            return model
        recomputed = self._recompute_buffers(model, dtype)
        if recomputed:
            self.say(
                f"non-persistent buffers recomputed by their modules' __init__ ({recomputed}; "
                "transformers 5 leaves them uninitialised)"
            )
        for fix in _adapt_generation_arguments(model):
            self.say(fix)
        self._name_generate_failures(model)
        return model

    def _recompute_buffers(self, model, dtype) -> int:
        try:
            return recompute_non_persistent_buffers(model, dtype)
        except Exception as exc:  # a buffer __init__ does not reproduce, or the __init__ itself failed
            raise self.fail("load (recomputing its non-persistent buffers)", exc) from None

    def _name_generate_failures(self, model) -> None:
        """Any generate failure but running out of memory (which the batcher
        handles) is the model's, on one line."""
        from .batching import is_out_of_memory

        generate = model.generate

        def guarded(*args, **kwargs):
            try:
                return generate(*args, **kwargs)
            except Exception as exc:
                if is_out_of_memory(exc):
                    raise
                raise self.fail("generate", exc) from None

        model.generate = guarded


def prepare(config, auto_class, path: str, trust_remote_code: bool) -> RemoteCompat | None:
    """The fixes for a model built from its folder's own code (applied to its
    config at once); None for any other model."""
    if not trust_remote_code or not is_remote_config(config, auto_class):
        return None
    compat = RemoteCompat(path)
    compat.before_load(config, auto_class)
    return compat


# --- 1. the config it is built from ------------------------------------------------------------


def _config_for_remote_code(config, auto_class) -> list[str]:
    """Gives ``config`` a class of its own for this load where needed; returns the fixes."""
    base = type(config)
    # Same name and module: transformers matches the config class to the model's by name.
    namespace: dict[str, Any] = {"__module__": base.__module__}
    fixes = []
    alias = getattr(base, "rope_scaling", None)
    if isinstance(alias, property) and config.rope_scaling is not None and _default_rope(config):
        namespace["rope_scaling"] = property(_rope_scaling_as_before, alias.fset)
        fixes.append("config.rope_scaling shown as None (transformers 5 fills it with the default RoPE parameters)")
    if _registered_earlier(config, auto_class):
        # transformers would build the class it registered on the first load, without generate.
        fixes.append("its model class taken from its code again (an earlier load in this process registered it)")
    if fixes:
        config.__class__ = type(base.__name__, (base,), namespace)
    return fixes


def _default_rope(config) -> bool:
    """Whether the RoPE parameters are only what transformers 5 fills in when none are set."""
    parameters = config.__dict__.get("rope_parameters")
    return (
        isinstance(parameters, dict)
        and set(parameters) <= {"rope_type", "rope_theta"}
        and parameters.get("rope_type", "default") == "default"
    )


def _rope_scaling_as_before(self):
    # transformers 4 kept rope_scaling as given: None unless the user set it.
    return None if _default_rope(self) else self.rope_parameters


def _registered_earlier(config, auto_class) -> bool:
    mapping = auto_class._model_mapping
    return type(config) in mapping and not mapping[type(config)].__module__.startswith("transformers.")


# --- 2. non-persistent buffers -----------------------------------------------------------------


def recompute_non_persistent_buffers(model, dtype) -> int:
    """Copies into ``model`` the non-persistent buffers its modules' ``__init__``
    computes, where they differ; returns how many it copied.

    The model is built again with its parameters on the meta device (no memory,
    no initialisation) and its buffers on the CPU, under the default dtype
    transformers builds with, as transformers 4 built the model before loading
    the weights.
    """
    import torch
    from accelerate import init_empty_weights

    loaded = _non_persistent_buffers(model)
    if not loaded:
        return 0
    with init_empty_weights(include_buffers=False), _default_dtype(dtype):
        fresh = _non_persistent_buffers(type(model)(model.config))
    copied = 0
    for name, buffer in loaded.items():
        value = fresh.get(name)
        if value is None or value.device.type == "meta" or value.shape != buffer.shape or value.dtype != buffer.dtype:
            raise ValueError(f"its module's __init__ does not compute the buffer {name} on the CPU as loaded")
        if buffer.device.type == "meta" or not torch.equal(buffer, value.to(buffer.device)):
            owner, _, leaf = name.rpartition(".")
            model.get_submodule(owner)._buffers[leaf] = value.to(buffer.device)
            copied += 1
    return copied


def _non_persistent_buffers(model) -> dict:
    return {
        f"{prefix}.{name}" if prefix else name: buffer
        for prefix, module in model.named_modules()
        for name, buffer in module._buffers.items()
        if buffer is not None and name in module._non_persistent_buffers_set
    }


@contextlib.contextmanager
def _default_dtype(dtype):
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype if dtype is not None and dtype.is_floating_point else previous)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


# --- 3, 4. generate's arguments ----------------------------------------------------------------


def _adapt_generation_arguments(model) -> list[str]:
    """Hands a transformers-4 ``prepare_inputs_for_generation`` the arguments
    transformers 4 gave it; returns the fixes applied (each only where this
    transformers differs)."""
    if not _prepares_for_transformers_4(model):
        return []
    fixes = [_own_cache(model), _cache_as_past_key_values(), _no_position_ids(model)]
    applied = [fix for fix in fixes if fix is not None]
    if not any(fix.adapt for fix in applied):
        return [fix.name for fix in applied]
    original = model.prepare_inputs_for_generation

    def prepare_inputs_for_generation(input_ids, **kwargs):
        for name in _NEW_GENERATE_ARGUMENTS:
            kwargs.pop(name, None)
        for fix in applied:
            if fix.adapt is not None:
                fix.adapt(kwargs)
        return original(input_ids, **kwargs)

    model.prepare_inputs_for_generation = prepare_inputs_for_generation
    return [fix.name for fix in applied]


def _prepares_for_transformers_4(model) -> bool:
    """An own ``prepare_inputs_for_generation`` that takes the cache as ``past_key_values`` only."""
    from transformers import GenerationMixin

    own = type(model).prepare_inputs_for_generation
    parameters = inspect.signature(own).parameters
    return (
        own is not GenerationMixin.prepare_inputs_for_generation
        and "past_key_values" in parameters
        and "cache" not in parameters
    )


@dataclass(frozen=True)
class _ArgumentFix:
    name: str
    adapt: Callable[[dict], None] | None = None  # changes generate's keyword arguments in place


def _own_cache(model) -> _ArgumentFix | None:
    """transformers 4.56 and 5 make a DynamicCache for the first step, which
    transformers-4 code takes for its own format (LongLLaMA: per-layer tuples)."""
    supports = getattr(model, "_supports_default_dynamic_cache", None)
    if supports is None or not supports():
        return None
    model._supports_default_dynamic_cache = lambda: False
    return _ArgumentFix("no DynamicCache made for it (it starts without a cache and returns its own)")


def _cache_as_past_key_values() -> _ArgumentFix | None:
    """transformers 5 hands generate's cache over as ``cache``."""
    from transformers import GenerationMixin

    if "cache" not in inspect.signature(GenerationMixin.prepare_inputs_for_generation).parameters:
        return None

    def adapt(kwargs: dict) -> None:
        kwargs["past_key_values"] = kwargs.pop("cache", None)

    return _ArgumentFix(
        "the cache passed as past_key_values (its prepare_inputs_for_generation does not read cache)", adapt
    )


def _no_position_ids(model) -> _ArgumentFix | None:
    """transformers 5 puts position ids among generate's arguments, for a forward that takes them."""
    from transformers import GenerationMixin

    if not hasattr(GenerationMixin, "_prepare_position_ids_for_generation"):
        return None
    if "position_ids" not in inspect.signature(model.forward).parameters:
        return None

    def adapt(kwargs: dict) -> None:
        kwargs.pop("position_ids", None)

    return _ArgumentFix(
        "position_ids left to its prepare_inputs_for_generation (transformers 5 passes full-length ones)", adapt
    )
