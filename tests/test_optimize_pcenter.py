"""p-center: both exact methods, the heuristic, infeasibility within the cutoff, a brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest
from optimize_cases import brute, line_table, random_table

from coverage.errors import InfeasibleError
from coverage.siting.optimize import solve_pcenter


def test_pcenter_line_both_methods() -> None:
    x = [0, 10, 20, 30, 100, 110]
    ct = line_table(x, x)
    s = solve_pcenter(ct, p=2)
    m = solve_pcenter(ct, p=2, method="milp")
    assert s.objective == m.objective == 20  # site 10 or 20 serves 0..30
    assert s.status == m.status == "optimal"
    assert s.method == "binary-search+highs-lscp" and m.method == "highs-mip"
    assert len(s.selected) == 2 and s.covered.all()
    h = solve_pcenter(ct, p=2, method="heuristic")
    assert h.objective >= 20 and h.best_bound <= 20 and h.status in ("heuristic", "optimal")
    assert solve_pcenter(ct, p=2, method="exact").objective == 20


def test_pcenter_infeasible_within_cutoff() -> None:
    ct = line_table([0, 1000], [0, 1000], cutoff=100)
    with pytest.raises(InfeasibleError, match="larger cutoff"):
        solve_pcenter(ct, p=1)
    with pytest.raises(InfeasibleError, match="no allowed site"):
        solve_pcenter(ct, p=1, forbidden=[1])


@pytest.mark.parametrize("seed", range(10))
def test_oracle_pcenter(seed: int) -> None:
    ct, d, w = random_table(200 + seed)
    p = 1 + seed % 3
    opt = brute(d, w, range(p, p + 1), lambda s: float(d[:, s].min(1).max()))
    res = solve_pcenter(ct, p=p)
    assert res.objective == pytest.approx(opt) and res.best_bound == pytest.approx(opt)
    if seed < 3:
        assert solve_pcenter(ct, p=p, method="milp").objective == pytest.approx(opt)
    # existing site 0, site 1 forbidden, zones {2,3} and {4,5} at most one each
    zones = np.array([None, None, "a", "a", "b", "b", None], dtype=object)

    def feas(s: tuple[int, ...]) -> bool:
        return 0 in s and 1 not in s and len(set(s) & {2, 3}) <= 1 and len(set(s) & {4, 5}) <= 1

    q = p + 1
    opt_c = brute(d, w, range(q, q + 1), lambda s: float(d[:, s].min(1).max()), feas)
    kw = dict(existing=[0], forbidden=[1], zone_of_site=zones, zone_rule="at_most_one")
    assert solve_pcenter(ct, p=q, **kw).objective == pytest.approx(opt_c)
    if seed < 3:
        assert solve_pcenter(ct, p=q, method="milp", **kw).objective == pytest.approx(opt_c)


def test_pcenter_lp_bound_settles_the_odd_cycle() -> None:
    # three homes, three sites each 1 m from two homes and 5 m from the third: one site
    # cannot serve all within 1 m, and even fractionally it takes 1.5 sites (LP proof)
    from coverage.engine.costs import CostTable

    d = np.array([[1, 5, 1], [1, 1, 5], [5, 1, 1]], float)
    ct = CostTable.from_dense(d)
    res = solve_pcenter(ct, p=1, method="exact")
    assert res.objective == 5 and res.best_bound == 5 and res.status == "optimal"
    by = {(t["radius"], t["by"]): t["result"] for t in res.details["search"]}
    assert by[(1.0, "highs-lp")] == "no"
    two = solve_pcenter(ct, p=2, method="exact")  # 1.5 <= 2: the LP must not refuse
    assert two.objective == 1 and two.status == "optimal"


def test_lp_cover_bound_against_hand_values() -> None:
    import time

    import scipy.sparse as sp

    from coverage.engine.costs import CostTable
    from coverage.siting.optimize import SolveOptions, build_problem
    from coverage.siting.optimize.base import SolveRun
    from coverage.siting.optimize.pcenter import PCENTER, _lp_needs_more

    ct = CostTable.from_dense(np.ones((3, 3)))
    run = SolveRun(PCENTER, build_problem(ct), SolveOptions(), time.perf_counter())
    odd = sp.csc_matrix(np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]], float))  # LP optimum 1.5
    ones, inf, lb = np.ones(3), np.full(3, np.inf), np.zeros(3)
    assert _lp_needs_more(run, odd, ones, inf, lb, 1, 1.0)
    assert not _lp_needs_more(run, odd, ones, inf, lb, 2, 1.0)
    # a zone row "none of site 2" forces sites 0 and 1 fully open: LP optimum 2
    zoned = sp.vstack([odd, sp.csc_matrix(np.array([[0.0, 0.0, 1.0]]))], format="csc")
    lo, hi = np.r_[ones, -np.inf], np.r_[inf, 0.0]
    assert _lp_needs_more(run, zoned, lo, hi, lb, 1, 1.0)
    assert not _lp_needs_more(run, zoned, lo, hi, lb, 2, 1.0)
