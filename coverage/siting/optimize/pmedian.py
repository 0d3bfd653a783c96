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
``m - p + 1`` allowed sites are dropped (one of them is necessarily open), and so are
levels beyond the first one holding a site known open. Its LP bound equals the classical
``y_ij <= x_j`` bound with far fewer nonzeros.

Reductions before the MILP
--------------------------
Greedy + interchange gives an incumbent; the Lagrangian relaxation of the assignment
constraints bounds it and fixes sites closed (forcing one open lifts the bound above the
incumbent) and open (forcing one closed does), in up to :data:`REDUCTION_ROUNDS` rounds
on the problem the earlier fixings leave (Beasley 1985's Lagrangian fixing). Every fixing
keeps all solutions as good as the incumbent. Sites fixed closed leave the model, sites
fixed open are forced open and end the chains at their level; a demand row whose sites
are all fixed closed is charged the penalty in the model's constant. The MILP branches on
pseudocosts from the start (:data:`CHAIN_HIGHS_OPTIONS`).

Lagrangian branch-and-bound before the MILP
-------------------------------------------
When the heuristic's bound does not prove its answer, the rules are a plain count
(required and forbidden sites, no zones or budget) and the rows × sites left fit a dense
array, :mod:`~coverage.siting.optimize.lagbranch` searches the sites with the same
Lagrangian bound at every node (Christofides & Beasley 1982; Beasley 1993), for up to
:data:`BRANCH_TIME_SHARE` of the time limit or until its bound stops moving. With few
sites to open the chain's LP bound lies about 1 % below the optimum and HiGHS needs
hundreds of slow nodes, where the search needs thousands of fast ones (OR-Library pmed36:
22 s against 141 s). What it has not proven goes to the chain MILP with its incumbent and
bound.

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

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...engine.costs import CostTable
from ...errors import InfeasibleError, ParameterError, SolverError
from .base import HIGHS_MIP, ModelSpec, Outcome, SolveRun, closes, count_arg, heuristic_status
from .capacitated import solve_capacitated
from .heuristics import (
    Incumbent,
    SiteRules,
    SparseCost,
    bound_and_polish,
    interchange_solve,
    is_integral,
    lagrangian_bound,
    round_bound,
)
from .highs import DEGENERATE_MIP_OPTIONS, START_MIP_OPTIONS, MilpModel
from .lagbranch import BranchResult, applicable, branch_and_bound
from .options import (
    METHOD_AUTO,
    METHOD_EXACT,
    METHOD_HEURISTIC,
    STATUS_HEURISTIC,
    STATUS_OPTIMAL,
    SiteSpec,
    SolveOptions,
)
from .problem import Problem, build_problem, site_mask
from .reduce import merge_identical_rows
from .result import SiteSelection

__all__ = ["solve_consolidation", "solve_pmedian"]

logger = logging.getLogger(__name__)

#: HiGHS settings of the chain MILP. Its LPs are slow and degenerate, and after the
#: Lagrangian reduction only a few hundred binaries remain, so branching trusts
#: pseudocosts from the start instead of strong branching (fewer LP solves); the LPs are
#: solved by the interior point method and presolve is off. When the interchange's answer
#: is handed over as the start, HiGHS' own primal heuristics are off too
#: (:data:`CHAIN_START_OPTIONS`). Measured (issue 13, OR-Library, 60 s, one run each):
#: on pmed36 (n = 800, p = 10; 306 k nonzeros) the dual simplex takes 34 s for the root LP
#: and the interior point method 3.8 s; even so, sub-MIP heuristics (RINS/RENS) then took
#: 36 s of the minute and the search never left the root. With all these settings
#: (against the defaults with pseudocosts only): pmed39 20.8 s (49.3–60.2 s, once no
#: proof), pmed38 14.3 s (25.6–35.7 s), pmed40 8.4 s (17.3–22.0 s), pmed35 8.9 s (23.5 s),
#: pmed22 6.5 s (24.1 s), pmed16 3.1 s (9.5 s).
CHAIN_HIGHS_OPTIONS: dict[str, Any] = DEGENERATE_MIP_OPTIONS
CHAIN_START_OPTIONS: dict[str, Any] = START_MIP_OPTIONS

#: ``method="auto"`` solves exactly when the chain model has at most this many nonzeros.
AUTO_EXACT_MAX_NNZ = 250_000

#: ``method="auto"`` with more pairs than this answers with the heuristic from the start:
#: no Lagrangian fixing and no chain model (which has at least one nonzero per pair kept),
#: the bound gets the time up to :data:`AUTO_HEURISTIC_BOUND_SHARE` of the limit. Measured
#: (issue 13, 100 k homes × 10 k sites, 26.8 M pairs): the fixing left a chain of 80 M
#: nonzeros, built in 32 s only to be dropped, which overran the 120 s limit by 10 s.
AUTO_HEURISTIC_PAIRS = 20 * AUTO_EXACT_MAX_NNZ
AUTO_HEURISTIC_BOUND_SHARE = 0.92

PMEDIAN = ModelSpec(
    kind="pmedian",
    label="p-median",
    methods=(METHOD_AUTO, METHOD_EXACT, METHOD_HEURISTIC),
    covering=False,
    refuses=("site_cost",),
)
CONSOLIDATION = dataclasses.replace(PMEDIAN, name="consolidation")


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
    open_cols: np.ndarray | None = None,
) -> dict[str, Any]:
    """Arrays of the radius-chain MILP (see the module docstring).

    ``open_cols`` masks columns known open (existing sites, sites fixed open by the
    Lagrangian reduction): a row's chain stops at the first level holding one of them.
    """
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
    if open_cols is not None and open_cols.any():
        stop |= np.bincount(gl, weights=open_cols[c].astype(float), minlength=nl) > 0
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
    unreachable_penalty_m: float | None = None,
    options: SolveOptions | None = None,
    **option_overrides: Any,
) -> SiteSelection:
    """Open exactly ``p`` sites minimising the weighted distance to the nearest open site.

    Parameters
    ----------
    costs
        Demand × site cost table (its cutoff should be wide, see the module notes).
    p
        Number of open sites, existing ones included.
    unreachable_penalty_m
        Distance charged for a demand with no open site inside the table; ``None``
        requires every demand to be assigned within the table.
    options
        Shared options (:class:`~coverage.siting.optimize.options.SolveOptions`):
        ``weights`` (default 1; rows of weight 0 are ignored); ``existing``,
        ``forbidden``, ``candidates``, ``zone_of_site``, ``zone_rule``; ``capacity``
        (the capacitated MILP, or with ``method="heuristic"`` / a model too large for
        ``"auto"`` the capacitated heuristic with a bound) and ``single_source`` (each demand served
        by one site, default, or split); ``method`` ``"exact"`` (HiGHS MILP,
        warm-started by the heuristic), ``"heuristic"`` (greedy + interchange +
        Lagrangian bound) or ``"auto"`` (exact when the model has at most
        :data:`AUTO_EXACT_MAX_NNZ` nonzeros; with capacities, exact up to
        :data:`~coverage.siting.optimize.capacitated.AUTO_EXACT_MAX_PAIRS` pairs);
        ``time_limit_s`` of the whole call (the MILP gets what is left); ``mip_rel_gap``,
        ``threads``, ``seed`` (also seeds the heuristic); ``n_starts`` (heuristic starts:
        1 greedy + perturbation restarts). ``site_cost`` is refused (no budget here).
    **option_overrides
        Any :class:`~coverage.siting.optimize.options.SolveOptions` field by name.

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
    opts = PMEDIAN.options(options, option_overrides)
    return _solve(costs, PMEDIAN, opts, t0, p=p, penalty=unreachable_penalty_m)


def solve_consolidation(
    costs: CostTable,
    *,
    keep: int,
    homes: SiteSpec | None = None,
    unreachable_penalty_m: float | None = None,
    options: SolveOptions | None = None,
    **option_overrides: Any,
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
    unreachable_penalty_m
        As in :func:`solve_pmedian`.
    options, **option_overrides
        As in :func:`solve_pmedian` (``weights``, ``capacity``, ``existing``,
        ``method``...), except ``candidates`` (given by ``homes``).

    Returns
    -------
    SiteSelection
        With ``model="consolidation"``; ``details["closed"]`` lists the closed home ids.
    """
    t0 = time.perf_counter()
    if (
        "candidates" in option_overrides
        or "p" in option_overrides
        or (options is not None and options.candidates is not None)
    ):
        raise ParameterError("solve_consolidation: pass homes= and keep=, not candidates=/p=")
    opts = CONSOLIDATION.options(options, {**option_overrides, "candidates": homes})
    res = _solve(costs, CONSOLIDATION, opts, t0, p=keep, penalty=unreachable_penalty_m)
    home_mask = (
        np.ones(costs.n_sites, dtype=bool) if homes is None else site_mask(costs, homes, "homes")
    )
    closed = home_mask.copy()
    closed[res.selected] = False
    res.details["closed"] = costs.site_ids[closed]
    return res


def _check_penalty(penalty: float | None, costs: CostTable) -> float | None:
    if penalty is None:
        return None
    pen = float(penalty)
    if not np.isfinite(pen) or pen <= 0 or (np.isfinite(costs.cutoff_m) and pen < costs.cutoff_m):
        raise ParameterError(
            f"unreachable_penalty_m={penalty!r} must be finite, positive "
            f"and >= the table cutoff ({costs.cutoff_m:g} m): a demand beyond the "
            "cutoff is at least that far from any site"
        )
    return pen


def _solve(
    costs: CostTable,
    spec: ModelSpec,
    opts: SolveOptions,
    t0: float,
    *,
    p: int,
    penalty: float | None,
) -> SiteSelection:
    """Validate, take the capacitated branch or reduce, solve and package."""
    p = count_arg(p, "p", minimum=1)
    prob = build_problem(costs, opts)
    prob.check_count(p, p, what="p")
    run = SolveRun(spec, prob, opts, t0, penalty=_check_penalty(penalty, costs))
    pairs = _demand_pairs(run)
    if prob.capacity is not None:
        return solve_capacitated(run, card=(p, p), budget=None, uncoverable=pairs.unc)
    red = _merge_rows(run, pairs)
    heur = _branch(run, red, _heuristic(run, red, p))
    chain = _chain_for(run, red, heur, p)
    shrink = {
        **red.shrink,
        "sites_fixed_closed": int(heur.fixed.sum()),
        "sites_fixed_open": 0 if heur.fixed_open is None else int(heur.fixed_open.sum()),
    }
    if chain is None:
        outcome = _heuristic_outcome(run, red, heur, p)
    else:
        outcome = _milp_outcome(run, red, heur, chain, p)
    return run.finish(outcome, shrink=shrink, uncoverable=pairs.unc)


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Demand–site pairs over the allowed sites (``pcols`` index ``cols``)."""

    cols: np.ndarray  # allowed site positions (model columns)
    rows: np.ndarray  # demand row of each pair (positions, or merged-row indices)
    pcols: np.ndarray
    dist: np.ndarray
    weight: np.ndarray  # weight of each row ``rows`` refers to
    unc: np.ndarray  # weighted demand positions with no allowed site in the table
    fixed_cost: float = 0.0  # penalty charged for ``unc``
    shrink: dict[str, Any] = dataclasses.field(default_factory=dict)


def _demand_pairs(run: SolveRun) -> _Pairs:
    """Pairs of weighted demand and allowed sites; raise when demand has none and there
    is no penalty."""
    prob, costs = run.prob, run.prob.costs
    cols = np.flatnonzero(prob.allowed)
    rows, pc, pd_ = _pairs(prob, cols)
    has_pair = np.zeros(costs.n_demand, dtype=bool)
    has_pair[rows] = True
    unc = np.flatnonzero((prob.weights > 0) & ~has_pair)
    if len(unc) and run.penalty is None:
        raise InfeasibleError(
            f"{len(unc)} demand rows have no allowed site within the table cutoff "
            f"({costs.cutoff_m:g} m), e.g. {costs.demand_ids[unc[:5]].tolist()}; rebuild the "
            "CostTable with a larger cutoff or pass unreachable_penalty_m"
        )
    return _Pairs(cols, rows, pc, pd_, prob.weights, unc)


def _merge_rows(run: SolveRun, pairs: _Pairs) -> _Pairs:
    """Merge demand rows with identical (site, distance) rows; weights add up."""
    costs, w, m = run.prob.costs, pairs.weight, len(pairs.cols)
    csr = sp.csr_matrix(
        (pairs.dist, (pairs.rows, pairs.pcols)), shape=(costs.n_demand, m)
    )  # keeps explicit 0
    has_pair = np.zeros(costs.n_demand, dtype=bool)
    has_pair[pairs.rows] = True
    active = np.flatnonzero((w > 0) & has_pair)
    keep, _grp, mw = merge_identical_rows(csr[active], w[active], with_values=True)
    red_rows = active[keep]
    sub = csr[red_rows].tocoo()
    pen = run.penalty
    shrink = {
        "demand_in": int(costs.n_demand),
        "demand_out": len(red_rows),
        "merged_rows": int(len(active) - len(red_rows)),
        "sites_in": int(costs.n_sites),
        "sites_out": int(m),
        "uncoverable_rows": len(pairs.unc),
    }
    return _Pairs(
        pairs.cols,
        sub.row.astype(np.int64),
        sub.col.astype(np.int64),
        sub.data,
        mw,
        pairs.unc,
        fixed_cost=float(w[pairs.unc].sum() * pen) if pen is not None else 0.0,
        shrink=shrink,
    )


@dataclass(frozen=True, eq=False)
class _Heuristic:
    """Greedy + interchange answer on the merged rows, with its Lagrangian bound."""

    sc: SparseCost
    rules: SiteRules
    inc: Incumbent
    ok: bool  # the incumbent assigns every demand (or a penalty allows it not to)
    lower: float
    fixed: np.ndarray  # sites proven useless
    fixed_open: np.ndarray | None = None  # sites open in every solution as good as ``inc``
    branch: BranchResult | None = None  # the Lagrangian branch-and-bound, when it ran


def _heuristic(run: SolveRun, red: _Pairs, p: int) -> _Heuristic:
    m, pen = len(red.cols), run.penalty
    big = float(red.dist.max()) if len(red.dist) else 1.0
    internal_pen = pen if pen is not None else 10.0 * max(big, 1.0) + 1.0
    sc = SparseCost.build(red.rows, red.pcols, red.dist, red.weight, internal_pen, m)
    rules = SiteRules.for_columns(
        run.prob, red.cols, required=run.prob.required[red.cols], kmin=p, kmax=p
    )
    heuristic_only = not run.wants_exact(len(red.rows), AUTO_HEURISTIC_PAIRS)
    bound_deadline = run.bound_deadline()
    if heuristic_only and run.method == METHOD_AUTO:
        bound_deadline = max(
            bound_deadline, run.t0 + AUTO_HEURISTIC_BOUND_SHARE * run.opts.time_limit_s
        )
    try:
        mask, val, info = interchange_solve(
            sc,
            rules,
            n_starts=run.opts.n_starts,
            seed=run.opts.seed,
            time_limit_s=run.time_left(0.6 if run.method == METHOD_HEURISTIC else 0.3, floor=0.1),
        )
    except SolverError:
        if run.method == METHOD_HEURISTIC:
            raise
        mask, val, info = np.zeros(m, dtype=bool), np.inf, {}
    inc = Incumbent(mask, val, info)
    if not mask.any() or (pen is None and np.any(sc.d1(mask) >= internal_pen)):
        # leaves demand unassigned: not feasible without a penalty
        return _Heuristic(sc, rules, inc, False, -np.inf, np.zeros(m, dtype=bool))
    fixed_open = np.zeros(m, dtype=bool)
    inc, lb, fixed = bound_and_polish(
        sc, rules, inc, fixing=not heuristic_only,
        bound_deadline=bound_deadline, deadline=run.deadline,
        open_out=None if heuristic_only else fixed_open,
    )  # fmt: skip
    integral = is_integral(red.weight, red.dist, pen)
    if not heuristic_only:
        lb = _reduction_rounds(run, sc, rules, inc, lb, fixed, fixed_open)
    lb = round_bound(lb, integral, lower=True)
    return _Heuristic(sc, rules, inc, True, lb, fixed, fixed_open)


#: Share of the time limit (from the call's start) the Lagrangian branch-and-bound may use
#: before the chain MILP gets the rest.
BRANCH_TIME_SHARE = 0.6


def _branch(run: SolveRun, red: _Pairs, heur: _Heuristic) -> _Heuristic:
    """Run the Lagrangian branch-and-bound (:mod:`~coverage.siting.optimize.lagbranch`)
    on the sites not fixed closed, when its rules and size allow; it proves the
    incumbent or leaves a better incumbent and bound for the chain MILP."""
    if run.method == METHOD_HEURISTIC or not heur.ok or _proven(heur):
        return heur
    if not applicable(heur.sc, heur.rules, int((~heur.fixed).sum())):
        return heur
    integral = is_integral(red.weight, red.dist, run.penalty)
    opened = heur.fixed_open if heur.fixed_open is not None else np.zeros(heur.sc.m, dtype=bool)
    res = branch_and_bound(
        heur.sc, heur.rules, heur.inc.mask, heur.inc.value,
        closed=heur.fixed, opened=opened, integral=integral,
        deadline=max(run.t0 + BRANCH_TIME_SHARE * run.opts.time_limit_s, time.perf_counter() + 0.5),
    )  # fmt: skip
    logger.info(
        "p-median: Lagrangian branch-and-bound %s after %d nodes (%d open), value %.10g, bound %.10g",
        "proved the incumbent" if res.proven else "stalled" if res.stalled else "stopped", res.nodes, res.open_nodes,
        res.value, res.bound,
    )  # fmt: skip
    inc = heur.inc
    if res.value < inc.value:
        inc = Incumbent(res.mask, res.value, {**inc.info, "branch_and_bound_improved": True})
    lower = round_bound(max(heur.lower, res.bound), integral, lower=True)
    return dataclasses.replace(heur, inc=inc, lower=min(lower, inc.value), branch=res)


#: Rounds of Lagrangian fixing on the problem already reduced by the earlier rounds.
REDUCTION_ROUNDS = 4


def _reduction_rounds(
    run: SolveRun,
    sc: SparseCost,
    rules: SiteRules,
    inc: Incumbent,
    lb: float,
    fixed: np.ndarray,
    fixed_open: np.ndarray,
) -> float:
    """Repeat the Lagrangian bound with the sites fixed so far removed (closed) or forced
    (open) until no new site is fixed; ``fixed`` and ``fixed_open`` grow in place.

    Every fixing keeps all solutions of value ``<= inc.value``, so the bound of the
    reduced problem bounds every solution that could beat the incumbent: the lower bound
    returned is ``min(inc.value, max of the rounds' bounds)``.
    """
    for _ in range(REDUCTION_ROUNDS):
        if not (fixed.any() or fixed_open.any()) or time.perf_counter() > run.bound_deadline():
            break
        keep = ~fixed[sc.cols]
        sub = SparseCost.build(sc.rows[keep], sc.cols[keep], sc.dist[keep], sc.w, sc.penalty, sc.m)
        sub_rules = dataclasses.replace(rules, required=rules.required | fixed_open)
        new_open = np.zeros(sc.m, dtype=bool)
        lb_r, new_closed, _primal = lagrangian_bound(
            sub, sub_rules, inc.value, start_mask=inc.mask, fixing=True,
            deadline=run.bound_deadline(), open_out=new_open,
        )  # fmt: skip
        lb = max(lb, min(lb_r, inc.value))
        new_closed &= ~inc.mask & ~fixed & ~sub_rules.required
        new_open &= inc.mask & ~fixed_open & ~rules.required
        if not (new_closed.any() or new_open.any()):
            break
        fixed |= new_closed
        fixed_open |= new_open
    return lb


def _proven(heur: _Heuristic) -> bool:
    return heur.ok and closes(heur.inc.value - heur.lower, heur.inc.value)


def _chain_for(run: SolveRun, red: _Pairs, heur: _Heuristic, p: int) -> dict[str, Any] | None:
    """The radius-chain model over the sites not fixed closed, or ``None`` when the
    heuristic answer stands (heuristic asked for, proven, or ``auto`` on a model too
    large while the heuristic answer is feasible)."""
    if run.method == METHOD_HEURISTIC or _proven(heur):
        return None
    keepc = ~heur.fixed
    sub = np.flatnonzero(keepc[red.pcols])
    if heur.ok and not run.wants_exact(len(sub), AUTO_EXACT_MAX_NNZ):
        # the chain has at least one nonzero per pair kept: too large, left unbuilt
        logger.info(
            "p-median: %d pairs > %d chain nonzeros, using the heuristic",
            len(sub),
            AUTO_EXACT_MAX_NNZ,
        )
        return None
    cmap = np.cumsum(keepc) - 1
    model = _chain_model(
        red.rows[sub], cmap[red.pcols[sub]], red.dist[sub], red.weight, int(keepc.sum()), p,
        run.penalty, _open_cols(run, red, heur)[keepc],
    )  # fmt: skip
    # rows whose every site was fixed closed pay the penalty in any solution that could
    # beat the incumbent (without a penalty the incumbent's sites are never closed)
    lost = np.setdiff1d(np.unique(red.rows), red.rows[sub])
    if len(lost) and run.penalty is not None:
        model["offset"] += float(red.weight[lost].sum()) * run.penalty
    if heur.ok and not run.wants_exact(model["A"].nnz, AUTO_EXACT_MAX_NNZ):
        logger.info(
            "p-median: chain model has %d nonzeros > %d, using the heuristic",
            model["A"].nnz,
            AUTO_EXACT_MAX_NNZ,
        )
        return None
    return model


def _open_cols(run: SolveRun, red: _Pairs, heur: _Heuristic) -> np.ndarray:
    """Model columns open in every solution that could be optimal: existing sites and
    the sites fixed open by the Lagrangian reduction."""
    req = run.prob.required[red.cols]
    return req if heur.fixed_open is None else req | heur.fixed_open


def _heuristic_outcome(run: SolveRun, red: _Pairs, heur: _Heuristic, p: int) -> Outcome:
    if not heur.ok:
        raise InfeasibleError(
            f"the heuristic found no choice of p={p} sites that assigns every demand "
            "within the table cutoff; pass unreachable_penalty_m, raise p, or use "
            "method='exact' to prove infeasibility"
        )
    proven = _proven(heur)
    open_mask = run.prob.mask_of(red.cols[heur.inc.mask])
    objective = _full_objective(run, open_mask, expected=heur.inc.value + red.fixed_cost)
    details: dict[str, Any] = {"heuristic": heur.inc.info, "bound": "lagrangian"}
    method = "greedy+interchange"
    if heur.branch is not None:
        details["branch_and_bound"] = _branch_details(heur.branch)
        method += "+lagrangian-branch-and-bound"
    elif proven:
        method += "+lagrangian-proof"
    return Outcome(
        open_mask, objective, heur.lower + red.fixed_cost, heuristic_status(proven), method, details
    )


def _branch_details(res: BranchResult) -> dict[str, Any]:
    return {
        "nodes": res.nodes,
        "open_nodes": res.open_nodes,
        "proven": res.proven,
        "stalled": res.stalled,
    }


def _milp_outcome(
    run: SolveRun, red: _Pairs, heur: _Heuristic, chain: dict[str, Any], p: int
) -> Outcome:
    """Solve the chain MILP, warm-started by a feasible heuristic answer."""
    keepc = ~heur.fixed
    kc = red.cols[keepc]
    mk, nz, A = len(kc), chain["nz"], chain["A"]
    start = None
    if heur.ok:
        d1 = heur.sc.d1(heur.inc.mask)
        zstart = (d1[chain["lvl_row"]] > chain["lvl_d"] + 1e-9).astype(float)
        start = np.concatenate([heur.inc.mask[keepc].astype(float), zstart])
    a_site, s_lo, s_hi = run.prob.site_rows(kc, card=(p, p), extra=nz)
    model = MilpModel(
        np.concatenate([np.zeros(mk), chain["zcost"]]),
        sp.vstack([A, a_site], format="csc"),
        np.concatenate([chain["lo"], s_lo]),
        np.concatenate([chain["hi"], s_hi]),
        lb=np.concatenate([_open_cols(run, red, heur)[keepc].astype(float), np.zeros(nz)]),
        ub=np.ones(mk + nz),
        integer=np.r_[np.ones(mk, dtype=bool), np.zeros(nz, dtype=bool)],
        offset=chain["offset"],
        highs_options=CHAIN_HIGHS_OPTIONS
        if start is None
        else {**CHAIN_HIGHS_OPTIONS, **CHAIN_START_OPTIONS},
    )
    cutoff = run.prob.costs.cutoff_m
    sol = run.milp(
        model,
        start=start,
        label="p-median",
        infeasible_message=(
            f"p-median: no choice of p={p} sites assigns every demand within the table "
            f"cutoff ({cutoff:g} m) under the given rules; raise p, rebuild the "
            "table with a larger cutoff or pass unreachable_penalty_m"
        ),
    )
    open_mask = run.prob.mask_of(kc[sol.x[:mk] > 0.5])
    details = {
        "heuristic": heur.inc.info,
        **({} if heur.branch is None else {"branch_and_bound": _branch_details(heur.branch)}),
        "mip_nodes": sol.nodes,
        "model_status": sol.model_status,
        "model_size": {"vars": mk + nz, "rows": int(A.shape[0]), "nnz": int(A.nnz)},
    }
    objective = _full_objective(run, open_mask)
    bound = max(sol.bound, heur.lower) + red.fixed_cost
    status = sol.status
    if status == STATUS_OPTIMAL and not closes(objective - bound, objective):
        # the model's proof does not carry to the full input (an internal error): say so
        logger.warning("p-median: MILP optimum %.9g but full objective %.9g", bound, objective)
        status = STATUS_HEURISTIC
    return Outcome(open_mask, objective, bound, status, HIGHS_MIP, details)


def _full_objective(run: SolveRun, open_mask: np.ndarray, expected: float | None = None) -> float:
    """Weighted distance (penalties included) of ``open_mask`` on the full input."""
    costs, w = run.prob.costs, run.prob.weights
    d1_full = np.full(costs.n_demand, np.inf)
    sel = open_mask[costs.site_idx]
    np.minimum.at(d1_full, costs.demand_idx[sel], costs.dist_m[sel])
    if run.penalty is not None:
        d1_full = np.minimum(d1_full, run.penalty)
    pos = w > 0
    if np.any(~np.isfinite(d1_full[pos])):
        raise InfeasibleError("p-median: the solution leaves demand unassigned (internal error)")
    true_obj = float(w[pos] @ d1_full[pos])
    if expected is not None and abs(true_obj - expected) > 1e-6 * max(abs(expected), 1.0):
        logger.warning("p-median: objective mismatch %.9g vs %.9g", true_obj, expected)
    return true_obj
