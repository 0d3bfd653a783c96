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
= exact when the reduced model has at most :data:`AUTO_EXACT_MAX_NNZ` nonzeros; above
that, greedy + swap whose Lagrangian bound starts from the duals of the LP relaxation
and whose interchange also starts from the rounded LP solution, so the bound is about
the LP bound (evaluated as a Lagrangian value, hence valid whatever the accuracy of the
duals). The duals come from the smoothed LP dual
(:mod:`~coverage.siting.optimize.smoothdual`, L-BFGS-B) when there is no budget and no
zone rule, otherwise from HiGHS' interior point method without crossover. When that
bound proves nothing (and there is no budget), the sites the LP duals close are dropped,
then those that probing closes (each site forced open, the LP of its neighbourhood
re-solved: :func:`~.coverdecomp.closed_by_probing`), and the bound is tightened by a
Lagrangian decomposition into spatial blocks of sites solved exactly
(:mod:`~coverage.siting.optimize.coverdecomp`). The MILP on the sites left open proves the
optimum or tightens the bound (:func:`_closed_exact`, under :data:`CLOSED_MILP_OPTIONS`):
in a second thread beside the blocks when there are two or more cores and enough time
left for its size (:data:`CONCURRENT_MILP_MIN_S`; :func:`_milp_beside_blocks`), otherwise
after them with at least :data:`BLOCK_MILP_MIN_S` left. With at least
:data:`MILP_FIRST_S` left after the probing that MILP runs at once: beside coarse blocks
(:data:`COARSE_BLOCKS`) with two or more cores, else alone.
Capacities switch to the capacitated model (:mod:`~coverage.siting.optimize.capacitated`):
exact, or a heuristic with a bound when asked or too large for ``"auto"``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...engine.costs import CostTable
from ...errors import InfeasibleError, ParameterError, SolverError
from .base import (
    HIGHS_MIP,
    ModelSpec,
    Outcome,
    SolveRun,
    closes,
    count_arg,
    resolve_radius,
)
from .capacitated import solve_capacitated
from .coverdecomp import (
    BLOCK_MAX_SITES,
    BLOCK_RESOLUTION,
    block_bound,
    closed_by_duals,
    closed_by_probing,
    partition_sites,
    restrict_rows,
)
from .heuristics import (
    Incumbent,
    SiteRules,
    SparseCost,
    bound_and_polish,
    greedy,
    interchange_solve,
    is_integral,
    local_search,
    round_bound,
)
from .highs import DEGENERATE_MIP_OPTIONS, START_MIP_OPTIONS, MilpModel, lp_relaxation
from .options import (
    METHOD_AUTO,
    METHOD_EXACT,
    METHOD_HEURISTIC,
    STATUS_HEURISTIC,
    STATUS_OPTIMAL,
    STATUS_TIME_LIMIT,
    SolveOptions,
)
from .problem import Problem, build_problem
from .reduce import CoverModel, reduce_covering, uncoverable_rows
from .result import SiteSelection
from .smoothdual import smoothed_dual

__all__ = ["solve_mclp"]

logger = logging.getLogger(__name__)

#: ``method="auto"`` solves exactly when the reduced model has at most this many nonzeros.
#: Measured (issue 13): on 100,000 homes × 10,000 sites (2.2 million nonzeros after the
#: reductions) HiGHS did not finish its root LP and overran a 60 s limit by 110 s, while
#: the heuristic answered in 47 s with a proven gap of 1.6 %.
AUTO_EXACT_MAX_NNZ = 1_000_000

#: ``method="auto"`` above :data:`AUTO_EXACT_MAX_NNZ`: share of the time for greedy + swap;
#: most of the rest goes to the LP relaxation (interior point) whose duals start the
#: Lagrangian bound (measured, issue 13: the plain subgradient stalls 1.2 % above the
#: incumbent on 100 k homes × 10 k sites, the LP duals give the LP bound, 0.3 % above).
LP_BOUND_HEURISTIC_SHARE = 0.25

#: Sites with an LP value above this (and the incumbent's) form the restricted MILP that
#: improves the incumbent, when there are at most :data:`LP_SUPPORT_MAX_SITES` of them.
LP_SUPPORT_TOL = 1e-3
LP_SUPPORT_MAX_SITES = 3000
#: Sites added to that support: those whose Lagrangian value lies nearest the k-th largest
#: (:func:`_near_threshold`). Measured (issue 13, 100 k homes × 10 k sites, k = 100, the
#: smoothed duals): the support alone gave 1,267,432 in 6 s; with the 300 nearest sites the
#: MILP found the optimum, 1,267,641, in 7.0 s; with 600, in 27.8 s; with 1,000 it stopped
#: at 30 s on 1,267,494. The better incumbent closes more sites for the MILP after it.
LP_SUPPORT_NEAR = 300

#: Share of the time left for the MILP on the LP support (:func:`_support_milp`). Measured
#: (issue 13, 100 k homes × 10 k sites): at k = 100 it finishes in 5–6 s, and it is needed:
#: without it the incumbent was 1,264,557 instead of 1,267,432, so the LP duals closed far
#: fewer sites and the MILP after it had not finished its root at the 120 s limit. At
#: k = 250, given 80 % of what the LP left, it took 17.7 s and still stopped at its limit.
#: Raised from 0.4 (stop 21; scratch runs of ``solve_mclp`` at 60 s on the benchmark's
#: tables): on seed 2 the MILP needs 22 s, and 0.4 stopped it at 1,268,831 (gap 0.201 %)
#: where 0.6 gives 1,269,776, 6 below the optimum (gap 0.080 %); seed 0 is proven in 34.4 s
#: either way, seed 1 and k = 150 keep their answers and bounds, and at k = 250 the
#: answer improves (1,854,199 against 1,854,036; 55.2 s against 46.4 s).
SUPPORT_MILP_SHARE = 0.6

#: Share of the time left for the smoothed LP dual (:mod:`~.smoothdual`), which replaces
#: HiGHS' interior point LP when there is no budget and no zone rule. Measured (issue 13,
#: 100 k homes × 10 k sites, k = 100): its whole schedule takes 11 s, where the interior
#: point LP took 21–33 s.
SMOOTH_DUAL_SHARE = 0.3

#: The block decomposition stops this many seconds before the time limit; the MILP on
#: the sites the LP duals leave (:func:`_closed_exact`) runs after it only when at least
#: :data:`BLOCK_MILP_MIN_S` remain. Measured (issue 13, 100 k homes × 10 k sites, k = 100,
#: 2,958 sites × 24,964 rows left): its root LP takes 11 s and its root cut rounds about
#: 45 s more; proven in 57.8 s. With the 11 s a 60 s limit leaves it added nothing and the
#: answer came 1.5 s late (61.5 s); with a 120 s limit it proves the optimum (98.5 s in all).
BLOCK_MARGIN_S = 0.5
BLOCK_MILP_MIN_S = 30.0
#: The block decomposition is not started with less than this left: partitioning the
#: site graph alone may take 5 s (measured, issue 13, k = 250: started 2 s before the
#: limit, it ended 1.2 s after it).
BLOCK_MIN_S = 8.0
#: With at least this many seconds left after the LP, the MILP on the sites the LP duals
#: leave runs at once, without the fine blocks first, whose bound it does not need to
#: prove the optimum (beside coarse blocks with two cores, :data:`COARSE_BLOCKS`).
#: Measured (issue 13, same instance, 120 s limit): proven in 93.3 s straight away, in
#: 106.2 s after 10 s of blocks. With the smoothed dual and the optimum
#: as incumbent the MILP took 41.5 s in one run; in another (13 more sites left open) it was
#: still at its root after 41.6 s, and a 60 s limit then gave a gap of 0.047 % where the
#: blocks give 0.027 %: so the threshold stays at 60 s. Since probing (:data:`PROBE_SHARE`)
#: the MILP has 1,514 sites there and proves the optimum in 13–14 s, beside the blocks
#: (a 60 s limit) or alone (120 s).
MILP_FIRST_S = 60.0

#: With :data:`MILP_FIRST_S` or more left and two or more cores, the MILP runs beside a
#: block decomposition into coarse blocks (Louvain resolution
#: :data:`COARSE_BLOCK_RESOLUTION`, blocks up to :data:`COARSE_BLOCK_MAX_SITES` sites)
#: instead of alone: fewer rows link two blocks, so the bound comes much closer to the
#: optimum, at the cost of blocks taking minutes. Whichever proves first stops the other.
#: Measured (issue 13, 100 k homes × 10 k sites, k = 100, seed 1, optimum 1,266,229, the
#: 4,657 sites probing leaves with the optimum as incumbent; every block solved): blocks of
#: up to 400 sites (resolution 0.3, 10,415 linking rows) bound 1,268,414 in 21 s, up to 800
#: (0.2, 3,652 rows) 1,267,589 in 95 s, up to 1,500 (0.1, 2,135 rows) **1,266,607** in
#: 163–169 s (one block of 916 sites took 112 s); the MILP alone was at 1,268,580 after
#: 156 s and proved the optimum after 511 s (726 nodes). In the solver (300 s limit, the
#: benchmark, seed 1): gap 0.035 % against 0.176 % with the MILP alone; seed 2 proven in
#: 213 s (205 s alone); at 120 s, seed 1: gap 0.174 % against 0.211 %. The blocks cost
#: memory beside the MILP: max RSS 3.5 GB against 2.3 GB (seed 1, 300 s).
COARSE_BLOCKS = True
COARSE_BLOCK_RESOLUTION = 0.1
COARSE_BLOCK_MAX_SITES = 1500

#: With fewer than :data:`MILP_FIRST_S` seconds left (but at least
#: :data:`CONCURRENT_MILP_MIN_S`) and two or more cores, the MILP on the sites left open
#: runs in a second thread beside the block decomposition (:func:`_milp_beside_blocks`)
#: instead of after it. It takes no time from the blocks, so it needs less time left than
#: the MILP after them (:data:`BLOCK_MILP_MIN_S`). Measured (issue 13, 100 k homes × 10 k
#: sites, k = 100, 60 s, under ``tracemalloc``, which slows the probing): 28 s were left
#: after the probing, the MILP was not started at 30 s, and the answer came at 38 s with a
#: gap of 0.045 %; the MILP on the 1,514 sites left proves the optimum in 13–14 s.
#: Larger models need more: at least :data:`CONCURRENT_MILP_S_PER_MNNZ` more seconds per
#: million nonzeros of the sites left, as HiGHS checks its limit only between root cut
#: rounds. Measured (same instance, k = 150, without probing): started with about 15 s left
#: on some 900,000 nonzeros, the MILP ended 6 s after the 60 s limit; the 1,501 sites probing
#: leaves at k = 100 hold 488,000 nonzeros (24.6 s asked), the 2,546 the duals leave 875,000
#: (36 s asked; that MILP took 42–58 s).
CONCURRENT_MILP = True
CONCURRENT_MILP_MIN_S = 10.0
CONCURRENT_MILP_S_PER_MNNZ = 30.0

#: The MILP on the sites the duals leave is given the time left less this share of it (at
#: least :data:`CLOSED_MILP_MARGIN_S`): HiGHS checks its limit only between root cut rounds,
#: which take seconds on such a model. Measured (issue 13): with nothing held back the answer
#: came 0.4 s after a 60 s limit; with 0.7 s held back HiGHS still overran its own limit by
#: 2.5–2.8 s at k = 250 (about 60 s given), and the answer came 2.2 s after a 120 s limit.
CLOSED_MILP_MARGIN_SHARE = 0.06
CLOSED_MILP_MARGIN_S = 0.7

#: Share of the time left for probing the sites the LP duals leave open
#: (:func:`~.coverdecomp.closed_by_probing`: each site forced open with the LP of its
#: neighbourhood re-solved), before the MILP and the blocks, which both run on what it
#: leaves; at most :data:`PROBE_ROUNDS` passes. Measured (issue 13, 100 k homes × 10 k
#: sites, k = 100, the optimum as incumbent; scratch runs): of the 2,546 sites the smoothed
#: duals leave, one pass (2,445 local LPs, 4.3 s) closes 1,030 more, and the MILP on the
#: 1,516 left proves the optimum in 14–21 s, where it took 42–58 s on the 2,546.
PROBE_SHARE = 0.25
PROBE_ROUNDS = 2
#: Whether the LP-start path probes (switched off only to measure the path without it,
#: ``benchmarks/bench_optimize.py``).
PROBING = True

#: Whether the LP-start path tightens its bound by the block decomposition (switched off
#: only to measure the path without it, ``benchmarks/bench_optimize.py``).
BLOCK_BOUND = True

#: Seconds of subgradient after the LP duals when the block decomposition or the MILP
#: follows: the duals already give about the LP bound, which the subgradient cannot pass
#: (measured, issue 13: with its usual deadline it ran until 80 % of the limit and left the
#: blocks 11 s; 2 s, the setting until the smoothed dual, added nothing either).
LP_SUBGRADIENT_S = 0.5

#: HiGHS settings of the MILP on the sites the LP duals leave open (the LP-start path,
#: :func:`_closed_exact`), as for the p-median chain. Measured (issue 13, 100 k homes ×
#: 10 k sites, k = 100): on the 2,852 sites × 24,311 rows left, HiGHS with its defaults was
#: still at the root after 245 s; with these settings it proves the optimum, 1,267,641, in
#: 61.8 s (root LP 11 s, cut rounds 48 s, 21 nodes), against the incumbent 1,267,494.
CLOSED_MILP_OPTIONS: dict[str, Any] = {**DEGENERATE_MIP_OPTIONS, **START_MIP_OPTIONS}

MCLP = ModelSpec(
    kind="mclp",
    label="MCLP",
    methods=(METHOD_AUTO, METHOD_EXACT, METHOD_HEURISTIC),
    covering=True,
)


def solve_mclp(
    costs: CostTable,
    *,
    k: int | None = None,
    budget: float | None = None,
    radius_m: float | None = None,
    options: SolveOptions | None = None,
    **option_overrides: Any,
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
    radius_m
        Coverage radius (default: the table cutoff).
    options
        Shared options (:class:`~coverage.siting.optimize.options.SolveOptions`):
        ``site_cost`` (default 1); ``weights`` (default 1; rows of weight 0 are ignored);
        ``existing``, ``forbidden``, ``candidates``, ``zone_of_site``, ``zone_rule``;
        ``capacity`` and ``single_source`` (capacitated model); ``method``
        ``"auto"``, ``"exact"`` or ``"heuristic"``; ``time_limit_s`` of the whole call;
        ``mip_rel_gap``, ``threads``, ``seed`` (also seeds the heuristic); ``n_starts``
        (heuristic starts); ``reduce`` (apply the model reductions, default True).
    **option_overrides
        Any :class:`~coverage.siting.optimize.options.SolveOptions` field by name.

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
    (``method="greedy+swap+lagrangian-proof"``, ``"lp-start+..."`` when the LP relaxation
    gave the multipliers), otherwise sites the Lagrangian test
    proves useless are fixed closed and HiGHS solves the rest.
    """
    t0 = time.perf_counter()
    opts = MCLP.options(options, option_overrides)
    _check_k_budget(k, budget)
    radius = resolve_radius(costs, radius_m)
    run = SolveRun(MCLP, build_problem(costs, opts), opts, t0, limit_m=radius)
    prob = run.prob
    kmax = _check_counts(prob, k, budget)
    cov_full = costs.coverage_matrix(radius)
    card = (0, kmax) if k is not None else None
    if prob.capacity is not None:
        unc = uncoverable_rows(prob, cov_full[:, prob.allowed])
        return solve_capacitated(run, card=card, budget=budget, uncoverable=unc)
    red = reduce_covering(
        prob,
        cov_full,
        use_cost=budget is not None,
        column_dominance=opts.reduce,
        merge_rows=opts.reduce,
        max_rounds=3 if opts.reduce else 1,
    )
    xm, bound, status, meth, details = _solve_reduced(run, red, kmax, card, budget)
    open_mask = prob.mask_of(red.cols[xm])
    covered_rows = np.asarray(cov_full[:, open_mask].sum(axis=1)).ravel() > 0
    objective = float(prob.weights[covered_rows].sum())
    outcome = Outcome(open_mask, objective, bound, status, meth, details)
    return run.finish(outcome, shrink=red.stats, uncoverable=red.uncoverable)


def _check_k_budget(k: int | None, budget: float | None) -> None:
    if k is None and budget is None:
        raise ParameterError("solve_mclp needs k (number of sites) and/or budget")
    if k is not None:
        count_arg(k, "k", minimum=0)
    if budget is not None and (not np.isfinite(budget) or budget < 0):
        raise ParameterError(f"budget (--budget) must be a finite number >= 0, got {budget!r}")


def _check_counts(prob: Problem, k: int | None, budget: float | None) -> int:
    """The largest number of open sites; checks ``k`` and ``budget`` against the sites."""
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
            raise InfeasibleError(
                f"the existing sites already cost {spent:g} > budget {budget:g}; give existing "
                "sites cost 0 or raise the budget (--budget)"
            )
    return kmax


def _solve_reduced(
    run: SolveRun,
    red: CoverModel,
    kmax: int,
    card: tuple[float, float] | None,
    budget: float | None,
) -> tuple[np.ndarray, float, str, str, dict[str, Any]]:
    """Greedy + swap with a Lagrangian bound; the MILP when that proves nothing and the
    model is small enough (or exact was asked for). ``"auto"`` on a larger model starts
    the Lagrangian bound from the LP duals instead (:func:`_lp_multipliers`). Returns the
    open reduced columns, bound, status, method and details."""
    cov, m, n = red.cov, len(red.cols), red.cov.shape[0]
    rules = SiteRules.for_columns(
        run.prob, red.cols, required=red.required, kmin=0, kmax=min(kmax, m), budget=budget
    )
    coo = cov.tocoo()
    sc = SparseCost.build(
        coo.row.astype(np.int64), coo.col.astype(np.int64), np.zeros(coo.nnz), red.row_weight,
        1.0, m,
    )  # fmt: skip
    big = cov.nnz + n + m > AUTO_EXACT_MAX_NNZ
    use_exact = run.wants_exact(cov.nnz + n + m, AUTO_EXACT_MAX_NNZ)
    lp_start = big and run.method != METHOD_HEURISTIC
    share = 0.3 if use_exact else (LP_BOUND_HEURISTIC_SHARE if lp_start else 0.6)
    mask, unc_w, info = interchange_solve(
        sc,
        rules,
        # four starts before the LP too: its support MILP gives the incumbent at city scale
        n_starts=4 if use_exact or lp_start else run.opts.n_starts,
        seed=run.opts.seed,
        time_limit_s=run.time_left(share, floor=0.1),
    )
    inc = Incumbent(mask, unc_w, info)
    start: DualStart | None = None
    if lp_start:
        inc, start = _lp_start(run, red, sc, rules, inc, card, budget)
    lam0 = start.lam if start is not None else None
    bound_deadline = run.bound_deadline()
    if lam0 is not None and BLOCK_BOUND:  # the duals are LP-optimal: the time goes to the blocks
        bound_deadline = min(bound_deadline, time.perf_counter() + LP_SUBGRADIENT_S)
    inc, lb, fixed = bound_and_polish(
        sc, rules, inc, fixing=use_exact,
        bound_deadline=bound_deadline, deadline=run.deadline, lam0=lam0,
    )  # fmt: skip
    total = float(red.row_weight.sum())
    heur_cov = total - inc.value + red.fixed_weight
    integral = is_integral(red.row_weight, red.fixed_weight)
    bound = round_bound(total - lb + red.fixed_weight, integral, lower=False)
    details: dict[str, Any] = {"heuristic": inc.info, "sites_fixed_closed": int(fixed.sum())}
    if start is not None:
        details["lagrangian_start"] = start.kind
        details.update(start.info)
    # the method names every step that shaped the answer (the LP start above 1 M nonzeros)
    how = "lp-start+greedy+swap" if lam0 is not None else "greedy+swap"
    if closes(bound - heur_cov, bound):
        return inc.mask, bound, STATUS_OPTIMAL, f"{how}+lagrangian-proof", details
    if start is None or budget is not None:
        if not use_exact:
            return inc.mask, bound, STATUS_HEURISTIC, how, {**details, "bound": "lagrangian"}
        xm, sol_bound, status, extra = _exact(run, red, inc.mask, ~fixed, card, budget)
        return xm, min(sol_bound, bound), status, HIGHS_MIP, {**details, **extra}
    closure = _closure(run, red, rules, start, heur_cov - red.fixed_weight)
    details.update(closure.info)
    path = LpPath(run, red, sc, rules, start, closure, inc, fixed, card, use_exact, integral)
    blocks_first = run.time_left(floor=0.0) < MILP_FIRST_S
    # nonzeros of the sites left open (column counts; the MILP merges rows further)
    milp_nnz = int(np.bincount(red.cov.indices, minlength=len(red.cols))[~closure.closed].sum())
    two = CONCURRENT_MILP and (os.cpu_count() or 1) >= 2
    if BLOCK_BOUND and two and not blocks_first and COARSE_BLOCKS:
        return _milp_beside_blocks(path, bound, how, details, coarse=True)
    if (
        BLOCK_BOUND and blocks_first and two
        and run.time_left(floor=0.0)
        >= CONCURRENT_MILP_MIN_S + CONCURRENT_MILP_S_PER_MNNZ * milp_nnz / 1e6
    ):  # fmt: skip
        return _milp_beside_blocks(path, bound, how, details)
    if BLOCK_BOUND and blocks_first:
        dec = _decomposition_bound(path)
        if dec is not None:
            details["block_decomposition"] = dec
            bound = min(bound, dec["bound"])
            if closes(bound - heur_cov, bound):
                return inc.mask, bound, STATUS_OPTIMAL, f"{how}+block-decomposition-proof", details
            how += "+block-decomposition"
    if run.time_left(floor=0.0) < BLOCK_MILP_MIN_S:
        status = STATUS_TIME_LIMIT if use_exact else STATUS_HEURISTIC
        kind = "block decomposition" if "block_decomposition" in details else "lagrangian"
        return inc.mask, bound, status, how, {**details, "bound": kind}
    return _closed_exact(path, bound, how, details)


def _milp_beside_blocks(
    path: LpPath, bound: float, how: str, details: dict[str, Any], *, coarse: bool = False
) -> tuple[np.ndarray, float, str, str, dict[str, Any]]:
    """The MILP on the sites the duals leave (:func:`_closed_exact`) in a second thread
    (HiGHS releases the GIL), beside the block decomposition in this one (``coarse``
    blocks: :data:`COARSE_BLOCK_RESOLUTION`), both until the time limit: the MILP's proof
    when it comes in time, otherwise the better of the two bounds. Both bound every
    solution covering at least the incumbent, so their minimum, with the incumbent, bounds
    the optimum. A proof from the MILP stops the blocks; a bound from the blocks that
    proves the incumbent optimal stops the MILP."""
    proven = threading.Event()  # the MILP proved the optimum: the blocks stop
    settled = threading.Event()  # the blocks proved the incumbent: the MILP stops

    def milp() -> tuple[np.ndarray, float, str, str, dict[str, Any]]:
        out = _closed_exact(path, bound, how, dict(details), stop=settled)
        if out[2] == STATUS_OPTIMAL:
            proven.set()
        return out

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mclp-milp") as pool:
        job = pool.submit(milp)
        try:
            dec = _decomposition_bound(path, stop=proven, coarse=coarse)
        except BaseException:
            settled.set()  # do not leave the MILP running to its limit
            raise
        if dec is not None and closes(float(dec["bound"]) - path.heur_cov, float(dec["bound"])):
            settled.set()
        xm, mbound, status, meth, out = job.result()
    if dec is None:
        return xm, mbound, status, meth, out
    out["block_decomposition"] = dec
    if status == STATUS_OPTIMAL:
        return xm, mbound, status, meth, out
    both = min(mbound, float(dec["bound"]))
    cov_val = path.total - path.sc.value(xm)
    if closes(both - cov_val, both):
        return xm, both, STATUS_OPTIMAL, f"{how}+block-decomposition-proof", out
    return xm, both, status, f"{how}+block-decomposition+highs-mip", out


def _closed_exact(
    path: LpPath,
    bound: float,
    how: str,
    details: dict[str, Any],
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, float, str, str, dict[str, Any]]:
    """The MILP on the sites the LP duals and the probing leave open (:func:`_closure`
    closes only sites open in no solution covering at least the incumbent), warm-started,
    under :data:`CLOSED_MILP_OPTIONS`, in the time left. Every solution better than the
    incumbent lies in it, so ``max(incumbent, its bound)`` bounds the optimum, and its
    proof is a proof for the whole model. ``stop``, once set, interrupts the MILP (its
    incumbent and bound so far are kept)."""
    run, inc, total = path.run, path.inc, path.total  # covered = total - uncovered
    kc = ~path.closure.closed & ~path.fixed
    try:
        xm, sol_bound, _status, extra = _exact(
            run, path.red, inc.mask, kc, path.card, None, highs_options=CLOSED_MILP_OPTIONS,
            margin_s=max(CLOSED_MILP_MARGIN_S, CLOSED_MILP_MARGIN_SHARE * run.time_left(floor=0.0)),
            stop=stop,
        )  # fmt: skip
    except SolverError:
        if stop is None or not stop.is_set():
            raise
        # interrupted before HiGHS held a solution: the incumbent, and no bound from it
        xm, sol_bound, extra = inc.mask, float("inf"), {"model_status": "Interrupted by user"}
    if path.sc.value(xm) > inc.value:  # never worse than the start
        xm = inc.mask
    cov_val = total - path.sc.value(xm)
    bound = min(bound, max(total - inc.value, sol_bound))
    proven = closes(bound - cov_val, bound)
    status = (
        STATUS_OPTIMAL if proven else (STATUS_TIME_LIMIT if path.use_exact else STATUS_HEURISTIC)
    )
    info = {**extra, "sites_closed": int(path.closure.closed.sum()), "sites": int(kc.sum())}
    return xm, bound, status, f"{how}+highs-mip", {**details, "closed_milp": info}


def _decomposition_bound(
    path: LpPath, stop: threading.Event | None = None, *, coarse: bool = False
) -> dict[str, Any] | None:
    """The block-decomposition bound (:mod:`~coverage.siting.optimize.coverdecomp`) on the
    sites the closure leaves open, in the time left (or until ``stop`` is set): a bound on
    every solution covering at least the incumbent, hence ``max(incumbent, bound)`` bounds
    the optimum. ``coarse`` blocks: :data:`COARSE_BLOCK_RESOLUTION`."""
    t = time.perf_counter()
    run, red = path.run, path.red
    if run.time_left(floor=0.0) < BLOCK_MIN_S:
        return None
    closed, mu = path.closure.closed, path.closure.mu
    cov, w, lam = restrict_rows(red.cov, red.row_weight, path.start.lam, ~closed)
    res, most = (
        (COARSE_BLOCK_RESOLUTION, COARSE_BLOCK_MAX_SITES) if coarse
        else (BLOCK_RESOLUTION, BLOCK_MAX_SITES)
    )  # fmt: skip
    labels = partition_sites(cov, lam, resolution=res, max_sites=most, seed=run.opts.seed)
    if labels is None:
        return None
    bb = block_bound(
        cov, w, lam, mu, path.rules.kmax, red.required[~closed], labels,
        deadline=run.deadline - BLOCK_MARGIN_S, threads=run.opts.threads, stop=stop,
    )  # fmt: skip
    raw = bb.bound + red.fixed_weight
    return {
        "bound": max(path.heur_cov, round_bound(raw, path.integral, lower=False)),
        "raw_bound": raw,
        "lagrangian": bb.lagrangian + red.fixed_weight,
        "sites_closed": int(closed.sum()),
        "blocks": bb.blocks,
        "coarse": coarse,
        "cross_rows": bb.cross_rows,
        "blocks_proven": bb.solved,
        "blocks_without_time": bb.fallback,
        "seconds": time.perf_counter() - t,
    }


@dataclass
class DualStart:
    """Multipliers of the coverage rows that start the Lagrangian bound on the LP-start
    path, and the others that close sites on their own (:func:`_closed_sites`).

    ``kind`` says where they come from (``details["lagrangian_start"]``), ``info`` what it
    took (merged into the details)."""

    lam: np.ndarray
    others: list[np.ndarray] = field(default_factory=list)
    kind: str = "lp-duals (interior point)"
    info: dict[str, Any] = field(default_factory=dict)


def _closed_sites(
    red: CoverModel, rules: SiteRules, start: DualStart, incumbent: float
) -> tuple[np.ndarray, float]:
    """Sites closed in every solution covering at least ``incumbent`` of the reduced
    weight, by any of the start's multipliers (:func:`~.coverdecomp.closed_by_duals`; each
    test is valid on its own, so their union is), and the site price ``mu`` of the first."""
    closed, mu = closed_by_duals(
        red.cov, red.row_weight, start.lam, rules.kmax, red.required, incumbent
    )
    for lam in start.others:
        more, _mu = closed_by_duals(
            red.cov, red.row_weight, lam, rules.kmax, red.required, incumbent
        )
        closed |= more
    return closed, mu


@dataclass
class Closure:
    """Sites of the reduced model closed in every solution covering at least the
    incumbent (:func:`_closure`), the site price ``mu`` of the first multipliers, and what
    each step closed (merged into the details)."""

    closed: np.ndarray
    mu: float
    info: dict[str, Any]


def _closure(
    run: SolveRun, red: CoverModel, rules: SiteRules, start: DualStart, incumbent: float
) -> Closure:
    """The sites the LP duals close (:func:`_closed_sites`), then those the probing closes
    on what they leave (:func:`~.coverdecomp.closed_by_probing`, within
    :data:`PROBE_SHARE` of the time left; skipped with less than :data:`BLOCK_MIN_S` left).
    ``incumbent`` is the reduced weight the incumbent covers."""
    closed, mu = _closed_sites(red, rules, start, incumbent)
    info: dict[str, Any] = {"sites_closed_by_lp_duals": int(closed.sum())}
    if PROBING and run.time_left(floor=0.0) >= BLOCK_MIN_S and not closed.all():
        keep = ~closed
        cov, w, lam = restrict_rows(red.cov, red.row_weight, start.lam, keep)
        pr = closed_by_probing(
            cov, w, lam, rules.kmax, red.required[keep], incumbent,
            deadline=time.perf_counter() + run.time_left(PROBE_SHARE, floor=0.0),
            max_rounds=PROBE_ROUNDS,
        )  # fmt: skip
        closed[np.flatnonzero(keep)[pr.closed]] = True
        info["probing"] = {
            "sites_closed": int(pr.closed.sum()), "candidates": pr.candidates,
            "probes": pr.probed, "rounds": pr.rounds, "seconds": pr.seconds,
        }  # fmt: skip
    return Closure(closed, mu, info)


@dataclass
class LpPath:
    """The state of the LP-start path once the closure is known, which the MILP on the
    sites left open (:func:`_closed_exact`), the blocks (:func:`_decomposition_bound`) and
    both at once (:func:`_milp_beside_blocks`) work from."""

    run: SolveRun
    red: CoverModel
    sc: SparseCost
    rules: SiteRules
    start: DualStart
    closure: Closure
    inc: Incumbent
    fixed: np.ndarray
    card: tuple[float, float] | None
    use_exact: bool
    integral: bool

    @property
    def total(self) -> float:
        """The whole row weight, the fixed part included (covered = total - uncovered)."""
        return float(self.red.row_weight.sum()) + self.red.fixed_weight

    @property
    def heur_cov(self) -> float:
        """The weight the incumbent covers."""
        return self.total - self.inc.value


def _lp_start(
    run: SolveRun,
    red: CoverModel,
    sc: SparseCost,
    rules: SiteRules,
    inc: Incumbent,
    card: tuple[float, float] | None,
    budget: float | None,
) -> tuple[Incumbent, DualStart | None]:
    """Multipliers from the LP relaxation, and the incumbent improved from its fractional
    solution. Without a budget or zone rules the LP dual is minimised smoothed
    (:mod:`~coverage.siting.optimize.smoothdual`, within :data:`SMOOTH_DUAL_SHARE` of the
    time left); otherwise, or when that gives nothing, HiGHS solves the LP relaxation by
    interior point without crossover, and its duals, clipped to ``[0, w_i]``, are the
    multipliers (``None`` if the LP did not finish). The fractional sites at
    ``x >= 1/2``, filled up greedily and improved by the interchange, and then the MILP
    restricted to the fractional support (:func:`_support_milp`) replace the incumbent
    when better. Neither result is trusted: the bound is the Lagrangian value of the
    multipliers, evaluated exactly, so it stays valid however inaccurate they are."""
    n, m = red.cov.shape[0], len(red.cols)
    plain = budget is None and not len(rules.zmin)
    sd = None
    if plain:
        sd = smoothed_dual(
            red.cov, red.row_weight, rules.kmax, red.required,
            deadline=time.perf_counter() + run.time_left(SMOOTH_DUAL_SHARE, floor=0.1),
        )  # fmt: skip
    if sd is not None:
        x = sd.x
        start = DualStart(
            sd.lam, sd.stages[1:], "smoothed lp dual (l-bfgs-b)",
            {"smoothed_dual": {"seconds": sd.seconds, "iterations": sd.iterations,
                               "stages": len(sd.stages), "stopped": sd.stopped}},
        )  # fmt: skip
    else:
        lp = lp_relaxation(
            _model(run, red, np.ones(m, dtype=bool), card, budget),
            time_limit_s=run.time_left(0.9, floor=0.1),
            threads=run.opts.threads,
            label="MCLP LP relaxation",
        )
        if lp is None:
            return inc, None
        x, duals = lp[0][:m], lp[1]
        start = DualStart(np.clip(np.abs(duals[:n]), 0.0, red.row_weight))
    if plain:  # rounding ignores budget and zones
        order = np.argsort(-x, kind="stable")
        pick = rules.required.copy()
        room = rules.kmax - int(pick.sum())
        pick[order[(x[order] >= 0.5) & ~pick[order]][: max(room, 0)]] = True
        cand, _moves = local_search(sc, rules, greedy(sc, rules, start=pick), deadline=run.deadline)
        val = sc.value(cand)
        if val < inc.value:
            inc = Incumbent(cand, val, {**inc.info, "lp_rounding": True})
    sup = (x > LP_SUPPORT_TOL) | inc.mask
    sup[_near_threshold(red, rules, start.lam, LP_SUPPORT_NEAR)] = True
    return _support_milp(run, red, sc, sup, inc, card, budget), start


def _near_threshold(red: CoverModel, rules: SiteRules, lam: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` sites whose Lagrangian value ``rho_j`` (the weight of the multipliers of
    the rows they cover) lies nearest the ``k``-th largest: the sites the relaxation hesitates
    over, where a better solution than the rounding is most likely to differ."""
    rho = np.asarray(
        sp.csc_matrix(red.cov, dtype=np.float64).T @ np.clip(lam, 0.0, red.row_weight)
    ).ravel()
    m = len(rho)
    if m == 0 or count <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = min(max(rules.kmax, 1), m)
    thr = np.partition(rho, m - kth)[m - kth]
    return np.argsort(np.abs(rho - thr), kind="stable")[: min(count, m)]


def _support_milp(
    run: SolveRun,
    red: CoverModel,
    sc: SparseCost,
    sup: np.ndarray,
    inc: Incumbent,
    card: tuple[float, float] | None,
    budget: float | None,
) -> Incumbent:
    """The MCLP MILP restricted to the sites ``sup`` (the LP support and the incumbent),
    rows merged again on those sites, warm-started: a restriction, so its answer is a
    feasible heuristic solution of the whole model (never a proof)."""
    ns = int(sup.sum())
    if ns > LP_SUPPORT_MAX_SITES:
        return inc
    sub = _restrict(red, sup)
    x0 = inc.mask[sup]
    z0 = np.asarray(sub.cov @ x0.astype(np.float64)).ravel() > 0
    try:
        sol = run.milp(
            _model(run, sub, np.ones(ns, dtype=bool), card, budget),
            start=np.concatenate([x0, z0]).astype(np.float64),
            label="MCLP on the LP support",
            time_limit_s=run.time_left(SUPPORT_MILP_SHARE, floor=0.1),
        )
    except (SolverError, InfeasibleError):
        return inc
    cand = np.zeros(len(red.cols), dtype=bool)
    cand[np.flatnonzero(sup)[sol.x[:ns] > 0.5]] = True
    val = sc.value(cand)
    if val < inc.value:
        inc = Incumbent(cand, val, {**inc.info, "lp_support_milp": ns})
    return inc


def _restrict(red: CoverModel, kc: np.ndarray) -> CoverModel:
    """The model over the sites ``kc`` only (:func:`~.coverdecomp.restrict_rows`): rows no
    kept site covers are dropped (their ``z`` is 0 in every solution on those sites) and
    rows identical on the kept sites merge (weights summed). Exact for any solution that
    opens only sites of ``kc``."""
    cov, mw, _ml = restrict_rows(red.cov, red.row_weight, np.zeros(len(red.row_weight)), kc)
    return CoverModel(
        cov=cov, row_weight=mw, cols=red.cols[kc], required=red.required[kc],
        uncoverable=red.uncoverable, fixed_weight=red.fixed_weight,
    )  # fmt: skip


def _model(
    run: SolveRun,
    red: CoverModel,
    kc: np.ndarray,
    card: tuple[float, float] | None,
    budget: float | None,
    highs_options: dict[str, Any] | None = None,
) -> MilpModel:
    """The MCLP MILP over the kept sites ``kc``: variables ``x`` (kept sites) | ``z``
    (n); rows ``z_i - sum x <= 0`` and the site rows."""
    cov, n = red.cov, red.cov.shape[0]
    mk = int(kc.sum())
    a_cov = sp.hstack([-cov[:, kc].astype(np.float64), sp.identity(n, format="csr")], format="csr")
    a_site, s_lo, s_hi = run.prob.site_rows(red.cols[kc], card=card, budget=budget, extra=n)
    return MilpModel(
        np.concatenate([np.zeros(mk), red.row_weight]),
        sp.vstack([a_cov, a_site], format="csc"),
        np.concatenate([np.full(n, -np.inf), s_lo]),
        np.concatenate([np.zeros(n), s_hi]),
        lb=np.concatenate([red.required[kc].astype(float), np.zeros(n)]),
        ub=np.ones(mk + n),
        integer=np.r_[np.ones(mk, dtype=bool), np.zeros(n, dtype=bool)],
        maximize=True,
        offset=red.fixed_weight,
        highs_options=highs_options,
    )


def _exact(  # noqa: PLR0913  (the model, its start and the clock)
    run: SolveRun,
    red: CoverModel,
    start_mask: np.ndarray,
    kc: np.ndarray,
    card: tuple[float, float] | None,
    budget: float | None,
    highs_options: dict[str, Any] | None = None,
    margin_s: float = 0.0,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, float, str, dict[str, Any]]:
    """The MCLP MILP over the sites not fixed closed (``kc``; rows restricted to them by
    :func:`_restrict`), warm-started, with ``highs_options`` on top of the shared ones,
    stopping ``margin_s`` before the time limit (or when ``stop`` is set).

    Variables ``x`` (kept sites) | ``z`` (rows); rows ``z_i - sum x <= 0`` and site rows.
    """
    m = len(red.cols)
    sub = _restrict(red, kc)
    mk, n = int(kc.sum()), sub.cov.shape[0]
    model = _model(run, sub, np.ones(mk, dtype=bool), card, budget, highs_options)
    x0 = start_mask[kc].astype(np.float64)
    z0 = (np.asarray(sub.cov @ x0).ravel() > 0).astype(np.float64)
    sol = run.milp(
        model,
        start=np.concatenate([x0, z0]),
        label="MCLP",
        time_limit_s=max(run.time_left(floor=0.1) - margin_s, 0.1),
        infeasible_message="MCLP: the existing sites, zone rules, k and budget contradict "
        "each other",
        stop=stop,
    )
    xm = np.zeros(m, dtype=bool)
    xm[np.flatnonzero(kc)[sol.x[:mk] > 0.5]] = True
    extra = {
        "mip_nodes": sol.nodes,
        "model_status": sol.model_status,
        "model_size": {"vars": mk + n, "rows": int(model.A.shape[0]), "nnz": int(model.A.nnz)},
    }
    return xm, sol.bound, sol.status, extra
