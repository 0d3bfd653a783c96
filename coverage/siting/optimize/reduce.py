"""Model shrinking before the solver sees a problem.

All reductions keep the optimum value unchanged and every optimal solution of the
reduced model is optimal for the original one (after mapping columns back):

* **Weightless and uncoverable rows.** Demand rows of weight 0 are ignored; rows no
  allowed site reaches are set aside (and reported by the models).
* **Rows already served by required sites** are removed (their weight becomes a
  constant of the MCLP objective).
* **Identical rows** (same covering sites; for p-median same sites *and* distances)
  merge into one row whose weight is the sum. Not done with single-sourced capacities,
  where one merged row could not be split between sites.
* **Dominated sites** (covering models only). Site ``j`` is dropped when another
  allowed site ``k`` covers every row ``j`` covers and costs no more (identical sites:
  the lower position stays). Only safe moves are made: ``j`` must not be required nor
  belong to a zone with a rule, and ``k`` must not sit in a zone with a maximum, so that
  swapping ``j`` for ``k`` in any solution keeps it feasible; never with capacities.
  Sites covering no remaining row are dropped under the same conditions.
* **Dominated rows** (LSCP only). A row whose covering sites include all the covering
  sites of another row is covered whenever that row is, so it is dropped.

Sizes of the pairwise products are estimated first; a reduction whose product would be
too large is skipped (and says so in the statistics).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .problem import Problem

__all__ = ["CoverModel", "merge_identical_rows", "reduce_covering"]

logger = logging.getLogger(__name__)

#: Pairwise products larger than this many nonzeros are not formed.
MAX_PRODUCT_NNZ = 30_000_000


@dataclass
class CoverModel:
    """A reduced covering model.

    Attributes
    ----------
    cov
        Boolean CSR coverage matrix, reduced rows × reduced columns.
    rows
        For each reduced row, an original representative demand position.
    row_weight
        Total weight of the original rows merged into each reduced row.
    cols
        Original site positions of the reduced columns.
    required
        Per reduced column: required (existing) site.
    uncoverable
        Original demand positions no allowed site covers (weight > 0).
    fixed_weight
        Weight already covered by required sites (removed rows).
    stats
        Shrink statistics.
    """

    cov: sp.csr_matrix
    rows: np.ndarray
    row_weight: np.ndarray
    cols: np.ndarray
    required: np.ndarray
    uncoverable: np.ndarray
    fixed_weight: float
    stats: dict[str, Any] = field(default_factory=dict)


def merge_identical_rows(
    m: sp.csr_matrix, weights: np.ndarray, *, with_values: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group rows of ``m`` with identical column patterns (and values if asked).

    Returns
    -------
    keep, group, merged_weight
        Positions of one representative row per group, the group of every row, and the
        summed weight of each group (aligned with ``keep``).
    """
    m = sp.csr_matrix(m)
    m.sort_indices()
    ind, ptr = m.indices, m.indptr
    data = m.data if with_values else None
    seen: dict[bytes, int] = {}
    group = np.empty(m.shape[0], dtype=np.int64)
    keep: list[int] = []
    for i in range(m.shape[0]):
        a, b = ptr[i], ptr[i + 1]
        key = ind[a:b].tobytes()
        if data is not None:
            key += b"|" + data[a:b].tobytes()
        g = seen.get(key)
        if g is None:
            g = seen[key] = len(keep)
            keep.append(i)
        group[i] = g
    merged = np.bincount(group, weights=weights, minlength=len(keep)).astype(np.float64)
    return np.asarray(keep, dtype=np.int64), group, merged


def _free_zone(prob: Problem, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(droppable, can_dominate) masks for the given columns."""
    z = prob.zone[cols]
    if not prob.n_zones:
        free = np.ones(len(cols), dtype=bool)
        return free, free.copy()
    zmin = np.append(prob.zone_min, 0)[z]
    zmax = np.append(prob.zone_max, np.inf)[z]
    droppable = (z < 0) | ((zmin == 0) & ~np.isfinite(zmax))
    can_dom = (z < 0) | ~np.isfinite(zmax)
    return droppable, can_dom


def _dominated_columns(
    cov: sp.csr_matrix, cost: np.ndarray, droppable: np.ndarray, can_dom: np.ndarray
) -> np.ndarray | None:
    """Mask of columns dominated by another column, or ``None`` if too large to test."""
    c = sp.csr_matrix(cov, dtype=np.int32)
    deg_row = np.diff(c.indptr)
    if float(np.sum(deg_row.astype(np.float64) ** 2)) > MAX_PRODUCT_NNZ:
        return None
    size = np.asarray(c.sum(axis=0)).ravel()
    g = (c.T @ c).tocoo()
    j, k, v = g.row, g.col, g.data
    ok = (j != k) & (v == size[j]) & droppable[j] & can_dom[k] & (cost[k] <= cost[j])
    tie = (size[k] == size[j]) & (cost[k] == cost[j]) & (k > j)
    ok &= ~tie
    dom = np.zeros(cov.shape[1], dtype=bool)
    dom[j[ok]] = True
    return dom


def _dominated_rows(cov: sp.csr_matrix) -> np.ndarray | None:
    """Mask of rows whose covering set contains another row's (LSCP)."""
    c = sp.csr_matrix(cov, dtype=np.int32)
    deg_col = np.diff(c.tocsc().indptr)
    if float(np.sum(deg_col.astype(np.float64) ** 2)) > MAX_PRODUCT_NNZ:
        return None
    deg = np.diff(c.indptr)
    r = (c @ c.T).tocoo()
    a, b, v = r.row, r.col, r.data
    # row a inside row b (a != b) -> b is redundant; equal rows: keep the lower position
    ok = (a != b) & (v == deg[a]) & ((deg[a] < deg[b]) | (a < b))
    dom = np.zeros(cov.shape[0], dtype=bool)
    dom[b[ok]] = True
    return dom


def reduce_covering(
    prob: Problem,
    cov_full: sp.csr_matrix,
    *,
    use_cost: bool,
    column_dominance: bool = True,
    row_dominance: bool = False,
    merge_rows: bool = True,
    max_rounds: int = 3,
) -> CoverModel:
    """Shrink a covering model (LSCP, MCLP, p-center subproblem).

    Parameters
    ----------
    prob
        The validated problem (weights, allowed/required sites, zones).
    cov_full
        Boolean demand × site coverage matrix over all sites.
    use_cost
        Whether site costs matter (LSCP cost, MCLP budget); otherwise every site costs
        the same for dominance.
    column_dominance, row_dominance, merge_rows
        Which reductions to apply (see the module notes).
    max_rounds
        Rounds of alternating reductions.

    Returns
    -------
    CoverModel
    """
    w = prob.weights
    cols = np.flatnonzero(prob.allowed)
    cov = sp.csr_matrix(cov_full[:, cols], dtype=bool)
    stats: dict[str, Any] = {
        "demand_in": int(prob.n_demand),
        "sites_in": int(prob.n_sites),
        "sites_not_allowed": int(prob.n_sites - len(cols)),
    }
    deg = np.diff(cov.indptr)
    pos = w > 0
    uncover = np.flatnonzero(pos & (deg == 0))
    req_cols = prob.required[cols]
    by_req = np.asarray(cov[:, np.flatnonzero(req_cols)].sum(axis=1)).ravel() > 0
    fixed = float(w[pos & by_req].sum())
    rows = np.flatnonzero(pos & (deg > 0) & ~by_req)
    stats.update(
        weightless_rows=int((~pos).sum()),
        uncoverable_rows=len(uncover),
        rows_served_by_existing=int((pos & by_req).sum()),
    )
    cov = cov[rows]
    rw = w[rows].astype(np.float64)
    cost = prob.site_cost[cols] if use_cost else np.ones(len(cols))
    droppable, can_dom = _free_zone(prob, cols)
    droppable &= ~req_cols
    merged = dom_cols = dom_rows = empty_cols = 0
    skipped: list[str] = []
    for _ in range(max(1, max_rounds)):
        changed = False
        if merge_rows and cov.shape[0]:
            keep, _grp, mw = merge_identical_rows(cov, rw)
            if len(keep) < cov.shape[0]:
                merged += cov.shape[0] - len(keep)
                cov, rows, rw = cov[keep], rows[keep], mw
                changed = True
        colsize = np.asarray(cov.sum(axis=0)).ravel()
        drop = (colsize == 0) & droppable
        if column_dominance and cov.shape[1] > 1:
            dom = _dominated_columns(cov, cost, droppable, can_dom)
            if dom is None:
                skipped.append("column_dominance")
            else:
                dom_cols += int((dom & ~drop).sum())
                drop |= dom
        empty_cols += int(((colsize == 0) & droppable).sum())
        if drop.any():
            keepc = ~drop
            cov, cols, cost = cov[:, keepc], cols[keepc], cost[keepc]
            droppable, can_dom, req_cols = droppable[keepc], can_dom[keepc], req_cols[keepc]
            changed = True
        if row_dominance and cov.shape[0] > 1:
            domr = _dominated_rows(cov)
            if domr is None:
                skipped.append("row_dominance")
            elif domr.any():
                dom_rows += int(domr.sum())
                cov, rows, rw = cov[~domr], rows[~domr], rw[~domr]
                changed = True
        if not changed:
            break
    stats.update(
        merged_rows=merged,
        dominated_rows=dom_rows,
        dominated_sites=dom_cols,
        empty_sites=empty_cols,
        demand_out=int(cov.shape[0]),
        sites_out=int(cov.shape[1]),
        nnz_out=int(cov.nnz),
    )
    if skipped:
        stats["skipped"] = sorted(set(skipped))
    logger.debug("reduce_covering: %s", stats)
    return CoverModel(
        cov=sp.csr_matrix(cov),
        rows=rows,
        row_weight=rw,
        cols=cols,
        required=req_cols,
        uncoverable=uncover,
        fixed_weight=fixed,
        stats=stats,
    )
