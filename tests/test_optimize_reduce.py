"""Model reductions: merged rows and safely dropped dominated sites."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverage.engine.costs import CostTable
from coverage.siting.optimize import build_problem
from coverage.siting.optimize.reduce import merge_identical_rows, reduce_covering


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
