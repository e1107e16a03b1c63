"""The query locator: the turns of a meeting a query is about, within a token budget.

Turns are ranked in the Rust core (``rust/src/locate.rs``: BM25 by default, or
TF-IDF cosine), each turn's score smoothed with its neighbours' (``window``
turns on each side, weight 1/distance: QMSum's relevant spans are runs of
consecutive turns, most of which do not repeat the query's words), and taken
best first while they fit the budget; a turn that does not fit is skipped
and shorter, lower-ranked turns are tried. A turn
costs the exact token count of its transcript line ``"Speaker: content\\n"``
with the chosen tokenizer, so the located spans rendered as a transcript take
about ``budget`` tokens. Selected neighbours merge into inclusive spans.

``evaluate_locator`` measures turn-level recall and precision against the gold
``relevant_text_span`` of specific queries.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from . import _core
from .data import DOMAINS, Example, Turn, render_turns, transcript_key, turn_text
from .errors import InputError
from .stats import TokenCounter

METHODS = ("bm25", "tfidf")
# Turns on each side that lend a turn part of their score (rust/src/locate.rs).
DEFAULT_WINDOW = _core.DEFAULT_WINDOW


def turn_line(turn: Turn) -> str:
    """A turn's transcript line, with its newline."""
    return turn_text(turn) + "\n"


def turn_costs(turns: Sequence[Turn], counter: TokenCounter) -> list[int]:
    """Token count of each turn's transcript line (with its newline)."""
    return counter.count_batch([turn_line(t) for t in turns])


def locate_turns(
    example: Example,
    budget_tokens: int,
    counter: TokenCounter,
    method: str = "bm25",
    costs: Sequence[int] | None = None,
    window: int = DEFAULT_WINDOW,
) -> list[tuple[int, int]]:
    """Inclusive turn spans for ``example.query`` within ``budget_tokens``.

    A meeting with no turns, or a budget smaller than every turn, gives ``[]``.
    A query with no words raises :class:`InputError`. ``costs`` may pass
    precomputed :func:`turn_costs` (they are shared by a meeting's queries).
    """
    _check_method(method)
    if budget_tokens < 0:
        raise InputError(f"budget must not be negative, not {budget_tokens}")
    if window < 0:
        raise InputError(f"window must not be negative, not {window}")
    if not example.turns:
        return []
    if costs is None:
        costs = turn_costs(example.turns, counter)
    texts = [turn_text(t) for t in example.turns]
    try:
        spans = _core.locate_turns(texts, list(costs), example.query, budget_tokens, method, window)
    except InputError as exc:
        raise InputError(f"{example.id}: {exc}") from None
    return [(start, end) for start, end in spans]


def located_transcript(example: Example, spans: Sequence[tuple[int, int]]) -> str:
    """The transcript of the located turns, one line per turn, in order."""
    return render_turns([t for start, end in spans for t in example.turns[start : end + 1]])


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InputError(f"unknown locator method {method!r} (use one of {', '.join(METHODS)})")


@dataclass(frozen=True)
class LocatorScore:
    budget: int
    domain: str  # a domain or "all"
    queries: int
    recall: float  # mean over queries of |located ∩ gold| / |gold|
    precision: float  # mean over queries of |located ∩ gold| / |located| (0 when nothing located)
    located_turns: float  # mean number of located turns
    gold_turns: float  # mean number of gold turns

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def gold_turns(example: Example) -> set[int]:
    """The turns of the gold spans; spans outside the transcript raise InputError."""
    turns: set[int] = set()
    for start, end in example.spans:
        if not (0 <= start <= end < len(example.turns)):
            raise InputError(
                f"{example.id}: relevant_text_span [{start}, {end}] is outside the transcript "
                f"({len(example.turns)} turns)"
            )
        turns.update(range(start, end + 1))
    return turns


def evaluate_locator(
    examples: Sequence[Example],
    budgets: Sequence[int],
    counter: TokenCounter,
    method: str = "bm25",
    window: int = DEFAULT_WINDOW,
) -> list[LocatorScore]:
    """Turn-level recall and precision per budget and domain (and "all") over
    the examples that have gold spans (QMSum's specific queries)."""
    _check_method(method)
    specific = [e for e in examples if e.spans]
    if not specific:
        raise InputError("no examples with gold spans (relevant_text_span) to evaluate the locator on")
    costs_of: dict[Hashable, list[int]] = {}
    rows: dict[tuple[int, str], list[tuple[float, float, int, int]]] = {}
    for example in specific:
        gold = gold_turns(example)
        key = transcript_key(example)
        if key not in costs_of:
            costs_of[key] = turn_costs(example.turns, counter)
        for budget in budgets:
            spans = locate_turns(example, budget, counter, method, costs_of[key], window)
            located = {i for start, end in spans for i in range(start, end + 1)}
            hit = len(located & gold)
            row = (hit / len(gold), hit / len(located) if located else 0.0, len(located), len(gold))
            for domain in (example.domain, "all"):
                rows.setdefault((budget, domain), []).append(row)
    order = [d for d in DOMAINS if any((b, d) in rows for b in budgets)] + ["all"]
    return [
        _summarize(budget, domain, rows[budget, domain])
        for budget in budgets
        for domain in order
        if (budget, domain) in rows
    ]


def _summarize(budget: int, domain: str, rows: list[tuple[float, float, int, int]]) -> LocatorScore:
    n = len(rows)
    return LocatorScore(
        budget=budget,
        domain=domain,
        queries=n,
        recall=sum(r[0] for r in rows) / n,
        precision=sum(r[1] for r in rows) / n,
        located_turns=sum(r[2] for r in rows) / n,
        gold_turns=sum(r[3] for r in rows) / n,
    )
