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

__all__ = ["CoverModel", "merge_identical_rows", "reduce_covering", "uncoverable_rows"]

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


def uncoverable_rows(prob: Problem, cov_allowed: sp.spmatrix) -> np.ndarray:
    """Demand rows of weight > 0 that no column of ``cov_allowed`` (allowed sites) covers."""
    deg = np.diff(sp.csr_matrix(cov_allowed).indptr)
    return np.flatnonzero((prob.weights > 0) & (deg == 0))


@dataclass
class _Shrink:
    """The covering model while it shrinks, and what each reduction removed."""

    cov: sp.csr_matrix
    rw: np.ndarray
    cols: np.ndarray
    cost: np.ndarray
    droppable: np.ndarray
    can_dom: np.ndarray
    req_cols: np.ndarray
    merged: int = 0
    dom_cols: int = 0
    dom_rows: int = 0
    empty_cols: int = 0
    skipped: set[str] = field(default_factory=set)

    def merge_rows(self) -> bool:
        keep, _grp, mw = merge_identical_rows(self.cov, self.rw)
        if len(keep) == self.cov.shape[0]:
            return False
        self.merged += self.cov.shape[0] - len(keep)
        self.cov, self.rw = self.cov[keep], mw
        return True

    def drop_columns(self, dominance: bool) -> bool:
        """Drop empty droppable columns and (if asked) dominated ones."""
        colsize = np.asarray(self.cov.sum(axis=0)).ravel()
        empty = (colsize == 0) & self.droppable
        drop = empty.copy()
        if dominance and self.cov.shape[1] > 1:
            dom = _dominated_columns(self.cov, self.cost, self.droppable, self.can_dom)
            if dom is None:
                self.skipped.add("column_dominance")
            else:
                self.dom_cols += int((dom & ~drop).sum())
                drop |= dom
        self.empty_cols += int(empty.sum())
        if not drop.any():
            return False
        keep = ~drop
        self.cov, self.cols, self.cost = self.cov[:, keep], self.cols[keep], self.cost[keep]
        self.droppable, self.can_dom = self.droppable[keep], self.can_dom[keep]
        self.req_cols = self.req_cols[keep]
        return True

    def drop_rows(self) -> bool:
        domr = _dominated_rows(self.cov)
        if domr is None:
            self.skipped.add("row_dominance")
            return False
        if not domr.any():
            return False
        self.dom_rows += int(domr.sum())
        self.cov, self.rw = self.cov[~domr], self.rw[~domr]
        return True


def _shrink_rounds(
    sh: _Shrink, *, column_dominance: bool, row_dominance: bool, merge_rows: bool, max_rounds: int
) -> None:
    """Alternate the reductions until nothing changes (at most ``max_rounds`` rounds)."""
    for _ in range(max(1, max_rounds)):
        changed = False
        if merge_rows and sh.cov.shape[0]:
            changed |= sh.merge_rows()
        changed |= sh.drop_columns(column_dominance)
        if row_dominance and sh.cov.shape[0] > 1:
            changed |= sh.drop_rows()
        if not changed:
            break


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
    deg = np.diff(cov.indptr)
    pos = w > 0
    req_cols = prob.required[cols]
    by_req = np.asarray(cov[:, np.flatnonzero(req_cols)].sum(axis=1)).ravel() > 0
    rows = np.flatnonzero(pos & (deg > 0) & ~by_req)
    droppable, can_dom = _free_zone(prob, cols)
    sh = _Shrink(
        cov=cov[rows],
        rw=w[rows].astype(np.float64),
        cols=cols,
        cost=prob.site_cost[cols] if use_cost else np.ones(len(cols)),
        droppable=droppable & ~req_cols,
        can_dom=can_dom,
        req_cols=req_cols,
    )
    _shrink_rounds(
        sh, column_dominance=column_dominance, row_dominance=row_dominance,
        merge_rows=merge_rows, max_rounds=max_rounds,
    )  # fmt: skip
    uncover = uncoverable_rows(prob, cov)
    stats: dict[str, Any] = {
        "demand_in": int(prob.n_demand),
        "sites_in": int(prob.n_sites),
        "sites_not_allowed": int(prob.n_sites - len(cols)),
        "weightless_rows": int((~pos).sum()),
        "uncoverable_rows": len(uncover),
        "rows_served_by_existing": int((pos & by_req).sum()),
        "merged_rows": sh.merged,
        "dominated_rows": sh.dom_rows,
        "dominated_sites": sh.dom_cols,
        "empty_sites": sh.empty_cols,
        "demand_out": int(sh.cov.shape[0]),
        "sites_out": int(sh.cov.shape[1]),
        "nnz_out": int(sh.cov.nnz),
    }
    if sh.skipped:
        stats["skipped"] = sorted(sh.skipped)
    logger.debug("reduce_covering: %s", stats)
    return CoverModel(
        cov=sp.csr_matrix(sh.cov),
        row_weight=sh.rw,
        cols=sh.cols,
        required=sh.req_cols,
        uncoverable=uncover,
        fixed_weight=float(w[pos & by_req].sum()),
        stats=stats,
    )
