"""Capacitated variants: an explicit assignment MILP shared by LSCP, MCLP and p-median.

With site capacities the assignment is part of the answer (a demand may not go to its
nearest open site when that one is full), so the model carries one variable per
demand–site pair of the table (within the radius for the covering models):

.. math::

    \\sum_j y_{ij} + u_i = 1 \\quad \\forall i, \\qquad
    y_{ij} \\le x_j, \\qquad
    \\sum_i w_i\\, y_{ij} \\le \\mathrm{cap}_j\\, x_j, \\qquad
    x_j \\in \\{0, 1\\}

plus the zone / cardinality / budget rows of :meth:`Problem.site_rows`. ``u_i`` is the
unserved share of demand ``i``: fixed to 0 for LSCP and for p-median without an
unreachable penalty, free (uncovered) in MCLP, and charged ``w_i P`` in p-median with
penalty ``P``. Objectives: LSCP ``min sum c_j x_j``; MCLP ``max sum w_i (1 - u_i)``;
p-median ``min sum w_i d_ij y_ij + sum w_i P u_i``.

**Single sourcing (default).** ``y`` is binary: each demand point (a building, a
residential block) is served entirely by one facility, which is how catchments of
elderly-care centres are drawn. With ``single_source=False`` ``y`` is continuous and a
demand point may be split between sites; ``details["allocation"]`` then lists the
shares and ``assignment`` holds the site with the largest share.

These models are solved exactly with HiGHS only; there is no capacitated heuristic.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import InfeasibleError
from .highs import MipSolution, solve_milp
from .problem import Problem

__all__ = ["solve_capacitated"]

logger = logging.getLogger(__name__)


def solve_capacitated(
    prob: Problem,
    *,
    kind: str,
    limit_m: float,
    card: tuple[float, float] | None,
    budget: float | None,
    penalty: float | None,
    single_source: bool,
    time_limit_s: float,
    mip_rel_gap: float,
    threads: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, MipSolution, dict[str, Any]]:
    """Build and solve the capacitated assignment MILP.

    Parameters
    ----------
    prob
        Validated problem with ``capacity`` set.
    kind
        ``"lscp"``, ``"mclp"`` or ``"pmedian"``.
    limit_m
        Pairs farther than this are not allowed (radius or table cutoff).
    card, budget
        Site-count bounds and budget (see :meth:`Problem.site_rows`).
    penalty
        p-median unreachable penalty (``None`` = every demand must be assigned).
    single_source
        Binary (True) or fractional (False) assignment.
    time_limit_s, mip_rel_gap, threads, seed
        HiGHS options.

    Returns
    -------
    open_mask, assignment, solution, details
        ``details`` holds ``allocation`` (a DataFrame of positive shares) and the model
        size.

    Raises
    ------
    InfeasibleError
        No assignment respects the capacities and the other rules.
    """
    assert prob.capacity is not None
    t = prob.costs
    w = prob.weights
    cols = np.flatnonzero(prob.allowed)
    m = len(cols)
    cpos = np.full(t.n_sites, -1, dtype=np.int64)
    cpos[cols] = np.arange(m)
    keep = (cpos[t.site_idx] >= 0) & (t.dist_m <= limit_m) & (w[t.demand_idx] > 0)
    prow = t.demand_idx[keep]
    pcol = cpos[t.site_idx[keep]]
    pdist = t.dist_m[keep]
    # rows to serve: every weighted row for p-median, reachable rows for covering models
    rows = np.flatnonzero(w > 0) if kind == "pmedian" else np.unique(prow)
    rpos = np.full(t.n_demand, -1, dtype=np.int64)
    rpos[rows] = np.arange(len(rows))
    pr = rpos[prow]
    ok = pr >= 0
    pr, pcol, pdist, prow = pr[ok], pcol[ok], pdist[ok], prow[ok]
    n, q = len(rows), len(pr)
    cap = prob.capacity[cols]
    capped = np.flatnonzero(np.isfinite(cap))
    # variable layout: x (m) | y (q) | u (n)
    nx, ny = m, q
    ycol = nx + np.arange(q)
    ucol = nx + ny + np.arange(n)
    nvar = nx + ny + n
    # assignment rows: sum y + u = 1
    a_assign = sp.csr_matrix(
        (np.ones(q + n), (np.concatenate([pr, np.arange(n)]), np.concatenate([ycol, ucol]))),
        shape=(n, nvar),
    )
    # linking rows: y - x <= 0
    a_link = sp.csr_matrix(
        (
            np.concatenate([np.ones(q), -np.ones(q)]),
            (np.tile(np.arange(q), 2), np.concatenate([ycol, pcol])),
        ),
        shape=(q, nvar),
    )
    # capacity rows: sum_i w_i y_ij - cap_j x_j <= 0
    crow = np.full(m, -1, dtype=np.int64)
    crow[capped] = np.arange(len(capped))
    inc = crow[pcol] >= 0
    a_cap = sp.csr_matrix(
        (
            np.concatenate([w[prow[inc]], -cap[capped]]),
            (
                np.concatenate([crow[pcol[inc]], np.arange(len(capped))]),
                np.concatenate([ycol[inc], capped]),
            ),
        ),
        shape=(len(capped), nvar),
    )
    s_rows, s_lo, s_hi = prob.site_rows(cols, card=card, budget=budget)
    a_site = sp.hstack([s_rows, sp.csr_matrix((s_rows.shape[0], ny + n))], format="csr")
    A = sp.vstack([a_assign, a_link, a_cap, a_site], format="csc")
    lo = np.concatenate([np.ones(n), np.full(q, -np.inf), np.full(len(capped), -np.inf), s_lo])
    hi = np.concatenate([np.ones(n), np.zeros(q), np.zeros(len(capped)), s_hi])
    c = np.zeros(nvar)
    u_ub = np.ones(n)
    maximize = False
    if kind == "lscp":
        c[:nx] = prob.site_cost[cols]
        u_ub[:] = 0.0
    elif kind == "mclp":
        c[ycol] = w[prow]  # maximise the weight served
        maximize = True
    else:
        c[ycol] = w[prow] * pdist
        if penalty is None:
            u_ub[:] = 0.0
        else:
            c[ucol] = w[rows] * penalty
    lb = np.zeros(nvar)
    lb[:nx] = prob.required[cols].astype(float)
    ub = np.concatenate([np.ones(nx), np.ones(ny), u_ub])
    integer = np.zeros(nvar, dtype=bool)
    integer[:nx] = True
    if single_source:
        integer[ycol] = True
    sol = solve_milp(
        c,
        A,
        lo,
        hi,
        lb=lb,
        ub=ub,
        integer=integer,
        maximize=maximize,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        threads=threads,
        seed=seed,
        label=f"capacitated {kind}",
        infeasible_message=(
            f"capacitated {kind}: no solution serves the demand within the site capacities "
            f"and the other rules (total positive demand {w[rows].sum():g}, total capacity of "
            f"allowed sites {cap.sum():g}); raise capacities, allow more sites or relax p/k"
        ),
    )
    open_mask = np.zeros(t.n_sites, dtype=bool)
    open_mask[cols[sol.x[:nx] > 0.5]] = True
    yv = sol.x[ycol]
    pos = yv > 1e-9
    alloc = pd.DataFrame({"demand_pos": prow[pos], "site_pos": cols[pcol[pos]], "share": yv[pos]})
    assignment = np.full(t.n_demand, -1, dtype=np.int64)
    if len(alloc):
        top = alloc.sort_values(["demand_pos", "share"], ascending=[True, False])
        top = top.drop_duplicates("demand_pos")
        assignment[top["demand_pos"].to_numpy()] = top["site_pos"].to_numpy()
    if kind == "lscp" and np.any(assignment[rows] < 0):
        raise InfeasibleError("capacitated lscp: solver returned an incomplete assignment")
    details = {
        "allocation": alloc,
        "single_source": single_source,
        "model_size": {"vars": nvar, "rows": int(A.shape[0]), "nnz": int(A.nnz)},
    }
    return open_mask, assignment, sol, details
