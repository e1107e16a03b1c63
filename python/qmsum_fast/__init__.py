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
from .rouge import AggregateScore, BootstrapAggregator, RougeScorer, Score

# data loaders and preprocessing
from .data import load_examples, plain_transcript
from .preprocess import Prepared, prepare

# generation
from .chunk import Chunk, chunk_turn_counts, chunk_turns
from .gen.presets import PRESETS, Settings, resolve_settings

# baselines and locator
from .baselines import BASELINES, make_predictor, oracle_batch
from .locate import evaluate_locator, locate_turns

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
    "AggregateScore",
    "BootstrapAggregator",
    "RougeScorer",
    "Score",

    # data loaders and preprocessing
    "load_examples",
    "plain_transcript",
    "Prepared",
    "prepare",

    # generation
    "Chunk",
    "PRESETS",
    "Settings",
    "chunk_turn_counts",
    "chunk_turns",
    "resolve_settings",
    # baselines and locator
    "BASELINES",
    "evaluate_locator",
    "locate_turns",
    "make_predictor",
    "oracle_batch",
]
