"""What ``generate --resume`` pays to fingerprint a model folder (qmsum_fast.fingerprints).

Builds a folder of weight files: ``--sparse`` files of ``--size-gb`` each (made
with truncate and a write every 64 MiB, so most blocks are holes) and
``--real`` files of random bytes, plus a config. Times ``folder_fingerprint``
with the files' pages evicted from the page cache (posix_fadvise DONTNEED: the
first start after a reboot) and warm, best of ``--repeat``.

    python benches/bench_fingerprints.py --sparse 8 --size-gb 2 --real 1
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from qmsum_fast.fingerprints import folder_fingerprint

CHUNK = 64 * 2**20


def make_folder(root: Path, sparse: int, real: int, size: int) -> list[Path]:
    (root / "config.json").write_text('{"model_type": "llama"}')
    files = []
    for index in range(sparse):
        path = root / f"model-{index:05d}-sparse.safetensors"
        with open(path, "wb") as handle:
            handle.truncate(size)
            for offset in range(0, size - 4096, CHUNK):
                handle.seek(offset)
                handle.write(os.urandom(4096))
        files.append(path)
    for index in range(real):
        path = root / f"model-{index:05d}-real.safetensors"
        with open(path, "wb") as handle:
            for _ in range(size // CHUNK):
                handle.write(os.urandom(CHUNK))
            handle.flush()
            os.fsync(handle.fileno())
        files.append(path)
    return files


def evict(files: list[Path]) -> None:
    for path in files:
        with open(path, "rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def timed(folder: Path) -> float:
    started = time.perf_counter()
    folder_fingerprint(str(folder))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparse", type=int, default=8)
    parser.add_argument("--real", type=int, default=1)
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to build the folder (default: a temporary folder)")
    args = parser.parse_args()
    size = int(args.size_gb * 2**30)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        files = make_folder(root, args.sparse, args.real, size)
        total = sum(path.stat().st_size for path in files) / 2**30
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
        print(f"folder: {len(files)} weight files of {args.size_gb:g} GiB ({args.real} real), {total:.1f} GiB")
        cold = []
        for _ in range(args.repeat):
            evict(files)
            cold.append(timed(root))
        warm = [timed(root) for _ in range(args.repeat)]
        print(f"folder_fingerprint, pages evicted: best {min(cold) * 1e3:.1f} ms, worst {max(cold) * 1e3:.1f} ms")
        print(f"folder_fingerprint, warm:          best {min(warm) * 1e3:.1f} ms, worst {max(warm) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
