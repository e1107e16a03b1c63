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
- No output may be one of the command's inputs or another of its outputs
  (compared by real path, and by :func:`os.path.samefile` so that symbolic and
  hard links count), even with ``--overwrite`` (:func:`check_distinct`).
- Only regular files are replaced: a folder, device node, FIFO or socket (or a
  link to one) is refused, even with ``--overwrite``; an output that is a
  symbolic link stays one, and the file it points to is written.
- Temporary files are named ``.NAME.qmsum-fast-<random>.tmp`` beside the
  output: no user's file is ever taken for one of ours.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import InputError

OVERWRITE_HINT = "pass --overwrite to replace it"
# In the names of the files this package makes beside an output (temporary
# files, a run's partial file, its lock): a user's own file never has it.
MARK = "qmsum-fast"


def write_error(path: Path | str, exc: OSError) -> InputError:
    """The one-line error for an output the operating system refused."""
    return InputError(f"{path}: cannot write: {exc.strerror or exc}")


def check_output(path: Path | str, overwrite: bool, hint: str = OVERWRITE_HINT) -> Path:
    """``path`` as a Path, refused when it exists (unless ``overwrite``) or
    when it or its folder cannot be a file. Nothing is created."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    refuse_special(path)
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists: {hint}")
    folder = _existing_ancestor(path.parent)
    if not folder.is_dir():
        raise InputError(f"{path}: cannot write: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write: no permission to write in {folder}")
    return path


def refuse_special(path: Path) -> None:
    """Refuses ``path`` when it (or what a link there points to) exists and is
    not a regular file: a device node, FIFO or socket is never replaced."""
    for follow in (False, True):
        try:
            mode = os.stat(path, follow_symlinks=follow).st_mode
        except OSError:
            return  # nothing there (or a dangling link): nothing to protect
        if not follow and stat.S_ISLNK(mode):
            continue
        if not stat.S_ISREG(mode):
            raise InputError(f"{path}: is {_kind(mode)}, not a regular file: refusing to replace it")


def _kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


Labelled = Iterable[tuple[str, "Path | str | None"]]


def check_distinct(outputs: Labelled, inputs: Labelled = ()) -> None:
    """Refuses an output that is one of the command's inputs or another of its
    outputs, even with ``--overwrite``: the same real path, or the same file
    through a symbolic or hard link. An output inside an input folder that
    already exists (a file the command may read) is refused too. Each pair is
    ``(what names it, path)``, e.g. ``("--csv", path)``; None is skipped."""
    named_outputs = [(label, Path(path)) for label, path in outputs if path is not None]
    # An input that does not exist cannot be destroyed (and may be a hub id or a preset's name).
    named_inputs = [(label, Path(path)) for label, path in inputs if path is not None and os.path.lexists(path)]
    for index, (label, path) in enumerate(named_outputs):
        for other_label, other in named_outputs[:index]:
            if _same_file(path, other):
                raise InputError(f"{label} {path} and {other_label} {other} name the same file")
        for input_label, source in named_inputs:
            if _same_file(path, source):
                raise InputError(f"{label} {path} is also the input {input_label} {source}: it would destroy it")
            if source.is_dir() and path.exists() and _inside(path, source):
                raise InputError(
                    f"{label} {path} is inside the input folder {input_label} {source}: it would replace a file "
                    "the command reads"
                )


# The files read so far by the command running (set by the command line for
# each command): a safety net under check_distinct for inputs a command finds
# only as it runs (the data a run's header names, the files of a data folder).
_READ: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar("read", default=None)


@contextlib.contextmanager
def tracking_inputs() -> Iterator[None]:
    """Within the block, :func:`note_input` remembers the files read and
    :func:`atomic_open` refuses to replace any of them."""
    token = _READ.set([])
    try:
        yield
    finally:
        _READ.reset(token)


def note_input(path: Path | str) -> None:
    """Remembers that the running command reads ``path`` (see :func:`tracking_inputs`)."""
    read = _READ.get()
    if read is not None:
        read.append(Path(path))


def refuse_input(path: Path) -> None:
    """Refuses to replace a file the running command has read."""
    for source in _READ.get() or ():
        if _same_file(path, source):
            raise InputError(f"{path}: is also an input of this command ({source}): refusing to replace it")


def _same_file(one: Path, two: Path) -> bool:
    if os.path.realpath(one) == os.path.realpath(two):
        return True
    try:
        return os.path.samefile(one, two)
    except OSError:
        return False  # one of them does not exist (yet)


def _inside(path: Path, folder: Path) -> bool:
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real.startswith(root.rstrip(os.sep) + os.sep)


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
def atomic_open(path: Path | str, mode: str = "w", rewrites: bool = False, **kwargs: Any) -> Iterator[IO[Any]]:
    """A handle on a temporary file beside ``path``; on a clean exit it is
    flushed, synced and renamed over ``path``, otherwise removed. A file the
    command has read is never replaced, unless ``rewrites`` (the file is
    rewritten from its own content, as a finished run is)."""
    path = Path(path)
    refuse_special(path)
    if not rewrites:
        refuse_input(path)
    if path.is_symlink():  # a link is not replaced: the file it points to is written, as `>` would
        path = Path(os.path.realpath(path))
    make_folder(path.parent)
    done = False
    # The temporary file's name is known here before the file exists, so the
    # cleanup below covers a Ctrl-C at any moment: nothing is left behind.
    pending: list[Path] = []
    try:
        descriptor = _create_temporary(path, pending)
        with os.fdopen(descriptor, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(pending[0], _default_mode())
        os.replace(pending[0], path)
        done = True
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if not done:
            for temporary in pending:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def temporary_name(path: Path) -> Path:
    """A fresh name beside ``path`` that no user's file has."""
    return path.with_name(f".{path.name}.{MARK}-{os.urandom(6).hex()}.tmp")


def _create_temporary(path: Path, pending: list[Path]) -> int:
    """Creates a new private temporary file beside ``path`` and returns its
    descriptor; its name is in ``pending`` from before it is created until the
    caller removes or renames it. Never opens a file that already exists."""
    for _ in range(100):
        candidate = temporary_name(path)
        pending.append(candidate)
        try:
            return os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pending.remove(candidate)  # someone else's: never ours to remove
        except OSError as exc:
            pending.remove(candidate)
            raise write_error(path, exc) from None
    raise InputError(f"{path}: cannot write: no free temporary name beside it")


@contextlib.contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A new private folder beside ``out`` (named as our temporary files are),
    removed at the end unless :func:`publish_folder` renamed it into place; its
    name is known before it exists, so a Ctrl-C at any moment leaves nothing."""
    make_folder(out.parent)
    pending: list[Path] = []
    try:
        for _ in range(100):
            candidate = out.with_name(f".{out.name}.{MARK}-{os.urandom(6).hex()}")
            pending.append(candidate)
            try:
                os.mkdir(candidate, 0o700)
                break
            except FileExistsError:
                pending.remove(candidate)  # someone else's
            except OSError as exc:
                pending.remove(candidate)
                raise write_error(out, exc) from None
        else:
            raise InputError(f"{out}: cannot write: no free temporary name beside it")
        yield pending[0]
    finally:
        import shutil  # only here: commands that write no folder need not import it

        for folder in pending:
            shutil.rmtree(folder, ignore_errors=True)


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
    """Renames a complete ``staging`` folder (made by :func:`staging_folder` beside
    ``out``) into place, with the permissions of a plain ``mkdir``; ``out`` may
    exist only as an empty folder."""
    try:
        os.chmod(staging, _default_mode(folder=True))
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except OSError as exc:
        raise write_error(out, exc) from None
