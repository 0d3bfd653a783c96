"""Greedy construction, vertex interchange and Lagrangian bounds.

One engine serves p-median and MCLP. Both minimise

.. math:: f(S) = \\sum_i w_i \\min\\bigl(P, \\min_{j \\in S} d_{ij}\\bigr)

over sparse pairs ``(i, j, d_ij)``: p-median with network distances and an
unreachable penalty ``P``; MCLP with ``d_ij = 0`` for pairs within the radius and
``P = 1`` (so ``f`` is the uncovered weight).

* :func:`greedy` adds the site of largest gain (gain per cost under a budget) after the
  existing sites and the zone minimums, with an optional randomised candidate list.
* :func:`local_search` is the Teitz–Bart vertex interchange, evaluated for *all*
  swaps at once with the Whitaker / Resende–Werneck decomposition
  ``profit(r, a) = gain(a) - loss(r) + extra(r, a)`` (``extra`` accumulated from the
  sparse pairs into a dense ``open × sites`` array), best improvement first; free
  additions are taken when the cardinality/budget allow. Swaps respect required sites,
  zone bounds and the budget.
* :func:`interchange_solve` runs greedy + interchange, then perturbation restarts
  (iterated local search) with a seeded :class:`numpy.random.Generator`.
* :func:`lagrangian_bound` relaxes the assignment constraints (subgradient
  optimisation) and returns a proven lower bound on ``f`` (zone rules relaxed), and
  with ``fixing`` the sites closed / open in every solution as good as a given value;
  :func:`bound_and_polish` adds the interchange applied to the Lagrangian choice.
* :func:`greedy_cover` and :func:`cover_bound` do the same for weighted set covering
  (Chvátal greedy + redundancy removal; Beasley's Lagrangian bound).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...errors import InfeasibleError, SolverError
from .fastswap import RowRuns, SwapState, sort_pairs
from .problem import Problem

__all__ = [
    "Incumbent",
    "SiteRules",
    "SparseCost",
    "bound_and_polish",
    "cover_bound",
    "greedy",
    "greedy_cover",
    "interchange_solve",
    "is_integral",
    "lagrangian_bound",
    "local_search",
    "round_bound",
]

logger = logging.getLogger(__name__)

#: From this many pairs on, greedy and the interchange update their sums move by move
#: (:mod:`~coverage.siting.optimize.fastswap`) instead of passing over every pair.
FAST_SWAP_MIN_PAIRS = 200_000
#: ... as long as the ``open × sites`` array of the interchange has at most this many cells.
FAST_SWAP_MAX_EXTRA = 30_000_000


def round_bound(bound: float, integral: bool, *, lower: bool) -> float:
    """Tighten a bound when every feasible objective value is an integer.

    A lower bound rounds up (``ceil(b - 1e-6)``), an upper bound down
    (``floor(b + 1e-6)``); the 1e-6 slack absorbs floating-point noise in the bound.
    """
    if not integral or not np.isfinite(bound):
        return bound
    return float(np.ceil(bound - 1e-6) if lower else np.floor(bound + 1e-6))


def is_integral(*arrays: np.ndarray | float | None) -> bool:
    """Whether every value given is a whole number (``None`` is ignored)."""
    for a in arrays:
        if a is None:
            continue
        v = np.asarray(a, dtype=np.float64)
        if not np.all(np.isfinite(v)) or np.any(v != np.round(v)):
            return False
    return True


@dataclass
class SparseCost:
    """Sparse service costs: ``f(S) = sum_i w_i min(P, min_{j in S} d_ij)``."""

    rows: np.ndarray
    cols: np.ndarray
    dist: np.ndarray
    w: np.ndarray
    penalty: float
    m: int
    col_order: np.ndarray
    col_ptr: np.ndarray
    _runs: RowRuns | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        rows: np.ndarray,
        cols: np.ndarray,
        dist: np.ndarray,
        w: np.ndarray,
        penalty: float,
        m: int,
    ) -> SparseCost:
        """Drop useless pairs (``d >= P``, ``w == 0``) and index the columns."""
        keep = (dist < penalty) & (w[rows] > 0)
        rows, cols, dist = rows[keep], cols[keep], dist[keep].astype(np.float64)
        order = np.argsort(cols, kind="stable")
        ptr = np.searchsorted(cols[order], np.arange(m + 1))
        return cls(
            rows.astype(np.int64),
            cols.astype(np.int64),
            dist,
            np.asarray(w, np.float64),
            float(penalty),
            int(m),
            order,
            ptr,
        )

    @property
    def n(self) -> int:
        """Number of demand rows."""
        return len(self.w)

    def d1(self, open_mask: np.ndarray) -> np.ndarray:
        """Service cost of each row under ``open_mask``."""
        d1 = np.full(self.n, self.penalty)
        sel = open_mask[self.cols]
        np.minimum.at(d1, self.rows[sel], self.dist[sel])
        return d1

    def value(self, open_mask: np.ndarray) -> float:
        """``f(open_mask)``."""
        return float(self.w @ self.d1(open_mask))

    def row_runs(self) -> RowRuns:
        """The pairs sorted by row and cost (built once, for :class:`SwapState`)."""
        if self._runs is None:
            self._runs = RowRuns.of(self.rows, self.cols, self.dist, self.n)
        return self._runs

    def incremental(self, slots: int) -> bool:
        """Whether greedy and interchange keep their sums between moves
        (:mod:`~coverage.siting.optimize.fastswap`): from :data:`FAST_SWAP_MIN_PAIRS`
        pairs on, while the ``slots × sites`` array stays below :data:`FAST_SWAP_MAX_EXTRA`."""
        return len(self.rows) >= FAST_SWAP_MIN_PAIRS and slots * self.m <= FAST_SWAP_MAX_EXTRA


@dataclass
class SiteRules:
    """Feasibility rules of the heuristics (all arrays over the ``m`` columns, every one of
    which may be opened: the models hand over only allowed sites)."""

    required: np.ndarray
    zone: np.ndarray
    zmin: np.ndarray
    zmax: np.ndarray
    cost: np.ndarray
    kmin: int
    kmax: int
    budget: float | None = None

    @classmethod
    def for_columns(
        cls,
        prob: Problem,
        cols: np.ndarray,
        *,
        required: np.ndarray,
        kmin: int,
        kmax: int,
        cost: np.ndarray | None = None,
        budget: float | None = None,
    ) -> SiteRules:
        """Rules over the model columns ``cols`` (original site positions) of ``prob``.

        ``cost`` defaults to the problem's site costs of those columns.
        """
        return cls(
            required=required,
            zone=prob.zone[cols],
            zmin=prob.zone_min,
            zmax=prob.zone_max,
            cost=prob.site_cost[cols] if cost is None else cost,
            kmin=kmin,
            kmax=kmax,
            budget=budget,
        )

    def counts(self, open_mask: np.ndarray) -> np.ndarray:
        """Open sites per zone."""
        z = self.zone[open_mask & (self.zone >= 0)]
        return np.bincount(z, minlength=len(self.zmin))

    def feasible(self, x: np.ndarray) -> bool:
        """Whether a (0/1) site choice keeps every rule: count, zones and budget."""
        if not np.all((x == 0) | (x == 1)):
            return False
        xm = x > 0.5
        cnt = self.counts(xm)
        return bool(
            self.kmin <= xm.sum() <= self.kmax
            and np.all(cnt >= self.zmin)
            and np.all(cnt <= self.zmax)
            and (self.budget is None or self.cost[xm].sum() <= self.budget + 1e-9)
        )

    def can_add(self, open_mask: np.ndarray, cnt: np.ndarray) -> np.ndarray:
        """Columns that may be opened now (closed, zone max and budget respected)."""
        ok = ~open_mask
        if len(self.zmin):
            zfull = np.append(cnt >= self.zmax, False)
            ok &= ~zfull[self.zone]
        if self.budget is not None:
            ok &= self.cost <= self.budget - float(self.cost[open_mask].sum()) + 1e-9
        return ok


def _assign(sc: SparseCost, open_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest (c1, d1) and second-nearest distance d2 of every row (``P`` if none)."""
    sel = open_mask[sc.cols]
    r, c, d = sc.rows[sel], sc.cols[sel], sc.dist[sel]
    order = np.lexsort((c, d, r))
    r, c, d = r[order], c[order], d[order]
    d1 = np.full(sc.n, sc.penalty)
    d2 = np.full(sc.n, sc.penalty)
    c1 = np.full(sc.n, -1, dtype=np.int64)
    if len(r):
        first = np.ones(len(r), dtype=bool)
        first[1:] = r[1:] != r[:-1]
        d1[r[first]], c1[r[first]] = d[first], c[first]
        idx = np.flatnonzero(first) + 1
        idx = idx[idx < len(r)]
        sec = idx[r[idx] == r[idx - 1]]
        d2[r[sec]] = d[sec]
    return d1, c1, d2


def _gain(sc: SparseCost, d1: np.ndarray) -> np.ndarray:
    diff = d1[sc.rows] - sc.dist
    pos = diff > 0
    g = np.bincount(sc.cols[pos], weights=sc.w[sc.rows[pos]] * diff[pos], minlength=sc.m)
    return g.astype(np.float64, copy=False)  # bincount of nothing is int64


def greedy(
    sc: SparseCost,
    rules: SiteRules,
    *,
    start: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    rcl: int = 1,
) -> np.ndarray:
    """Greedy construction from ``start`` (default: the required sites).

    Zone minimums are met first; then the site of largest gain (gain per cost when a
    budget binds) is added until ``kmax`` sites are open, the budget is spent or
    (beyond ``kmin``) nothing gains. With ``rng`` and ``rcl > 1`` one of the ``rcl``
    best candidates is drawn at random.
    """
    return _greedy(sc, rules, start=start, rng=rng, rcl=rcl)[0]


def _greedy(
    sc: SparseCost,
    rules: SiteRules,
    *,
    start: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    rcl: int = 1,
) -> tuple[np.ndarray, SwapState | None]:
    """:func:`greedy`, and its kept sums when it kept them (for the interchange next)."""
    open_mask = rules.required.copy() if start is None else start.copy()
    state = SwapState(sc, sc.row_runs(), open_mask, rules.kmax) if sc.incremental(rules.kmax) else None
    d1 = sc.d1(open_mask) if state is None else state.d1
    # sums kept between moves may leave rounding dust where a gain is 0
    dust = 1e-12 * float(sc.w.sum()) * sc.penalty if state is not None else 0.0
    while open_mask.sum() < rules.kmax:
        cnt = rules.counts(open_mask)
        ok = rules.can_add(open_mask, cnt)
        deficit = len(rules.zmin) and np.any(cnt < rules.zmin)
        if deficit:
            need = np.append(cnt < rules.zmin, False)
            ok &= need[rules.zone]
            if not ok.any():
                raise SolverError(
                    "heuristic could not meet the zone minimums within the budget; "
                    "use method='exact' (--method exact) to decide feasibility"
                )
        if not ok.any():
            break
        g = _gain(sc, d1) if state is None else np.where(state.gain > dust, state.gain, 0.0)
        score = g.copy()
        if rules.budget is not None:
            free = np.where(g > 0, np.inf, 0.0)
            score = np.where(rules.cost > 0, g / np.maximum(rules.cost, 1e-300), free)
        score[~ok] = -np.inf
        if not deficit and open_mask.sum() >= rules.kmin and np.max(np.where(ok, g, -1)) <= 0:
            break
        if rng is not None and rcl > 1:
            top = np.argsort(-score, kind="stable")[:rcl]
            top = top[np.isfinite(score[top]) & (score[top] >= 0)]
            a = int(rng.choice(top)) if len(top) else int(np.argmax(score))
        else:
            a = int(np.argmax(score))
        open_mask[a] = True
        if state is not None:
            state.apply(-1, a)
            continue
        sl = sc.col_order[sc.col_ptr[a] : sc.col_ptr[a + 1]]
        np.minimum.at(d1, sc.rows[sl], sc.dist[sl])
    if open_mask.sum() < rules.kmin:
        raise SolverError(
            f"heuristic opened only {int(open_mask.sum())} of {rules.kmin} sites under the "
            "zone/budget rules; use method='exact' (--method exact)"
        )
    return open_mask, state


def _swap_ok(rules: SiteRules, olist: np.ndarray, open_mask: np.ndarray) -> np.ndarray:
    """Feasibility of swapping out ``olist[r]`` for column ``a`` (rows × columns)."""
    ok_out = ~rules.required[olist]
    ok_in = ~open_mask
    feas = ok_out[:, None] & ok_in[None, :]
    if len(rules.zmin):
        cnt = rules.counts(open_mask)
        zr, za = rules.zone[olist], rules.zone
        out_ok = (zr < 0) | (np.append(cnt - 1 >= rules.zmin, True)[zr])
        in_ok = (za < 0) | (np.append(cnt + 1 <= rules.zmax, True)[za])
        same = (zr[:, None] == za[None, :]) & (zr[:, None] >= 0)
        feas &= (out_ok[:, None] & in_ok[None, :]) | same
    if rules.budget is not None:
        spent = float(rules.cost[open_mask].sum())
        feas &= (spent - rules.cost[olist][:, None] + rules.cost[None, :]) <= rules.budget + 1e-9
    return feas


def local_search(
    sc: SparseCost,
    rules: SiteRules,
    open_mask: np.ndarray,
    *,
    deadline: float = np.inf,
    max_iter: int = 100_000,
) -> tuple[np.ndarray, int]:
    """Best-improvement vertex interchange (plus free additions) until a local optimum.

    Returns
    -------
    open_mask, moves
    """
    if sc.incremental(rules.kmax):
        return _local_search_incremental(sc, rules, open_mask, deadline=deadline, max_iter=max_iter)
    open_mask = open_mask.copy()
    moves = 0
    rows, cols, dist, w = sc.rows, sc.cols, sc.dist, sc.w
    for _ in range(max_iter):
        if time.perf_counter() > deadline:
            break
        d1, c1, d2 = _assign(sc, open_mask)
        f = float(w @ d1)
        tol = 1e-9 * max(abs(f), 1.0)
        gain = _gain(sc, d1)
        best_p, best = tol, None
        cnt = rules.counts(open_mask)
        if open_mask.sum() < rules.kmax:
            addp = np.where(rules.can_add(open_mask, cnt), gain, -np.inf)
            a = int(np.argmax(addp))
            if addp[a] > best_p:
                best_p, best = float(addp[a]), (-1, a)
        olist = np.flatnonzero(open_mask)
        if len(olist):
            opos = np.full(sc.m, -1, dtype=np.int64)
            opos[olist] = np.arange(len(olist))
            has = c1 >= 0
            loss = np.bincount(
                opos[c1[has]], weights=w[has] * (d2[has] - d1[has]), minlength=len(olist)
            ).astype(np.float64, copy=False)
            r_of = c1[rows]
            sel = (r_of >= 0) & (dist < d2[rows]) & (cols != r_of)
            val = w[rows[sel]] * (d2[rows[sel]] - np.maximum(dist[sel], d1[rows[sel]]))
            flat = opos[r_of[sel]] * sc.m + cols[sel]
            extra = np.bincount(flat, weights=val, minlength=len(olist) * sc.m).astype(
                np.float64, copy=False
            )
            profit = extra.reshape(len(olist), sc.m)
            profit += gain[None, :]
            profit -= loss[:, None]
            profit[~_swap_ok(rules, olist, open_mask)] = -np.inf
            k = int(np.argmax(profit))
            r, a = divmod(k, sc.m)
            if profit[r, a] > best_p:
                best_p, best = float(profit[r, a]), (int(olist[r]), a)
        if best is None:
            break
        out, a = best
        if out >= 0:
            open_mask[out] = False
        open_mask[a] = True
        moves += 1
    return open_mask, moves


def _best_move(state: SwapState, rules: SiteRules, tol: float) -> tuple[int, int] | None:
    """The most profitable addition or swap of ``state`` above ``tol`` (the dense
    :func:`local_search`'s choice: an addition first, a swap only when strictly better)."""
    open_mask = state.open
    best_p, best = tol, None
    if open_mask.sum() < rules.kmax and state.free_slot():
        addp = np.where(rules.can_add(open_mask, rules.counts(open_mask)), state.gain, -np.inf)
        a = int(np.argmax(addp))
        if addp[a] > best_p:
            best_p, best = float(addp[a]), (-1, a)
    olist, profit = state.profits()
    if len(olist):
        profit[~_swap_ok(rules, olist, open_mask)] = -np.inf
        r, a = divmod(int(np.argmax(profit)), state.sc.m)
        if profit[r, a] > best_p:
            best = (int(olist[r]), a)
    return best


def _local_search_incremental(
    sc: SparseCost,
    rules: SiteRules,
    open_mask: np.ndarray,
    *,
    deadline: float,
    max_iter: int,
    state: SwapState | None = None,
) -> tuple[np.ndarray, int]:
    """:func:`local_search` with the sums kept between moves (:class:`SwapState`;
    ``state``: those of ``open_mask`` if at hand).

    Each move's real change of ``f`` is summed over the rows it touched; a move that does
    not really improve (rounding in the kept sums) is undone by a rebuild from scratch,
    and the search ends only when a freshly built state offers no improving move, so the
    result is a local optimum of the dense evaluation too.
    """
    if state is None or not np.array_equal(state.open, open_mask):
        state = SwapState(sc, sc.row_runs(), open_mask, rules.kmax)
    moves = 0
    for _ in range(max_iter):
        if time.perf_counter() > deadline:
            break
        tol = 1e-9 * max(abs(state.value), 1.0)
        move = _best_move(state, rules, tol)
        if move is None:
            if state.moves_since_build == 0:
                break
            state.rebuild()  # confirm on exact sums before stopping
            continue
        before = state.open.copy()
        fresh = state.moves_since_build == 0
        if state.apply(*move) < -tol:
            moves += 1
            continue
        state.open = before  # not a real improvement: undo
        state.rebuild()
        if fresh:
            break
    return state.open.copy(), moves


def _descend(
    sc: SparseCost, rules: SiteRules, mask: np.ndarray, state: SwapState | None, deadline: float
) -> tuple[np.ndarray, int]:
    """:func:`local_search` from ``mask``, reusing greedy's kept sums when it has them."""
    if state is not None:
        return _local_search_incremental(sc, rules, mask, deadline=deadline, max_iter=100_000, state=state)
    return local_search(sc, rules, mask, deadline=deadline)


def interchange_solve(
    sc: SparseCost,
    rules: SiteRules,
    *,
    n_starts: int = 4,
    seed: int = 0,
    time_limit_s: float = 60.0,
) -> tuple[np.ndarray, float, dict[str, float]]:
    """Greedy + interchange, then ``n_starts - 1`` perturbation restarts.

    Each restart closes a random number (1 to half; every fourth restart all) of the
    movable open sites of the best solution, refills greedily with a randomised
    candidate list of 3 (10 after closing all) and applies the interchange again. Deterministic for a given
    ``seed``.

    Returns
    -------
    open_mask, value, info
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    rng = np.random.default_rng(seed)
    best, state = _greedy(sc, rules)
    greedy_val = sc.value(best)
    best, moves = _descend(sc, rules, best, state, deadline)
    best_val = sc.value(best)
    starts = 1
    for _ in range(max(0, n_starts - 1)):
        if time.perf_counter() > deadline:
            break
        movable = np.flatnonzero(best & ~rules.required)
        if not len(movable):
            break
        # perturb: close a random 1..half of the movable sites (all of them on every
        # fourth restart, i.e. a fresh randomised greedy), then refill
        q = len(movable) if starts % 4 == 3 else int(rng.integers(1, max(2, len(movable) // 2) + 1))
        trial = best.copy()
        trial[rng.choice(movable, size=min(q, len(movable)), replace=False)] = False
        try:
            trial, state = _greedy(sc, rules, start=trial, rng=rng, rcl=10 if starts % 4 == 3 else 3)
        except SolverError:
            continue
        trial, mv = _descend(sc, rules, trial, state, deadline)
        moves += mv
        starts += 1
        val = sc.value(trial)
        if val < best_val - 1e-9 * max(abs(best_val), 1.0):
            best, best_val = trial, val
    info = {
        "greedy_value": greedy_val,
        "moves": moves,
        "starts": starts,
        "seconds": time.perf_counter() - t0,
    }
    logger.debug("interchange_solve: %s, value %.6g", info, best_val)
    return best, best_val, info


def _pick(rho: np.ndarray, rules: SiteRules) -> tuple[np.ndarray, float]:
    """Cheapest relaxed site choice for the Lagrangian subproblem: required sites plus
    the most negative ``rho`` under the cardinality and/or (fractional) budget."""
    x = rules.required.astype(np.float64)
    free = ~rules.required & (rho < 0)
    val = float(rho[rules.required].sum())
    idx = np.flatnonzero(free)
    best_val, best_x = -np.inf, x
    if rules.kmax < len(rho) or rules.budget is None:
        k = max(0, rules.kmax - int(rules.required.sum()))
        take = idx[np.argsort(rho[idx], kind="stable")[:k]]
        xc = x.copy()
        xc[take] = 1.0
        best_val, best_x = val + float(rho[take].sum()), xc
    if rules.budget is not None:
        room = rules.budget - float(rules.cost[rules.required].sum())
        cst = rules.cost[idx]
        ratio = np.where(cst > 0, -rho[idx] / np.maximum(cst, 1e-300), np.inf)
        order = idx[np.argsort(-ratio, kind="stable")]
        cum = np.cumsum(rules.cost[order])
        frac = np.clip(
            (room - (cum - rules.cost[order])) / np.maximum(rules.cost[order], 1e-300), 0, 1
        )
        frac[rules.cost[order] == 0] = 1.0
        xb = x.copy()
        xb[order] = frac
        vb = val + float(rho[order] @ frac)
        if vb > best_val:  # both are valid relaxations: keep the larger (tighter) one
            best_val, best_x = vb, xb
    return best_x, best_val


def _next_rho(rho: np.ndarray, x: np.ndarray, required: np.ndarray) -> float:
    """Smallest ``rho`` among the free sites the subproblem did not choose."""
    rest = rho[(x < 0.5) & ~required]
    return float(rest.min()) if len(rest) else 0.0


#: above this many pairs the subgradient reads only each row's pairs below its multiplier
ACTIVE_PAIRS_MIN = 200_000


@dataclass(frozen=True, eq=False)
class _ActivePairs:
    """The pairs sorted by row and cost ``w_i d_ij``, so that the pairs of negative reduced
    cost ``w_i d_ij - lambda_i`` (a prefix of each row's run) are found by one binary search
    per row instead of a pass over every pair: at city scale (tens of millions of pairs)
    only a small share is ever below the multipliers. The search takes a few candidates
    too many near each row's multiplier (rounding of the combined keys); the exact test
    ``w_i d_ij - lambda_i < 0`` then decides, so the result equals the dense pass."""

    perm: np.ndarray  # sorted position -> pair
    keys: np.ndarray  # row * span + cost, ascending
    start: np.ndarray  # first sorted position of each row (n + 1)
    span: float
    rows: np.ndarray
    cols: np.ndarray
    wd: np.ndarray

    @classmethod
    def of(
        cls, rows: np.ndarray, cols: np.ndarray, wd: np.ndarray, n: int,
        perm: np.ndarray | None = None,
    ) -> _ActivePairs:
        """``perm``: an order of the pairs by row and cost if one is at hand (the pairs
        sorted by row and distance are, as ``w_i > 0`` is the same along a row)."""
        perm = sort_pairs(rows, cols, wd) if perm is None else perm
        span = float(wd.max()) * 1.001 + 1.0
        srows = rows[perm]
        keys = srows.astype(np.float64) * span + wd[perm]
        start = np.searchsorted(srows, np.arange(n + 1))
        return cls(perm, keys, start, span, rows, cols, wd)

    @classmethod
    def for_cost(cls, sc: SparseCost, wd: np.ndarray) -> _ActivePairs | None:
        """The sorted pairs of ``sc`` (costs ``wd``) from :data:`ACTIVE_PAIRS_MIN` pairs
        on, reusing the interchange's order by row and distance when it was built."""
        if len(sc.rows) < ACTIVE_PAIRS_MIN or not np.any(wd > 0):
            return None
        return cls.of(sc.rows, sc.cols, wd, sc.n, None if sc._runs is None else sc._runs.perm)

    def negative(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and reduced cost of every pair with ``w_i d_ij < lambda_i``."""
        n = len(self.start) - 1
        q = np.arange(n, dtype=np.float64) * self.span + np.clip(lam, -1.0, self.span)
        end = np.searchsorted(self.keys, q + 8.0 * np.spacing(np.abs(q) + self.span), side="right")
        lo = self.start[:-1]
        end = np.clip(end, lo, self.start[1:])
        counts = end - lo
        total = int(counts.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        offs = np.cumsum(counts) - counts
        pos = np.arange(total, dtype=np.int64) + np.repeat(lo - offs, counts)
        pair = self.perm[pos]
        r = self.rows[pair]
        red = self.wd[pair] - lam[r]
        neg = red < 0
        return r[neg], self.cols[pair[neg]], red[neg]


def lagrangian_bound(  # noqa: PLR0913  (two alternative starts, two limits, two optional outputs)
    sc: SparseCost,
    rules: SiteRules,
    upper: float,
    *,
    start_mask: np.ndarray | None = None,
    max_iter: int = 400,
    deadline: float = np.inf,
    fixing: bool = False,
    open_out: np.ndarray | None = None,
    lam0: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Lower bound on ``min f(S)`` by subgradient optimisation of the Lagrangian dual.

    Relaxing ``sum_j y_ij + u_i = 1`` with multipliers ``lambda_i`` gives
    ``L = sum_i lambda_i + sum_i min(0, w_i P - lambda_i) + min_S sum_{j in S} rho_j``
    with ``rho_j = sum_i min(0, w_i d_ij - lambda_i)``; the site subproblem keeps the
    required sites and the cardinality / fractional budget and drops the zone rules,
    so every ``L`` is a valid lower bound. Polyak steps toward ``upper``.

    Returns ``(bound, fixed, primal)``. With ``fixing=True``, ``fixed`` masks the sites
    that cannot be open in any solution better than ``upper`` (cardinality-only
    subproblem): forcing closed site ``j`` into the subproblem raises ``L`` by
    ``rho_j - rho_last`` (``rho_last`` = the largest chosen value); if that exceeds
    ``upper`` the site is fixed closed. ``primal`` is the best feasible subproblem choice
    seen that beats ``upper`` (a Lagrangian heuristic start), else ``None``.

    ``open_out`` (with ``fixing=True``) receives the sites that are open in every solution
    of value ``<= upper``: forcing a chosen site ``j`` out of the subproblem replaces
    ``rho_j`` by the best unchosen value ``rho_next`` (0 when the choice is not full), so
    ``L`` rises by ``min(0, rho_next) - rho_j``; above ``upper`` the site is fixed open.

    ``lam0`` gives the starting multipliers (for instance the duals of the LP
    relaxation, so the first ``L`` is already close to the LP bound).
    """
    rows, cols, dist, w = sc.rows, sc.cols, sc.dist, sc.w
    wd = w[rows] * dist
    wp = w * sc.penalty
    if lam0 is not None:  # e.g. LP duals: any multipliers give a valid bound
        lam = np.asarray(lam0, dtype=np.float64).copy()
    else:
        lam = wp.copy() if start_mask is None else w * sc.d1(start_mask)
    best = -np.inf
    theta, stall = 2.0, 0
    fixed = np.zeros(sc.m, dtype=bool)
    tol_fix = 1e-9 * max(abs(upper), 1.0)
    if fixing and rules.budget is not None:
        fixing = False  # the fixing test assumes a pure cardinality subproblem
    k_free = rules.kmax - int(rules.required.sum())
    active = _ActivePairs.for_cost(sc, wd)
    primal: np.ndarray | None = None
    primal_val = upper
    for it in range(max_iter):
        if time.perf_counter() > deadline:
            break
        if active is None:
            red = wd - lam[rows]
            neg = red < 0
            nrow, ncol, nred = rows[neg], cols[neg], red[neg]
        else:  # only the pairs below each row's multiplier, found by binary search
            nrow, ncol, nred = active.negative(lam)
        rho = np.bincount(ncol, weights=nred, minlength=sc.m).astype(np.float64)
        x, site_val = _pick(rho, rules)
        lval = float(lam.sum()) + float(np.minimum(0.0, wp - lam).sum()) + site_val
        if fixing:
            chosen = (x > 0.5) & ~rules.required
            full = int(chosen.sum()) >= k_free
            last = float(rho[chosen].max()) if full and chosen.any() else 0.0
            fixed |= (x < 0.5) & (lval + rho - last > upper + tol_fix)
            if open_out is not None:
                nxt = _next_rho(rho, x, rules.required) if full else 0.0
                open_out |= chosen & (lval + min(0.0, nxt) - rho > upper + tol_fix)
        if it % 5 == 0 and rules.feasible(x):
            xm = x > 0.5
            val = sc.value(xm)
            if val < primal_val - 1e-9 * max(abs(primal_val), 1.0):
                primal, primal_val = xm, val
        if not np.isfinite(best) or lval > best + 1e-12 * max(abs(best), 1.0):
            best, stall = lval, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2.0, 0
        if upper - best <= 1e-9 * max(abs(upper), 1.0) or theta < 1e-4:
            break
        served = np.bincount(nrow, weights=x[ncol], minlength=sc.n).astype(float)
        g = 1.0 - served - (wp < lam)
        norm = float(g @ g)
        if norm == 0:
            break
        lam = lam + theta * (upper - lval) / norm * g
    return best, fixed, primal


@dataclass
class Incumbent:
    """Best heuristic solution so far: open mask, value ``f`` and how it was found."""

    mask: np.ndarray
    value: float
    info: dict[str, Any]


def bound_and_polish(
    sc: SparseCost,
    rules: SiteRules,
    inc: Incumbent,
    *,
    fixing: bool,
    bound_deadline: float,
    deadline: float,
    open_out: np.ndarray | None = None,
    lam0: np.ndarray | None = None,
) -> tuple[Incumbent, float, np.ndarray]:
    """Lagrangian lower bound on ``f`` for the incumbent, and the interchange applied to
    the Lagrangian subproblem's best feasible choice (kept when it beats the incumbent).

    Returns
    -------
    incumbent, lower, fixed
        ``fixed`` masks sites proven useless (``fixing=True``), never an incumbent or a
        required site.

    ``lam0``: starting multipliers of the subgradient (default: from the incumbent).
    """
    lb, fixed, primal = lagrangian_bound(
        sc, rules, inc.value, start_mask=inc.mask, fixing=fixing, deadline=bound_deadline,
        open_out=open_out, lam0=lam0,
    )
    if primal is not None:  # Lagrangian heuristic: polish the subproblem's choice
        cand, _mv = local_search(sc, rules, primal, deadline=deadline + 1.0)
        if sc.value(cand) < inc.value:
            inc = Incumbent(cand, sc.value(cand), {**inc.info, "lagrangian_start": True})
    fixed &= ~inc.mask & ~rules.required
    if open_out is not None:
        open_out &= inc.mask & ~rules.required
    return inc, lb, fixed


def greedy_cover(cov: sp.csr_matrix, cost: np.ndarray, rules: SiteRules) -> np.ndarray:
    """Chvátal's greedy for weighted set covering, then redundancy removal.

    Zone minimums are met first; zone maximums are respected. Returns the open mask.

    Raises
    ------
    InfeasibleError
        A row no allowed column covers.
    SolverError
        The zone maximums blocked the greedy (use the exact method).
    """
    csc = sp.csc_matrix(cov, dtype=np.float64)
    csr = sp.csr_matrix(cov, dtype=np.float64)
    open_mask = rules.required.copy()
    hits = csr @ open_mask.astype(np.float64)
    while True:
        unc = (hits == 0).astype(np.float64)
        cnt = rules.counts(open_mask)
        deficit = len(rules.zmin) and np.any(cnt < rules.zmin)
        if not unc.any() and not deficit:
            break
        newc = csc.T @ unc
        ok = rules.can_add(open_mask, cnt)
        if deficit:
            ok &= np.append(cnt < rules.zmin, False)[rules.zone]
        else:
            ok &= newc > 0
        if not ok.any():
            if not deficit and unc.any():
                raise SolverError("greedy cover blocked by zone maximums; use method='exact' (--method exact)")
            raise InfeasibleError("no allowed site can satisfy the zone minimums")
        score = np.where(newc > 0, cost / np.maximum(newc, 1e-300), np.inf)
        score[~ok] = np.inf
        a = int(np.argmin(score)) if np.isfinite(score).any() else int(np.flatnonzero(ok)[0])
        open_mask[a] = True
        hits += csc[:, a].toarray().ravel()
    # redundancy removal, most expensive first
    movable = np.flatnonzero(open_mask & ~rules.required)
    for a in movable[np.argsort(-cost[movable], kind="stable")]:
        col = csc[:, a]
        if np.all(hits[col.indices] >= 2):
            trial = open_mask.copy()
            trial[a] = False
            cnt = rules.counts(trial)
            if len(rules.zmin) and np.any(cnt < rules.zmin):
                continue
            open_mask = trial
            hits[col.indices] -= 1
    return open_mask


def cover_bound(
    cov: sp.csr_matrix,
    cost: np.ndarray,
    upper: float,
    *,
    fixed_cost: float = 0.0,
    max_iter: int = 500,
    deadline: float = np.inf,
) -> float:
    """Beasley's Lagrangian lower bound for ``min c·x`` s.t. ``cov x >= 1``.

    ``L(u) = sum_i u_i + sum_j min(0, c_j - sum_{i in N_j} u_i)`` for ``u >= 0``;
    ``fixed_cost`` (already-open sites) is added to every bound.
    """
    csr = sp.csr_matrix(cov, dtype=np.float64)
    n = csr.shape[0]
    if n == 0:
        return fixed_cost
    csc = csr.tocsc()
    deg = np.diff(csr.indptr)
    # start: u_i = min over covering columns of c_j / |N_j|
    size = np.maximum(np.diff(csc.indptr), 1)
    ratio = cost / size
    u = np.full(n, np.inf)
    np.minimum.at(u, np.repeat(np.arange(n), deg), ratio[csr.indices])
    u = np.where(np.isfinite(u) & (deg > 0), u, 0.0)
    best, theta, stall = -np.inf, 2.0, 0
    target = upper - fixed_cost
    for _ in range(max_iter):
        if time.perf_counter() > deadline:
            break
        red = cost - csc.T @ u
        x = red < 0
        lval = float(u.sum()) + float(red[x].sum())
        if not np.isfinite(best) or lval > best + 1e-12 * max(abs(best), 1.0):
            best, stall = lval, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2.0, 0
        if target - best <= 1e-9 * max(abs(target), 1.0) or theta < 1e-4:
            break
        g = 1.0 - csr @ x.astype(np.float64)
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0:
            break
        u = np.maximum(0.0, u + theta * max(target - lval, 1e-9 * max(abs(target), 1.0)) / norm * g)
    return best + fixed_cost
