"""Location set covering problem (LSCP; Toregas et al. 1971), weighted by site cost.

Formulation
-----------
With ``N_i`` the allowed sites within ``radius_m`` of demand ``i``:

.. math::

    \\min \\sum_j c_j x_j \\quad\\text{s.t.}\\quad
    \\sum_{j \\in N_i} x_j \\ge 1 \\ \\ \\forall i \\text{ with } N_i \\ne \\emptyset,
    \\qquad x_j \\in \\{0, 1\\}

plus existing sites (``x_j = 1``, their cost counts in the objective: give them cost 0
to count new sites only), forbidden sites and zone rows. Demand rows with
``N_i = \\emptyset`` cannot be covered by any allowed site: they are *reported* in
``result.uncoverable`` (by id, and logged) and the rest is still solved. Rows of weight
0 are ignored.

Reductions: rows covered by existing sites, identical rows, dominated rows (a row whose
sites include another row's sites) and dominated sites (covering a subset of another
site's rows at no lower cost, zone-safe) are removed first.

Methods: ``"exact"`` (default via ``"auto"``) = HiGHS MILP warm-started with the greedy
cover; ``"heuristic"`` = Chvátal greedy + redundancy removal, bounded by Beasley's
Lagrangian bound. Capacities use the exact capacitated model.
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
from .heuristics import SiteRules, cover_bound, greedy_cover, is_integral, round_bound
from .highs import solve_milp
from .mclp import resolve_radius
from .problem import SiteSpec, ZoneRule, build_problem
from .reduce import reduce_covering
from .result import SiteSelection, build_result

__all__ = ["solve_lscp"]

logger = logging.getLogger(__name__)


def solve_lscp(
    costs: CostTable,
    *,
    radius_m: float | None = None,
    site_cost: Any = None,
    weights: Any = None,
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
    reduce: bool = True,
) -> SiteSelection:
    """Cover every coverable demand within ``radius_m`` at the least total site cost.

    Parameters
    ----------
    costs
        Demand × site cost table.
    radius_m
        Coverage radius (default: the table cutoff).
    site_cost
        Cost of each site (default 1: minimise the number of sites).
    weights
        Demand weights; only ``weight > 0`` matters (rows of weight 0 need no cover).
    existing, forbidden, candidates, zone_of_site, zone_rule
        Side constraints (see :func:`~coverage.siting.optimize.problem.build_problem`).
    capacity, single_source
        Site capacities (exact capacitated model) and the sourcing rule.
    method
        ``"auto"``/``"exact"`` (HiGHS) or ``"heuristic"``.
    time_limit_s
        Time limit of the whole call.
    mip_rel_gap, threads, seed
        HiGHS options.
    reduce
        Apply the model reductions (default True).

    Returns
    -------
    SiteSelection
        ``objective`` = total cost of the open sites; ``uncoverable`` = ids of demand no
        allowed site reaches within the radius.

    Raises
    ------
    InfeasibleError
        The zone rules (or capacities) cannot be met together with full coverage.

    Notes
    -----
    ``min sum_j c_j x_j`` s.t. ``sum_{j in N_i} x_j >= 1`` for every coverable demand
    ``i`` (``N_i`` = allowed sites within ``radius_m``), ``x_j = 1`` for existing sites,
    zone rows ``min_z <= sum_{j in z} x_j <= max_z``, ``x`` binary. ``status`` is
    ``"optimal"`` only with a proof (HiGHS, or a Lagrangian bound equal to the heuristic
    cost); a time-limited MILP returns its incumbent with ``status="time_limit"``.
    """
    t0 = time.perf_counter()
    if method not in ("auto", "exact", "heuristic"):
        raise ParameterError(f"method must be 'auto', 'exact' or 'heuristic', got {method!r}")
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
    prob.check_count(0, int(prob.allowed.sum()), what="the number of sites")
    cov_full = costs.coverage_matrix(radius)
    if prob.capacity is not None:
        if method == "heuristic":
            raise ParameterError("capacitated LSCP is solved exactly only; use method='exact'")
        deg = np.diff(cov_full[:, prob.allowed].tocsr().indptr)
        unc = np.flatnonzero((prob.weights > 0) & (deg == 0))
        _warn_uncoverable(costs, unc, radius)
        open_mask, assign, sol, det = solve_capacitated(
            prob,
            kind="lscp",
            limit_m=radius,
            card=None,
            budget=None,
            penalty=None,
            single_source=single_source,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
        )
        return build_result(
            prob,
            model="lscp",
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
    red = reduce_covering(
        prob,
        cov_full,
        use_cost=True,
        column_dominance=reduce,
        row_dominance=reduce,
        merge_rows=reduce,
        max_rounds=4 if reduce else 1,
    )
    _warn_uncoverable(costs, red.uncoverable, radius)
    cov, m, n = red.cov, len(red.cols), red.cov.shape[0]
    cost = prob.site_cost[red.cols]
    rules = SiteRules(
        allowed=np.ones(m, dtype=bool),
        required=red.required,
        zone=prob.zone[red.cols],
        zmin=prob.zone_min,
        zmax=prob.zone_max,
        cost=cost,
        kmin=0,
        kmax=m,
    )
    deadline = t0 + time_limit_s
    try:
        gmask: np.ndarray | None = greedy_cover(cov, cost, rules)
    except (SolverError, InfeasibleError):
        if method == "heuristic":
            raise
        gmask = None
    details: dict[str, Any] = {}
    if method == "heuristic":
        assert gmask is not None
        xm = gmask
        ub = float(cost[xm].sum())
        fixed = float(cost[red.required].sum())
        free = ~red.required
        bound = cover_bound(
            cov[:, free],
            cost[free],
            ub,
            fixed_cost=fixed,
            deadline=max(deadline, time.perf_counter() + 1.0),
        )
        bound = round_bound(bound, is_integral(cost), lower=True)
        proven = ub - bound <= 1e-9 * max(abs(ub), 1.0) + 1e-9
        status, meth = ("optimal" if proven else "heuristic"), "greedy+redundancy"
        details["bound"] = "lagrangian"
    else:
        s_rows, s_lo, s_hi = prob.site_rows(red.cols)
        A = sp.vstack([cov.astype(np.float64), s_rows], format="csc")
        sol = solve_milp(
            cost,
            A,
            np.concatenate([np.ones(n), s_lo]),
            np.concatenate([np.full(n, np.inf), s_hi]),
            lb=red.required.astype(float),
            ub=np.ones(m),
            integer=np.ones(m, dtype=bool),
            time_limit_s=max(0.5, deadline - time.perf_counter()),
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
            start=None if gmask is None else gmask.astype(float),
            label="LSCP",
            infeasible_message="LSCP: the zone rules cannot be met while covering every "
            "coverable demand; relax zone_rule or allow more candidates",
        )
        xm = sol.x > 0.5
        bound, status, meth = sol.bound, sol.status, "highs-mip"
        details.update(
            mip_nodes=sol.nodes,
            model_status=sol.model_status,
            model_size={"vars": m, "rows": int(A.shape[0]), "nnz": int(A.nnz)},
        )
    open_mask = np.zeros(costs.n_sites, dtype=bool)
    open_mask[red.cols[xm]] = True
    objective = float(prob.site_cost[open_mask].sum())
    return build_result(
        prob,
        model="lscp",
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


def _warn_uncoverable(costs: CostTable, unc: np.ndarray, radius: float) -> None:
    if len(unc):
        logger.warning(
            "LSCP: %d demand rows have no allowed site within %g m and stay uncovered "
            "(reported in result.uncoverable), e.g. %s",
            len(unc),
            radius,
            costs.demand_ids[unc[:5]].tolist(),
        )
