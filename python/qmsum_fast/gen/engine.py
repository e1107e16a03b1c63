"""What the run loop and the strategies ask of an engine, on the shared floor.

An engine turns the examples of a run into finished examples: the in-process
model (:mod:`.local`), a model behind OpenAI-compatible servers
(:mod:`.served`), or an extractive baseline (:mod:`.extractive`). The run
loop (:mod:`.run`) knows them only as :class:`Engine`; the strategies know
the prompt runner under them only as a :class:`Batcher`, whose results are
:class:`Result` and whose outputs are :class:`Generated`. Every engine hands
the run loop one type, :class:`Finished`, whose ``extra`` holds the record
fields only some engines have (prompt-token accounting, a server's usage).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..data import Example
from .inputs import Source
from .progress import Progress


class Generated(Protocol):
    """One prompt's generated text and how many tokens it took."""

    @property
    def text(self) -> str: ...

    @property
    def new_tokens(self) -> int: ...


@dataclass(frozen=True)
class Result:
    index: int  # position in the input list
    output: Generated | None  # None when it failed
    seconds: float  # this prompt's share of its batch's wall time
    error: str | None = None


OnResult = Callable[[Result], None]


class Batcher(Protocol):
    """Runs prompts (texts with their token counts) and hands each result to
    ``on_result`` as it is ready, by its index in ``texts``."""

    def run(self, texts: Sequence[str], lengths: Sequence[int], on_result: OnResult) -> None: ...


# A batcher's run with a sampling seed per prompt, each prompt alone (in-process sampling).
SeededRun = Callable[[Sequence[str], Sequence[int], Sequence[int], OnResult], None]


@dataclass(frozen=True)
class Finished:
    """One example done: its prediction and what computing it took."""

    source: Source
    prediction: str
    n_input_tokens: int
    truncated: bool
    seconds: float
    error: str | None = None
    new_tokens: int = 0
    # Record fields of this engine or strategy: prompt-token accounting, a server's usage and finish_reason.
    extra: Mapping[str, Any] = field(default_factory=dict)


Emit = Callable[[Finished], None]


class Engine(Protocol):
    """What the run loop runs: the sources it builds from examples, the check
    made before anything is written, and the run itself."""

    @property
    def uses_torch(self) -> bool:
        """Whether processes of a data-parallel launch meet at torch's barrier."""
        ...

    def sources(self, examples: Sequence[Example]) -> list[Source]: ...

    def check(self, sources: Sequence[Source]) -> None: ...

    def watch(self, progress: Progress) -> None:
        """Lets the engine add its own figures to the progress line."""
        ...

    def run(self, sources: Sequence[Source], emit: Emit) -> None: ...


def example_seed(run_seed: int, example_id: str) -> int:
    """A stable per-example (or per-prompt key) sampling seed: the same whatever
    the grouping, order or resume."""
    digest = hashlib.blake2b(f"{run_seed}\0{example_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % 2**63
