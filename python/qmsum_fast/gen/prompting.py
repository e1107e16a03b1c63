"""Prompts cut to a token budget.

A prompt is ``prefix + transcript + suffix`` (see :mod:`qmsum_fast.templates`).
When it would exceed the budget, the transcript's tail is cut, so the query and
instruction always survive. The budget counts the whole model input,
special tokens included, measured with the model's own tokenizer, and every
returned prompt is checked against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..templates import Template


@dataclass(frozen=True)
class Prompt:
    text: str
    n_tokens: int  # model input tokens, special tokens included
    truncated: bool


class PromptBuilder:
    """Renders prompts within ``budget`` tokens (None: no limit)."""

    def __init__(self, tokenizer: Any, template: Template, budget: int | None) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.budget = budget

    def count(self, text: str) -> int:
        """Model input tokens of ``text``, special tokens included."""
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def room(self, query: str) -> int | None:
        """Transcript tokens that fit beside this query's prefix and suffix."""
        if self.budget is None:
            return None
        prefix, suffix = self.template.split(query)
        overhead = self.count(prefix + suffix)
        room = self.budget - overhead
        if room < 1:
            raise InputError(
                f"--max-input-tokens {self.budget} leaves no room for the transcript: "
                f"the prompt without it already takes {overhead} tokens"
            )
        return room

    def build(self, query: str, transcript: str) -> Prompt:
        text = self.template.render(query, transcript)
        n_tokens = self.count(text)
        if self.budget is None or n_tokens <= self.budget:
            return Prompt(text, n_tokens, truncated=False)
        return self._truncated(query, transcript)

    def _truncated(self, query: str, transcript: str) -> Prompt:
        room = self.room(query)
        assert room is not None and self.budget is not None
        budget = self.budget
        cut = fit_prefix(
            self.tokenizer, transcript, room, lambda part: self.count(self.template.render(query, part)) - budget
        )
        text = self.template.render(query, cut)
        return Prompt(text, self.count(text), truncated=True)


def fit_prefix(tokenizer: Any, text: str, keep: int, excess: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` ending at a token boundary, at most ``keep``
    tokens, for which ``excess(prefix)`` (tokens over a budget) is not positive."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    keep = min(keep, len(offsets))
    while keep > 0:
        cut = text[: offsets[keep - 1][1]]
        over = excess(cut)
        if over <= 0:
            return cut
        # Tokens can merge across the cut; step back by the excess.
        keep -= max(1, over)
    return ""


def cut_to_tokens(tokenizer: Any, text: str, limit: int) -> tuple[str, bool]:
    """The longest prefix of ``text`` of at most ``limit`` tokens (no special tokens)."""
    count = lambda part: len(tokenizer(part, add_special_tokens=False)["input_ids"])
    if count(text) <= limit:
        return text, False
    return fit_prefix(tokenizer, text, limit, lambda part: count(part) - limit), True
