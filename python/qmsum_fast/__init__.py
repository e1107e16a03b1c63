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
from .gen.config import Request, RunConfig, Runtime, build_config
from .gen.presets import PRESETS
from .locate import evaluate_locator, locate_turns
from .preprocess import Prepared, prepare

# rouge
from .rouge import AggregateScore, BootstrapAggregator, RougeScorer, Score

# analyze (stats)
from .stats import TokenCounter, count_prompt_tokens, length_summary
from .templates import Template, load_template

__all__ = [
    # baselines and locator
    "BASELINES",
    "PRESETS",
    # rouge
    "AggregateScore",
    "BootstrapAggregator",
    # generation
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
    # analyze (stats)
    "TokenCounter",
    "Turn",
    "__version__",
    "build_config",
    "chunk_turn_counts",
    "chunk_turns",
    "count_prompt_tokens",
    "evaluate_locator",
    "length_summary",
    # data loaders and preprocessing
    "load_examples",
    "load_template",
    "locate_turns",
    "make_predictor",
    "oracle_batch",
    "plain_transcript",
    "prepare",
]
