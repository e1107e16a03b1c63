"""Data parallelism: which process of an ``accelerate launch`` this is; and
whole meetings spread over processes or replicas, balanced by their weight."""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
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


def spread(tokens: Mapping[Hashable, int], replicas: int) -> dict[Hashable, int]:
    """Each meeting's replica (or process): the meetings, heaviest first, each
    onto the replica holding the least weight so far (the lowest index on ties;
    equal meetings in the order given), so replicas get about equal work and the
    same meetings always get the same replicas. ``tokens``: each meeting's
    weight (prompt tokens for served replicas, queries for processes)."""
    held = [0] * replicas
    homes: dict[Hashable, int] = {}
    for meeting in sorted(tokens, key=lambda meeting: -tokens[meeting]):  # stable
        replica = min(range(replicas), key=lambda index: (held[index], index))
        homes[meeting] = replica
        held[replica] += tokens[meeting]
    return homes
