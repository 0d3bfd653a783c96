"""Capacitated variants (the assignment MILP shared by p-median, MCLP and LSCP)."""

from __future__ import annotations

import pytest
from optimize_cases import line_table

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
    with pytest.raises(ParameterError, match="exactly only"):
        solve_pmedian(ct, p=2, capacity=[2, 10], method="heuristic")


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
