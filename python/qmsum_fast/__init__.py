"""qmsum-fast: exact, fast tools for query-based meeting summarization (QMSum).

This is the public API; the compiled ``_core`` module is private. Its names
are imported when first used (PEP 562), so ``import qmsum_fast`` and commands
such as ``analyze`` and ``score`` load only the modules they need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._core import __version__
from .errors import InputError

# Each public name -> the module that defines it.
_EXPORTS = {
    # baselines and locator
    "BASELINES": "baselines",
    "make_predictor": "baselines",
    "oracle_batch": "baselines",
    "evaluate_locator": "locate",
    "locate_turns": "locate",
    # generation
    "Chunk": "chunk",
    "chunk_turn_counts": "chunk",
    "chunk_turns": "chunk",
    "Request": "gen.config",
    "RunConfig": "gen.config",
    "Runtime": "gen.config",
    "build_config": "gen.config",
    "PRESETS": "gen.presets",
    # data loaders and preprocessing
    "Example": "data",
    "Turn": "data",
    "load_examples": "data",
    "plain_transcript": "data",
    "Prepared": "preprocess",
    "prepare": "preprocess",
    # rouge
    "AggregateScore": "rouge",
    "BootstrapAggregator": "rouge",
    "RougeScorer": "rouge",
    "Score": "rouge",
    # analyze (stats)
    "TokenCounter": "stats",
    "count_prompt_tokens": "stats",
    "length_summary": "stats",
    "Template": "templates",
    "load_template": "templates",
}

__all__ = [
    "BASELINES",
    "PRESETS",
    "AggregateScore",
    "BootstrapAggregator",
    "Chunk",
    "Example",
    "InputError",
    "Prepared",
    "Request",
    "RougeScorer",
    "RunConfig",
    "Runtime",
    "Score",
    "Template",
    "TokenCounter",
    "Turn",
    "__version__",
    "build_config",
    "chunk_turn_counts",
    "chunk_turns",
    "count_prompt_tokens",
    "evaluate_locator",
    "length_summary",
    "load_examples",
    "load_template",
    "locate_turns",
    "make_predictor",
    "oracle_batch",
    "plain_transcript",
    "prepare",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later uses find it without this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # what type checkers and editors see; the hook above gives the same at run time
    from .baselines import BASELINES, make_predictor, oracle_batch
    from .chunk import Chunk, chunk_turn_counts, chunk_turns
    from .data import Example, Turn, load_examples, plain_transcript
    from .gen.config import Request, RunConfig, Runtime, build_config
    from .gen.presets import PRESETS
    from .locate import evaluate_locator, locate_turns
    from .preprocess import Prepared, prepare
    from .rouge import AggregateScore, BootstrapAggregator, RougeScorer, Score
    from .stats import TokenCounter, count_prompt_tokens, length_summary
    from .templates import Template, load_template
