"""``python -m qmsum_fast``: the CLI (for ``accelerate launch -m qmsum_fast generate ...``)."""

from .cli import main

if __name__ == "__main__":
    main()
