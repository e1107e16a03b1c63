"""Prompts cut to a token budget.

A prompt is ``prefix + transcript + suffix`` (see :mod:`qmsum_fast.templates`).
When it would exceed the budget, the transcript's tail is cut, so the query and
instruction always survive. The budget counts the whole model input,
special tokens included, measured with the model's own tokenizer, and every
returned prompt is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..templates import BUILTIN, Template, load_template, parse_template


@dataclass(frozen=True)
class Prompt:
    text: str
    n_tokens: int  # model input tokens, special tokens included
    truncated: bool


def template_from(spec: str) -> Template:
    """A built-in name, a template file, or template text with placeholders."""
    if spec in BUILTIN or Path(spec).is_file() or "{" not in spec:
        return load_template(spec)
    return parse_template(spec, source="--template")


class PromptBuilder:
    """Renders prompts within ``budget`` tokens (None: no limit)."""

    def __init__(self, tokenizer: Any, template: Template, budget: int | None) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.budget = budget
        self.special_tokens = len(tokenizer("", add_special_tokens=True)["input_ids"])

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
        encoding = self.tokenizer(transcript, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoding["offset_mapping"]
        keep = min(room, len(offsets))
        while keep > 0:
            cut = transcript[: offsets[keep - 1][1]]
            text = self.template.render(query, cut)
            n_tokens = self.count(text)
            if n_tokens <= self.budget:
                return Prompt(text, n_tokens, truncated=True)
            # Tokens can merge across the cut; step back by the excess.
            keep -= max(1, n_tokens - self.budget)
        text = self.template.render(query, "")
        return Prompt(text, self.count(text), truncated=True)
