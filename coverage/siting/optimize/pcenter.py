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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...engine.costs import CostTable
from ...errors import InfeasibleError, SolverError
from .base import HIGHS_MIP, ModelSpec, Outcome, SolveRun, count_arg
from .heuristics import SiteRules, SparseCost, greedy, greedy_cover
from .highs import MilpModel
from .options import (
    METHOD_AUTO,
    METHOD_EXACT,
    METHOD_HEURISTIC,
    METHOD_MILP,
    METHOD_SEARCH,
    STATUS_HEURISTIC,
    STATUS_OPTIMAL,
    STATUS_TIME_LIMIT,
    SolveOptions,
)
from .problem import Problem, build_problem
from .reduce import reduce_covering
from .result import SiteSelection

__all__ = ["solve_pcenter"]

logger = logging.getLogger(__name__)

PCENTER = ModelSpec(
    kind="pcenter",
    label="p-center",
    methods=(METHOD_AUTO, METHOD_EXACT, METHOD_SEARCH, METHOD_MILP, METHOD_HEURISTIC),
    covering=True,
    refuses=("site_cost", "capacity"),
)

# answers of a covering test
_YES, _NO, _UNKNOWN = "yes", "no", "unknown"
#: "no", proven by the LP relaxation alone
_NO_LP = "no (lp)"


def solve_pcenter(
    costs: CostTable,
    *,
    p: int,
    options: SolveOptions | None = None,
    **option_overrides: Any,
) -> SiteSelection:
    """Open ``p`` sites minimising the largest distance from a demand to its nearest site.

    Parameters
    ----------
    costs
        Demand × site cost table (the optimum radius must lie within its cutoff).
    p
        Number of open sites, existing ones included.
    options
        Shared options (:class:`~coverage.siting.optimize.options.SolveOptions`):
        ``weights`` (only demand with weight > 0 counts; default: all); ``existing``,
        ``forbidden``, ``candidates``, ``zone_of_site``, ``zone_rule``; ``method``
        ``"auto"``/``"exact"``/``"search"`` (binary search with exact covering tests),
        ``"milp"`` (assignment MILP) or ``"heuristic"`` (farthest-first start and the
        binary search with greedy covers only; ``best_bound`` is still the proven
        ``max_i min_j d_ij`` lower bound); ``time_limit_s`` of the whole call;
        ``mip_rel_gap``, ``threads``, ``seed``. ``site_cost`` and ``capacity`` are
        refused.
    **option_overrides
        Any :class:`~coverage.siting.optimize.options.SolveOptions` field by name.

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
    opts = PCENTER.options(options, option_overrides)
    p = count_arg(p, "p", minimum=1)
    prob = build_problem(costs, opts)
    prob.check_count(p, p, what="p")
    run = SolveRun(PCENTER, prob, opts, t0)
    pairs = _Pairs.of(run)
    if run.method == METHOD_MILP:
        outcome = _milp(run, p)
    else:
        outcome = _RadiusSearch(run, p, pairs).solve()
    mask = _fill_to_p(run, outcome.open_mask, p, pairs)
    w = prob.weights
    d1 = np.full(costs.n_demand, np.inf)
    s = mask[costs.site_idx]
    np.minimum.at(d1, costs.demand_idx[s], costs.dist_m[s])
    objective = float(d1[w > 0].max()) if np.any(w > 0) else 0.0
    if outcome.status == STATUS_OPTIMAL and abs(objective - outcome.bound) > 1e-9 * max(objective, 1.0):
        logger.warning(
            "p-center: objective %.9g differs from the proven optimum %.9g", objective, outcome.bound
        )
    return run.finish(
        Outcome(mask, objective, outcome.bound, outcome.status, outcome.method, outcome.details),
        shrink={"demand_in": costs.n_demand, "sites_in": costs.n_sites},
        uncoverable=pairs.unc,
        limit_m=objective,
    )


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Table pairs of weighted demand and allowed sites, and each row's nearest distance."""

    keep: np.ndarray  # mask over the table entries
    rows: np.ndarray
    dist: np.ndarray
    nearest: np.ndarray
    unc: np.ndarray

    @classmethod
    def of(cls, run: SolveRun) -> _Pairs:
        """Raises :class:`InfeasibleError` when weighted demand has no allowed site."""
        costs, w = run.prob.costs, run.prob.weights
        keep = run.prob.allowed[costs.site_idx] & (w[costs.demand_idx] > 0)
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
        return cls(keep, rows, dist, nearest, unc)


def _cover_test(run: SolveRun, radius: float, p: int, *, exact: bool) -> tuple[str, np.ndarray | None]:
    """Can ``<= p`` sites cover all weighted demand within ``radius``?

    Returns ``("yes", open_mask)``, ``("no", None)`` or ``("unknown", None)``.
    """
    prob = run.prob
    red = reduce_covering(
        prob, prob.costs.coverage_matrix(radius), use_cost=False, row_dominance=True
    )
    if len(red.uncoverable):
        return _NO, None
    m = len(red.cols)
    rules = SiteRules.for_columns(
        prob, red.cols, required=red.required, kmin=0, kmax=m, cost=np.ones(m)
    )
    try:
        g = greedy_cover(red.cov, np.ones(m), rules)
    except (SolverError, InfeasibleError):
        g = None
    if g is not None and g.sum() <= p:
        return _YES, prob.mask_of(red.cols[g])
    if not exact:
        return _UNKNOWN, None
    n = red.cov.shape[0]
    cover = red.cov.astype(np.float64)
    a_zone, z_lo, z_hi = prob.site_rows(red.cols)
    lb = red.required.astype(float)
    if _lp_needs_more(run, sp.vstack([cover, a_zone], format="csc"),
                      np.concatenate([np.ones(n), z_lo]), np.concatenate([np.full(n, np.inf), z_hi]),
                      lb, p, radius):  # fmt: skip
        return _NO_LP, None
    a_site, s_lo, s_hi = prob.site_rows(red.cols, card=(0, p))
    model = MilpModel(  # pure feasibility: stop at the first cover with <= p sites
        np.zeros(m),
        sp.vstack([cover, a_site], format="csc"),
        np.concatenate([np.ones(n), s_lo]),
        np.concatenate([np.full(n, np.inf), s_hi]),
        lb=lb,
        ub=np.ones(m),
        integer=np.ones(m, dtype=bool),
    )
    try:
        sol = run.milp(
            model, time_limit_s=run.time_left(floor=0.1), label=f"p-center cover r={radius:g}"
        )
    except InfeasibleError:
        return _NO, None
    except SolverError:
        return _UNKNOWN, None
    return _YES, prob.mask_of(red.cols[sol.x > 0.5])


def _lp_needs_more(
    run: SolveRun,
    A: sp.csc_matrix,
    lo: np.ndarray,
    hi: np.ndarray,
    lb: np.ndarray,
    p: int,
    radius: float,
) -> bool:
    """Whether the LP relaxation proves the covering test infeasible: covering all demand
    within ``radius`` (zone rows kept) needs more than ``p`` sites even fractionally.
    This is the LP bound of the radius formulations (Elloumi, Labbé & Pochet 2004;
    Calik & Tansel 2013); it settles most radii below the optimum without branching."""
    m = A.shape[1]
    model = MilpModel(np.ones(m), A, lo, hi, lb=lb, ub=np.ones(m))
    try:
        sol = run.milp(model, time_limit_s=run.time_left(floor=0.1), label=f"p-center LP r={radius:g}")
    except InfeasibleError:
        return True
    except SolverError:
        return False
    return sol.status == STATUS_OPTIMAL and sol.objective > p + 1e-6


@dataclass
class _RadiusSearch:
    """Binary search over the sorted table distances ``levels``; ``levels[hi]`` is the
    best radius known feasible (with ``best``), ``levels[lo]`` the proven lower bound."""

    run: SolveRun
    p: int
    pairs: _Pairs
    levels: np.ndarray = field(init=False)
    lo: int = field(init=False)
    hi: int = field(init=False)
    best: np.ndarray | None = None
    log: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        w = self.run.prob.weights
        self.levels = np.unique(self.pairs.dist)
        self.lo = (
            int(np.searchsorted(self.levels, self.pairs.nearest[w > 0].max()))
            if np.any(w > 0)
            else 0
        )
        self.hi = len(self.levels) - 1

    def _test(self, mid: int, *, exact: bool) -> tuple[str, np.ndarray | None]:
        ans, mask = _cover_test(self.run, self.levels[mid], self.p, exact=exact)
        self.log.append(
            {
                "radius": float(self.levels[mid]),
                "result": _NO if ans == _NO_LP else ans,
                "by": ("highs-lp" if ans == _NO_LP else "highs") if exact else "greedy",
            }
        )
        return (_NO if ans == _NO_LP else ans), mask

    def farthest_first(self) -> None:
        """Start from the farthest-first answer: its worst distance is feasible."""
        costs, w = self.run.prob.costs, self.run.prob.weights
        pp = self.pairs
        self.best = _farthest_first(self.run.prob, self.p, pp.rows, costs.site_idx[pp.keep], pp.dist)
        if self.best is not None:
            b_d1 = np.full(costs.n_demand, np.inf)
            s_ = self.best[costs.site_idx]
            np.minimum.at(b_d1, costs.demand_idx[s_], costs.dist_m[s_])
            self.hi = int(np.searchsorted(self.levels, b_d1[w > 0].max()))
            self.log.append(
                {"radius": float(self.levels[self.hi]), "result": _YES, "by": "farthest-first"}
            )

    def greedy_phase(self) -> None:
        """Greedy-cover search for a lower certified upper end."""
        glo, ghi = self.lo, self.hi - 1 if self.best is not None else self.hi
        while glo <= ghi:
            mid = (glo + ghi) // 2
            ans, mask = self._test(mid, exact=False)
            if ans == _YES:
                self.best, self.hi = mask, mid
                ghi = mid - 1
            else:
                glo = mid + 1

    def ensure_feasible(self) -> None:
        """Without any feasible radius yet, test the largest one exactly."""
        if self.best is not None:
            return
        ans, self.best = self._test(self.hi, exact=True)
        if ans == _NO:
            raise InfeasibleError(
                f"p-center: no choice of p={self.p} sites serves every demand within the table "
                f"cutoff ({self.run.prob.costs.cutoff_m:g} m) under the given rules; rebuild "
                "the table with a larger cutoff or raise p"
            )
        if ans == _UNKNOWN:
            raise SolverError("p-center: time limit reached before any feasible radius")

    def exact_phase(self) -> str:
        """Exact search in ``[lo, hi)`` (``hi`` is feasible); the status it proves."""
        heuristic = self.run.method == METHOD_HEURISTIC
        status = STATUS_OPTIMAL if self.lo == self.hi or not heuristic else STATUS_HEURISTIC
        while self.lo < self.hi and not heuristic:
            mid = (self.lo + self.hi) // 2
            ans, mask = self._test(mid, exact=True)
            if ans == _YES:
                self.best, self.hi = mask, mid
            elif ans == _NO:
                self.lo = mid + 1
            else:
                return STATUS_TIME_LIMIT
        return status

    def solve(self) -> Outcome:
        self.farthest_first()
        self.greedy_phase()
        self.ensure_feasible()
        status = self.exact_phase()
        assert self.best is not None
        meth = (
            "farthest-first+greedy-cover-search"
            if self.run.method == METHOD_HEURISTIC
            else "binary-search+highs-lscp"
        )
        return Outcome(
            self.best, np.nan, float(self.levels[self.lo]), status, meth, {"search": self.log}
        )


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


def _milp(run: SolveRun, p: int) -> Outcome:
    """The assignment MILP: ``min r`` s.t. ``sum_j y_ij = 1``, ``y_ij <= x_j``,
    ``sum_j d_ij y_ij <= r``, ``sum_j x_j = p`` (``y`` binary)."""
    prob, t = run.prob, run.prob.costs
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
    asite, s_lo, s_hi = prob.site_rows(cols, card=(p, p), extra=q + 1)
    c = np.zeros(nvar)
    c[rcol] = 1.0
    integer = np.zeros(nvar, dtype=bool)
    integer[: m + q] = True
    model = MilpModel(
        c,
        sp.vstack([ar, al, ad, asite], format="csc"),
        np.r_[np.ones(n), np.full(q, -np.inf), np.full(n, -np.inf), s_lo],
        np.r_[np.ones(n), np.zeros(q), np.zeros(n), s_hi],
        lb=np.r_[prob.required[cols].astype(float), np.zeros(q + 1)],
        ub=np.r_[np.ones(m + q), np.inf],
        integer=integer,
    )
    sol = run.milp(
        model,
        time_limit_s=run.opts.time_limit_s,
        label="p-center MILP",
        infeasible_message=f"p-center: no choice of p={p} sites serves every demand within the "
        "table cutoff under the given rules; rebuild the table with a larger cutoff",
    )
    return Outcome(prob.mask_of(cols[sol.x[:m] > 0.5]), sol.objective, sol.bound, sol.status, HIGHS_MIP)


def _fill_to_p(run: SolveRun, mask: np.ndarray, p: int, pairs: _Pairs) -> np.ndarray:
    """Open up to ``p`` sites greedily (shortens other distances, never the worst one)."""
    if mask.sum() >= p:
        return mask
    prob, costs = run.prob, run.prob.costs
    cols = np.flatnonzero(prob.allowed)
    cpos = np.full(costs.n_sites, -1, dtype=np.int64)
    cpos[cols] = np.arange(len(cols))
    sc = SparseCost.build(
        pairs.rows, cpos[costs.site_idx[pairs.keep]], pairs.dist, prob.weights,
        2.0 * float(pairs.dist.max()) + 1.0, len(cols),
    )  # fmt: skip
    rules = SiteRules.for_columns(
        prob, cols, required=mask[cols], kmin=p, kmax=p, cost=np.ones(len(cols))
    )
    try:
        return prob.mask_of(cols[greedy(sc, rules)])
    except SolverError:
        logger.debug("p-center: could not fill up to p sites under the zone rules")
        return mask
