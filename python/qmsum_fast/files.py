"""Writing output files so that nothing a user already has is lost.

The policy, the same in every command that writes files:

- An output file that already exists is refused, with one line naming it,
  unless ``--overwrite`` is given (``generate`` also takes ``--resume`` to
  continue its run file).
- Every file is written to a temporary file in the same folder and renamed
  into place only once it is complete, so a command that fails or is killed
  leaves the old file as it was (or no file at all). Missing parent folders
  are created.
- Anything the operating system refuses (a folder in the way, no permission,
  a full disk) is one :class:`~qmsum_fast.errors.InputError` naming the path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import InputError

OVERWRITE_HINT = "pass --overwrite to replace it"


def write_error(path: Path | str, exc: OSError) -> InputError:
    """The one-line error for an output the operating system refused."""
    return InputError(f"{path}: cannot write: {exc.strerror or exc}")


def check_output(path: Path | str, overwrite: bool, hint: str = OVERWRITE_HINT) -> Path:
    """``path`` as a Path, refused when it exists (unless ``overwrite``) or
    when it or its folder cannot be a file. Nothing is created."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists: {hint}")
    folder = _existing_ancestor(path.parent)
    if not folder.is_dir():
        raise InputError(f"{path}: cannot write: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write: no permission to write in {folder}")
    return path


def check_outputs(paths: list[Path], overwrite: bool) -> list[Path]:
    """:func:`check_output` for several files written together (all refused
    before any is written)."""
    return [check_output(path, overwrite) for path in paths]


def make_folder(folder: Path | str) -> Path:
    """``folder`` and its parents, created when missing."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{folder}: cannot create the folder: a file is in the way") from None
    except OSError as exc:
        raise InputError(f"{folder}: cannot create the folder: {exc.strerror or exc}") from None
    return folder


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """A handle on a temporary file beside ``path``; on a clean exit it is
    flushed, synced and renamed over ``path``, otherwise removed."""
    path = Path(path)
    make_folder(path.parent)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_error(path, exc) from None
    done = False
    try:
        with os.fdopen(descriptor, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _default_mode())
        os.replace(temporary, path)
        done = True
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def atomic_write(path: Path | str, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Writes ``data`` to ``path`` through :func:`atomic_open`."""
    if isinstance(data, bytes):
        with atomic_open(path, "wb") as handle:
            handle.write(data)
    else:
        with atomic_open(path, "w", encoding=encoding, newline="") as handle:
            handle.write(data)
    return Path(path)


def _existing_ancestor(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _default_mode(folder: bool = False) -> int:
    """The permissions a plain ``open`` or ``mkdir`` would give (mkstemp and
    mkdtemp make them private)."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if folder else 0o666) & ~mask


def publish_folder(staging: Path, out: Path) -> None:
    """Renames a complete ``staging`` folder (made by ``tempfile.mkdtemp`` beside
    ``out``) into place, with the permissions of a plain ``mkdir``; ``out`` may
    exist only as an empty folder."""
    try:
        os.chmod(staging, _default_mode(folder=True))
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except OSError as exc:
        raise write_error(out, exc) from None
