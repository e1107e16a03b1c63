"""Data parallelism: which process of an ``accelerate launch`` this is."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Parallel:
    rank: int
    world: int
    local_rank: int

    @classmethod
    def from_environment(cls) -> Parallel:
        """Set by ``accelerate launch`` (and torchrun) for each process."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        return cls(rank, world, int(os.environ.get("LOCAL_RANK", str(rank))))

    @property
    def is_main(self) -> bool:
        return self.rank == 0
