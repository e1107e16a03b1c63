"""``python -m qmsum_fast``: the CLI (also for ``accelerate launch -m qmsum_fast generate ...``)."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="qmsum-fast")
