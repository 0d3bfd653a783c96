"""Lagrangian branch-and-bound of the p-median (issue 13), against brute force over every
choice of ``p`` sites: integral and fractional costs, missing pairs with a penalty,
required sites, a poor starting incumbent, bounds of searches stopped early."""

from __future__ import annotations

import time

import numpy as np
import pytest
from optimize_cases import brute, random_table

from coverage.siting.optimize import lagbranch, solve_pmedian
from coverage.siting.optimize import pmedian as pm
from coverage.siting.optimize.heuristics import SiteRules, SparseCost, is_integral
from coverage.siting.optimize.lagbranch import applicable, branch_and_bound


def _rules(m: int, p: int, required: np.ndarray | None = None) -> SiteRules:
    return SiteRules(
        required=np.zeros(m, bool) if required is None else required,
        zone=np.full(m, -1), zmin=np.zeros(0, np.int64), zmax=np.zeros(0),
        cost=np.ones(m), kmin=p, kmax=p,
    )  # fmt: skip


def _case(seed: int) -> tuple[np.ndarray, np.ndarray, float, int, np.ndarray]:
    """Distances (``inf`` where the table has no pair), weights, penalty, p, required."""
    rng = np.random.default_rng(seed)
    if seed >= 48:  # small whole distances: many answers within 1 or 2 of the optimum
        n, m = int(rng.integers(20, 40)), int(rng.integers(8, 12))
        d = rng.integers(0, 7, (n, m)).astype(float)
        return d, np.ones(n), 1e6, int(rng.integers(2, 5)), np.zeros(m, bool)
    n, m = int(rng.integers(8, 30)), int(rng.integers(5, 11))
    p = int(rng.integers(1, min(4, m - 1) + 1))
    xy = rng.uniform(0, 100, (n + m, 2))
    d = np.hypot(*(xy[:n, None, :] - xy[None, n:, :]).transpose(2, 0, 1))
    if seed % 2 == 0:  # whole numbers: the integral pruning (a better answer is 1 better)
        d, w = np.round(d), rng.integers(1, 6, n).astype(float)
    else:
        w = rng.uniform(0.2, 3.0, n)
    pen = 1e6
    if seed % 3 == 0:  # a cut table: missing pairs cost the penalty
        d[d > 45] = np.inf
        pen = 60.0
    req = np.zeros(m, bool)
    if seed % 4 == 1:
        req[int(rng.integers(m))] = True
    return d, w, pen, p, req


def _value(d: np.ndarray, w: np.ndarray, pen: float, s: list[int]) -> float:
    return float(w @ np.minimum(pen, d[:, s].min(1)))


def _cost(d: np.ndarray, w: np.ndarray, pen: float) -> SparseCost:
    rows, cols = np.nonzero(np.isfinite(d))
    return SparseCost.build(rows, cols, d[rows, cols], w, pen, d.shape[1])


def _poor_start(d: np.ndarray, w: np.ndarray, pen: float, p: int, req: np.ndarray) -> np.ndarray:
    """The worst choice of ``p`` sites holding the required ones: the search must improve it."""
    best, worst = -np.inf, None
    for s in _choices(d.shape[1], p, req):
        v = _value(d, w, pen, list(s))
        if v > best:
            best, worst = v, s
    mask = np.zeros(d.shape[1], bool)
    mask[list(worst)] = True
    return mask


def _choices(m: int, p: int, req: np.ndarray):  # type: ignore[no-untyped-def]
    import itertools

    for s in itertools.combinations(range(m), p):
        if req[list(s)].sum() == req.sum():
            yield s


def _optimum(d: np.ndarray, w: np.ndarray, pen: float, p: int, req: np.ndarray) -> float:
    opt = brute(
        d, w, range(p, p + 1), lambda s: _value(d, w, pen, s),
        lambda s: req[list(s)].sum() == req.sum(),
    )  # fmt: skip
    assert opt is not None
    return opt


def _search_from_the_worst_start(
    seed: int, **kw: object
) -> tuple[lagbranch.BranchResult, SparseCost, float, int, np.ndarray]:
    """Run the search on case ``seed`` from its worst choice; also return the cost, the
    brute-force optimum, p and the required sites."""
    d, w, pen, p, req = _case(seed)
    m = d.shape[1]
    sc = _cost(d, w, pen)
    start = _poor_start(d, w, pen, p, req)
    res = branch_and_bound(
        sc, _rules(m, p, req), start, sc.value(start),
        closed=np.zeros(m, bool), opened=np.zeros(m, bool),
        integral=is_integral(w, d[np.isfinite(d)], pen), deadline=np.inf, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return res, sc, _optimum(d, w, pen, p, req), p, req


@pytest.mark.parametrize("seed", range(72))
def test_search_proves_the_brute_force_optimum(seed: int) -> None:
    res, sc, opt, p, req = _search_from_the_worst_start(seed)
    assert res.proven and res.open_nodes == 0
    assert res.value == pytest.approx(opt, rel=1e-9)
    assert res.bound == pytest.approx(opt, rel=1e-9)
    assert res.mask.sum() == p and res.mask[req].all()
    assert sc.value(res.mask) == pytest.approx(res.value)


@pytest.mark.parametrize("seed", [*range(0, 48, 3), *range(48, 72)])
def test_search_without_the_root_polish_still_proves_the_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without the interchange, only the tree (bounds, fixing, branching) reaches the
    # optimum from the worst start: a wrong prune or fix shows here
    monkeypatch.setattr(lagbranch, "local_search", lambda sc, rules, mask, deadline: (mask, 0))
    res, _sc, opt, _p, _req = _search_from_the_worst_start(seed)
    assert res.proven and res.value == pytest.approx(opt, rel=1e-9)


@pytest.mark.parametrize("seed", [*range(0, 48, 2), *range(48, 72, 2)])
def test_a_search_stopped_early_keeps_a_valid_bound(seed: int) -> None:
    for nodes in (0, 1, 2, 3, 5):
        res, sc, opt, _p, _req = _search_from_the_worst_start(seed, max_nodes=nodes)
        assert res.bound <= opt + 1e-9 * opt
        assert res.value >= opt - 1e-9 * opt and sc.value(res.mask) == pytest.approx(res.value)
        assert res.nodes <= nodes
        if not res.proven:
            assert res.open_nodes > 0 or nodes == 0


def test_a_search_out_of_time_returns_the_incumbent_unproven() -> None:
    d, w, pen, p, req = _case(4)
    m = d.shape[1]
    sc = _cost(d, w, pen)
    start = _poor_start(d, w, pen, p, req)
    res = branch_and_bound(
        sc, _rules(m, p, req), start, sc.value(start), closed=np.zeros(m, bool),
        opened=np.zeros(m, bool), integral=True, deadline=time.perf_counter() - 1.0,
    )  # fmt: skip
    assert not res.proven and res.nodes == 0
    assert res.value == sc.value(start) and res.bound == -np.inf


def test_sites_fixed_by_the_caller_are_kept_closed_and_open() -> None:
    d, w, pen, p, _req = _case(6)
    m = d.shape[1]
    sc = _cost(d, w, pen)
    closed = np.zeros(m, bool)
    closed[0] = True
    opened = np.zeros(m, bool)
    opened[1] = True
    opt = brute(
        d, w, range(p, p + 1), lambda s: _value(d, w, pen, s), lambda s: 0 not in s and 1 in s
    )
    start = np.zeros(m, bool)
    start[[1, *range(2, p + 1)]] = True
    res = branch_and_bound(
        sc, _rules(m, p), start, sc.value(start), closed=closed, opened=opened,
        integral=True, deadline=np.inf,
    )  # fmt: skip
    assert res.proven and res.value == pytest.approx(opt)


def test_rules_the_search_leaves_to_the_milp() -> None:
    sc = _cost(np.ones((4, 3)), np.ones(4), 10.0)
    assert applicable(sc, _rules(3, 1), 3)
    zoned = _rules(3, 1)
    zoned.zone = np.array([0, 0, -1])
    zoned.zmin, zoned.zmax = np.array([0]), np.array([1])
    assert not applicable(sc, zoned, 3)
    budget = _rules(3, 1)
    budget.budget = 2.0
    assert not applicable(sc, budget, 3)
    ranged = _rules(3, 1)
    ranged.kmin = 0
    assert not applicable(sc, ranged, 3)
    assert not applicable(sc, _rules(3, 1), lagbranch.LBB_MAX_CELLS)


@pytest.mark.parametrize("seed", range(10))
def test_the_search_inside_solve_pmedian_agrees_with_the_chain(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from coverage.siting.optimize.base import SolveRun
    from coverage.siting.optimize.problem import build_problem

    ct, d, w = random_table(3100 + seed, n=14, m=8)
    p = 2 + seed % 3
    opt = brute(d, w, range(p, p + 1), lambda s: float(w @ d[:, s].min(1)))
    opts = pm.PMEDIAN.options(None, {"weights": w, "method": "exact"})
    run = SolveRun(pm.PMEDIAN, build_problem(ct, opts), opts, time.perf_counter())
    red = pm._merge_rows(run, pm._demand_pairs(run))
    # the heuristic's own Lagrangian proof is taken away: the search must prove it
    heur = dataclasses.replace(pm._heuristic(run, red, p), lower=-np.inf)
    out = pm._branch(run, red, heur)
    assert out.branch is not None and out.branch.proven and pm._proven(out)
    assert out.inc.value == pytest.approx(opt) and out.lower == pytest.approx(opt)
    res = solve_pmedian(ct, p=p, weights=w, method="exact")
    assert res.status == "optimal" and res.objective == pytest.approx(opt)
    monkeypatch.setattr(pm, "applicable", lambda *a: False)  # the chain MILP alone
    with_chain = solve_pmedian(ct, p=p, weights=w, method="exact")
    assert with_chain.status == "optimal" and with_chain.objective == pytest.approx(opt)
    assert "branch_and_bound" not in with_chain.details


def test_the_search_stops_when_its_bound_stands_still() -> None:
    from coverage.siting.optimize.lagbranch import LBB_STALL_FACTOR, _stalled

    d, w, pen, p, _req = _case(0)
    s = lagbranch._Search(
        _cost(d, w, pen), _rules(d.shape[1], p), np.ones(d.shape[1], bool), 100.0,
        np.zeros(d.shape[1], bool), np.zeros(d.shape[1], bool), True,
    )  # fmt: skip
    assert not _stalled(None, 10.0, 90.0, s, 20.0)  # no earlier check
    assert not _stalled((8.0, 90.0), 10.0, 90.0, s, np.inf)  # no deadline: never
    assert _stalled((8.0, 90.0), 10.0, 90.0, s, 20.0)  # the bound stood still
    # 1 a second, 9 to go (a better answer is 1 better), 10 s left: keeps going
    assert not _stalled((8.0, 88.0), 10.0, 90.0, s, 20.0)
    # 0.1 a second: 90 s needed, more than the factor times the 10 s left
    assert 9 / 0.1 > LBB_STALL_FACTOR * 10
    assert _stalled((0.0, 89.0), 10.0, 90.0, s, 20.0)
    assert not _stalled((8.0, 90.0), 10.0, 99.5, s, 20.0)  # nothing left to close


@pytest.mark.parametrize("seed", range(60, 72))
def test_the_polish_never_opens_a_site_the_caller_closed(seed: int) -> None:
    # close a site of the unconstrained optimum: the interchange would reopen it, and the
    # search must still answer the problem it was given
    d, w, pen, p, req = _case(seed)
    m = d.shape[1]
    sc = _cost(d, w, pen)
    best = min(_choices(m, p, req), key=lambda s: _value(d, w, pen, list(s)))
    closed = np.zeros(m, bool)
    closed[best[0]] = True
    opt = brute(d, w, range(p, p + 1), lambda s: _value(d, w, pen, s), lambda s: best[0] not in s)
    start = np.zeros(m, bool)
    start[[j for j in range(m) if j != best[0]][:p]] = True
    res = branch_and_bound(
        sc, _rules(m, p), start, sc.value(start), closed=closed, opened=np.zeros(m, bool),
        integral=True, deadline=np.inf,
    )  # fmt: skip
    assert res.proven and not res.mask[best[0]]
    assert res.value == pytest.approx(opt)


@pytest.mark.parametrize("seed", range(8))
def test_the_search_and_the_chain_milp_prove_the_same_optimum_on_a_cut_table(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # larger than brute force reaches, and hard for the search (distances that are no
    # metric: 53-223 nodes): 70 homes, 24 sites, fractional weights, pairs beyond 22 cut
    # and charged a penalty of 25; the chain MILP on HiGHS is the independent proof
    from coverage.engine.costs import CostTable

    rng = np.random.default_rng(4200 + seed)
    ct = CostTable.from_dense(rng.integers(1, 30, (70, 24)).astype(float), cutoff_m=22.0)
    w = rng.uniform(0.5, 1.5, 70)
    kw = dict(p=4 + seed % 3, weights=w, unreachable_penalty_m=25.0, method="exact", time_limit_s=60)
    with_search = solve_pmedian(ct, **kw)
    assert with_search.details["branch_and_bound"]["nodes"] > 10
    monkeypatch.setattr(pm, "applicable", lambda *a: False)
    with_chain = solve_pmedian(ct, **kw)
    assert with_chain.method == "highs-mip"
    assert with_search.status == with_chain.status == "optimal"
    assert with_search.objective == pytest.approx(with_chain.objective, rel=1e-9)
    assert with_search.best_bound == pytest.approx(with_search.objective, rel=1e-9)
