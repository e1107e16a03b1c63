"""qmsum-fast: exact, fast tools for query-based meeting summarization (QMSum).

This is the public API; the compiled ``_core`` module is private.
"""

from ._core import __version__
from .data import Example, Turn
from .errors import InputError
from .templates import Template, load_template

# analyze (stats)
from .stats import TokenCounter, count_prompt_tokens, length_summary

# rouge

# data loaders and preprocessing

# generation
from .chunk import Chunk, chunk_turn_counts, chunk_turns
from .presets import PRESETS, Settings, resolve_settings

# baselines and locator

__all__ = [
    "__version__",
    "Example",
    "InputError",
    "Template",
    "Turn",
    "load_template",
    # analyze (stats)
    "TokenCounter",
    "count_prompt_tokens",
    "length_summary",
    # rouge

    # data loaders and preprocessing

    # generation
    "Chunk",
    "PRESETS",
    "Settings",
    "chunk_turn_counts",
    "chunk_turns",
    "resolve_settings",
    # baselines and locator

]
