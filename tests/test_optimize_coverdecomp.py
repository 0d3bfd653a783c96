"""The MCLP block-decomposition bound (issue 13) against brute force and a hand instance.

Hand instance (``_triangle``): sites A, B, C at the corners of a triangle, each edge a
home block of weight 2 covered by its two corners, and a site D alone with a block of
weight 2; k = 2. Any two corners cover the three edges: 6; a corner and D: 4 + 2 = 6. The
LP relaxation opens A, B, C and D at 1/2 and covers 6 + 1 = 7 (duals: 1 per edge, 2 for
D's block, site price 2). With the blocks {A, B, C} and {D} no row crosses a block, and
at the price mu = 2 the triangle block is worth max(0, 4 - 2, 6 - 4, 6 - 6) = 2 and D's
block max(0, 2 - 2) = 0, so the bound is 2 * 2 + 2 + 0 = 6: the optimum, proven, where
the LP bound says 7.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from coverage.engine.costs import CostTable
from coverage.siting.optimize import coverdecomp as coverdecomp_mod
from coverage.siting.optimize import mclp as mclp_mod
from coverage.siting.optimize import solve_mclp
from coverage.siting.optimize.coverdecomp import (
    block_bound,
    closed_by_duals,
    closed_by_probing,
    partition_sites,
    restrict_rows,
)


def _triangle() -> tuple[sp.csr_matrix, np.ndarray]:
    rows = [[0, 1], [1, 2], [2, 0], [3]]  # AB, BC, CA, D's block
    dense = np.zeros((4, 4), dtype=bool)
    for i, r in enumerate(rows):
        dense[i, r] = True
    return sp.csr_matrix(dense), np.full(4, 2.0)


def _best(cov: sp.csr_matrix, w: np.ndarray, k: int, required: np.ndarray, sites=None) -> float:
    """Brute force: the most weight ``k`` sites (required ones included) cover."""
    dense = cov.toarray()
    pool = [j for j in (range(cov.shape[1]) if sites is None else sites) if not required[j]]
    req = list(np.flatnonzero(required))
    best = -np.inf
    for r in range(0, k - len(req) + 1):
        for s in itertools.combinations(pool, r):
            best = max(best, float(w[dense[:, req + list(s)].any(axis=1)].sum()))
    return best


def _random(rng: np.random.Generator, n: int = 10, m: int = 7) -> tuple[sp.csr_matrix, np.ndarray]:
    dense = rng.random((n, m)) < 0.3
    dense[np.arange(n), rng.integers(0, m, n)] = True  # every row coverable
    return sp.csr_matrix(dense), rng.integers(1, 9, n).astype(np.float64)


def test_hand_triangle_decomposition_proves_what_the_lp_does_not() -> None:
    cov, w = _triangle()
    lam = np.array([1.0, 1.0, 1.0, 2.0])
    none = np.zeros(4, dtype=bool)
    assert _best(cov, w, 2, none) == 6.0
    blocks = block_bound(cov, w, lam, 2.0, 2, none, np.array([0, 0, 0, 1]), deadline=np.inf)
    assert blocks.lagrangian == pytest.approx(7.0)  # the LP bound
    assert blocks.bound == pytest.approx(6.0)
    assert blocks.cross_rows == 0
    # one block per site: every edge crosses, the bound is the LP-dual value again
    singles = block_bound(cov, w, lam, 2.0, 2, none, np.arange(4), deadline=np.inf)
    assert singles.cross_rows == 3
    assert singles.bound == pytest.approx(7.0)
    # no time at all: every block falls back to its LP-dual value
    late = block_bound(cov, w, lam, 2.0, 2, none, np.array([0, 0, 0, 1]), deadline=0.0)
    assert late.bound == pytest.approx(7.0) and late.fallback == 2
    # stopped (the MILP beside it proved the optimum): the same, with time to spare
    import threading

    stop = threading.Event()
    stop.set()
    halted = block_bound(cov, w, lam, 2.0, 2, none, np.array([0, 0, 0, 1]), deadline=np.inf, stop=stop)
    assert halted.bound == pytest.approx(7.0) and halted.fallback == 2 and halted.solved == 0


def _case(rng: np.random.Generator, one_required: bool) -> tuple[sp.csr_matrix, np.ndarray, int, np.ndarray]:
    """A random instance, its ``k`` and (perhaps) one required site."""
    cov, w = _random(rng)
    k = int(rng.integers(1, 4))
    required = np.zeros(cov.shape[1], dtype=bool)
    if one_required:
        required[rng.integers(0, cov.shape[1])] = True
    return cov, w, k, required


def test_block_bound_never_below_the_brute_force_optimum() -> None:
    rng = np.random.default_rng(3)
    below_lp = 0
    for _ in range(40):
        cov, w, k, required = _case(rng, rng.random() < 0.3)
        m = cov.shape[1]
        lam = w * rng.random(len(w))
        rho = np.asarray(cov.T.astype(float) @ lam).ravel()
        mu = float(rng.random() * rho.max())
        labels = rng.integers(0, 3, m)
        labels = np.unique(labels, return_inverse=True)[1]
        bb = block_bound(cov, w, lam, mu, k, required, labels, deadline=np.inf)
        opt = _best(cov, w, k, required)
        assert bb.bound >= opt - 1e-6
        assert bb.bound <= bb.lagrangian + 1e-6
        below_lp += bb.bound < bb.lagrangian - 1e-6
    assert below_lp > 0  # the integer blocks did tighten some bounds


def _lp_duals(cov: sp.csr_matrix, w: np.ndarray, k: int, required: np.ndarray) -> np.ndarray:
    """Duals of the cover rows of the MCLP LP relaxation (scipy's HiGHS, an independent
    path from the package's own LP)."""
    n, m = cov.shape
    a = np.vstack(
        [np.hstack([-cov.toarray().astype(float), np.eye(n)]), np.r_[np.ones(m), np.zeros(n)]]
    )
    lb = np.r_[required.astype(float), np.zeros(n)]
    res = linprog(
        np.r_[np.zeros(m), -w], A_ub=a, b_ub=np.r_[np.zeros(n), k],
        bounds=list(zip(lb, np.ones(m + n))), method="highs",
    )  # fmt: skip
    return np.abs(res.ineqlin.marginals[:n])


def _assert_open_in_no_solution_covering(
    cov: sp.csr_matrix, w: np.ndarray, k: int, required: np.ndarray, inc: float, closed: np.ndarray
) -> None:
    """Brute force: no site of ``closed`` is open in a choice of at most ``k`` sites (the
    required ones included) covering at least ``inc``."""
    dense = cov.toarray()
    pool = [j for j in range(cov.shape[1]) if not required[j]]
    for r in range(k - int(required.sum()) + 1):
        for s in itertools.combinations(pool, r):
            cols = list(s) + list(np.flatnonzero(required))
            if w[dense[:, cols].any(axis=1)].sum() >= inc:
                assert not closed[list(s)].any(), (s, np.flatnonzero(closed))


def test_closed_sites_are_closed_in_every_solution_as_good_as_the_incumbent() -> None:
    rng = np.random.default_rng(5)
    closed_total = 0
    for t in range(60):
        cov, w, k, required = _case(rng, t % 3 == 2)
        opt = _best(cov, w, k, required)
        inc = opt - float(rng.integers(0, 3)) if t % 2 else opt
        lam = _lp_duals(cov, w, k, required) if t % 2 == 0 else w * rng.random(len(w))
        closed, mu = closed_by_duals(cov, w, lam, k, required, inc)
        assert mu >= 0 and not closed[required].any()
        _assert_open_in_no_solution_covering(cov, w, k, required, inc, closed)
        closed_total += int(closed.sum())
        # the restricted model keeps every such solution: same optimum when inc <= opt
        sub, sw, sl = restrict_rows(cov, w, lam, ~closed)
        assert _best(sub, sw, k, required[~closed]) == opt
        # merged multipliers keep each kept site's rho
        rho = np.asarray(cov.T.astype(float) @ np.clip(lam, 0, w)).ravel()
        assert np.allclose(np.asarray(sub.T.astype(float) @ sl).ravel(), rho[~closed])
    assert closed_total > 0


def test_partition_keeps_unlinked_sites_apart() -> None:
    cov, _w = _triangle()
    labels = partition_sites(cov, np.array([1.0, 1.0, 1.0, 2.0]))
    assert labels[0] == labels[1] == labels[2] != labels[3]


def _triangle_table() -> tuple[CostTable, np.ndarray]:
    cov, w = _triangle()
    coo = cov.tocoo()
    ct = CostTable.from_entries(
        coo.row, coo.col, np.full(coo.nnz, 100.0), n_demand=4, n_sites=4, cutoff_m=1000.0
    )
    return ct, w


@pytest.mark.parametrize("method", ["auto", "exact"])
def test_solve_mclp_proves_the_triangle_by_blocks(
    monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    # the city-scale path (LP duals, fixing, blocks) on the hand instance; the MILP beside
    # the blocks (two cores) would prove it first
    monkeypatch.setattr(mclp_mod, "AUTO_EXACT_MAX_NNZ", 0)
    monkeypatch.setattr(mclp_mod, "CONCURRENT_MILP", False)
    ct, w = _triangle_table()
    res = solve_mclp(ct, k=2, weights=w, method=method, time_limit_s=20)
    assert res.objective == 6.0
    assert res.best_bound == 6.0
    assert res.status == "optimal"
    assert res.method.endswith("block-decomposition-proof")
    assert res.details["block_decomposition"]["lagrangian"] == pytest.approx(7.0)


def test_solve_mclp_city_path_matches_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mclp_mod, "AUTO_EXACT_MAX_NNZ", 0)
    rng = np.random.default_rng(11)
    for _ in range(6):
        cov, w = _random(rng, n=14, m=8)
        coo = cov.tocoo()
        ct = CostTable.from_entries(
            coo.row,
            coo.col,
            np.full(coo.nnz, 10.0),
            n_demand=cov.shape[0],
            n_sites=8,
            cutoff_m=100.0,
        )
        k = int(rng.integers(1, 4))
        opt = _best(cov, w, k, np.zeros(8, dtype=bool))
        res = solve_mclp(ct, k=k, weights=w, method="auto", time_limit_s=20)
        assert res.objective <= opt + 1e-9
        assert res.best_bound >= opt - 1e-9
        if res.status == "optimal":
            assert res.objective == opt


def test_a_site_graph_too_large_to_partition_skips_the_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above ``BLOCK_MAX_EDGES`` no Louvain run: the answer keeps the LP-dual bound."""
    cov, _w = _triangle()
    assert partition_sites(cov, np.ones(4), max_edges=2) is None  # the triangle has 3 edges
    assert partition_sites(cov, np.ones(4), max_edges=3) is not None
    monkeypatch.setattr(mclp_mod, "AUTO_EXACT_MAX_NNZ", 0)
    monkeypatch.setattr(mclp_mod, "CONCURRENT_MILP", False)  # the blocks alone
    monkeypatch.setattr(coverdecomp_mod, "BLOCK_MAX_EDGES", 0)
    ct, w = _triangle_table()
    res = solve_mclp(ct, k=2, weights=w, method="auto", time_limit_s=20)
    assert res.objective == 6.0
    assert "block_decomposition" not in res.details and "block-decomposition" not in res.method
    assert res.best_bound == pytest.approx(7.0)  # the LP bound, not the blocks' proof
    assert res.status != "optimal"


def test_too_little_time_left_skips_the_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """With less than ``BLOCK_MIN_S`` left the blocks are not started (the partition alone
    may take seconds): the answer keeps the LP-dual bound; with the time, they prove it."""
    monkeypatch.setattr(mclp_mod, "AUTO_EXACT_MAX_NNZ", 0)
    monkeypatch.setattr(mclp_mod, "CONCURRENT_MILP", False)  # the blocks alone
    ct, w = _triangle_table()
    res = solve_mclp(ct, k=2, weights=w, method="auto", time_limit_s=20)
    assert res.status == "optimal" and "block_decomposition" in res.details
    monkeypatch.setattr(mclp_mod, "BLOCK_MIN_S", 1e9)
    res = solve_mclp(ct, k=2, weights=w, method="auto", time_limit_s=20)
    assert res.objective == 6.0 and "block_decomposition" not in res.details
    assert res.best_bound == pytest.approx(7.0) and res.status != "optimal"


def test_probing_closes_the_triangle_corners_the_duals_keep() -> None:
    """The triangle with the LP duals (1 per edge, 2 for D's block; every rho is 2 = mu, the
    LP value 7). Target 6.5, above the optimum 6: no site can be open in a solution covering
    it, but the reduced-cost test keeps all (7 - 2 + 2 = 7). Probing corner A: its block is
    {A, B, C} with the three edges inside, worth 7 - 3 - 0 = 4 outside; the block's LP with
    A open gains 2 + 2 - 2 = 2 (B or C adds 2 - 2 = 0), so every solution with A open covers
    at most 6 < 6.5: closed. B likewise (A, closed, leaves its block: the same numbers).
    With A and B closed, edge AB can no longer be covered: its slack 1 leaves L (now 6),
    and C's block {C} with BC and CA inside gives 6 - 2 - 0 + (4 - 2) = 6: closed. Then
    every edge is dead, L = 4, and D's block gives 4 - 0 - 0 + (2 - 2) = 4: closed too,
    rightly, as no solution covers 6.5. At the target 6 (the optimum) nothing is closed.
    One pass (A, B, C, D in that order) does it all."""
    cov, w = _triangle()
    lam = np.array([1.0, 1.0, 1.0, 2.0])
    req = np.zeros(4, bool)
    assert not closed_by_duals(cov, w, lam, 2, req, 6.5)[0].any()
    pr = closed_by_probing(cov, w, lam, 2, req, 6.5, deadline=np.inf)
    assert pr.closed.all() and pr.candidates == 4 and pr.rounds == 1 and pr.probed == 4
    assert not closed_by_probing(cov, w, lam, 2, req, 6.0, deadline=np.inf).closed.any()
    # a required corner is never probed, nor closed
    pr = closed_by_probing(cov, w, lam, 2, np.array([True, False, False, False]), 6.5, deadline=np.inf)
    assert not pr.closed[0] and pr.candidates == 3
    # no time: only what the duals close
    pr = closed_by_probing(cov, w, lam, 2, req, 6.5, deadline=0.0)
    assert pr.probed == 0 and not pr.closed.any()


@pytest.mark.parametrize("rounds", [1, 3])
def test_probing_closes_only_sites_open_in_no_solution_as_good_as_the_incumbent(rounds: int) -> None:
    """Brute force over every choice of sites: no site probing closes is open in a solution
    covering at least the target (the optimum, or a little below), with the LP duals or
    random multipliers, required sites or not; it closes everything the duals close, and
    more in all."""
    rng = np.random.default_rng(17 + rounds)
    extra = 0
    for t in range(80):
        cov, w, k, required = _case(rng, t % 3 == 2)
        opt = _best(cov, w, k, required)
        inc = opt - float(rng.integers(0, 3)) if t % 2 else opt
        lam = _lp_duals(cov, w, k, required) if t % 4 != 3 else w * rng.random(len(w))
        duals, _mu = closed_by_duals(cov, w, lam, k, required, inc)
        pr = closed_by_probing(cov, w, lam, k, required, inc, deadline=np.inf, max_rounds=rounds)
        closed = pr.closed
        assert not closed[required].any() and (closed | ~duals).all()
        _assert_open_in_no_solution_covering(cov, w, k, required, inc, closed)
        extra += int(closed.sum() - duals.sum())
        assert _best(cov, w, k, required, sites=np.flatnonzero(~closed)) == opt
    assert extra >= 60, extra  # 96 with one pass and 117 with three when written (duals: 114)


def test_probing_stops_a_pass_that_closes_too_few() -> None:
    """Eight copies of the triangle, k = 2, its duals: every rho is 2 = mu and L = 8 * 3 + 4
    = 28, so the duals close nothing below the target 27.5, while the first corner's probe
    gives 28 - 3 + 2 = 27 and each later one less (dead rows leave L): probing closes all
    32. With the rate check after 3 probes and a rate no pass can reach, the pass stops
    there (3 probed, 3 closed) and no second round starts."""
    blocks = [(_triangle()[0], _triangle()[1])] * 8
    cov = sp.block_diag([b[0] for b in blocks], format="csr")
    w = np.concatenate([b[1] for b in blocks])
    lam = np.tile([1.0, 1.0, 1.0, 2.0], 8)
    req = np.zeros(cov.shape[1], bool)
    target = 27.5
    assert not closed_by_duals(cov, w, lam, 2, req, target)[0].any()
    pr = closed_by_probing(cov, w, lam, 2, req, target, deadline=np.inf)
    assert pr.closed.all() and pr.probed == 32
    old = coverdecomp_mod.PROBE_CHECK
    try:
        coverdecomp_mod.PROBE_CHECK = 3
        pr = closed_by_probing(cov, w, lam, 2, req, target, deadline=np.inf, min_rate=1.01)
        assert pr.probed == 3 and int(pr.closed.sum()) == 3 and pr.rounds == 1
    finally:
        coverdecomp_mod.PROBE_CHECK = old


def test_a_stop_set_during_a_block_interrupts_it_with_a_valid_bound() -> None:
    """``stop`` set while a block is being solved interrupts HiGHS there (the MILP beside
    the blocks proved the optimum): the block keeps the bound HiGHS had reached, which is
    never below the block's proven value. One random block of 400 rows × 80 sites, site
    price 25 (solved in full: a few seconds, hundreds of nodes)."""
    import threading
    import time

    rng = np.random.default_rng(3)
    cov = sp.csr_matrix(rng.random((400, 80)) < 0.06)
    w = rng.integers(1, 20, 400).astype(float)
    lam, none, one = np.zeros(400), np.zeros(80, dtype=bool), np.zeros(80, dtype=np.int64)
    full = block_bound(cov, w, lam, 25.0, 80, none, one, deadline=time.perf_counter() + 120)
    assert full.solved == 1
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    t0 = time.perf_counter()
    timer.start()
    cut = block_bound(cov, w, lam, 25.0, 80, none, one, deadline=time.perf_counter() + 120, stop=stop)
    assert time.perf_counter() - t0 < 0.5 * (120 - 0.3)  # long before the deadline
    assert cut.solved == 0 and cut.fallback == 0  # interrupted inside the block, not skipped
    assert full.bound - 1e-6 <= cut.bound <= cut.lagrangian + 1e-6
