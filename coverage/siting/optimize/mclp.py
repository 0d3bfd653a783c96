"""Maximal covering location problem (MCLP; Church & ReVelle 1974).

Formulation
-----------
With ``N_i`` the allowed sites within ``radius_m`` of demand ``i``:

.. math::

    \\max \\sum_i w_i z_i \\quad\\text{s.t.}\\quad
    z_i \\le \\sum_{j \\in N_i} x_j, \\qquad
    \\sum_j x_j \\le k, \\qquad \\sum_j c_j x_j \\le B, \\qquad
    x_j \\in \\{0, 1\\},\\ 0 \\le z_i \\le 1

plus existing sites (``x_j = 1``), forbidden sites and zone rows. ``k`` and the budget
``B`` count *all* open sites, existing ones included (give existing sites cost 0 to
spend the budget on new sites only). At most ``k`` sites open: a site that covers
nothing new is not opened. ``z`` is continuous; at an optimum it is integral.

Before solving, rows already covered by existing sites become a constant, identical rows
merge, and dominated sites are dropped (:mod:`coverage.siting.optimize.reduce`).

Methods: ``"exact"`` = HiGHS MILP warm-started with the greedy+swap solution;
``"heuristic"`` = greedy + swap interchange with a Lagrangian upper bound; ``"auto"``
= exact when the reduced model has at most :data:`AUTO_EXACT_MAX_NNZ` nonzeros.
Capacities switch to the exact capacitated model (:mod:`~coverage.siting.optimize.capacitated`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...engine.costs import CostTable
from ...errors import ParameterError
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
from .problem import SiteSpec, ZoneRule, build_problem
from .reduce import reduce_covering
from .result import SiteSelection, build_result

__all__ = ["resolve_radius", "solve_mclp"]

logger = logging.getLogger(__name__)

AUTO_EXACT_MAX_NNZ = 3_000_000


def resolve_radius(costs: CostTable, radius_m: float | None) -> float:
    """The service radius: ``radius_m`` or the table cutoff; never beyond the cutoff."""
    if radius_m is None:
        if not np.isfinite(costs.cutoff_m):
            raise ParameterError("radius_m is required when the cost table has no finite cutoff")
        return float(costs.cutoff_m)
    r = float(radius_m)
    if not np.isfinite(r) or r < 0:
        raise ParameterError(f"radius_m must be a finite number >= 0, got {radius_m!r}")
    if r > costs.cutoff_m + 1e-9:
        raise ParameterError(
            f"radius_m={r:g} exceeds the cost table cutoff ({costs.cutoff_m:g} m); "
            "rebuild the table with a larger cutoff"
        )
    return r


def solve_mclp(
    costs: CostTable,
    *,
    k: int | None = None,
    budget: float | None = None,
    site_cost: Any = None,
    weights: Any = None,
    radius_m: float | None = None,
    existing: SiteSpec | None = None,
    forbidden: SiteSpec | None = None,
    candidates: SiteSpec | None = None,
    zone_of_site: Any = None,
    zone_rule: ZoneRule | None = None,
    capacity: Any = None,
    single_source: bool = True,
    method: str = "auto",
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    threads: int = 1,
    seed: int = 0,
    n_starts: int = 16,
    reduce: bool = True,
) -> SiteSelection:
    """Open at most ``k`` sites (and/or within ``budget``) covering the most demand weight.

    Parameters
    ----------
    costs
        Demand × site cost table.
    k
        Maximum number of open sites (existing included).
    budget
        Maximum total ``site_cost`` of the open sites (existing included).
    site_cost
        Cost of each site (default 1).
    weights
        Demand weights (default 1; rows of weight 0 are ignored).
    radius_m
        Coverage radius (default: the table cutoff).
    existing, forbidden, candidates, zone_of_site, zone_rule
        Side constraints (see :func:`~coverage.siting.optimize.problem.build_problem`).
    capacity, single_source
        Site capacities (exact capacitated model) and the sourcing rule.
    method
        ``"auto"``, ``"exact"`` or ``"heuristic"``.
    time_limit_s
        Time limit of the whole call.
    mip_rel_gap, threads, seed
        HiGHS options (``seed`` also seeds the heuristic).
    n_starts
        Heuristic starts.
    reduce
        Apply the model reductions (default True).

    Returns
    -------
    SiteSelection
        ``objective`` = covered weight, ``best_bound`` = proven upper bound,
        ``covered`` per demand, ``uncoverable`` = demand no allowed site reaches.

    Raises
    ------
    ParameterError
        Neither ``k`` nor ``budget``; ``k`` larger than the allowed sites; bad method.
    InfeasibleError
        Existing sites or zone rules contradict ``k``/``budget``.

    Notes
    -----
    ``max sum_i w_i z_i`` s.t. ``z_i <= sum_{j in N_i} x_j``, ``sum_j x_j <= k``,
    ``sum_j c_j x_j <= budget``, existing ``x_j = 1``, zone rows, ``x`` binary,
    ``0 <= z <= 1``. The exact path first runs greedy + swap and a Lagrangian bound; when
    the bound meets the heuristic value the answer is proven without the MILP
    (``method="greedy+swap+lagrangian-proof"``), otherwise sites the Lagrangian test
    proves useless are fixed closed and HiGHS solves the rest.
    """
    t0 = time.perf_counter()
    if method not in ("auto", "exact", "heuristic"):
        raise ParameterError(f"method must be 'auto', 'exact' or 'heuristic', got {method!r}")
    if k is None and budget is None:
        raise ParameterError("solve_mclp needs k (number of sites) and/or budget")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0):
        raise ParameterError(f"k must be a non-negative integer, got {k!r}")
    if budget is not None and (not np.isfinite(budget) or budget < 0):
        raise ParameterError(f"budget (--budget) must be a finite number >= 0, got {budget!r}")
    radius = resolve_radius(costs, radius_m)
    prob = build_problem(
        costs,
        weights=weights,
        site_cost=site_cost,
        existing=existing,
        forbidden=forbidden,
        candidates=candidates,
        zone_of_site=zone_of_site,
        zone_rule=zone_rule,
        capacity=capacity,
    )
    n_allowed = int(prob.allowed.sum())
    kmax = n_allowed if k is None else int(k)
    prob.check_count(0, kmax, what="k")
    if k is not None and k > n_allowed:
        raise ParameterError(
            f"k={k} is larger than the {n_allowed} allowed candidate sites; lower k (--k) or allow "
            "more candidates"
        )
    if budget is not None:
        spent = float(prob.site_cost[prob.required].sum())
        if spent > budget + 1e-9:
            from ...errors import InfeasibleError

            raise InfeasibleError(
                f"the existing sites already cost {spent:g} > budget {budget:g}; give existing "
                "sites cost 0 or raise the budget (--budget)"
            )
    cov_full = costs.coverage_matrix(radius)
    card = (0, kmax) if k is not None else None
    if prob.capacity is not None:
        if method == "heuristic":
            raise ParameterError("capacitated MCLP is solved exactly only; use method='exact'")
        open_mask, assign, sol, det = solve_capacitated(
            prob,
            kind="mclp",
            limit_m=radius,
            card=card,
            budget=budget,
            penalty=None,
            single_source=single_source,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
        )
        deg = np.diff(cov_full[:, prob.allowed].tocsr().indptr)
        unc = np.flatnonzero((prob.weights > 0) & (deg == 0))
        res = build_result(
            prob,
            model="mclp",
            open_mask=open_mask,
            objective=sol.objective,
            bound=sol.bound,
            status=sol.status,
            method="highs-mip (capacitated)",
            t0=t0,
            shrink={"demand_in": costs.n_demand, "sites_in": costs.n_sites},
            covering=True,
            limit_m=radius,
            uncoverable=unc,
            assignment=assign,
            details=det,
        )
        return res
    red = reduce_covering(
        prob,
        cov_full,
        use_cost=budget is not None,
        column_dominance=reduce,
        merge_rows=reduce,
        max_rounds=3 if reduce else 1,
    )
    cov, m, n = red.cov, len(red.cols), red.cov.shape[0]
    rules = SiteRules(
        allowed=np.ones(m, dtype=bool),
        required=red.required,
        zone=prob.zone[red.cols],
        zmin=prob.zone_min,
        zmax=prob.zone_max,
        cost=prob.site_cost[red.cols],
        kmin=0,
        kmax=min(kmax, m),
        budget=budget,
    )
    coo = cov.tocoo()
    sc = SparseCost.build(
        coo.row.astype(np.int64),
        coo.col.astype(np.int64),
        np.zeros(coo.nnz),
        red.row_weight,
        1.0,
        m,
    )
    total = float(red.row_weight.sum())
    deadline = t0 + time_limit_s
    use_exact = method == "exact" or (method == "auto" and cov.nnz + n + m <= AUTO_EXACT_MAX_NNZ)
    open_r, unc_w, info = interchange_solve(
        sc,
        rules,
        n_starts=4 if use_exact else n_starts,
        seed=seed,
        time_limit_s=max(0.1, (deadline - time.perf_counter()) * (0.3 if use_exact else 0.6)),
    )
    # Lagrangian bound (+ site fixing for the exact model) and Lagrangian heuristic
    lb, fixed, primal = lagrangian_bound(
        sc,
        rules,
        unc_w,
        start_mask=open_r,
        fixing=use_exact,
        deadline=max(t0 + 0.8 * time_limit_s, time.perf_counter() + 1.0),
    )
    if primal is not None:
        cand, _mv = local_search(sc, rules, primal, deadline=deadline + 1.0)
        if sc.value(cand) < unc_w:
            open_r, unc_w = cand, sc.value(cand)
            info["lagrangian_start"] = True
    fixed &= ~open_r & ~red.required
    heur_cov = total - unc_w + red.fixed_weight
    integral = is_integral(red.row_weight, red.fixed_weight)
    bound = round_bound(total - lb + red.fixed_weight, integral, lower=False)
    proven = bound - heur_cov <= 1e-9 * max(abs(bound), 1.0) + 1e-9
    details: dict[str, Any] = {"heuristic": info, "sites_fixed_closed": int(fixed.sum())}
    xm = open_r
    if proven:
        status = "optimal"
        meth = "greedy+swap+lagrangian-proof"
    elif not use_exact:
        status, meth = "heuristic", "greedy+swap"
        details["bound"] = "lagrangian"
    else:
        # variables: x (kept sites) | z (n); rows: z_i - sum x <= 0, site rows
        kc = ~fixed
        mk = int(kc.sum())
        a_cov = sp.hstack(
            [-cov[:, kc].astype(np.float64), sp.identity(n, format="csr")], format="csr"
        )
        s_rows, s_lo, s_hi = prob.site_rows(red.cols[kc], card=card, budget=budget)
        a_site = sp.hstack([s_rows, sp.csr_matrix((s_rows.shape[0], n))], format="csr")
        A = sp.vstack([a_cov, a_site], format="csc")
        d1 = sc.d1(open_r)
        start = np.concatenate([open_r[kc].astype(float), (d1 < 0.5).astype(float)])
        sol = solve_milp(
            np.concatenate([np.zeros(mk), red.row_weight]),
            A,
            np.concatenate([np.full(n, -np.inf), s_lo]),
            np.concatenate([np.zeros(n), s_hi]),
            lb=np.concatenate([red.required[kc].astype(float), np.zeros(n)]),
            ub=np.ones(mk + n),
            integer=np.r_[np.ones(mk, dtype=bool), np.zeros(n, dtype=bool)],
            maximize=True,
            offset=red.fixed_weight,
            time_limit_s=max(0.5, deadline - time.perf_counter()),
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
            start=start,
            label="MCLP",
            infeasible_message="MCLP: the existing sites, zone rules, k and budget contradict "
            "each other",
        )
        xm = np.zeros(m, dtype=bool)
        xm[np.flatnonzero(kc)[sol.x[:mk] > 0.5]] = True
        bound, status, meth = min(sol.bound, bound), sol.status, "highs-mip"
        details.update(
            mip_nodes=sol.nodes,
            model_status=sol.model_status,
            model_size={"vars": mk + n, "rows": int(A.shape[0]), "nnz": int(A.nnz)},
        )
    open_mask = np.zeros(costs.n_sites, dtype=bool)
    open_mask[red.cols[xm]] = True
    covered_rows = np.asarray(cov_full[:, open_mask].sum(axis=1)).ravel() > 0
    objective = float(prob.weights[covered_rows].sum())
    return build_result(
        prob,
        model="mclp",
        open_mask=open_mask,
        objective=objective,
        bound=bound,
        status=status,
        method=meth,
        t0=t0,
        shrink=red.stats,
        covering=True,
        limit_m=radius,
        uncoverable=red.uncoverable,
        details=details,
    )
