"""p-median and consolidation: assignment, unreachable penalty, parameters, a brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest
from optimize_cases import brute, line_table, random_table

from coverage.engine.costs import CostTable
from coverage.errors import InfeasibleError, ParameterError
from coverage.siting.optimize import solve_consolidation, solve_pmedian


def test_pmedian_line_and_assignment() -> None:
    x = [0, 1, 2, 10, 11, 12]
    res = solve_pmedian(line_table(x, x), p=2)
    assert sorted(res.selected.tolist()) == [1, 4] and res.objective == 4
    assert res.assignment.tolist() == [1, 1, 1, 4, 4, 4]
    assert res.covered is None and res.status == "optimal"
    frame = res.assignment_frame()
    assert list(frame.columns) == [
        "demand_pos",
        "demand_id",
        "site_pos",
        "site_id",
        "dist_m",
        "covered",
    ]
    assert frame["dist_m"].sum() == 4


def test_pmedian_unreachable_penalty_and_infeasible() -> None:
    ct = line_table([0, 10, 5000], [0, 10], cutoff=100)
    with pytest.raises(InfeasibleError, match="no allowed site within the table cutoff"):
        solve_pmedian(ct, p=1)
    res = solve_pmedian(ct, p=1, unreachable_penalty_m=1000)
    assert res.objective == 10 + 1000 and list(res.uncoverable) == ["d2"]
    assert res.assignment[2] == -1
    with pytest.raises(ParameterError, match="penalty"):
        solve_pmedian(ct, p=1, unreachable_penalty_m=50)
    # p too small to assign everyone inside the table
    ct2 = line_table([0, 1000], [0, 1000], cutoff=100)
    with pytest.raises(InfeasibleError):
        solve_pmedian(ct2, p=1, method="exact")
    with pytest.raises(InfeasibleError):
        solve_pmedian(ct2, p=1, method="heuristic")


def test_pmedian_parameters() -> None:
    ct = line_table([0, 1], [0, 1])
    with pytest.raises(ParameterError, match="p must be a positive integer"):
        solve_pmedian(ct, p=0)
    with pytest.raises(ParameterError, match="asks for 3 sites"):
        solve_pmedian(ct, p=3)


def test_consolidation_keeps_the_best_homes() -> None:
    x = [0, 1, 2, 50, 51, 100]
    ct = line_table(x, [1, 2, 51, 100])
    res = solve_consolidation(ct, keep=2, homes=[0, 1, 2, 3])
    assert res.model == "consolidation" and sorted(res.selected.tolist()) == [0, 2]
    assert set(res.details["closed"]) == {"s1", "s3"}
    assert res.assignment[5] == 2  # everyone goes to the nearest kept home
    res = solve_consolidation(ct, keep=2, homes=[0, 1, 2, 3], existing=[3])
    assert 3 in res.selected


@pytest.mark.parametrize("seed", range(12))
def test_oracle_pmedian(seed: int) -> None:
    ct, d, w = random_table(100 + seed)
    p = 1 + seed % 4
    opt = brute(d, w, range(p, p + 1), lambda s: float(w @ d[:, s].min(1)))
    for method in ("exact", "heuristic"):
        res = solve_pmedian(ct, p=p, weights=w, method=method)
        assert res.objective >= opt - 1e-6 and res.best_bound <= opt + 1e-6
        if method == "exact" or res.status == "optimal":
            assert res.objective == pytest.approx(opt)
    # existing site 0, zone {1, 2, 3} exactly one
    zones = np.array([None, "z", "z", "z", None, None, None], dtype=object)
    q = p + 1

    def feas(s: tuple[int, ...]) -> bool:
        return 0 in s and len(set(s) & {1, 2, 3}) == 1

    opt_z = brute(d, w, range(q, q + 1), lambda s: float(w @ d[:, s].min(1)), feas)
    for method in ("exact", "heuristic"):
        rz = solve_pmedian(
            ct,
            p=q,
            weights=w,
            existing=[0],
            zone_of_site=zones,
            zone_rule="exactly_one",
            method=method,
        )
        assert 0 in rz.selected and np.isin(rz.selected, [1, 2, 3]).sum() == 1
        assert rz.objective >= opt_z - 1e-6
        if method == "exact":
            assert rz.objective == pytest.approx(opt_z)
    # with a penalty on a cut table
    ct2 = CostTable.from_dense(d, cutoff_m=400)
    dd = np.where(d <= 400, d, 600.0)
    opt2 = brute(dd, w, range(p, p + 1), lambda s: float(w @ dd[:, s].min(1)))
    res2 = solve_pmedian(ct2, p=p, weights=w, unreachable_penalty_m=600, method="exact")
    assert res2.objective == pytest.approx(opt2)
