"""Lagrangian relaxation of the capacitated p-median and MCLP, with knapsack subproblems.

Dropping the capacities (the uncapacitated Lagrangian of :mod:`.heuristics`) gives a bound
that ignores them: with tight capacities it can sit far below the optimum, and the sites it
suggests are those an uncapacitated plan would open. Relaxing instead only the assignment
rows ``sum_j y_ij + u_i = 1`` with multipliers ``lambda_i`` keeps each site's capacity in
its subproblem (Geoffrion & McBride 1978, "Lagrangean relaxation applied to capacitated
facility location problems", *AIIE Transactions* 10(1); Beasley 1993, "Lagrangean
heuristics for location problems", *EJOR* 65(3)). In minimisation form, with pair costs
``c_ij`` (``w_i d_ij`` for p-median, ``-w_i`` for MCLP) and unserved costs ``c_i``
(``w_i P`` with a p-median penalty, 0 for MCLP, not allowed otherwise):

.. math::

    L(\\lambda) = \\sum_i \\lambda_i + \\sum_i \\min(0, c_i - \\lambda_i)
                + \\min_{x \\in X} \\sum_j \\rho_j(\\lambda) x_j, \\qquad
    \\rho_j(\\lambda) = \\min \\Bigl\\{ \\sum_i (c_{ij} - \\lambda_i) y_{ij} :
                \\sum_i w_i y_{ij} \\le \\mathrm{cap}_j,\\ 0 \\le y \\le 1 \\Bigr\\}

Each ``rho_j`` is a fractional knapsack, solved exactly by taking the pairs of negative
reduced cost in order of reduced cost per unit of demand until the capacity is full. The
site choice ``X`` keeps the cardinality, the required sites and the (fractional) budget
and drops the zone rows, as :func:`.heuristics.lagrangian_bound` does, so every ``L`` is a
valid lower bound on the capacitated optimum (single or split sourcing: ``y`` is relaxed
to ``[0, 1]``), and never weaker than the bound without capacities for the same
multipliers. Subgradient steps (Polyak, toward the best plan found) improve it.

The subproblem's site choices respect the capacities, so they are also the plans to try:
each integral, feasible choice is scored by a greedy single-source assignment within the
capacities (:func:`greedy_capacitated_value`, an upper bound on its exact assignment)
and the best ones are handed back for the exact assignment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .heuristics import SiteRules, _pick

__all__ = ["CapLagrangian", "CapPairs", "capacitated_lagrangian", "greedy_capacitated_value"]


@dataclass(frozen=True, eq=False)
class CapPairs:
    """A capacitated model in minimisation form: ``n`` rows, ``m`` sites, pairs
    ``(row[p], col[p])`` with cost ``cost[p]`` and demand ``w[p]`` (the row's weight),
    per-row unserved cost ``ucost`` (``inf``: the row must be served) and capacities
    ``cap`` (``inf``: none)."""

    row: np.ndarray
    col: np.ndarray
    cost: np.ndarray
    w: np.ndarray
    ucost: np.ndarray
    cap: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ucost)

    @property
    def m(self) -> int:
        return len(self.cap)


@dataclass(eq=False)
class CapLagrangian:
    """The best bound found (minimisation form, ``-inf`` if none) and the distinct
    feasible site choices of the subproblem with their greedy assignment values,
    best first."""

    bound: float = -np.inf
    plans: list[tuple[float, np.ndarray]] = field(default_factory=list)
    iterations: int = 0


def _knapsacks(cp: CapPairs, red: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each site's fractional knapsack on the reduced costs ``red``: ``rho`` (m), and the
    pairs taken with their fractions."""
    idx = np.flatnonzero(red < 0)
    if len(idx) == 0:
        return np.zeros(cp.m), idx, np.zeros(0)
    ratio = red[idx] / cp.w[idx]
    order = idx[np.lexsort((ratio, cp.col[idx]))]
    col, wo = cp.col[order], cp.w[order]
    cum = np.cumsum(wo)
    first = np.searchsorted(col, col, side="left")  # the position where each pair's column starts
    before = cum - wo - np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    with np.errstate(invalid="ignore"):  # inf - x for uncapacitated sites
        frac = np.clip((cp.cap[col] - before) / wo, 0.0, 1.0)
    frac[np.isinf(cp.cap[col])] = 1.0
    rho = np.bincount(col, weights=red[order] * frac, minlength=cp.m).astype(np.float64)
    return rho, order, frac


def greedy_capacitated_value(cp: CapPairs, open_mask: np.ndarray) -> float:
    """The value of a single-source assignment to the open sites made greedily (cheapest
    pair first, while the site has room for the whole row; rows left over are unserved,
    ``inf`` where that is not allowed): an upper bound on the exact assignment's value,
    single or split sourcing."""
    keep = np.flatnonzero(open_mask[cp.col])
    order = keep[np.argsort(cp.cost[keep], kind="stable")]
    room = cp.cap.astype(np.float64).copy()
    done = np.zeros(cp.n, dtype=bool)
    total = 0.0
    rows, cols, ws, costs = cp.row[order].tolist(), cp.col[order].tolist(), cp.w[order].tolist(), cp.cost[order].tolist()
    for i, j, wi, c in zip(rows, cols, ws, costs):
        if done[i] or wi > room[j] + 1e-9:
            continue
        room[j] -= wi
        done[i] = True
        total += c
    left = cp.ucost[~done]
    return float("inf") if np.isinf(left).any() else total + float(left.sum())


def capacitated_lagrangian(  # long: one subgradient loop (bound, plans, step) kept together
    cp: CapPairs,
    rules: SiteRules,
    upper: float,
    lam0: np.ndarray,
    *,
    deadline: float,
    max_iter: int = 300,
    max_plans: int = 8,
) -> CapLagrangian:
    """Lower bound on the capacitated model by subgradient optimisation (see the module
    notes), starting from multipliers ``lam0`` with ``upper`` the value of a known plan
    (Polyak steps toward it; ``inf`` when none is known, then the best plan scored here
    takes its place). Stops at ``deadline`` (``perf_counter``), after ``max_iter``
    iterations, when the bound meets ``upper`` or the step vanishes."""
    out = CapLagrangian()
    lam = np.asarray(lam0, dtype=np.float64).copy()
    may_skip = np.isfinite(cp.ucost)
    uc = np.where(may_skip, cp.ucost, 0.0)
    seen: set[bytes] = set()
    theta, stall = 2.0, 0
    target = upper
    for it in range(max_iter):
        if time.perf_counter() > deadline:
            break
        out.iterations = it + 1
        rho, taken, frac = _knapsacks(cp, cp.cost - lam[cp.row])
        x, site_val = _pick(rho, rules)
        skip = may_skip & (uc - lam < 0)
        lval = float(lam.sum()) + float((uc - lam)[skip].sum()) + site_val
        if not np.isfinite(out.bound) or lval > out.bound + 1e-12 * max(abs(out.bound), 1.0):
            out.bound, stall = lval, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2.0, 0
        if rules.feasible(x):
            key = np.packbits(x > 0.5).tobytes()
            if key not in seen:
                seen.add(key)
                val = greedy_capacitated_value(cp, x > 0.5)
                if np.isfinite(val):
                    out.plans.append((val, x > 0.5))
                    target = min(target, val)
        if np.isfinite(target) and target - out.bound <= 1e-9 * max(abs(target), 1.0):
            break
        if theta < 1e-4:
            break
        served = np.bincount(cp.row[taken], weights=frac * x[cp.col[taken]], minlength=cp.n)
        g = 1.0 - served - skip
        norm = float(g @ g)
        if norm == 0:
            break
        gap = (target - lval) if np.isfinite(target) else max(abs(lval), 1.0) * 0.1
        lam = lam + theta * max(gap, 1e-9 * max(abs(lval), 1.0)) / norm * g
    out.plans.sort(key=lambda vp: vp[0])
    del out.plans[max_plans:]
    return out
