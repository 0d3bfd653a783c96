"""Lagrangian branch-and-bound for the p-median (exact, small and medium instances).

The radius-chain MILP (:mod:`~coverage.siting.optimize.pmedian`) proves large-``p``
instances at the root, where its LP bound is tight; with few sites to open its LP bound
lies about 1 % below the optimum and HiGHS needs hundreds of slow nodes (OR-Library
pmed36, n = 800, p = 10: 141 s). This module searches the sites instead, bounding every
node by the Lagrangian relaxation of the assignment constraints, after Christofides &
Beasley (1982) and Beasley (1993), "Lagrangean heuristics for location problems",
EJOR 65:

* **Bound.** With multipliers ``lambda_i`` on ``sum_j y_ij + u_i = 1`` (``u_i``: demand
  left to the penalty ``P``), ``rho_j = sum_i min(0, w_i d_ij - lambda_i)`` and
  ``L = sum_i lambda_i + sum_i min(0, w_i P - lambda_i) + sum_{j in S} rho_j`` for the
  ``S`` holding the node's forced-open sites and the ``p - |open|`` smallest ``rho`` among
  its free sites. Any ``lambda`` gives a valid lower bound on every solution in the node;
  subgradient steps (Polyak, towards the incumbent) tighten it, starting from the parent's
  multipliers.
* **Fixing at every node.** Forcing an unchosen free site ``j`` into ``S`` raises ``L`` by
  at least ``rho_j - rho_last``, forcing a chosen one out by ``rho_next - rho_j``; when
  that lifts ``L`` past the incumbent the site is closed (opened) in the node's subtree.
* **Branching** on the chosen free site with the largest ``rho_next - rho_j`` (closing it
  raises the bound most): one child opens it, the other closes it; best-bound first.
* **Pruning.** A node is dropped when ``L`` shows that no solution in it beats the
  incumbent: ``L > UB - 1`` when every weighted distance is a whole number, else
  ``L >= UB`` up to the solver's optimality tolerance.
* **Incumbent.** Each node's Lagrangian choice ``S`` is evaluated; the root's choice and
  every improving one are polished by the interchange
  (:func:`~coverage.siting.optimize.heuristics.local_search`).

When the queue empties, the incumbent is proven optimal; at the deadline the smallest
bound left in the queue is the proven lower bound.

The costs are held as a dense ``rows x sites`` array (``+inf`` where the table has no
pair), so the search is used up to :data:`LBB_MAX_CELLS` cells, on cardinality rules
with required and forbidden sites (zones and budgets go to the MILP).
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import time
from dataclasses import dataclass

import numpy as np

from .base import closes
from .heuristics import SiteRules, SparseCost, local_search

__all__ = ["BranchResult", "applicable", "branch_and_bound"]

logger = logging.getLogger(__name__)

#: Largest dense ``rows x kept sites`` array the search works on (8 bytes a cell, about
#: three arrays of it at once). Measured (issue 13): OR-Library pmed40 (the largest) needs
#: 0.38 M cells; on the 10 k × 1 k Hangzhou instance (3 km table, p = 50) 9,739 rows ×
#: about 400 kept sites, 3.9 M cells, took 0.7 s a node and stalled after 14 nodes (10 s
#: spent, the bound unchanged), so that size is left to the heuristic and the chain.
LBB_MAX_CELLS = 1_500_000
#: Subgradient iterations at the root and at every other node (a node stops early once
#: its bound prunes it).
LBB_ROOT_ITERS = 1500
LBB_NODE_ITERS = 100
#: Every this many seconds the search checks that its bound still moves: when the bound's
#: rise since the last check, continued, would need more than :data:`LBB_STALL_FACTOR`
#: times the time left to reach the incumbent, the search stops and leaves the rest to the
#: chain MILP. Measured (issue 13): on pmed25 (n = 500, p = 167) the root bound is
#: 1827.996 against an incumbent of 1832 the search never improves; the bound stood still
#: for 34 s while the chain MILP proves 1828 in 2 s.
LBB_CHECK_S = 2.0
LBB_STALL_FACTOR = 3.0
#: Multipliers kept with queued nodes (floats); beyond, new nodes restart from the root's.
LBB_MAX_STORED = 25_000_000


@dataclass(frozen=True)
class BranchResult:
    """Outcome of :func:`branch_and_bound` (``mask`` over the ``m`` columns)."""

    mask: np.ndarray
    value: float
    bound: float
    proven: bool
    nodes: int
    open_nodes: int
    stalled: bool = False  # stopped because the bound no longer moved


def applicable(sc: SparseCost, rules: SiteRules, kept: int) -> bool:
    """Whether the search handles these rules and size: exactly ``p`` sites, no zone
    limits, no budget, and ``rows x kept`` within :data:`LBB_MAX_CELLS`."""
    zones = len(rules.zmin) > 0 and bool(np.any(rules.zone >= 0))
    return (
        rules.kmin == rules.kmax
        and rules.budget is None
        and not zones
        and sc.n * max(kept, 1) <= LBB_MAX_CELLS
    )


class _Search:
    """Dense costs and the incumbent of one search."""

    def __init__(
        self,
        sc: SparseCost,
        rules: SiteRules,
        inc_mask: np.ndarray,
        inc_value: float,
        closed: np.ndarray,
        opened: np.ndarray,
        integral: bool,
    ) -> None:
        self.sc, self.p = sc, int(rules.kmax)
        # the interchange keeps the sites fixed open; answers opening a closed site are
        # dropped, so the search solves exactly the problem it was given
        self.rules = dataclasses.replace(rules, required=rules.required | opened)
        self.closed = closed
        keep = ~closed
        self.cols = np.flatnonzero(keep)  # dense column -> model column
        pos = np.full(sc.m, -1, dtype=np.int64)
        pos[self.cols] = np.arange(len(self.cols))
        sel = keep[sc.cols]
        self.wd = np.full((sc.n, len(self.cols)), np.inf)
        self.wd[sc.rows[sel], pos[sc.cols[sel]]] = sc.w[sc.rows[sel]] * sc.dist[sel]
        self.wp = sc.w * sc.penalty
        self.integral = integral
        self.mask, self.value = inc_mask.copy(), float(inc_value)

    def beaten(self, bound: float | np.ndarray) -> bool | np.ndarray:
        """Whether ``bound`` (a lower bound, or an array of them) shows that nothing it
        bounds beats the incumbent (by 1 when integral, else beyond the tolerance)."""
        tol = 1e-9 * max(1.0, abs(self.value)) + 1e-9
        if self.integral:
            return np.asarray(bound) > self.value - 1.0 + tol + 1e-6
        return np.asarray(bound) >= self.value - tol

    def offer(self, cols: np.ndarray, polish: bool, deadline: float) -> None:
        """Evaluate the choice of dense columns ``cols``; polish and keep it when better."""
        mask = np.zeros(self.sc.m, dtype=bool)
        mask[self.cols[cols]] = True
        val = self.sc.value(mask)
        if not (polish or val < self.value):
            return
        cand, _moves = local_search(self.sc, self.rules, mask, deadline=deadline)
        cval = self.sc.value(cand)
        if cval < val and not cand[self.closed].any():
            mask, val = cand, cval
        if val < self.value and not closes(self.value - val, self.value):
            logger.info("p-median branch-and-bound: incumbent %.10g -> %.10g", self.value, val)
            self.mask, self.value = mask, val

    def bound(
        self, lam: np.ndarray, opn: np.ndarray, cls: np.ndarray, iters: int, theta: float
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Subgradient on the node (``opn``/``cls`` over dense columns).

        Returns ``(L, lam, rho, chosen)``: the best bound, its multipliers, the ``rho`` of
        every dense column (``+inf`` when closed) and its choice ``S`` (dense columns).
        """
        live = np.flatnonzero(~cls)
        wd = self.wd[:, live]
        forced = opn[live]
        k = self.p - int(forced.sum())
        buf = np.empty_like(wd)
        best, stall = -np.inf, 0
        best_lam, best_rho, best_s = lam, np.zeros(len(live)), np.zeros(0, dtype=np.int64)
        for _ in range(iters):
            np.subtract(wd, lam[:, None], out=buf)
            np.minimum(buf, 0.0, out=buf)
            rho = buf.sum(axis=0)
            free_rho = np.where(forced, np.inf, rho)
            chosen = np.argpartition(free_rho, k - 1)[:k] if k > 0 else np.zeros(0, dtype=np.int64)
            s = np.concatenate([np.flatnonzero(forced), chosen])
            u = np.minimum(0.0, self.wp - lam)
            val = float(lam.sum() + u.sum() + rho[s].sum())
            if val > best + 1e-12 * max(1.0, abs(val)):
                best, best_lam, best_rho, best_s, stall = val, lam, rho, s, 0
            else:
                stall += 1
                if stall > 8:
                    theta, stall = theta * 0.6, 0
            if self.beaten(best) or theta < 1e-3:
                break
            g = 1.0 - (self.wp < lam) - (wd[:, s] < lam[:, None]).sum(axis=1)
            norm = float(g @ g)
            if norm == 0.0:  # the choice assigns every row exactly once: L is its value
                break
            lam = np.maximum(lam + theta * (self.value - val) / norm * g, 0.0)
        rho_all = np.full(len(self.cols), np.inf)
        rho_all[live] = best_rho
        return best, best_lam, rho_all, live[best_s]


def branch_and_bound(  # noqa: PLR0913  (one search loop)
    sc: SparseCost,
    rules: SiteRules,
    inc_mask: np.ndarray,
    inc_value: float,
    *,
    closed: np.ndarray,
    opened: np.ndarray,
    integral: bool,
    deadline: float,
    max_nodes: int | None = None,
) -> BranchResult:
    """Prove or improve the incumbent ``inc_mask`` (value ``inc_value``) of the p-median
    ``min f(S)``, ``|S| = p``, over the columns not in ``closed``, with ``rules.required``
    and ``opened`` forced open (see the module docstring).

    ``closed`` and ``opened`` must keep every solution better than the incumbent (the
    Lagrangian fixing of the caller does). ``integral``: every ``w_i d_ij`` and ``w_i P``
    is a whole number, so a better solution is at least 1 better. The search stops at
    ``deadline`` (``perf_counter`` clock) or after ``max_nodes`` nodes, unproven.
    """
    s = _Search(sc, rules, inc_mask, inc_value, closed, opened, integral)
    nd = len(s.cols)
    opn0 = s.rules.required[s.cols]
    root_lam = sc.w * sc.d1(inc_mask)
    tie = 0
    heap: list[tuple[float, int, np.ndarray | None, np.ndarray, np.ndarray]] = [
        (-np.inf, tie, root_lam, opn0, np.zeros(nd, dtype=bool))
    ]
    nodes, stored, stalled = 0, sc.n, False
    check: tuple[float, float] | None = None  # (time, bound) at the last check
    while heap:
        now = time.perf_counter()
        if now > deadline or (max_nodes is not None and nodes >= max_nodes):
            break
        if nodes and (check is None or now >= check[0] + LBB_CHECK_S):
            stalled = _stalled(check, now, heap[0][0], s, deadline)
            if stalled:
                break
            check = (now, heap[0][0])
        key, _t, lam, opn, cls = heapq.heappop(heap)
        stored -= sc.n if lam is not None else 0
        if s.beaten(key):
            continue
        free = ~opn & ~cls
        k = s.p - int(opn.sum())
        if k < 0 or free.sum() < k:
            continue  # no choice of p sites in this node
        root = nodes == 0
        nodes += 1
        L, lam, rho, chosen = s.bound(
            root_lam if lam is None else lam, opn, cls,
            LBB_ROOT_ITERS if root else LBB_NODE_ITERS, 2.0 if root else 0.5,
        )  # fmt: skip
        s.offer(chosen, polish=root, deadline=deadline)
        if s.beaten(L):
            continue
        if root:
            root_lam = lam
        # fixing by the node's multipliers
        free_rho = np.where(free, rho, np.inf)
        order = np.argsort(free_rho, kind="stable")
        pick = order[:k]
        last = free_rho[pick[-1]] if k > 0 else -np.inf
        nxt = free_rho[order[k]] if free.sum() > k else np.inf
        close_now = free & s.beaten(L + rho - last)
        close_now[pick] = False
        open_now = np.zeros(nd, dtype=bool)
        open_now[pick] = s.beaten(L + nxt - rho[pick])
        cls = cls | close_now
        opn = opn | open_now
        free = ~opn & ~cls
        if int(opn.sum()) == s.p or int(opn.sum() + free.sum()) == s.p:
            s.offer(np.flatnonzero(opn if int(opn.sum()) == s.p else opn | free), False, deadline)
            continue
        branchable = pick[free[pick]]
        if len(branchable):
            j = int(branchable[np.argmax(nxt - rho[branchable])])
            down = L + max(0.0, nxt - rho[j])
        else:  # every chosen site is forced open: branch on the best free one
            cand = np.flatnonzero(free)
            j = int(cand[np.argmin(rho[cand])])
            down = L
        keep_lam = lam if stored + sc.n <= LBB_MAX_STORED else None
        up_opn = opn.copy()
        up_opn[j] = True
        down_cls = cls.copy()
        down_cls[j] = True
        for child in ((L, up_opn, cls), (down, opn, down_cls)):
            tie += 1
            heapq.heappush(heap, (child[0], tie, keep_lam, child[1], child[2]))
            stored += sc.n if keep_lam is not None else 0
        if nodes % 500 == 0:
            logger.info(
                "p-median branch-and-bound: %d nodes, %d open, bound %.10g, incumbent %.10g",
                nodes, len(heap), heap[0][0], s.value,
            )  # fmt: skip
    proven = not heap
    bound = s.value if proven else min(s.value, heap[0][0])  # the heap's first key is its least
    return BranchResult(s.mask, s.value, float(bound), proven, nodes, len(heap), stalled)


def _stalled(
    check: tuple[float, float] | None, now: float, bound: float, s: _Search, deadline: float
) -> bool:
    """Whether the bound's rise since ``check``, continued, misses the incumbent by the
    deadline by more than :data:`LBB_STALL_FACTOR` (never with no deadline)."""
    if check is None or not np.isfinite(deadline):
        return False
    rate = (bound - check[1]) / max(now - check[0], 1e-9)
    need = s.value - (1.0 if s.integral else 0.0) - bound
    return bool(need > 0 and (rate <= 0 or need / rate > LBB_STALL_FACTOR * (deadline - now)))
