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
from ...errors import InfeasibleError, SolverError
from .base import HIGHS_MIP, ModelSpec, Outcome, SolveRun, closes, heuristic_status, resolve_radius
from .capacitated import solve_capacitated
from .heuristics import SiteRules, cover_bound, greedy_cover, is_integral, round_bound
from .highs import MilpModel
from .options import METHOD_AUTO, METHOD_EXACT, METHOD_HEURISTIC, SolveOptions
from .problem import build_problem
from .reduce import CoverModel, reduce_covering, uncoverable_rows
from .result import SiteSelection

__all__ = ["solve_lscp"]

logger = logging.getLogger(__name__)

LSCP = ModelSpec(
    kind="lscp",
    label="LSCP",
    methods=(METHOD_AUTO, METHOD_EXACT, METHOD_HEURISTIC),
    covering=True,
)


def solve_lscp(
    costs: CostTable,
    *,
    radius_m: float | None = None,
    options: SolveOptions | None = None,
    **option_overrides: Any,
) -> SiteSelection:
    """Cover every coverable demand within ``radius_m`` at the least total site cost.

    Parameters
    ----------
    costs
        Demand × site cost table.
    radius_m
        Coverage radius (default: the table cutoff).
    options
        Shared options (:class:`~coverage.siting.optimize.options.SolveOptions`):
        ``site_cost`` (default 1: minimise the number of sites); ``weights`` (only
        ``weight > 0`` matters: rows of weight 0 need no cover); ``existing``,
        ``forbidden``, ``candidates``, ``zone_of_site``, ``zone_rule``; ``capacity`` and
        ``single_source`` (exact capacitated model); ``method`` ``"auto"``/``"exact"``
        (HiGHS) or ``"heuristic"``; ``time_limit_s`` of the whole call; ``mip_rel_gap``,
        ``threads``, ``seed``; ``reduce`` (apply the model reductions, default True).
    **option_overrides
        Any :class:`~coverage.siting.optimize.options.SolveOptions` field by name.

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
    opts = LSCP.options(options, option_overrides)
    radius = resolve_radius(costs, radius_m)
    run = SolveRun(LSCP, build_problem(costs, opts), opts, t0, limit_m=radius)
    prob = run.prob
    prob.check_count(0, int(prob.allowed.sum()), what="the number of sites")
    cov_full = costs.coverage_matrix(radius)
    if prob.capacity is not None:
        unc = uncoverable_rows(prob, cov_full[:, prob.allowed])
        _warn_uncoverable(costs, unc, radius)
        return solve_capacitated(run, card=None, budget=None, uncoverable=unc)
    red = reduce_covering(
        prob,
        cov_full,
        use_cost=True,
        column_dominance=opts.reduce,
        row_dominance=opts.reduce,
        merge_rows=opts.reduce,
        max_rounds=4 if opts.reduce else 1,
    )
    _warn_uncoverable(costs, red.uncoverable, radius)
    gmask = _greedy(run, red)
    if run.wants_exact():
        xm, bound, status, meth, details = _exact(run, red, gmask)
    else:
        assert gmask is not None
        xm, bound, status, meth, details = _heuristic(run, red, gmask)
    open_mask = prob.mask_of(red.cols[xm])
    outcome = Outcome(
        open_mask, float(prob.site_cost[open_mask].sum()), bound, status, meth, details
    )
    return run.finish(outcome, shrink=red.stats, uncoverable=red.uncoverable)


def _greedy(run: SolveRun, red: CoverModel) -> np.ndarray | None:
    """Chvátal greedy cover of the reduced model (``None`` if it fails and the exact
    model will decide)."""
    m = len(red.cols)
    rules = SiteRules.for_columns(run.prob, red.cols, required=red.required, kmin=0, kmax=m)
    try:
        return greedy_cover(red.cov, rules.cost, rules)
    except (SolverError, InfeasibleError):
        if not run.wants_exact():
            raise
        return None


def _heuristic(
    run: SolveRun, red: CoverModel, gmask: np.ndarray
) -> tuple[np.ndarray, float, str, str, dict[str, Any]]:
    """The greedy cover with Beasley's Lagrangian bound (optimal when they meet)."""
    cost = run.prob.site_cost[red.cols]
    ub = float(cost[gmask].sum())
    free = ~red.required
    bound = cover_bound(
        red.cov[:, free],
        cost[free],
        ub,
        fixed_cost=float(cost[red.required].sum()),
        deadline=max(run.deadline, time.perf_counter() + 1.0),
    )
    bound = round_bound(bound, is_integral(cost), lower=True)
    status = heuristic_status(closes(ub - bound, ub))
    return gmask, bound, status, "greedy+redundancy", {"bound": "lagrangian"}


def _exact(
    run: SolveRun, red: CoverModel, gmask: np.ndarray | None
) -> tuple[np.ndarray, float, str, str, dict[str, Any]]:
    """The covering MILP over the reduced model, warm-started by the greedy cover."""
    cov, m, n = red.cov, len(red.cols), red.cov.shape[0]
    s_rows, s_lo, s_hi = run.prob.site_rows(red.cols)
    A = sp.vstack([cov.astype(np.float64), s_rows], format="csc")
    model = MilpModel(
        run.prob.site_cost[red.cols],
        A,
        np.concatenate([np.ones(n), s_lo]),
        np.concatenate([np.full(n, np.inf), s_hi]),
        lb=red.required.astype(float),
        ub=np.ones(m),
        integer=np.ones(m, dtype=bool),
    )
    sol = run.milp(
        model,
        start=None if gmask is None else gmask.astype(float),
        label="LSCP",
        infeasible_message="LSCP: the zone rules cannot be met while covering every "
        "coverable demand; relax zone_rule or allow more candidates",
    )
    details = {
        "mip_nodes": sol.nodes,
        "model_status": sol.model_status,
        "model_size": {"vars": m, "rows": int(A.shape[0]), "nnz": int(A.nnz)},
    }
    return sol.x > 0.5, sol.bound, sol.status, HIGHS_MIP, details


def _warn_uncoverable(costs: CostTable, unc: np.ndarray, radius: float) -> None:
    if len(unc):
        logger.warning(
            "LSCP: %d demand rows have no allowed site within %g m and stay uncovered "
            "(reported in result.uncoverable), e.g. %s",
            len(unc),
            radius,
            costs.demand_ids[unc[:5]].tolist(),
        )
