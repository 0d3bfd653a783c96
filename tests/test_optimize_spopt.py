"""Cross-check against spopt (PySAL) on identical small cost matrices.

spopt is a test-only dependency; these tests are skipped when it is not installed.
Both sides solve to proven optimality, so the objective values must agree (the chosen
sites may differ when there are ties).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from coverage.engine.costs import CostTable
from coverage.siting.optimize import solve_lscp, solve_mclp, solve_pcenter, solve_pmedian

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    spopt_locate = pytest.importorskip("spopt.locate", reason="spopt is not installed")
    pulp = pytest.importorskip("pulp", reason="pulp is not installed")


def _solver():
    if "HiGHS" in pulp.listSolvers(onlyAvailable=True):
        return pulp.HiGHS(msg=False)
    return pulp.PULP_CBC_CMD(msg=False)


def _instance(seed: int, n: int = 30, m: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 3000, (n, 2))
    sites = rng.uniform(0, 3000, (m, 2))
    d = np.round(np.hypot(*(dem[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)), 0)
    w = rng.integers(1, 20, n).astype(float)
    return d, w


def _solve(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = model.solve(_solver())
    assert pulp.LpStatus[model.problem.status] == "Optimal"
    return pulp.value(model.problem.objective)


@pytest.mark.parametrize("seed", range(3))
def test_same_objectives_as_spopt(seed: int) -> None:
    d, w = _instance(seed)
    radius = 1200.0
    ct = CostTable.from_dense(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lscp = spopt_locate.LSCP.from_cost_matrix(d, radius)
        mclp = spopt_locate.MCLP.from_cost_matrix(d, w, radius, p_facilities=3)
        pmed = spopt_locate.PMedian.from_cost_matrix(d, w, p_facilities=3)
        pcen = spopt_locate.PCenter.from_cost_matrix(d, p_facilities=3)
    coverable = (d <= radius).any(1)
    if coverable.all():
        assert solve_lscp(ct, radius_m=radius).objective == pytest.approx(_solve(lscp))
    assert solve_mclp(ct, k=3, weights=w, radius_m=radius).objective == pytest.approx(_solve(mclp))
    assert solve_pmedian(ct, p=3, weights=w).objective == pytest.approx(_solve(pmed))
    assert solve_pcenter(ct, p=3).objective == pytest.approx(_solve(pcen))
