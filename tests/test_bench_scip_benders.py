"""Issue 13's SCIP experiment (``benchmarks/scip_benders.py``): its Benders cuts are valid
and tight (checked by enumeration, numpy only), and the branch-and-cut reaches the
brute-force optimum (``pyscipopt`` comes with the test extra, not with the package)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))
from scip_benders import BendersCuts, master_model, solve_mclp_benders  # noqa: E402

HAS_SCIP = importlib.util.find_spec("pyscipopt") is not None


def _instance(seed: int, n_rows: int = 30, n_sites: int = 8, density: float = 0.25):
    rng = np.random.default_rng(seed)
    cov = sp.random(n_rows, n_sites, density=density, random_state=seed, format="csr").astype(bool)
    w = rng.integers(1, 20, n_rows).astype(float)
    return cov, w


def _covered(cov: sp.csr_matrix, w: np.ndarray, sites: tuple[int, ...]) -> float:
    hit = np.asarray(cov[:, list(sites)].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


@pytest.mark.parametrize("seed", range(12))
def test_the_cuts_are_valid_for_every_site_set_and_tight_where_they_were_made(seed):
    cov, w = _instance(seed)
    rng = np.random.default_rng(100 + seed)
    cluster = rng.integers(0, 4, cov.shape[0])
    cluster = np.unique(cluster, return_inverse=True)[1]
    cuts = BendersCuts(cov, w, cluster)
    k = 3
    x_star = rng.dirichlet(np.ones(cov.shape[1])) * k
    x_star = np.minimum(x_star, 1.0)
    found = cuts.cuts(x_star, cuts.cap + 1.0)  # theta above every cap: every cluster cut
    assert sorted(c for c, *_ in found) == list(range(cuts.n_clusters))
    value = cuts.value(x_star)
    for c, idx, coef, const in found:
        # tight at the point it was made for: the cluster's covered weight there
        assert float(coef @ x_star[idx]) + const == pytest.approx(value[c])
        # valid for every site set: never below what the set covers in the cluster
        rows = cluster == c
        for sites in itertools.combinations(range(cov.shape[1]), k):
            x = np.zeros(cov.shape[1])
            x[list(sites)] = 1.0
            assert float(coef @ x[idx]) + const >= _covered(cov[rows], w[rows], sites) - 1e-9
    # no cut where theta is the covered weight
    assert cuts.cuts(x_star, value) == []


@pytest.mark.parametrize("seed", range(8))
def test_the_dual_cuts_are_valid_for_every_site_set(seed):
    cov, w = _instance(seed)
    rng = np.random.default_rng(200 + seed)
    cluster = np.unique(rng.integers(0, 3, cov.shape[0]), return_inverse=True)[1]
    cuts = BendersCuts(cov, w, cluster)
    lam = w * rng.uniform(0.0, 1.0, len(w))
    lam[::5] = w[::5]  # the ends of [0, w] too
    lam[1::5] = 0.0
    found = cuts.dual_cuts(lam)
    assert [c for c, *_ in found] == list(range(cuts.n_clusters))
    for c, idx, coef, const in found:
        rows = cluster == c
        for sites in itertools.combinations(range(cov.shape[1]), 2):
            x = np.zeros(cov.shape[1])
            x[list(sites)] = 1.0
            assert float(coef @ x[idx]) + const >= _covered(cov[rows], w[rows], sites) - 1e-9
        # at x = 0 the cut is the weight the multipliers leave: sum (w - lam)
        assert const == pytest.approx(float((w - lam)[rows].sum()))
        # and each row's multiplier once per site that covers it
        assert coef.sum() == pytest.approx(float(lam[rows] @ np.diff(cov.indptr)[rows]))


def test_the_master_merges_rows_and_drops_sites_that_cover_nothing():
    cov = sp.csr_matrix(
        np.array([[1, 0, 0, 1], [1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
    )
    w = np.array([2.0, 3.0, 4.0, 9.0])
    cm, wm, sites, cluster = master_model(cov, w, resolution=1.0, max_cluster_sites=50)
    assert list(sites) == [0, 1, 3]  # site 2 covers nothing
    assert cm.shape == (2, 3)
    assert sorted(wm) == [4.0, 5.0]  # rows 0 and 1 merged; the uncoverable row left out
    assert len(cluster) == 2


@pytest.mark.skipif(not HAS_SCIP, reason="pyscipopt is not installed (the test extra has it: pip install -e '.[test]')")
@pytest.mark.parametrize("seed", range(6))
def test_the_branch_and_cut_reaches_the_brute_force_optimum(seed):
    cov, w = _instance(seed, n_rows=60, n_sites=12, density=0.15)
    k = 3
    best = max(_covered(cov, w, s) for s in itertools.combinations(range(12), k))
    res = solve_mclp_benders(
        cov, w, k, 60.0, resolution=1.0, max_cluster_sites=3, lp_duals=bool(seed % 2)
    )
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best)
    assert res.best_bound == pytest.approx(best, abs=1e-6)
    assert res.n_selected == k
    assert _covered(cov, w, tuple(res.selected)) == pytest.approx(best)
