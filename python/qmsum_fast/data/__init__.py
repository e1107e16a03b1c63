"""The QMSum data: the data model, the readers of every input format, and run files.

- :mod:`.model`: :class:`Turn`, :class:`Example`, stable ids, domains;
- :mod:`.readers`: :func:`load_examples` and one reader per source format;
- :mod:`.jsonio`: JSON and JSONL reading with ``file:line`` errors, shared by
  the readers, prediction files and run files;
- :mod:`.runs`: the one reader of prediction and run files.
"""

from .model import (
    DOMAINS,
    QUERY_TYPES,
    SPLITS,
    Example,
    Turn,
    domain_of_meeting,
    example_id,
    indexes_by_meeting,
    meeting_of,
    parse_example_id,
    parse_turns,
    plain_transcript,
    render_turns,
    transcript_key,
    turn_text,
)
from .readers import SPLIT_ALIASES, bundled_root, check_filters, load_examples

__all__ = [
    "DOMAINS",
    "QUERY_TYPES",
    "SPLITS",
    "SPLIT_ALIASES",
    "Example",
    "Turn",
    "bundled_root",
    "check_filters",
    "domain_of_meeting",
    "example_id",
    "indexes_by_meeting",
    "load_examples",
    "meeting_of",
    "parse_example_id",
    "parse_turns",
    "plain_transcript",
    "render_turns",
    "transcript_key",
    "turn_text",
]
