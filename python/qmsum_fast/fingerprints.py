"""Fingerprints of the files a run reads: what ``generate --resume`` compares
to know that a run file holds one model's outputs (and what a judge records).

A file up to :data:`SMALL_FILE` (configs, tokenizers) is hashed whole. A
larger one (weights) would take seconds to hash on every start, so its
fingerprint is its size, its modification and status-change times in
nanoseconds and a hash of :data:`SAMPLES` blocks spread evenly over it (the
first and the last among them): about 1 MiB read per file, however large. Any
write to a file moves its status-change time (``st_ctime``), which no program
can set back (setting the modification time back moves it too), so a changed
byte anywhere is caught even where the sampled blocks miss it. The price is
that a copy of a folder (even ``cp -p``, ``rsync -a``), ``chmod`` or a new hard
link also counts as a change.

A folder's fingerprint covers every file under it (nested folders included,
hidden ones such as ``.git`` left out) by relative path, and, for a Hugging
Face cache snapshot (``.../snapshots/<commit>/``), the commit. A hub id found
in the local cache is fingerprinted as the snapshot its ``main`` ref names.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .errors import InputError

# Files up to this size are hashed whole; larger ones by sampled blocks.
SMALL_FILE = 16 * 2**20
SAMPLES = 16
SAMPLE_BYTES = 64 * 2**10
# A hub cache snapshot folder: models--owner--name/snapshots/<commit>.
_COMMIT = re.compile(r"[0-9a-f]{40}")


def file_fingerprint(path: Path) -> dict:
    """Size and a whole-file hash of a small file; size, times and a hash of
    sampled blocks of a large one."""
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if status.st_size <= SMALL_FILE:
                return {"size": status.st_size, "blake2b": _digest(handle.read())}
            return {
                "size": status.st_size,
                "mtime_ns": status.st_mtime_ns,
                "ctime_ns": status.st_ctime_ns,
                "sampled_blake2b": _sampled_digest(handle, status.st_size),
            }
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _sampled_digest(handle, size: int) -> str:
    """A hash of SAMPLES blocks at evenly spaced offsets, the first block at 0
    and the last ending at the file's end."""
    digest = hashlib.blake2b(digest_size=16)
    last = max(size - SAMPLE_BYTES, 0)
    for index in range(SAMPLES):
        handle.seek(last * index // (SAMPLES - 1))
        digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def folder_fingerprint(path: str) -> dict | None:
    """The fingerprint of a model or adapter folder (or of a hub id's cached
    snapshot); None for a hub id not in the local cache."""
    folder = Path(path)
    if not folder.is_dir():
        folder = hub_snapshot(path) or folder
        if not folder.is_dir():
            return None
    fingerprint: dict = {}
    commit = snapshot_commit(folder)
    if commit is not None:
        fingerprint["snapshot"] = commit
    fingerprint["files"] = {name: file_fingerprint(item) for name, item in _files(folder)}
    return fingerprint


def path_fingerprint(path: str) -> dict:
    """A file's fingerprint, or a folder's."""
    if Path(path).is_dir():
        return folder_fingerprint(path) or {}
    return file_fingerprint(Path(path))


def _files(folder: Path) -> list[tuple[str, Path]]:
    """(relative path, path) of the files under ``folder``, hidden names left out, sorted."""
    found = []
    for root, folders, names in os.walk(folder, followlinks=True):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in names:
            item = Path(root, name)
            if not name.startswith(".") and item.is_file():
                found.append((item.relative_to(folder).as_posix(), item))
    return sorted(found)


def snapshot_commit(folder: Path) -> str | None:
    """The commit of a hub cache snapshot folder (``.../snapshots/<commit>``)."""
    resolved = folder.resolve()
    if resolved.parent.name == "snapshots" and _COMMIT.fullmatch(resolved.name):
        return resolved.name
    return None


def hub_snapshot(repo_id: str) -> Path | None:
    """The local cache's snapshot of ``repo_id`` that its ``main`` ref names; never downloads."""
    if repo_id.count("/") > 1 or repo_id.startswith((".", "/", "~")):
        return None
    repo = hub_cache() / ("models--" + repo_id.replace("/", "--"))
    try:
        commit = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    snapshot = repo / "snapshots" / commit
    return snapshot if _COMMIT.fullmatch(commit) and snapshot.is_dir() else None


def hub_cache() -> Path:
    """The Hugging Face hub cache folder, as huggingface_hub finds it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface"
    return Path(home) / "hub"


def data_fingerprint(data_path: str | None) -> str:
    """A hash of the data files' names and contents (the bundled data's with no path)."""
    from .data.readers import bundled_root

    root = Path(data_path) if data_path else bundled_root()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and _is_data(p))
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        digest.update(str(path.relative_to(root) if path != root else path.name).encode("utf-8", "surrogatepass"))
        digest.update(len(content).to_bytes(8, "little"))
        digest.update(content)
    return digest.hexdigest()


def _is_data(path: Path) -> bool:
    return path.name.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz"))
