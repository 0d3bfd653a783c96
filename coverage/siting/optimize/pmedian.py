"""p-median: open ``p`` sites minimising the total weighted distance to the nearest one.

Formulation (exact, ``method="exact"``)
---------------------------------------
For each demand row ``i`` let ``D_i^1 < D_i^2 < ... < D_i^K`` be the distinct distances
to the allowed sites in the cost table, and ``z_i^k = 1`` when no open site lies within
``D_i^k``. The compact "radius chain" formulation (Elloumi 2010; Garcia, Labbé & Marín
2011, here chained so that every table entry appears once) is

.. math::

    \\min \\sum_i w_i \\Bigl(D_i^1 + \\sum_{k<K} (D_i^{k+1} - D_i^k) z_i^k
          + (P - D_i^K) z_i^K\\Bigr)

    \\text{s.t.}\\quad z_i^{k-1} \\le z_i^k + \\sum_{j: d_{ij} = D_i^k} x_j
    \\quad (z_i^0 \\equiv 1), \\qquad \\sum_j x_j = p, \\qquad x \\in \\{0,1\\},\\ z \\ge 0

plus existing sites (``x_j = 1``), forbidden sites (no column) and zone rows. ``P`` is
``unreachable_penalty_m``; without it ``z_i^K = 0`` (every demand must be assigned
within the table). Levels beyond the first ``D_i^L`` that is reached by at least
``m - p + 1`` allowed sites are dropped (one of them is necessarily open). Its LP
bound equals the classical ``y_ij <= x_j`` bound with far fewer nonzeros.

Heuristic (``method="heuristic"``)
----------------------------------
Greedy + Teitz–Bart interchange with perturbation restarts
(:func:`~coverage.siting.optimize.heuristics.interchange_solve`), bounded by the Lagrangian
relaxation of the assignment constraints; ``status`` is ``"optimal"`` only when the bound
meets the heuristic value.

Distances beyond the table
--------------------------
The table only holds pairs within ``cutoff_m``. Build it with a cutoff wide enough for
p-median, or pass ``unreachable_penalty_m`` (metres, ``>= cutoff_m``) that is charged for
every demand left with no open site inside the table. With no penalty, a demand that no
allowed site reaches raises :class:`~coverage.errors.InfeasibleError`, as does a ``p``
too small to reach every demand within the table (exact method).

Capacities make the assignment part of the answer: see
:mod:`coverage.siting.optimize.capacitated`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...engine.costs import CostTable
from ...errors import InfeasibleError, ParameterError, SolverError
from .capacitated import solve_capacitated
from .heuristics import (
    SiteRules,
    SparseCost,
    interchange_solve,
    is_integral,
    lagrangian_bound,
    local_search,
    round_bound,
)
from .highs import solve_milp
from .problem import Problem, SiteSpec, ZoneRule, build_problem, site_mask
from .reduce import merge_identical_rows
from .result import SiteSelection, build_result

__all__ = ["solve_consolidation", "solve_pmedian"]

logger = logging.getLogger(__name__)

#: ``method="auto"`` solves exactly when the chain model has at most this many nonzeros.
AUTO_EXACT_MAX_NNZ = 250_000


def _check_method(method: str) -> None:
    if method not in ("auto", "exact", "heuristic"):
        raise ParameterError(f"method must be 'auto', 'exact' or 'heuristic', got {method!r}")


def _pairs(prob: Problem, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = prob.costs
    cpos = np.full(t.n_sites, -1, dtype=np.int64)
    cpos[cols] = np.arange(len(cols))
    keep = (cpos[t.site_idx] >= 0) & (prob.weights[t.demand_idx] > 0)
    return t.demand_idx[keep], cpos[t.site_idx[keep]], t.dist_m[keep]


def _chain_model(
    rows: np.ndarray,
    cols: np.ndarray,
    dist: np.ndarray,
    w: np.ndarray,
    m: int,
    p: int,
    penalty: float | None,
) -> dict[str, Any]:
    """Arrays of the radius-chain MILP (see the module docstring)."""
    order = np.lexsort((cols, dist, rows))
    r, c, d = rows[order], cols[order], dist[order]
    newlvl = np.ones(len(r), dtype=bool)
    newlvl[1:] = (r[1:] != r[:-1]) | (d[1:] != d[:-1])
    gl = np.cumsum(newlvl) - 1  # level id of each pair
    lvl_row, lvl_d = r[newlvl], d[newlvl]
    nl = len(lvl_row)
    row_first = (
        np.flatnonzero(np.r_[True, lvl_row[1:] != lvl_row[:-1]]) if nl else np.zeros(0, np.int64)
    )
    row_len = np.diff(np.r_[row_first, nl])
    k_in_row = np.arange(nl) - np.repeat(row_first, row_len)
    cum = np.cumsum(np.bincount(gl, minlength=nl))
    base = np.repeat(np.r_[0, cum[row_first[1:] - 1]], row_len) if nl else np.zeros(0)
    reach = cum - base  # allowed sites within each level
    last = np.zeros(nl, dtype=bool)
    last[row_first + row_len - 1] = True
    # the chain stops at the first level reached by m - p + 1 sites (one must be open),
    # or at the row's last level when every demand must be assigned within the table
    stop = reach >= m - p + 1
    if penalty is None:
        stop |= last
    big = np.iinfo(np.int64).max
    kstop = (
        np.minimum.reduceat(np.where(stop, k_in_row, big), row_first)
        if nl
        else np.zeros(0, np.int64)
    )
    kstop = np.repeat(kstop, row_len)
    keep_lvl = k_in_row <= kstop
    has_z = k_in_row < kstop
    zid = np.full(nl, -1, dtype=np.int64)
    zid[has_z] = np.arange(int(has_z.sum()))
    nz = int(has_z.sum())
    cid = np.full(nl, -1, dtype=np.int64)
    cid[keep_lvl] = np.arange(int(keep_lvl.sum()))
    ncons = int(keep_lvl.sum())
    # x entries: -1 in the row of the pair's level
    pk = keep_lvl[gl]
    xr, xc = cid[gl[pk]], c[pk]
    # -z^k in row k, +z^{k-1} in row k (k >= 2)
    zr1 = cid[has_z]
    zc1 = m + zid[has_z]
    prev = np.flatnonzero(keep_lvl & (k_in_row > 0))
    zr2 = cid[prev]
    zc2 = m + zid[prev - 1]
    A = sp.csr_matrix(
        (
            np.concatenate([-np.ones(len(xr)), -np.ones(len(zr1)), np.ones(len(zr2))]),
            (np.concatenate([xr, zr1, zr2]), np.concatenate([xc, zc1, zc2])),
        ),
        shape=(ncons, m + nz),
    )
    hi = np.where(k_in_row[keep_lvl] == 0, -1.0, 0.0)
    nxt = np.r_[lvl_d[1:], np.inf] if nl else np.zeros(0)
    step = np.where(last, (penalty if penalty is not None else np.inf) - lvl_d, nxt - lvl_d)
    zcost = (w[lvl_row] * step)[has_z]
    offset = float(np.sum(w[lvl_row[row_first]] * lvl_d[row_first])) if nl else 0.0
    return {
        "A": A,
        "lo": np.full(ncons, -np.inf),
        "hi": hi,
        "zcost": zcost,
        "offset": offset,
        "nz": nz,
        "lvl_row": lvl_row[has_z],
        "lvl_d": lvl_d[has_z],
    }


def solve_pmedian(
    costs: CostTable,
    *,
    p: int,
    weights: Any = None,
    existing: SiteSpec | None = None,
    forbidden: SiteSpec | None = None,
    candidates: SiteSpec | None = None,
    zone_of_site: Any = None,
    zone_rule: ZoneRule | None = None,
    unreachable_penalty_m: float | None = None,
    capacity: Any = None,
    single_source: bool = True,
    method: str = "auto",
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    threads: int = 1,
    seed: int = 0,
    n_starts: int = 16,
    model_name: str = "pmedian",
) -> SiteSelection:
    """Open exactly ``p`` sites minimising the weighted distance to the nearest open site.

    Parameters
    ----------
    costs
        Demand × site cost table (its cutoff should be wide, see the module notes).
    p
        Number of open sites, existing ones included.
    weights
        Demand weights (default 1); rows of weight 0 are ignored.
    existing, forbidden, candidates
        Sites that must be open / may not be opened / the only ones that may be opened.
    zone_of_site, zone_rule
        Zone rules (see :func:`~coverage.siting.optimize.problem.build_problem`).
    unreachable_penalty_m
        Distance charged for a demand with no open site inside the table; ``None``
        requires every demand to be assigned within the table.
    capacity
        Site capacities in weight units; solved by the exact capacitated MILP.
    single_source
        Capacitated only: each demand served by one site (default) or split.
    method
        ``"exact"`` (HiGHS MILP, warm-started by the heuristic), ``"heuristic"``
        (greedy + interchange + Lagrangian bound) or ``"auto"`` (exact when the model
        has at most :data:`AUTO_EXACT_MAX_NNZ` nonzeros, and always with capacities).
    time_limit_s
        Time limit of the whole call (the MILP gets what is left).
    mip_rel_gap, threads, seed
        HiGHS options; ``seed`` also seeds the heuristic.
    n_starts
        Heuristic starts (1 greedy + perturbation restarts).
    model_name
        Name recorded in the result.

    Returns
    -------
    SiteSelection
        ``objective`` is the weighted distance (penalties included), ``covered`` is
        ``None``, ``uncoverable`` lists demand beyond the table from every allowed site.

    Raises
    ------
    ParameterError
        ``p`` not a positive integer or larger than the allowed sites; bad penalty.
    InfeasibleError
        Demand cannot be assigned (no penalty), rules contradict ``p``, or capacities
        are too small.

    Notes
    -----
    ``min sum_i w_i min(P, min_{j in S} d_ij)`` over sets ``S`` of exactly ``p`` allowed
    sites containing the existing ones and meeting the zone rules, solved as the radius
    chain MILP of the module docstring. Before the MILP, greedy + interchange gives an
    incumbent and the Lagrangian bound may prove it optimal
    (``method="greedy+interchange+lagrangian-proof"``) or fix sites closed.
    ``time_limit_s`` is approximate: the MILP always gets at least 0.5 s.
    """
    t0 = time.perf_counter()
    _check_method(method)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
        raise ParameterError(f"p must be a positive integer, got {p!r}")
    p = int(p)
    prob = build_problem(
        costs,
        weights=weights,
        existing=existing,
        forbidden=forbidden,
        candidates=candidates,
        zone_of_site=zone_of_site,
        zone_rule=zone_rule,
        capacity=capacity,
    )
    prob.check_count(p, p, what="p")
    pen = unreachable_penalty_m
    if pen is not None:
        pen = float(pen)
        if (
            not np.isfinite(pen)
            or pen <= 0
            or (np.isfinite(costs.cutoff_m) and pen < costs.cutoff_m)
        ):
            raise ParameterError(
                f"unreachable_penalty_m={unreachable_penalty_m!r} must be finite, positive "
                f"and >= the table cutoff ({costs.cutoff_m:g} m): a demand beyond the "
                "cutoff is at least that far from any site"
            )
    cols = np.flatnonzero(prob.allowed)
    m = len(cols)
    rows, pc, pd_ = _pairs(prob, cols)
    w = prob.weights
    has_pair = np.zeros(costs.n_demand, dtype=bool)
    has_pair[rows] = True
    unc = np.flatnonzero((w > 0) & ~has_pair)
    if len(unc) and pen is None:
        raise InfeasibleError(
            f"{len(unc)} demand rows have no allowed site within the table cutoff "
            f"({costs.cutoff_m:g} m), e.g. {costs.demand_ids[unc[:5]].tolist()}; rebuild the "
            "CostTable with a larger cutoff or pass unreachable_penalty_m"
        )
    if prob.capacity is not None:
        if method == "heuristic":
            raise ParameterError("capacitated p-median is solved exactly only; use method='exact'")
        open_mask, assign, sol, det = solve_capacitated(
            prob,
            kind="pmedian",
            limit_m=np.inf,
            card=(p, p),
            budget=None,
            penalty=pen,
            single_source=single_source,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
        )
        return build_result(
            prob,
            model=model_name,
            open_mask=open_mask,
            objective=sol.objective,
            bound=sol.bound,
            status=sol.status,
            method="highs-mip (capacitated)",
            t0=t0,
            shrink={"demand_in": costs.n_demand, "sites_in": costs.n_sites},
            covering=False,
            penalty=pen,
            uncoverable=unc,
            assignment=assign,
            details=det,
        )
    # merge demand rows with identical (site, distance) rows
    csr = sp.csr_matrix((pd_, (rows, pc)), shape=(costs.n_demand, m))  # keeps explicit 0
    active = np.flatnonzero((w > 0) & has_pair)
    keep, _grp, mw = merge_identical_rows(csr[active], w[active], with_values=True)
    red_rows = active[keep]
    sub = csr[red_rows].tocoo()
    r_rows, r_cols, r_dist = sub.row.astype(np.int64), sub.col.astype(np.int64), sub.data
    fixed_cost = float(w[unc].sum() * pen) if pen is not None else 0.0
    shrink = {
        "demand_in": int(costs.n_demand),
        "demand_out": len(red_rows),
        "merged_rows": int(len(active) - len(red_rows)),
        "sites_in": int(costs.n_sites),
        "sites_out": int(m),
        "uncoverable_rows": len(unc),
    }
    big = float(r_dist.max()) if len(r_dist) else 1.0
    internal_pen = pen if pen is not None else 10.0 * max(big, 1.0) + 1.0
    sc = SparseCost.build(r_rows, r_cols, r_dist, mw, internal_pen, m)
    rules = SiteRules(
        allowed=np.ones(m, dtype=bool),
        required=prob.required[cols],
        zone=prob.zone[cols],
        zmin=prob.zone_min,
        zmax=prob.zone_max,
        cost=prob.site_cost[cols],
        kmin=p,
        kmax=p,
    )
    deadline = t0 + time_limit_s
    share = 0.6 if method == "heuristic" else 0.3
    try:
        heur_mask, heur_val, info = interchange_solve(
            sc,
            rules,
            n_starts=n_starts,
            seed=seed,
            time_limit_s=max(0.1, (deadline - time.perf_counter()) * share),
        )
    except SolverError:
        if method == "heuristic":
            raise
        heur_mask, heur_val, info = np.zeros(m, dtype=bool), np.inf, {}
    if not heur_mask.any() or (pen is None and np.any(sc.d1(heur_mask) >= internal_pen)):
        heur_ok = False  # leaves demand unassigned: not feasible without a penalty
        lb, fixed = -np.inf, np.zeros(m, dtype=bool)
    else:
        heur_ok = True
        lb, fixed, primal = lagrangian_bound(
            sc,
            rules,
            heur_val,
            start_mask=heur_mask,
            fixing=method != "heuristic",
            deadline=max(t0 + 0.8 * time_limit_s, time.perf_counter() + 1.0),
        )
        if primal is not None:  # Lagrangian heuristic: polish the subproblem's choice
            cand, _mv = local_search(sc, rules, primal, deadline=deadline + 1.0)
            if sc.value(cand) < heur_val:
                heur_mask, heur_val = cand, sc.value(cand)
                info["lagrangian_start"] = True
        fixed &= ~heur_mask & ~rules.required
        lb = round_bound(lb, is_integral(mw, r_dist, pen), lower=True)
    proven = heur_ok and heur_val - lb <= 1e-9 * max(abs(heur_val), 1.0) + 1e-9
    model = None
    keepc = ~fixed
    if method != "heuristic" and not proven:
        sub = np.flatnonzero(keepc[r_cols])
        cmap = np.cumsum(keepc) - 1
        model = _chain_model(
            r_rows[sub], cmap[r_cols[sub]], r_dist[sub], mw, int(keepc.sum()), p, pen
        )
        if method == "auto" and model["A"].nnz > AUTO_EXACT_MAX_NNZ and heur_ok:
            logger.info(
                "p-median: chain model has %d nonzeros > %d, using the heuristic",
                model["A"].nnz,
                AUTO_EXACT_MAX_NNZ,
            )
            model = None
    shrink["sites_fixed_closed"] = int(fixed.sum())
    obj = None
    if model is None:
        if not heur_ok:
            raise InfeasibleError(
                f"the heuristic found no choice of p={p} sites that assigns every demand "
                "within the table cutoff; pass unreachable_penalty_m, raise p, or use "
                "method='exact' to prove infeasibility"
            )
        obj, bound = heur_val + fixed_cost, lb + fixed_cost
        open_mask = np.zeros(costs.n_sites, dtype=bool)
        open_mask[cols[heur_mask]] = True
        status = "optimal" if proven else "heuristic"
        meth = "greedy+interchange" + ("+lagrangian-proof" if proven else "")
        details: dict[str, Any] = {"heuristic": info, "bound": "lagrangian"}
    else:
        kc = cols[keepc]
        mk, nz = len(kc), model["nz"]
        A = model["A"]
        c = np.concatenate([np.zeros(mk), model["zcost"]])
        start = None
        if heur_ok:
            d1 = sc.d1(heur_mask)
            zstart = (d1[model["lvl_row"]] > model["lvl_d"] + 1e-9).astype(float)
            start = np.concatenate([heur_mask[keepc].astype(float), zstart])
        s_rows, s_lo, s_hi = prob.site_rows(kc, card=(p, p))
        a_site = sp.hstack([s_rows, sp.csr_matrix((s_rows.shape[0], nz))], format="csr")
        sol = solve_milp(
            c,
            sp.vstack([A, a_site], format="csc"),
            np.concatenate([model["lo"], s_lo]),
            np.concatenate([model["hi"], s_hi]),
            lb=np.concatenate([prob.required[kc].astype(float), np.zeros(nz)]),
            ub=np.ones(mk + nz),
            integer=np.r_[np.ones(mk, dtype=bool), np.zeros(nz, dtype=bool)],
            offset=model["offset"],
            time_limit_s=max(0.5, deadline - time.perf_counter()),
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
            start=start,
            label="p-median",
            infeasible_message=(
                f"p-median: no choice of p={p} sites assigns every demand within the table "
                f"cutoff ({costs.cutoff_m:g} m) under the given rules; raise p, rebuild the "
                "table with a larger cutoff or pass unreachable_penalty_m"
            ),
        )
        open_mask = np.zeros(costs.n_sites, dtype=bool)
        open_mask[kc[sol.x[:mk] > 0.5]] = True
        bound = max(sol.bound, lb) + fixed_cost
        status, meth = sol.status, "highs-mip"
        details = {
            "heuristic": info,
            "mip_nodes": sol.nodes,
            "model_status": sol.model_status,
            "model_size": {"vars": mk + nz, "rows": int(A.shape[0]), "nnz": int(A.nnz)},
        }
    # objective recomputed on the full input
    d1_full = np.full(costs.n_demand, np.inf)
    sel = open_mask[costs.site_idx]
    np.minimum.at(d1_full, costs.demand_idx[sel], costs.dist_m[sel])
    if pen is not None:
        d1_full = np.minimum(d1_full, pen)
    pos = w > 0
    if np.any(~np.isfinite(d1_full[pos])):
        raise InfeasibleError("p-median: the solution leaves demand unassigned (internal error)")
    true_obj = float(w[pos] @ d1_full[pos])
    if obj is not None and abs(true_obj - obj) > 1e-6 * max(abs(obj), 1.0):
        logger.warning("p-median: objective mismatch %.9g vs %.9g", true_obj, obj)
    return build_result(
        prob,
        model=model_name,
        open_mask=open_mask,
        objective=true_obj,
        bound=bound,
        status=status,
        method=meth,
        t0=t0,
        shrink=shrink,
        covering=False,
        penalty=pen,
        uncoverable=unc,
        details=details,
    )


def solve_consolidation(
    costs: CostTable,
    *,
    keep: int,
    homes: SiteSpec | None = None,
    **kwargs: Any,
) -> SiteSelection:
    """Which ``keep`` of these existing homes to keep: p-median restricted to ``homes``.

    Everyone is reassigned to the nearest kept home (uncapacitated), or by the
    capacitated assignment when ``capacity`` is passed (then the assignment is part of
    the answer). ``existing`` marks homes that must be kept; ``homes=None`` means every
    site of the table.

    Parameters
    ----------
    costs
        Demand × site table whose sites include the homes.
    keep
        Number of homes to keep.
    homes
        The current homes (mask, positions or ids).
    **kwargs
        Any other :func:`solve_pmedian` argument (``weights``, ``capacity``,
        ``existing``, ``unreachable_penalty_m``, ``method``...).

    Returns
    -------
    SiteSelection
        With ``model="consolidation"``; ``details["closed"]`` lists the closed home ids.
    """
    if "candidates" in kwargs or "p" in kwargs:
        raise ParameterError("solve_consolidation: pass homes= and keep=, not candidates=/p=")
    res = solve_pmedian(costs, p=keep, candidates=homes, model_name="consolidation", **kwargs)
    home_mask = (
        np.ones(costs.n_sites, dtype=bool) if homes is None else site_mask(costs, homes, "homes")
    )
    closed = home_mask.copy()
    closed[res.selected] = False
    res.details["closed"] = costs.site_ids[closed]
    return res
