#!/usr/bin/env python3
"""Checks the original experiments' models against their authors' code.

Usage: ``python scripts/verify_seed_models.py ORIGINAL_CODE_DIR``

ORIGINAL_CODE_DIR holds the authors' code, which this repository does not:

- ``long_llama/``: a checkout of CStanKonrad/long_llama (LongLLaMA's modeling code);
- ``LLaMA-Adapter/``: a checkout of OpenGVLab/LLaMA-Adapter (v1's ``llama/model.py``);
- ``mpt/``: MosaicML's MPT model code;
- ``transformers-4.30.2/``: ``pip install --target ORIGINAL_CODE_DIR/transformers-4.30.2
  --no-deps transformers==4.30.2 tokenizers==0.13.3 huggingface-hub==0.16.4``, the
  transformers LongLLaMA was written for (installed apart, so this environment's stays).

Each model's check is ``scripts/seedcheck_<model>.py``: its ``findings(original_dir)``
returns ``(ok, line)`` pairs, ``ok`` False for a mismatch and None for a line that only
informs (its ``check(original_dir)`` prints them and returns whether all matched, for a
run of that module alone). A check whose module or folders are missing is skipped,
saying why; one that raises counts as a mismatch. Exit status 1 on any mismatch, else 0.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
# (name, module in scripts/, the folders of ORIGINAL_CODE_DIR it needs)
CHECKS = (
    ("longllama", "seedcheck_longllama", ("long_llama", "transformers-4.30.2")),
    ("llama-adapter", "seedcheck_llama_adapter", ("LLaMA-Adapter",)),
    ("mpt", "seedcheck_mpt", ("mpt",)),
)


def run_check(name: str, module_name: str, needs: tuple[str, ...], original: Path) -> bool:
    """Prints what one check found; False on a mismatch."""
    missing = [folder for folder in needs if not (original / folder).is_dir()]
    if missing:
        print(f"{name}: skipped: {', '.join(f'{original / folder}/' for folder in missing)} missing")
        return True
    if not (SCRIPTS / f"{module_name}.py").is_file():
        print(f"{name}: skipped: scripts/{module_name}.py is missing")
        return True
    try:
        results = importlib.import_module(module_name).findings(original)
    except Exception as exc:  # a check that cannot run is not a pass
        traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"{name}: MISMATCH: the check failed: {type(exc).__name__}: {first}")
        return False
    from seedcheck_common import finding_line

    for ok, line in results:
        print(f"{name}: {finding_line(ok, line)}")
    return all(ok is not False for ok, _ in results)


def main() -> int:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        print("usage: python scripts/verify_seed_models.py ORIGINAL_CODE_DIR", file=sys.stderr)
        return 2
    original = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(SCRIPTS))
    passed = [run_check(name, module, needs, original) for name, module, needs in CHECKS]
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
