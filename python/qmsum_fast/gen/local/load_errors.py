"""One line for an exception from reading a weights file or loading a model:
shared by model loading, adapters and remote-code compatibility."""

from __future__ import annotations

import pickle
import traceback


def corrupt_file_reason(exc: BaseException | None) -> str | None:
    """What is wrong with a weights file that safetensors or torch.load could not
    read; None for any other error."""
    if isinstance(exc, pickle.UnpicklingError):
        # torch.load's own message suggests weights_only=False, which runs arbitrary code: not our advice.
        return "not a readable PyTorch weights file (corrupt, truncated, or holding more than tensors)"
    if exc is not None and (type(exc).__module__ or "").startswith("safetensors"):
        return f"corrupt or truncated safetensors file ({first_line(exc)})"
    # torch.load signals a file cut short with EOFError, OSError or RuntimeError alike: where it was raised tells.
    if exc is not None and _raised_in(exc, "torch.serialization"):
        return f"corrupt or truncated PyTorch file ({first_line(exc)})"
    return None


def _raised_in(exc: BaseException, module: str) -> bool:
    return any(frame.f_globals.get("__name__") == module for frame, _ in traceback.walk_tb(exc.__traceback__))


def describe_error(exc: BaseException | None) -> str:
    """One line for an exception from reading a weights file or loading a model."""
    return corrupt_file_reason(exc) or first_line(exc)


def first_line(exc: BaseException | None) -> str:
    """The message's first line, or its whole text on one line when the first
    line only introduces the rest (``... from one of:``)."""
    text = str(exc).strip() if exc is not None else "unknown error"
    if not text:
        return type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines[0].endswith(":") and len(lines) > 1:
        return " ".join(lines)[:400]
    return lines[0]
