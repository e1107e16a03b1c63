"""A one-line progress bar on stderr: examples, generated tokens/s and ETA
(a served run adds its requests in flight, retries and requests/s)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


class Progress:
    def __init__(self, total: int, enabled: bool, label: str = "") -> None:
        self.total = total
        self.enabled = enabled
        self.label = label
        self.done = 0
        self.tokens = 0
        self.started = time.perf_counter()
        self.status: Callable[[], str] | None = None  # more to show after the ETA

    def refresh(self) -> None:
        """Redraws the line without counting anything (a served run, while it waits)."""
        if self.enabled:
            sys.stderr.write("\r" + self.line())
            sys.stderr.flush()

    def update(self, examples: int = 1, tokens: int = 0) -> None:
        self.done += examples
        self.tokens += tokens
        if self.enabled:
            sys.stderr.write("\r" + self.line())
            sys.stderr.flush()

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        eta_text = "?" if eta == float("inf") else _clock(eta)
        return (
            f"{self.label}[{bar}] {self.done}/{self.total} examples  "
            f"{self.tokens / elapsed:.1f} tok/s  ETA {eta_text}  "
            + (f"{self.status()}  " if self.status is not None else "")
        )

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
