"""Exact token statistics of QMSum prompts and references.

Counting runs in the Rust core (``rust/src/count.rs``), in parallel, and each
distinct transcript is tokenized once where the tokenizer allows it exactly;
the length statistics come from ``rust/src/stats.rs``. Bad input (an unreadable
tokenizer, a negative count) raises :class:`~qmsum_fast.errors.InputError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import _core
from .errors import InputError
from .templates import Template

WINDOWS = (2048, 4096, 8192, 16384, 32768, 81920, 131072)
BUNDLED_TOKENIZER = Path(__file__).parent / "_data" / "tokenizers" / "gpt-neox-20b" / "tokenizer.json"


class TokenCounter:
    """Exact token counts, equal to HF tokenizers ``encode(..., add_special_tokens=False)``."""

    def __init__(self, core: _core.TokenCounter, source: str) -> None:
        self._core = core
        self.source = source

    @classmethod
    def load(cls, spec: str | os.PathLike[str] | None = None) -> TokenCounter:
        """A tokenizer.json path, a folder holding one, a hub name in the local HF
        cache, or None for the bundled gpt-neox-20b."""
        path = resolve_tokenizer(spec)
        return cls(_core.TokenCounter(str(path)), str(path))

    @classmethod
    def from_json(cls, json: str, source: str = "tokenizer") -> TokenCounter:
        try:
            return cls(_core.TokenCounter.from_json(json), source)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None

    @property
    def splits_exactly(self) -> bool:
        return self._core.splits_exactly

    def count(self, text: str) -> int:
        return self._core.count_batch([text])[0]

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return self._core.count_batch(list(texts))


def resolve_tokenizer(spec: str | os.PathLike[str] | None) -> Path:
    if spec is None:
        return BUNDLED_TOKENIZER
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        candidate = path / "tokenizer.json"
        if candidate.is_file():
            return candidate
        raise InputError(f"tokenizer folder {path} holds no tokenizer.json")
    cached = _from_hf_cache(str(spec))
    if cached is not None:
        return cached
    raise InputError(
        f"tokenizer {spec!r} not found: not a file, not a folder with tokenizer.json, "
        "and not in the local Hugging Face cache"
    )


def _from_hf_cache(name: str) -> Path | None:
    """The newest cached snapshot of a hub tokenizer; never downloads."""
    if "/" not in name:
        return None
    from .fingerprints import hub_cache

    snapshots = hub_cache() / ("models--" + name.replace("/", "--")) / "snapshots"
    found = sorted(snapshots.glob("*/tokenizer.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None


def count_prompt_tokens(
    counter: TokenCounter,
    template: Template,
    queries: Sequence[str],
    transcripts: Sequence[str],
) -> list[int]:
    """Token counts of ``template.render(query, transcript)`` for each pair.

    Equal transcripts are tokenized once (most QMSum meetings have several queries).
    """
    return counter._core.count_prompts(*_prompt_parts(template, queries, transcripts))


def _prompt_parts(
    template: Template, queries: Sequence[str], transcripts: Sequence[str]
) -> tuple[list[str], list[tuple[str, int, str]]]:
    """The distinct transcripts, and each prompt as (prefix, transcript index, suffix)."""
    index: dict[str, int] = {}
    prompts = []
    for query, transcript in zip(queries, transcripts):
        prefix, suffix = template.split(query)
        prompts.append((prefix, index.setdefault(transcript, len(index)), suffix))
    return list(index), prompts


def common_prefix_tokens(
    counter: TokenCounter,
    template: Template,
    queries: Sequence[str],
    transcripts: Sequence[str],
    group_sizes: Sequence[int],
    counts: Sequence[int],
) -> list[int]:
    """For each run of ``group_sizes`` consecutive prompts ``template.render(query,
    transcript)``, the length of the longest common prefix of their token ids
    (``encode(..., add_special_tokens=False)``): what the group's prompts share
    when that prefix is computed once. Found on ids, not characters, so exact.
    ``counts`` are the prompts' counts (:func:`count_prompt_tokens`): a shared
    transcript is then not tokenized again."""
    transcript_texts, prompts = _prompt_parts(template, queries, transcripts)
    return counter._core.common_prefix_counts(transcript_texts, prompts, list(group_sizes), list(counts))


@dataclass(frozen=True)
class LengthSummary:
    count: int
    mean: float
    median: float
    p90: float
    p95: float
    min: int
    max: int

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def length_summary(lengths: Sequence[int]) -> LengthSummary | None:
    figures = _core.length_summary(list(lengths))
    if figures is None:
        return None
    return LengthSummary(
        count=int(figures["count"]),
        mean=figures["mean"],
        median=figures["median"],
        p90=figures["p90"],
        p95=figures["p95"],
        min=int(figures["min"]),
        max=int(figures["max"]),
    )


def fit_shares(lengths: Sequence[int], reserve: int, windows: Sequence[int] = WINDOWS) -> dict[int, float]:
    """Share of prompts whose length plus ``reserve`` fits each window."""
    return dict(zip(windows, _core.fit_shares(list(lengths), list(windows), reserve)))
