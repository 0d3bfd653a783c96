"""The result object every site-selection model returns, and how its sites are ranked.

It is assembled by :meth:`~coverage.siting.optimize.base.SolveRun.finish`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .options import STATUS_OPTIMAL
from .problem import Problem

__all__ = ["SiteSelection", "nearest_open", "rank_by_gain"]


@dataclass(frozen=True, eq=False)
class SiteSelection:
    """Sites chosen by a location model, with proof status and assignment.

    Attributes
    ----------
    model
        ``"lscp"``, ``"mclp"``, ``"pmedian"``, ``"pcenter"`` or ``"consolidation"``.
    selected
        Positions of the open sites (existing ones included), ranked by marginal gain:
        the first site alone gains most, the second adds most given the first, ...
    objective
        Objective value of ``selected`` recomputed on the full, unreduced input: total
        site cost (LSCP), covered weight (MCLP), weighted distance (p-median), worst
        distance (p-center).
    best_bound
        Best proven bound on the optimum (lower bound for minimisation, upper bound for
        MCLP); ``nan`` when none is known.
    gap
        Relative gap ``|objective - best_bound| / max(|objective|, 1)``.
    status
        One of :data:`~coverage.siting.optimize.options.STATUSES`: ``"optimal"`` only
        when optimality is proven (solver proof, or a bound that matches the heuristic
        value); ``"time_limit"`` when the exact solver stopped early with an incumbent;
        ``"gap_limit"`` when it stopped at a positive ``mip_rel_gap``; ``"heuristic"``
        otherwise.
    method
        How it was solved, e.g. ``"highs-mip"``, ``"greedy+interchange"``,
        ``"binary-search+highs-lscp"``.
    assignment
        Site position serving each demand row, ``-1`` if none (uncovered / unassigned).
    covered
        Per demand row, whether it is served within the model's radius (covering models
        and p-center); ``None`` for p-median.
    seconds
        Wall time of the whole call.
    shrink
        Model-reduction statistics (rows/columns before and after, merged rows,
        dominated sites...).
    marginal_gain
        Gain of each entry of ``selected`` in ranking order (covered weight for covering
        models, weighted-distance reduction for p-median).
    assigned_dist_m
        Distance from each demand row to its assigned site (``inf`` if unassigned).
    uncoverable
        Ids of demand rows no allowed site can serve within the radius / table cutoff.
    site_ids, demand_ids
        Labels copied from the cost table.
    required
        Per entry of ``selected``: whether it was an existing (required) site.
    load
        Per entry of ``selected``: total demand weight assigned to it.
    radius_m
        Service radius used (covering models, achieved radius for p-center).
    details
        Model-specific extras (e.g. p-center search log, fractional allocation).
    """

    model: str
    selected: np.ndarray
    objective: float
    best_bound: float
    gap: float
    status: str
    method: str
    assignment: np.ndarray
    covered: np.ndarray | None
    seconds: float
    shrink: dict[str, Any]
    marginal_gain: np.ndarray
    assigned_dist_m: np.ndarray
    uncoverable: np.ndarray
    site_ids: np.ndarray
    demand_ids: np.ndarray
    required: np.ndarray
    load: np.ndarray
    radius_m: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def selected_ids(self) -> np.ndarray:
        """Ids of the selected sites, in ranking order."""
        return self.site_ids[self.selected]

    @property
    def n_selected(self) -> int:
        """Number of open sites."""
        return len(self.selected)

    @property
    def proven_optimal(self) -> bool:
        """Whether optimality was proven (``status`` is :data:`STATUS_OPTIMAL`)."""
        return self.status == STATUS_OPTIMAL

    def to_frame(self) -> pd.DataFrame:
        """One row per selected site: ``rank, site_pos, site_id, existing, marginal_gain,
        n_assigned, load``."""
        n_assigned = np.bincount(
            self.assignment[self.assignment >= 0], minlength=len(self.site_ids)
        )[self.selected]
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(self.selected) + 1),
                "site_pos": self.selected,
                "site_id": self.site_ids[self.selected],
                "existing": self.required,
                "marginal_gain": self.marginal_gain,
                "n_assigned": n_assigned,
                "load": self.load,
            }
        )

    def assignment_frame(self) -> pd.DataFrame:
        """One row per demand: ``demand_pos, demand_id, site_pos, site_id, dist_m,
        covered`` (``site_id`` empty when unassigned)."""
        a = self.assignment
        sid = np.where(a >= 0, self.site_ids[np.maximum(a, 0)], None)
        cov = self.covered if self.covered is not None else a >= 0
        return pd.DataFrame(
            {
                "demand_pos": np.arange(len(a)),
                "demand_id": self.demand_ids,
                "site_pos": a,
                "site_id": sid,
                "dist_m": self.assigned_dist_m,
                "covered": cov,
            }
        )

    def summary(self) -> dict[str, Any]:
        """Scalar facts of the run (for logs and tables)."""
        return {
            "model": self.model,
            "n_selected": self.n_selected,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "status": self.status,
            "method": self.method,
            "seconds": round(self.seconds, 3),
            "n_uncoverable": len(self.uncoverable),
        }


def nearest_open(
    prob: Problem, open_mask: np.ndarray, limit_m: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site within ``limit_m`` of each demand row (``-1``/``inf`` if none).

    Ties are broken by the lower site position.
    """
    t = prob.costs
    keep = open_mask[t.site_idx] & (t.dist_m <= limit_m)
    d, s, c = t.demand_idx[keep], t.site_idx[keep], t.dist_m[keep]
    site = np.full(t.n_demand, -1, dtype=np.int64)
    dist = np.full(t.n_demand, np.inf)
    if len(d):
        order = np.lexsort((s, c, d))
        d, s, c = d[order], s[order], c[order]
        first = np.ones(len(d), dtype=bool)
        first[1:] = d[1:] != d[:-1]
        site[d[first]] = s[first]
        dist[d[first]] = c[first]
    return site, dist


def rank_by_gain(
    prob: Problem,
    selected: np.ndarray,
    *,
    limit_m: float = np.inf,
    covering: bool,
    penalty: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Order ``selected`` greedily by marginal gain.

    Required (existing) sites come first, so the gain of each new site is what it adds to
    what the existing facilities already serve. Covering models (``covering=True``) gain the weight newly served within
    ``limit_m``. Otherwise the gain is the reduction of the weighted distance, where a
    demand row not yet served counts ``penalty`` metres (default: twice the largest
    distance in the table).

    Returns
    -------
    order, gains
        ``selected`` reordered, and the gain of each in that order.
    """
    selected = np.asarray(selected, dtype=np.int64)
    k = len(selected)
    if k == 0:
        return selected, np.zeros(0)
    t = prob.costs
    pos = np.full(t.n_sites, -1, dtype=np.int64)
    pos[selected] = np.arange(k)
    keep = (pos[t.site_idx] >= 0) & (t.dist_m <= limit_m)
    rows, cols = t.demand_idx[keep], pos[t.site_idx[keep]]
    w = prob.weights
    if covering:
        dist = np.zeros(len(rows))
        pen = 1.0
    else:
        dist = t.dist_m[keep]
        big = float(t.dist_m.max()) if t.nnz else 1.0
        pen = float(penalty) if penalty is not None else 2.0 * max(big, 1.0)
    d1 = np.full(t.n_demand, pen)
    order = np.argsort(cols, kind="stable")
    starts = np.searchsorted(cols[order], np.arange(k + 1))
    left = np.ones(k, dtype=bool)
    req = np.asarray(prob.required, dtype=bool)[selected]
    out_order: list[int] = []
    gains: list[float] = []
    for _ in range(k):
        g = np.bincount(cols, weights=w[rows] * np.maximum(d1[rows] - dist, 0.0), minlength=k)
        g = g.astype(np.float64, copy=False)
        g[~left] = -np.inf
        if (left & req).any():
            g[~req] = -np.inf
        best = int(np.argmax(g))
        out_order.append(best)
        gains.append(float(g[best]))
        left[best] = False
        sl = order[starts[best] : starts[best + 1]]
        np.minimum.at(d1, rows[sl], dist[sl])
    return selected[np.asarray(out_order)], np.asarray(gains)
