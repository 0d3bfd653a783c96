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
    lp_used = 0
    for _ in range(15):
        n, m, k = int(rng.integers(4, 14)), int(rng.integers(3, 8)), int(rng.integers(1, 3))
        cov = rng.random((n, m)) < 0.35
        w = rng.integers(1, 9, n).astype(float)
        ct = CostTable.from_dense(np.where(cov, 100.0, 5000.0), cutoff_m=1000)
        res = solve_mclp(ct, k=k, weights=w, radius_m=500, time_limit_s=20, method=method)
        best = _best_cover(cov, w, k)
        assert res.objective == float(w[cov[:, res.selected].any(axis=1)].sum())
        assert res.objective <= best <= res.best_bound + 1e-9
        assert res.status != "optimal" or res.objective == best
        assert method == "auto" or (res.status == "optimal" and res.objective == best)
        lp_used += res.details.get("lagrangian_start") == "lp-duals (interior point)"
        if method == "auto" and res.details.get("lagrangian_start"):  # the method names the LP start
            assert res.method.startswith("lp-start+greedy+swap"), res.method
    assert lp_used >= 10


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
