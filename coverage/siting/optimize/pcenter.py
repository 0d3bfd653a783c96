"""p-center: open ``p`` sites minimising the worst distance to the nearest open site.

Two exact methods:

``method="search"`` (default via ``"auto"``)
    The optimum is one of the distinct table distances ``r_1 < r_2 < ...``. Binary
    search over them; the radius ``r`` is feasible when a set covering of all demand
    within ``r`` uses at most ``p`` sites (under the same existing/forbidden/zone rules).
    Each test first tries the greedy cover (a cover with ``<= p`` sites proves
    feasibility) and otherwise solves the reduced covering MILP with ``sum x <= p``
    exactly with HiGHS (infeasible → radius too small). The search starts from the proven
    lower bound ``max_i min_j d_ij``. ``method`` in the result is
    ``"binary-search+highs-lscp"``; ``details["search"]`` logs every test.

``method="milp"``
    The classical assignment formulation
    ``min r`` s.t. ``sum_j y_ij = 1``, ``y_ij <= x_j``, ``sum_j d_ij y_ij <= r``,
    ``sum_j x_j = p`` — much slower (weak LP bound), kept as a cross-check.

``method="heuristic"`` stops after the greedy part of the search (a farthest-first
start, then greedy covers); ``status="heuristic"``.

If the search (or the MILP) stops at the time limit, ``status="time_limit"`` and
``objective``/``best_bound`` bracket the optimum. Only demand of weight > 0 counts. When
a cover needs fewer than ``p`` sites, the remaining ones are added greedily to shorten
the other distances (they never lengthen the worst one). A demand with no allowed site
inside the table, or ``p`` too small to serve everyone within the table cutoff, raises
:class:`~coverage.errors.InfeasibleError` (rebuild the table with a larger cutoff).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...engine.costs import CostTable
from ...errors import InfeasibleError, ParameterError, SolverError
from .heuristics import SiteRules, SparseCost, greedy, greedy_cover
from .highs import solve_milp
from .problem import Problem, SiteSpec, ZoneRule, build_problem
from .reduce import reduce_covering
from .result import SiteSelection, build_result

__all__ = ["solve_pcenter"]

logger = logging.getLogger(__name__)


def _cover_test(
    prob: Problem,
    radius: float,
    p: int,
    *,
    exact: bool,
    deadline: float,
    threads: int,
    seed: int,
) -> tuple[str, np.ndarray | None]:
    """Can ``<= p`` sites cover all weighted demand within ``radius``?

    Returns ``("yes", open_mask)``, ``("no", None)`` or ``("unknown", None)``.
    """
    red = reduce_covering(
        prob, prob.costs.coverage_matrix(radius), use_cost=False, row_dominance=True
    )
    if len(red.uncoverable):
        return "no", None
    m = len(red.cols)
    rules = SiteRules(
        allowed=np.ones(m, dtype=bool),
        required=red.required,
        zone=prob.zone[red.cols],
        zmin=prob.zone_min,
        zmax=prob.zone_max,
        cost=np.ones(m),
        kmin=0,
        kmax=m,
    )
    try:
        g = greedy_cover(red.cov, np.ones(m), rules)
    except (SolverError, InfeasibleError):
        g = None
    if g is not None and g.sum() <= p:
        mask = np.zeros(prob.n_sites, dtype=bool)
        mask[red.cols[g]] = True
        return "yes", mask
    if not exact:
        return "unknown", None
    s_rows, s_lo, s_hi = prob.site_rows(red.cols, card=(0, p))
    n = red.cov.shape[0]
    A = sp.vstack([red.cov.astype(np.float64), s_rows], format="csc")
    try:
        sol = solve_milp(  # pure feasibility: stop at the first cover with <= p sites
            np.zeros(m),
            A,
            np.concatenate([np.ones(n), s_lo]),
            np.concatenate([np.full(n, np.inf), s_hi]),
            lb=red.required.astype(float),
            ub=np.ones(m),
            integer=np.ones(m, dtype=bool),
            time_limit_s=max(0.1, deadline - time.perf_counter()),
            threads=threads,
            seed=seed,
            label=f"p-center cover r={radius:g}",
        )
    except InfeasibleError:
        return "no", None
    except SolverError:
        return "unknown", None
    mask = np.zeros(prob.n_sites, dtype=bool)
    mask[red.cols[sol.x > 0.5]] = True
    return "yes", mask


def _farthest_first(
    prob: Problem, p: int, rows: np.ndarray, cols: np.ndarray, dist: np.ndarray
) -> np.ndarray | None:
    """Gonzalez-style start: open the required sites, then repeatedly the allowed site
    nearest to the currently worst-served demand (zone maximums respected)."""
    t = prob.costs
    mask = prob.required.copy()
    d1 = np.full(t.n_demand, np.inf)
    d1[prob.weights <= 0] = -np.inf
    sel = mask[cols]
    np.minimum.at(d1, rows[sel], dist[sel])
    order = np.argsort(rows, kind="stable")
    starts = np.searchsorted(rows[order], np.arange(t.n_demand + 1))
    by_site = np.argsort(cols, kind="stable")
    s_starts = np.searchsorted(cols[by_site], np.arange(t.n_sites + 1))
    while mask.sum() < p:
        blocked = mask.copy()
        if prob.n_zones:
            cnt = np.bincount(prob.zone[mask & (prob.zone >= 0)], minlength=prob.n_zones)
            blocked |= np.append(cnt >= prob.zone_max, False)[prob.zone]
        worst = int(np.argmax(d1))
        sl = order[starts[worst] : starts[worst + 1]]
        ok = ~blocked[cols[sl]]
        if not ok.any():
            return None
        j = int(cols[sl][ok][np.argmin(dist[sl][ok])])
        mask[j] = True
        ss = by_site[s_starts[j] : s_starts[j + 1]]
        np.minimum.at(d1, rows[ss], dist[ss])
    if prob.zone_feasible_set(mask) or not np.all(np.isfinite(d1[prob.weights > 0])):
        return None
    return mask


def _milp(
    prob: Problem, p: int, *, time_limit_s: float, threads: int, seed: int
) -> tuple[np.ndarray, float, float, str]:
    t = prob.costs
    cols = np.flatnonzero(prob.allowed)
    m = len(cols)
    cpos = np.full(t.n_sites, -1, dtype=np.int64)
    cpos[cols] = np.arange(m)
    rows = np.flatnonzero(prob.weights > 0)
    rpos = np.full(t.n_demand, -1, dtype=np.int64)
    rpos[rows] = np.arange(len(rows))
    keep = (cpos[t.site_idx] >= 0) & (rpos[t.demand_idx] >= 0)
    pr, pc, pdist = rpos[t.demand_idx[keep]], cpos[t.site_idx[keep]], t.dist_m[keep]
    n, q = len(rows), len(pr)
    ycol = m + np.arange(q)
    rcol = m + q
    nvar = m + q + 1
    ar = sp.csr_matrix((np.ones(q), (pr, ycol)), shape=(n, nvar))
    al = sp.csr_matrix(
        (np.r_[np.ones(q), -np.ones(q)], (np.r_[np.arange(q), np.arange(q)], np.r_[ycol, pc])),
        shape=(q, nvar),
    )
    ad = sp.csr_matrix(
        (np.r_[pdist, -np.ones(n)], (np.r_[pr, np.arange(n)], np.r_[ycol, np.full(n, rcol)])),
        shape=(n, nvar),
    )
    s_rows, s_lo, s_hi = prob.site_rows(cols, card=(p, p))
    asite = sp.hstack([s_rows, sp.csr_matrix((s_rows.shape[0], q + 1))], format="csr")
    A = sp.vstack([ar, al, ad, asite], format="csc")
    lo = np.r_[np.ones(n), np.full(q, -np.inf), np.full(n, -np.inf), s_lo]
    hi = np.r_[np.ones(n), np.zeros(q), np.zeros(n), s_hi]
    c = np.zeros(nvar)
    c[rcol] = 1.0
    integer = np.zeros(nvar, dtype=bool)
    integer[: m + q] = True
    sol = solve_milp(
        c,
        A,
        lo,
        hi,
        lb=np.r_[prob.required[cols].astype(float), np.zeros(q + 1)],
        ub=np.r_[np.ones(m + q), np.inf],
        integer=integer,
        time_limit_s=time_limit_s,
        threads=threads,
        seed=seed,
        label="p-center MILP",
        infeasible_message=f"p-center: no choice of p={p} sites serves every demand within the "
        "table cutoff under the given rules; rebuild the table with a larger cutoff",
    )
    mask = np.zeros(t.n_sites, dtype=bool)
    mask[cols[sol.x[:m] > 0.5]] = True
    return mask, sol.objective, sol.bound, sol.status


def solve_pcenter(
    costs: CostTable,
    *,
    p: int,
    weights: Any = None,
    existing: SiteSpec | None = None,
    forbidden: SiteSpec | None = None,
    candidates: SiteSpec | None = None,
    zone_of_site: Any = None,
    zone_rule: ZoneRule | None = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    threads: int = 1,
    seed: int = 0,
) -> SiteSelection:
    """Open ``p`` sites minimising the largest distance from a demand to its nearest site.

    Parameters
    ----------
    costs
        Demand × site cost table (the optimum radius must lie within its cutoff).
    p
        Number of open sites, existing ones included.
    weights
        Only demand with weight > 0 counts (default: all).
    existing, forbidden, candidates, zone_of_site, zone_rule
        Side constraints (see :func:`~coverage.siting.optimize.problem.build_problem`).
    method
        ``"auto"``/``"exact"``/``"search"`` (binary search with exact covering tests),
        ``"milp"`` (assignment MILP) or ``"heuristic"`` (farthest-first start and the
        binary search with greedy covers only; ``best_bound`` is still the proven
        ``max_i min_j d_ij`` lower bound).
    time_limit_s
        Time limit of the whole call.
    threads, seed
        HiGHS options.

    Returns
    -------
    SiteSelection
        ``objective`` = worst distance, ``radius_m`` = the same, ``covered`` = all True
        for weighted demand.

    Raises
    ------
    ParameterError
        Bad ``p`` or method.
    InfeasibleError
        Demand beyond the table from every allowed site, or rules contradicting ``p``.

    Notes
    -----
    ``min r`` s.t. every weighted demand has an open site within ``r``, exactly ``p``
    sites open (existing included, zone rules met). See the module docstring for the
    binary search over the sorted table distances with exact covering subproblems and
    for the assignment MILP (``method="milp"``).
    """
    t0 = time.perf_counter()
    if method not in ("auto", "exact", "search", "milp", "heuristic"):
        raise ParameterError(
            f"method must be 'auto'/'exact'/'search', 'milp' or 'heuristic', got {method!r}"
        )
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
    )
    prob.check_count(p, p, what="p")
    w = prob.weights
    keep = prob.allowed[costs.site_idx] & (w[costs.demand_idx] > 0)
    rows, dist = costs.demand_idx[keep], costs.dist_m[keep]
    nearest = np.full(costs.n_demand, np.inf)
    np.minimum.at(nearest, rows, dist)
    unc = np.flatnonzero((w > 0) & ~np.isfinite(nearest))
    if len(unc):
        raise InfeasibleError(
            f"p-center: {len(unc)} demand rows have no allowed site within the table cutoff "
            f"({costs.cutoff_m:g} m), e.g. {costs.demand_ids[unc[:5]].tolist()}; rebuild the "
            "CostTable with a larger cutoff"
        )
    deadline = t0 + time_limit_s
    details: dict[str, Any] = {}
    if method == "milp":
        mask, _obj, bound, status = _milp(
            prob, p, time_limit_s=time_limit_s, threads=threads, seed=seed
        )
        meth = "highs-mip"
    else:
        levels = np.unique(dist)
        lo = int(np.searchsorted(levels, nearest[w > 0].max())) if np.any(w > 0) else 0
        hi = len(levels) - 1
        log: list[dict[str, Any]] = []
        best = _farthest_first(prob, p, rows, costs.site_idx[keep], dist)
        if best is not None:
            b_d1 = np.full(costs.n_demand, np.inf)
            s_ = best[costs.site_idx]
            np.minimum.at(b_d1, costs.demand_idx[s_], costs.dist_m[s_])
            hi = int(np.searchsorted(levels, b_d1[w > 0].max()))
            log.append({"radius": float(levels[hi]), "result": "yes", "by": "farthest-first"})
        # 1) greedy-cover search for a lower certified upper end
        glo, ghi = lo, hi - 1 if best is not None else hi
        while glo <= ghi:
            mid = (glo + ghi) // 2
            ans, mask = _cover_test(
                prob, levels[mid], p, exact=False, deadline=deadline, threads=threads, seed=seed
            )
            log.append({"radius": float(levels[mid]), "result": ans, "by": "greedy"})
            if ans == "yes":
                best, hi = mask, mid
                ghi = mid - 1
            else:
                glo = mid + 1
        if best is None:
            ans, best = _cover_test(
                prob, levels[hi], p, exact=True, deadline=deadline, threads=threads, seed=seed
            )
            log.append({"radius": float(levels[hi]), "result": ans, "by": "highs"})
            if ans == "no":
                raise InfeasibleError(
                    f"p-center: no choice of p={p} sites serves every demand within the table "
                    f"cutoff ({costs.cutoff_m:g} m) under the given rules; rebuild the table "
                    "with a larger cutoff or raise p"
                )
            if ans == "unknown":
                raise SolverError("p-center: time limit reached before any feasible radius")
        # 2) exact search in [lo, hi): hi is feasible
        status = "optimal" if lo == hi or method != "heuristic" else "heuristic"
        while lo < hi and method != "heuristic":
            mid = (lo + hi) // 2
            ans, mask = _cover_test(
                prob, levels[mid], p, exact=True, deadline=deadline, threads=threads, seed=seed
            )
            log.append({"radius": float(levels[mid]), "result": ans, "by": "highs"})
            if ans == "yes":
                best, hi = mask, mid
            elif ans == "no":
                lo = mid + 1
            else:
                status = "time_limit"
                break
        assert best is not None
        mask = best
        bound = float(levels[lo])
        meth = (
            "farthest-first+greedy-cover-search"
            if method == "heuristic"
            else "binary-search+highs-lscp"
        )
        details["search"] = log
    # fill up to p sites (shortens other distances, never the worst one)
    if mask.sum() < p:
        cols = np.flatnonzero(prob.allowed)
        cpos = np.full(costs.n_sites, -1, dtype=np.int64)
        cpos[cols] = np.arange(len(cols))
        sel = keep
        sc = SparseCost.build(
            rows, cpos[costs.site_idx[sel]], dist, w, 2.0 * float(dist.max()) + 1.0, len(cols)
        )
        rules = SiteRules(
            allowed=np.ones(len(cols), dtype=bool),
            required=mask[cols],
            zone=prob.zone[cols],
            zmin=prob.zone_min,
            zmax=prob.zone_max,
            cost=np.ones(len(cols)),
            kmin=p,
            kmax=p,
        )
        try:
            filled = greedy(sc, rules)
            mask = np.zeros(costs.n_sites, dtype=bool)
            mask[cols[filled]] = True
        except SolverError:
            logger.debug("p-center: could not fill up to p sites under the zone rules")
    d1 = np.full(costs.n_demand, np.inf)
    s = mask[costs.site_idx]
    np.minimum.at(d1, costs.demand_idx[s], costs.dist_m[s])
    objective = float(d1[w > 0].max()) if np.any(w > 0) else 0.0
    if status == "optimal" and abs(objective - bound) > 1e-9 * max(objective, 1.0):
        logger.warning(
            "p-center: objective %.9g differs from the proven optimum %.9g", objective, bound
        )
    return build_result(
        prob,
        model="pcenter",
        open_mask=mask,
        objective=objective,
        bound=bound,
        status=status,
        method=meth,
        t0=t0,
        shrink={"demand_in": costs.n_demand, "sites_in": costs.n_sites},
        covering=True,
        limit_m=objective,
        uncoverable=unc,
        details=details,
    )
