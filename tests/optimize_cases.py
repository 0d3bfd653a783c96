"""Small cases and brute-force oracles shared by the ``test_optimize_*`` files."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from coverage.engine.costs import CostTable


def line_table(demand_x: list[float], site_x: list[float], *, cutoff: float = np.inf) -> CostTable:
    """Demand and sites on a line; distance = |dx| metres."""
    d = np.abs(np.subtract.outer(np.asarray(demand_x, float), np.asarray(site_x, float)))
    return CostTable.from_dense(d, cutoff_m=cutoff)


def random_table(
    seed: int, n: int = 9, m: int = 7, cutoff: float = np.inf
) -> tuple[CostTable, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 1000, (n, 2))
    sites = rng.uniform(0, 1000, (m, 2))
    d = np.round(np.hypot(*(dem[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)), 1)
    w = rng.integers(1, 10, n).astype(float)
    return CostTable.from_dense(d, cutoff_m=cutoff), d, w


def subsets(m: int, sizes: range) -> Iterator[tuple[int, ...]]:
    return itertools.chain.from_iterable(itertools.combinations(range(m), k) for k in sizes)


def zone_case() -> tuple[CostTable, list[str]]:
    # sites 0,1 sit on two demand clusters (zone A); site 2 is useless (zone B)
    d = np.array([[0, 500, 900], [500, 0, 900], [0, 500, 900], [500, 0, 900]], float)
    return CostTable.from_dense(d, cutoff_m=1000), ["A", "A", "B"]


def brute(
    d: np.ndarray,
    w: np.ndarray,
    sizes: range,
    value: Callable[[list[int]], float],
    feasible: Callable[[tuple[int, ...]], bool] = lambda s: True,
) -> float | None:
    """Best (smallest) ``value`` over every feasible subset of the site columns."""
    best: float | None = None
    for s in subsets(d.shape[1], sizes):
        if not feasible(s):
            continue
        v = value(list(s))
        best = v if best is None else min(best, v)
    return best
