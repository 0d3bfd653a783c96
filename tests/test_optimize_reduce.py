"""Model reductions: merged rows and safely dropped dominated sites."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from coverage.engine.costs import CostTable
from coverage.siting.optimize import build_problem
from coverage.siting.optimize.reduce import merge_identical_rows, reduce_covering, subset_pairs


def test_reduce_merges_rows_and_drops_dominated_sites_safely() -> None:
    cov = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=bool)
    d = np.where(cov, 0.0, 10.0)
    ct = CostTable.from_dense(d, cutoff_m=5)
    prob = build_problem(ct, weights=[1, 2, 3, 4])
    red = reduce_covering(prob, ct.coverage_matrix(), use_cost=False)
    # sites 0 and 2 lie inside site 1; then rows 0, 1, 2 all read {1} and merge
    assert red.stats["dominated_sites"] == 2 and red.stats["merged_rows"] == 2
    assert red.cols.tolist() == [1, 3]
    assert sorted(red.row_weight.tolist()) == [4.0, 6.0]
    # a required or zone-constrained site is never dropped
    prob = build_problem(ct, existing=[0])
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=False).cols
    prob = build_problem(ct, zone_of_site=["z", None, None, None], zone_rule="at_least_one")
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=False).cols
    # a dominating site in a zone with a maximum does not dominate
    prob = build_problem(ct, zone_of_site=[None, "z", None, None], zone_rule="at_most_one")
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=False).cols
    # costs: a cheaper subset site survives under use_cost
    prob = build_problem(ct, site_cost=[1, 5, 1, 1])
    assert 0 in reduce_covering(prob, ct.coverage_matrix(), use_cost=True).cols
    keep, grp, _mw = merge_identical_rows(sp.csr_matrix(cov), np.ones(4))
    assert keep.tolist() == [0, 2, 3] and grp.tolist() == [0, 0, 1, 2]


def _brute_subset_pairs(m: np.ndarray) -> set[tuple[int, int]]:
    n = m.shape[0]
    return {
        (a, b)
        for a in range(n)
        for b in range(n)
        if a != b and m[a].any() and not (m[a] & ~m[b]).any()
    }


def test_subset_pairs_hand_and_brute_force() -> None:
    # row 0 = {0}, row 1 = {0, 1}, row 2 = {1, 2}, row 3 = {0, 1} (equal to row 1), row 4 empty
    m = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=bool)
    a, b = subset_pairs(sp.csr_matrix(m))
    assert set(zip(a.tolist(), b.tolist())) == {(0, 1), (0, 3), (1, 3), (3, 1)}
    rng = np.random.default_rng(7)
    for _ in range(200):
        n, k = int(rng.integers(1, 14)), int(rng.integers(1, 8))
        m = rng.random((n, k)) < rng.uniform(0.1, 0.9)
        # tiny chunks exercise the chunked candidate and containment checks
        got = subset_pairs(sp.csr_matrix(m), chunk=int(rng.integers(1, 6)))
        assert got is not None
        assert set(zip(got[0].tolist(), got[1].tolist())) == _brute_subset_pairs(m)
    # many columns: the 256-bit signatures collide, so the exact entry check must decide
    for _ in range(20):
        dens = rng.choice([0.003, 0.01, 0.3], size=(40, 1))
        m = rng.random((40, 1000)) < dens
        m[rng.integers(0, 40, 10)] |= m[rng.integers(0, 40, 10)]  # plant some subsets
        got = subset_pairs(sp.csr_matrix(m), chunk=int(rng.integers(50, 5000)))
        assert got is not None
        assert set(zip(got[0].tolist(), got[1].tolist())) == _brute_subset_pairs(m)
    assert subset_pairs(sp.csr_matrix(np.ones((5, 5), dtype=bool)), max_pairs=3) is None


def _lscp_opt(cov: np.ndarray, cost: np.ndarray) -> float:
    """Cheapest set of columns covering every non-empty row, by enumeration."""
    rows = cov.any(axis=1)
    best = np.inf
    for bits in itertools.product([False, True], repeat=cov.shape[1]):
        x = np.array(bits, dtype=bool)
        if np.all(cov[rows][:, x].any(axis=1)):
            best = min(best, float(cost[x].sum()))
    return best


def _mclp_opt(cov: np.ndarray, w: np.ndarray, k: int) -> float:
    """Largest weight covered by at most ``k`` columns, by enumeration."""
    best = 0.0
    for r in range(k + 1):
        for s in itertools.combinations(range(cov.shape[1]), r):
            best = max(best, float(w[cov[:, list(s)].any(axis=1)].sum()))
    return best


def _expand(red_cov: sp.csr_matrix, cols: np.ndarray, m: int) -> np.ndarray:
    out = np.zeros((red_cov.shape[0], m), dtype=bool)
    out[:, cols] = red_cov.toarray()
    return out


def test_lscp_reductions_keep_the_optimum_brute_force() -> None:
    """Merged, dominated rows and dominated sites (with costs) never change the LSCP optimum,
    and every cover of the reduced rows by the reduced sites covers all original rows."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        n, m = int(rng.integers(2, 12)), int(rng.integers(2, 8))
        cov = rng.random((n, m)) < rng.uniform(0.15, 0.6)
        cost = rng.integers(1, 4, m).astype(float)
        ct = CostTable.from_dense(np.where(cov, 0.0, 10.0), cutoff_m=5)
        prob = build_problem(ct, site_cost=cost)
        red = reduce_covering(
            prob, ct.coverage_matrix(), use_cost=True, row_dominance=True, max_rounds=4
        )
        small = red.cov.toarray()
        want = _lscp_opt(cov, cost)
        assert _lscp_opt(small, cost[red.cols]) == want
        # the reduced optimum, mapped back, is feasible in the original model
        for bits in itertools.product([False, True], repeat=len(red.cols)):
            x = np.array(bits, dtype=bool)
            if np.all(small[:, x].any(axis=1)) or not len(small):
                orig = np.zeros(m, dtype=bool)
                orig[red.cols[x]] = True
                rows = cov.any(axis=1)
                assert np.all(cov[rows][:, orig].any(axis=1))


def test_mclp_reductions_keep_the_optimum_brute_force() -> None:
    rng = np.random.default_rng(12)
    for _ in range(60):
        n, m = int(rng.integers(2, 12)), int(rng.integers(2, 8))
        cov = rng.random((n, m)) < rng.uniform(0.15, 0.6)
        w = rng.integers(0, 5, n).astype(float)
        k = int(rng.integers(1, 3))
        ct = CostTable.from_dense(np.where(cov, 0.0, 10.0), cutoff_m=5)
        prob = build_problem(ct, weights=w)
        red = reduce_covering(prob, ct.coverage_matrix(), use_cost=False)
        got = _mclp_opt(red.cov.toarray(), red.row_weight, k) + red.fixed_weight
        assert got == _mclp_opt(cov, w, k)


def test_row_dominance_by_hand() -> None:
    # rows: {0}, {0, 1}, {1, 2}; row 1 holds row 0's only site: covering row 0 covers it
    cov = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=bool)
    ct = CostTable.from_dense(np.where(cov, 0.0, 10.0), cutoff_m=5)
    prob = build_problem(ct)
    red = reduce_covering(
        prob, ct.coverage_matrix(), use_cost=True, row_dominance=True, column_dominance=False
    )
    assert red.stats["dominated_rows"] == 1
    assert _expand(red.cov, red.cols, 3).tolist() == [[True, False, False], [False, True, True]]
