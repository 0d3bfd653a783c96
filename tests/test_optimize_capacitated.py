"""Capacitated variants (the assignment MILP shared by p-median, MCLP and LSCP)."""

from __future__ import annotations

import numpy as np
import pytest
from optimize_cases import brute, line_table, random_table

from coverage.errors import InfeasibleError, ParameterError
from coverage.siting.optimize import solve_lscp, solve_mclp, solve_pmedian


def test_capacitated_pmedian_single_and_fractional() -> None:
    # three demand near site 0, one near site 1; site 0 holds only 2 units
    x = [0, 1, 2, 100]
    ct = line_table(x, [0, 100])
    free = solve_pmedian(ct, p=2)
    assert free.assignment.tolist() == [0, 0, 0, 1]
    res = solve_pmedian(ct, p=2, capacity=[2, 10])
    assert res.assignment.tolist().count(0) == 2
    assert res.objective == pytest.approx(0 + 1 + 98 + 0)
    assert res.load.max() <= 10 and res.details["single_source"]
    frac = solve_pmedian(ct, p=2, capacity=[2.5, 10], single_source=False)
    assert frac.objective == pytest.approx(0 + 1 + 0.5 * 2 + 0.5 * 98 + 0)
    alloc = frac.details["allocation"]
    assert alloc.loc[alloc["demand_pos"] == 2, "share"].sum() == pytest.approx(1.0)
    with pytest.raises(InfeasibleError, match="capacit"):
        solve_pmedian(ct, p=2, capacity=[1, 1])
    heur = solve_pmedian(ct, p=2, capacity=[2, 10], method="heuristic")
    # both sites open: the exact assignment to them is the optimum (99). Without the
    # capacities the bound is the uncapacitated optimum (3); with them kept in the
    # Lagrangian subproblems (site 0 takes 2 units: homes 0 and 1, cost 1; home 2 goes
    # to site 1 at 98) it reaches 99 and proves it
    assert heur.objective == pytest.approx(99) and heur.best_bound == pytest.approx(99)
    assert heur.status == "optimal" and heur.details["bound"] == "capacitated lagrangian"
    assert heur.method == "greedy+interchange+capacitated-lagrangian+assignment"
    assert heur.assignment.tolist().count(0) == 2
    with pytest.raises(ParameterError, match="exactly only"):
        solve_lscp(ct, radius_m=150, capacity=[3, 1], method="heuristic")


def test_capacitated_covering_models() -> None:
    x = [0, 1, 2, 100]
    ct = line_table(x, [0, 100], cutoff=200)
    res = solve_mclp(ct, k=2, radius_m=10, capacity=[2, 5])
    assert res.objective == 3  # one of the three near site 0 is left out
    assert res.covered.sum() == 3
    res = solve_lscp(ct, radius_m=150, capacity=[3, 1])
    assert res.objective == 2
    with pytest.raises(InfeasibleError, match="capacit"):
        solve_lscp(ct, radius_m=10, capacity=[2, 5])


def test_capacitated_mclp_heuristic_bound_includes_capacity() -> None:
    x = [0, 1, 2, 100]
    ct = line_table(x, [0, 100], cutoff=200)
    res = solve_mclp(ct, k=2, radius_m=10, capacity=[2, 5], method="heuristic")
    # serves 3; uncapacitated bound 4 (every home), capacity bound 2 + 5 = 7; the
    # capacitated Lagrangian: site 0 serves at most 2 of its 3 homes, site 1 its one: 3
    assert res.objective == 3 and res.best_bound == 3 and res.status == "optimal"
    tight = solve_mclp(ct, k=2, radius_m=10, capacity=[1, 1], method="heuristic")
    assert tight.objective == 2 and tight.best_bound == 2 and tight.status == "optimal"


def test_capacitated_heuristic_falls_back_when_its_sites_cannot_hold_the_demand(monkeypatch) -> None:
    # the uncapacitated choice {0, 100} leaves home 2 without room within the 60 m table;
    # the capacitated Lagrangian's plans respect the capacities and find {0, 50}
    x = [0, 1, 2, 100]
    ct = line_table(x, [0, 100, 50], cutoff=60)
    res = solve_pmedian(ct, p=2, capacity=[2, 10, 10], method="heuristic")
    assert sorted(res.selected.tolist()) == [0, 2] and res.objective == pytest.approx(99)
    assert res.best_bound <= 99 and "heuristic_failed" not in res.details
    # with only the uncapacitated plan to try, its assignment fails: the full MILP opens {0, 50}
    from coverage.siting.optimize import capacitated
    from coverage.siting.optimize.caplagrange import CapLagrangian

    monkeypatch.setattr(capacitated, "capacitated_lagrangian", lambda *a, **k: CapLagrangian())
    res = solve_pmedian(ct, p=2, capacity=[2, 10, 10], method="heuristic")
    assert sorted(res.selected.tolist()) == [0, 2] and res.objective == pytest.approx(99)
    assert res.status == "optimal" and "heuristic_failed" in res.details


@pytest.mark.parametrize("seed", range(6))
def test_capacitated_heuristic_brackets_the_exact_optimum(seed: int) -> None:
    ct, d, w = random_table(600 + seed, n=9, m=6)
    p = 2 + seed % 2
    cap = np.full(6, float(w.sum()) / (p - 0.5))
    exact = solve_pmedian(ct, p=p, weights=w, capacity=cap, single_source=False)
    heur = solve_pmedian(ct, p=p, weights=w, capacity=cap, single_source=False, method="heuristic")
    assert exact.status == "optimal"
    assert heur.objective >= exact.objective - 1e-6 and heur.best_bound <= exact.objective + 1e-6
    if heur.status == "optimal":
        assert heur.objective == pytest.approx(exact.objective)
    al = heur.details["allocation"]
    load = np.bincount(al["site_pos"], weights=w[al["demand_pos"]] * al["share"], minlength=6)
    assert np.all(load <= cap + 1e-6) and load.sum() == pytest.approx(w.sum())
    # large capacities: the relaxation is the problem, its bound proves the answer
    opt = brute(d, w, range(p, p + 1), lambda s: float(w @ d[:, s].min(1)))
    big = solve_pmedian(ct, p=p, weights=w, capacity=np.full(6, 1e6), method="heuristic")
    assert big.objective == pytest.approx(opt) and big.best_bound <= opt + 1e-6
    mc = solve_mclp(ct.within(400), k=p, weights=w, radius_m=400, capacity=cap, method="heuristic")
    mx = solve_mclp(ct.within(400), k=p, weights=w, radius_m=400, capacity=cap, single_source=True)
    assert mc.objective <= mx.objective + 1e-6 <= mc.best_bound + 2e-6
