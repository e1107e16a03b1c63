"""Token-length analysis of QMSum prompts and references, per split and domain.

The figures reproduce the original experiments' analysis (gpt-neox-20b, mean and
max input and summary lengths) for any tokenizer, template, split and domain,
and add how many examples fit common context windows, and how many prompt
tokens a run prefills with and without reusing each meeting's common token
prefix (the queries of a meeting share its transcript; a template that puts
the transcript before the query shares all of it, one that puts the query
first only its preamble).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .data import DOMAINS, SPLITS, Example, indexes_by_meeting, meeting_of
from .preprocess import Prepared
from .stats import WINDOWS, TokenCounter, common_prefix_tokens, count_prompt_tokens, fit_shares, length_summary
from .templates import Template

ALL = "all"


@dataclass(frozen=True)
class Counted:
    """Token counts of one example: its full prompt and each of its references."""

    example: Example
    input_tokens: int
    summary_tokens: tuple[int, ...]
    # Leading prompt tokens this example takes from its meeting's common token
    # prefix when that is computed once: 0 for the meeting's first prompt (it
    # computes the prefix), the prefix's length for the others.
    shared_tokens: int = 0


@dataclass(frozen=True)
class Group:
    split: str
    domain: str
    rows: tuple[Counted, ...]

    def figures(self, reserve: int, windows: Sequence[int] = WINDOWS) -> dict:
        inputs = [row.input_tokens for row in self.rows]
        summaries = [n for row in self.rows for n in row.summary_tokens]
        return {
            "split": self.split,
            "domain": self.domain,
            "pairs": len(self.rows),
            "input_tokens": _summary_dict(inputs),
            "summary_tokens": _summary_dict(summaries),
            "fits": {str(w): share for w, share in fit_shares(inputs, reserve, windows).items()},
            "prefill": self.prefill(),
        }

    def prefill(self) -> dict:
        """Prompt tokens a run computes without reuse and with each meeting's
        common token prefix computed once, and their ratio."""
        without = sum(row.input_tokens for row in self.rows)
        with_reuse = without - sum(row.shared_tokens for row in self.rows)
        return {
            "meetings": len({meeting_of(row.example) for row in self.rows}),
            "without_reuse": without,
            "with_reuse": with_reuse,
            "ratio": without / with_reuse if with_reuse else None,
        }


def count_examples(
    examples: Sequence[Example],
    prepared: Sequence[Prepared],
    counter: TokenCounter,
    template: Template,
) -> list[Counted]:
    """Counts every prompt and reference; shared transcripts are tokenized once."""
    inputs = count_prompt_tokens(counter, template, [p.query for p in prepared], [p.transcript for p in prepared])
    references = [ref for p in prepared for ref in p.references]
    reference_counts = iter(counter.count_batch(references))
    shared = _shared_tokens(examples, prepared, counter, template, inputs)
    return [
        Counted(example, n, tuple(next(reference_counts) for _ in p.references), s)
        for example, p, n, s in zip(examples, prepared, inputs, shared)
    ]


def _shared_tokens(
    examples: Sequence[Example],
    prepared: Sequence[Prepared],
    counter: TokenCounter,
    template: Template,
    inputs: Sequence[int],
) -> list[int]:
    """Each example's Counted.shared_tokens: its meeting's common token prefix,
    except for the meeting's first example in data order."""
    meetings = indexes_by_meeting(examples)
    order = [index for group in meetings for index in group]
    prefixes = common_prefix_tokens(
        counter,
        template,
        [prepared[i].query for i in order],
        [prepared[i].transcript for i in order],
        [len(group) for group in meetings],
        [inputs[i] for i in order],
    )
    shared = [0] * len(examples)
    for group, prefix in zip(meetings, prefixes):
        for index in group[1:]:
            shared[index] = prefix
    return shared


def group_rows(rows: Sequence[Counted]) -> list[Group]:
    """One group per split and domain present, a total per split, and an overall
    total when more than one split is present."""
    splits = _ordered({row.example.split for row in rows}, SPLITS)
    domains = _ordered({row.example.domain for row in rows}, DOMAINS)
    groups = []
    for split in splits:
        in_split = [row for row in rows if row.example.split == split]
        for domain in domains:
            selected = tuple(row for row in in_split if row.example.domain == domain)
            if selected:
                groups.append(Group(split, domain, selected))
        if len(domains) > 1:
            groups.append(Group(split, ALL, tuple(in_split)))
    if len(splits) > 1:
        for domain in domains:
            groups.append(Group(ALL, domain, tuple(r for r in rows if r.example.domain == domain)))
        if len(domains) > 1:
            groups.append(Group(ALL, ALL, tuple(rows)))
    return groups


def _ordered(present: set[str], order: Sequence[str]) -> list[str]:
    return [name for name in order if name in present] + sorted(present - set(order))


def _summary_dict(lengths: Sequence[int]) -> dict | None:
    summary = length_summary(lengths)
    return None if summary is None else summary.as_dict()
