"""qmsum-fast: exact, fast tools for query-based meeting summarization (QMSum).

This is the public API; the compiled ``_core`` module is private.
"""

from ._core import __version__

# baselines and locator
from .baselines import BASELINES, make_predictor, oracle_batch

# generation
from .chunk import Chunk, chunk_turn_counts, chunk_turns

# data loaders and preprocessing
from .data import Example, Turn, load_examples, plain_transcript
from .errors import InputError
from .gen.presets import PRESETS, Settings, resolve_settings
from .locate import evaluate_locator, locate_turns
from .preprocess import Prepared, prepare

# rouge
from .rouge import AggregateScore, BootstrapAggregator, RougeScorer, Score

# analyze (stats)
from .stats import TokenCounter, count_prompt_tokens, length_summary
from .templates import Template, load_template

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
