"""The reference for the faithfulness fragments: Grusky et al. (2018), Newsroom,
the greedy fragment algorithm as printed in the paper, in plain Python. Used by
the tests and by ``benches/bench_fragments.py``."""

from __future__ import annotations


def paper_fragments(summary: list[str], article: list[str]) -> list[tuple[int, int, int]]:
    """Grusky et al. (2018), Newsroom, the greedy fragment algorithm as printed,
    scanning every article position: (summary start, article start, length)."""
    fragments = []
    i = 0
    while i < len(summary):
        best: tuple[int, int, int] | None = None
        j = 0
        while j < len(article):
            if summary[i] == article[j]:
                i2, j2 = i, j
                while i2 < len(summary) and j2 < len(article) and summary[i2] == article[j2]:
                    i2, j2 = i2 + 1, j2 + 1
                if best is None or best[2] < i2 - i:
                    best = (i, j, i2 - i)
                j = j2
            else:
                j += 1
        i += best[2] if best else 1
        if best:
            fragments.append(best)
    return fragments
