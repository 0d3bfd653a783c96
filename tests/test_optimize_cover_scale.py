"""City-scale covering: the interior-point LP start of the MCLP bound (issue 13).

``method="auto"`` above ``AUTO_EXACT_MAX_NNZ`` starts the Lagrangian bound from the LP
duals and the interchange from the rounded LP solution. The threshold is lowered here so
small instances take that path; every answer is checked against enumeration.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from coverage.engine.costs import CostTable
from coverage.siting.optimize import mclp, solve_mclp
from coverage.siting.optimize.heuristics import SiteRules, SparseCost, lagrangian_bound
from coverage.siting.optimize.highs import MilpModel, lp_relaxation
from coverage.siting.optimize.smoothdual import smoothed_dual


def _best_cover(cov: np.ndarray, w: np.ndarray, k: int) -> float:
    return max(
        float(w[cov[:, list(s)].any(axis=1)].sum())
        for r in range(k + 1)
        for s in itertools.combinations(range(cov.shape[1]), r)
    )


def test_lp_relaxation_by_hand() -> None:
    # max x0 + 2 x1 s.t. x0 + x1 <= 1.5, 0 <= x <= 1: x = (0.5, 1), row dual 1
    model = MilpModel(
        np.array([1.0, 2.0]), sp.csr_matrix([[1.0, 1.0]]), np.array([-np.inf]),
        np.array([1.5]), lb=np.zeros(2), ub=np.ones(2), maximize=True,
    )  # fmt: skip
    lp = lp_relaxation(model, time_limit_s=10)
    assert lp is not None
    x, duals = lp
    assert np.allclose(x, [0.5, 1.0], atol=1e-6)
    assert np.allclose(np.abs(duals), [1.0], atol=1e-6)


def test_lagrangian_bound_from_any_multipliers_is_valid() -> None:
    """Whatever the starting multipliers (LP duals or nonsense), the bound never passes the
    optimum; from the LP duals of an MCLP it is the LP bound at once."""
    rng = np.random.default_rng(3)
    for _ in range(30):
        n, m, k = int(rng.integers(3, 10)), int(rng.integers(2, 7)), int(rng.integers(1, 3))
        cov = rng.random((n, m)) < 0.4
        w = rng.integers(1, 6, n).astype(float)
        r, c = np.nonzero(cov)
        sc = SparseCost.build(r, c, np.zeros(len(r)), w, 1.0, m)
        rules = SiteRules(
            required=np.zeros(m, dtype=bool), zone=np.full(m, -1), zmin=np.zeros(0),
            zmax=np.zeros(0), cost=np.ones(m), kmin=0, kmax=k, budget=None,
        )  # fmt: skip
        uncovered_opt = w.sum() - _best_cover(cov, w, k)
        lam = rng.uniform(-2, 8, n)
        lb, _fixed, _p = lagrangian_bound(sc, rules, w.sum(), lam0=lam, max_iter=1)
        assert lb <= uncovered_opt + 1e-9


@pytest.mark.parametrize("method", ["auto", "exact"])
def test_mclp_lp_start_matches_brute_force(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """``auto`` answers with a valid bound; ``exact`` then fixes sites by the LP-started
    Lagrangian bound and solves the MILP on the rest (rows restricted and merged): optimal."""
    monkeypatch.setattr(mclp, "AUTO_EXACT_MAX_NNZ", 0)
    rng = np.random.default_rng(5)
    used = {"smoothed lp dual (l-bfgs-b)": 0, "lp-duals (interior point)": 0}
    for i in range(30):
        n, m, k = int(rng.integers(4, 14)), int(rng.integers(3, 8)), int(rng.integers(1, 3))
        cov = rng.random((n, m)) < 0.35
        w = rng.integers(1, 9, n).astype(float)
        ct = CostTable.from_dense(np.where(cov, 100.0, 5000.0), cutoff_m=1000)
        # half the cases with a budget (site cost 1, so it binds as k does): HiGHS' LP
        budget = float(k) if i % 2 else None
        res = solve_mclp(ct, k=k, budget=budget, weights=w, radius_m=500, time_limit_s=20, method=method)
        best = _best_cover(cov, w, k)
        assert res.objective == float(w[cov[:, res.selected].any(axis=1)].sum())
        assert res.objective <= best <= res.best_bound + 1e-9
        assert res.status != "optimal" or res.objective == best
        assert method == "auto" or (res.status == "optimal" and res.objective == best)
        kind = res.details.get("lagrangian_start")
        if kind is not None:
            assert kind == ("lp-duals (interior point)" if budget else "smoothed lp dual (l-bfgs-b)")
            used[kind] += 1
        if method == "auto" and kind:  # the method names the LP start
            assert res.method.startswith("lp-start+greedy+swap"), res.method
    assert min(used.values()) >= 10, used


def _random_case(
    rng: np.random.Generator, density: float
) -> tuple[np.ndarray, np.ndarray, int, CostTable]:
    """30–59 homes × 9–12 sites, k = 2–3, each pair covering with ``density``: the
    coverage, the weights, k and the cost table (100 m where covering, 5 km elsewhere)."""
    n, m, k = int(rng.integers(30, 60)), int(rng.integers(9, 13)), int(rng.integers(2, 4))
    cov = rng.random((n, m)) < density
    w = rng.integers(1, 9, n).astype(float)
    return cov, w, k, CostTable.from_dense(np.where(cov, 100.0, 5000.0), cutoff_m=1000)


def test_restricting_to_kept_sites_by_hand() -> None:
    # rows {0,2} w1, {0,3} w2, {1,2} w3, {2,3} w4; keep sites 0 and 1:
    # the first two read {0} and merge (weight 3), the third reads {1}, the last is dropped
    cov = sp.csr_matrix(np.array([[1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool))
    red = mclp.CoverModel(
        cov=cov, row_weight=np.array([1.0, 2.0, 3.0, 4.0]), cols=np.array([10, 11, 12, 13]),
        required=np.zeros(4, dtype=bool), uncoverable=np.zeros(0, dtype=np.int64),
        fixed_weight=5.0,
    )  # fmt: skip
    sub = mclp._restrict(red, np.array([True, True, False, False]))
    assert sub.cols.tolist() == [10, 11] and sub.fixed_weight == 5.0
    rows = sorted(zip(sub.cov.toarray().tolist(), sub.row_weight.tolist()))
    assert rows == [([False, True], 3.0), ([True, False], 3.0)]


def test_mclp_lp_start_ends_with_the_milp_on_the_sites_the_duals_leave(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the exact size (forced here), after the LP duals, the Lagrangian bound and the
    blocks, the MILP on the sites the duals leave open proves the brute-force optimum, under
    its own HiGHS settings; with too little time left it is not started. The blocks are
    switched off: on instances this small they prove most answers before the MILP."""
    monkeypatch.setattr(mclp, "AUTO_EXACT_MAX_NNZ", 0)
    monkeypatch.setattr(mclp, "BLOCK_BOUND", False)
    seen: list = []
    real = mclp.MilpModel

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw.get("highs_options"))
        return real(*a, **kw)

    monkeypatch.setattr(mclp, "MilpModel", spy)
    rng = np.random.default_rng(11)
    ran = 0
    cases = []
    for _ in range(20):
        cov, w, k, ct = _random_case(rng, 0.2)
        cases.append((cov, w, k))
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=60, method="auto")
        best = _best_cover(cov, w, k)
        assert res.status == "optimal" and res.objective == best
        assert res.objective == float(w[cov[:, res.selected].any(axis=1)].sum())
        if "closed_milp" in res.details:
            ran += 1
            info = res.details["closed_milp"]
            assert res.method.startswith("lp-start+greedy+swap") and res.method.endswith("+highs-mip")
            assert info["sites"] + info["sites_closed"] <= cov.shape[1]
            assert info["sites_closed"] >= res.details["sites_closed_by_lp_duals"]
    assert ran >= 5
    assert mclp.CLOSED_MILP_OPTIONS in seen
    # too little time left for the MILP: the answer keeps its bound, unproven when it must
    monkeypatch.setattr(mclp, "BLOCK_MILP_MIN_S", 1e9)
    for cov, w, k in cases:
        ct = CostTable.from_dense(np.where(cov, 100.0, 5000.0), cutoff_m=1000)
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=60, method="auto")
        best = _best_cover(cov, w, k)
        assert "closed_milp" not in res.details
        assert res.objective <= best <= res.best_bound + 1e-9


def _poor_incumbent_state(seed: int, source: str):  # type: ignore[no-untyped-def]
    """A random instance on the LP-start path's state: the run, the reduced model, the rules,
    the multipliers (HiGHS' LP duals, or every stage of the smoothed LP dual) and the
    *worst* choice of k sites as incumbent, so that the duals close few sites."""
    import time

    from coverage.siting.optimize.base import SolveRun
    from coverage.siting.optimize.heuristics import Incumbent
    from coverage.siting.optimize.problem import build_problem

    rng = np.random.default_rng(700 + seed)
    n, m, k = int(rng.integers(25, 50)), int(rng.integers(8, 12)), int(rng.integers(2, 4))
    cov = rng.random((n, m)) < 0.25
    w = rng.integers(1, 9, n).astype(float)
    ct = CostTable.from_dense(np.where(cov, 100.0, 5000.0), cutoff_m=1000)
    opts = mclp.MCLP.options(None, {"weights": w, "method": "auto", "time_limit_s": 30})
    run = SolveRun(mclp.MCLP, build_problem(ct, opts), opts, time.perf_counter(), limit_m=500.0)
    red = mclp.CoverModel(
        cov=sp.csr_matrix(cov), row_weight=w, cols=np.arange(m), required=np.zeros(m, bool),
        uncoverable=np.zeros(0, dtype=np.int64), fixed_weight=0.0,
    )  # fmt: skip
    rules = SiteRules(
        required=np.zeros(m, bool), zone=np.full(m, -1), zmin=np.zeros(0, np.int64),
        zmax=np.zeros(0), cost=np.ones(m), kmin=0, kmax=k, budget=None,
    )  # fmt: skip
    if source == "lp":
        lp = lp_relaxation(mclp._model(run, red, np.ones(m, bool), (0, k), None), time_limit_s=10)
        assert lp is not None
        start = mclp.DualStart(np.clip(np.abs(lp[1][:n]), 0.0, w))
    else:
        sd = smoothed_dual(sp.csr_matrix(cov), w, k, np.zeros(m, bool), deadline=time.perf_counter() + 10)
        assert sd is not None
        start = mclp.DualStart(sd.lam, sd.stages[1:], "smoothed")
    worst = min(itertools.combinations(range(m), k), key=lambda s: w[cov[:, list(s)].any(1)].sum())
    mask = np.zeros(m, bool)
    mask[list(worst)] = True
    inc = Incumbent(mask, float(w[~cov[:, mask].any(1)].sum()), {})
    return cov, w, k, run, red, rules, start, inc


@pytest.mark.parametrize("source", ["lp", "smoothed"])
@pytest.mark.parametrize("seed", range(12))
def test_the_milp_on_the_sites_the_duals_leave_from_a_poor_incumbent(seed: int, source: str) -> None:
    """From the worst choice of k sites as incumbent, the MILP on the sites the duals and
    the probing leave proves the brute-force optimum: a site wrongly closed, or a bound
    that ignored the closing, would show here."""
    cov, w, k, run, red, rules, start, inc = _poor_incumbent_state(seed, source)
    m = cov.shape[1]
    rows, cols = np.nonzero(cov)
    sc = SparseCost.build(rows, cols, np.zeros(len(rows)), w, 1.0, m)  # f = uncovered weight
    closure = mclp._closure(run, red, rules, start, float(w.sum()) - inc.value)
    assert closure.info["probing"]["sites_closed"] + closure.info["sites_closed_by_lp_duals"] == int(
        closure.closed.sum()
    )
    path = mclp.LpPath(run, red, sc, rules, start, closure, inc, np.zeros(m, bool), (0, k), False, True)
    xm, bound, status, how, details = mclp._closed_exact(path, float(w.sum()), "x", {})
    best = _best_cover(cov, w, k)
    assert status == "optimal" and how == "x+highs-mip"
    assert details["closed_milp"]["sites"] + details["closed_milp"]["sites_closed"] == m
    assert float(w[cov[:, xm].any(1)].sum()) == best and bound == pytest.approx(best)


def test_probing_on_the_lp_start_path_closes_more_and_keeps_the_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the optimum as incumbent (or one less), the closure with probing holds every
    site the duals close, and more over the cases; the best choice among the sites it
    leaves is still the brute-force optimum. Switched off (``PROBING``), only the duals'."""
    extra = 0
    for seed in range(12):
        for source in ("lp", "smoothed"):
            cov, w, k, run, red, rules, start, _inc = _poor_incumbent_state(seed, source)
            target = _best_cover(cov, w, k) - float(seed % 2)
            with_probing = mclp._closure(run, red, rules, start, target)
            monkeypatch.setattr(mclp, "PROBING", False)
            duals = mclp._closure(run, red, rules, start, target)
            monkeypatch.setattr(mclp, "PROBING", True)
            assert "probing" not in duals.info
            assert (with_probing.closed | ~duals.closed).all()
            extra += int(with_probing.closed.sum() - duals.closed.sum())
            open_cols = np.flatnonzero(~with_probing.closed)
            assert _best_cover(cov[:, open_cols], w, min(k, len(open_cols))) == _best_cover(cov, w, k)
    assert extra >= 20, extra  # 40 when written (the duals close 106)


def test_sites_nearest_the_threshold_by_hand() -> None:
    # rows {0,1}, {1,2}, {2,3} with multipliers 1, 2, 4: rho = (1, 3, 6, 4); k = 2, so the
    # threshold is the 2nd largest, 4; distances 3, 1, 2, 0: nearest are sites 3, then 1
    cov = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool))
    red = mclp.CoverModel(
        cov=cov, row_weight=np.full(3, 5.0), cols=np.arange(4), required=np.zeros(4, bool),
        uncoverable=np.zeros(0, dtype=np.int64), fixed_weight=0.0,
    )  # fmt: skip
    rules = SiteRules(
        required=np.zeros(4, bool), zone=np.full(4, -1), zmin=np.zeros(0, np.int64),
        zmax=np.zeros(0), cost=np.ones(4), kmin=0, kmax=2, budget=None,
    )  # fmt: skip
    lam = np.array([1.0, 2.0, 4.0])
    assert mclp._near_threshold(red, rules, lam, 2).tolist() == [3, 1]
    assert mclp._near_threshold(red, rules, lam, 9).tolist() == [3, 1, 2, 0]
    assert mclp._near_threshold(red, rules, lam, 0).tolist() == []
    # multipliers above a row's weight count as the weight (clipped): rho = (5, 10, 10, 5)
    assert sorted(mclp._near_threshold(red, rules, np.array([9.0, 9.0, 9.0]), 2).tolist()) == [1, 2]


def test_the_milp_beside_the_blocks_in_a_second_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """With less than ``MILP_FIRST_S`` left but enough for the MILP, it runs in a second
    thread beside the block decomposition: every answer is the brute-force optimum, proven,
    and both ran; switched off, the blocks run alone first, as before."""
    import threading

    monkeypatch.setattr(mclp, "AUTO_EXACT_MAX_NNZ", 0)
    monkeypatch.setattr(mclp, "MILP_FIRST_S", 1e9)  # never the MILP alone first
    monkeypatch.setattr(mclp.os, "cpu_count", lambda: 2)
    threads: set[str] = set()
    real = mclp._closed_exact

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return real(*a, **kw)

    monkeypatch.setattr(mclp, "_closed_exact", spy)
    rng = np.random.default_rng(23)
    both = 0
    for _ in range(24):
        cov, w, k, ct = _random_case(rng, 0.3)
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=60, method="auto")
        best = _best_cover(cov, w, k)
        assert res.status == "optimal" and res.objective == best
        assert res.objective == float(w[cov[:, res.selected].any(axis=1)].sum())
        if "closed_milp" in res.details and "block_decomposition" in res.details:
            both += 1  # the method names what proved it: the MILP, or the blocks' bound
            assert res.method.startswith("lp-start+greedy+swap+"), res.method
            assert res.method.endswith(("+highs-mip", "+block-decomposition-proof")), res.method
    assert both >= 4, both
    assert threads and all(t.startswith("mclp-milp") for t in threads)
    monkeypatch.setattr(mclp, "CONCURRENT_MILP", False)
    threads.clear()
    for _ in range(6):
        cov, w, k, ct = _random_case(rng, 0.2)
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=60, method="auto")
        assert res.status == "optimal" and res.objective == _best_cover(cov, w, k)
    assert not any(t.startswith("mclp-milp") for t in threads)


def test_coarse_blocks_beside_the_milp_with_time_to_spare(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``MILP_FIRST_S`` or more left and two cores, the MILP runs beside coarse blocks
    (every answer the brute-force optimum, proven); when the blocks' bound proves the
    incumbent, the MILP is told to stop; with one core the MILP runs alone, no blocks."""
    import threading

    monkeypatch.setattr(mclp, "AUTO_EXACT_MAX_NNZ", 0)
    monkeypatch.setattr(mclp, "MILP_FIRST_S", 0.0)  # always time to spare
    monkeypatch.setattr(mclp.os, "cpu_count", lambda: 2)
    coarse: list[bool] = []
    stops: list[threading.Event | None] = []
    real_dec, real_exact = mclp._decomposition_bound, mclp._closed_exact

    def dec_spy(*a, **kw):  # type: ignore[no-untyped-def]
        coarse.append(kw.get("coarse", False))
        return real_dec(*a, **kw)

    def exact_spy(*a, **kw):  # type: ignore[no-untyped-def]
        stops.append(kw.get("stop"))
        return real_exact(*a, **kw)

    monkeypatch.setattr(mclp, "_decomposition_bound", dec_spy)
    monkeypatch.setattr(mclp, "_closed_exact", exact_spy)
    rng = np.random.default_rng(29)
    cases = []
    for _ in range(24):
        cov, w, k, ct = _random_case(rng, 0.3)
        cases.append((cov, w, k, ct))
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=60, method="auto")
        best = _best_cover(cov, w, k)
        assert res.status == "optimal" and res.objective == best
        assert res.objective == float(w[cov[:, res.selected].any(axis=1)].sum())
        if "block_decomposition" in res.details:
            assert res.details["block_decomposition"]["coarse"] is True
    assert len(coarse) >= 4 and all(coarse), coarse
    assert len(stops) == len(coarse) and all(s is not None for s in stops)
    # blocks whose bound equals the optimum (brute force) prove it: the MILP is told to stop
    stops.clear()
    optimum: dict[str, float] = {}

    def proving_blocks(path, stop=None, *, coarse=False):  # type: ignore[no-untyped-def]
        return {"bound": optimum["v"], "coarse": coarse}

    monkeypatch.setattr(mclp, "_decomposition_bound", proving_blocks)
    for cov, w, k, ct in cases[:8]:
        optimum["v"] = _best_cover(cov, w, k)
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=60, method="auto")
        assert res.status == "optimal" and res.objective == optimum["v"]
    assert stops and all(s is not None and s.is_set() for s in stops)
    # one core: the MILP alone
    monkeypatch.setattr(mclp, "_decomposition_bound", dec_spy)
    monkeypatch.setattr(mclp.os, "cpu_count", lambda: 1)
    coarse.clear()
    stops.clear()
    for cov, w, k, ct in cases[:8]:
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=60, method="auto")
        assert res.status == "optimal" and res.objective == _best_cover(cov, w, k)
    assert not coarse and stops and all(s is None for s in stops)
