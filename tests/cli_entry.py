"""``qmsum-fast`` for subprocess tests, with the test stand-ins installed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import qmsum_shim  # noqa: E402

qmsum_shim.install()

from qmsum_fast.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
