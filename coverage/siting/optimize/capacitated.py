"""Capacitated variants: an explicit assignment MILP shared by LSCP, MCLP and p-median.

With site capacities the assignment is part of the answer (a demand may not go to its
nearest open site when that one is full), so the model carries one variable per
demand–site pair of the table (within the radius for the covering models):

.. math::

    \\sum_j y_{ij} + u_i = 1 \\quad \\forall i, \\qquad
    y_{ij} \\le x_j, \\qquad
    \\sum_i w_i\\, y_{ij} \\le \\mathrm{cap}_j\\, x_j, \\qquad
    x_j \\in \\{0, 1\\}

plus the zone / cardinality / budget rows of :meth:`Problem.site_rows`. ``u_i`` is the
unserved share of demand ``i``: fixed to 0 for LSCP and for p-median without an
unreachable penalty, free (uncovered) in MCLP, and charged ``w_i P`` in p-median with
penalty ``P``. Objectives: LSCP ``min sum c_j x_j``; MCLP ``max sum w_i (1 - u_i)``;
p-median ``min sum w_i d_ij y_ij + sum w_i P u_i``.

**Single sourcing (default).** ``y`` is binary: each demand point (a building, a
residential block) is served entirely by one facility, which is how catchments of
elderly-care centres are drawn. With ``single_source=False`` ``y`` is continuous and a
demand point may be split between sites; ``details["allocation"]`` then lists the
shares and ``assignment`` holds the site with the largest share.

**Heuristic with a bound** (p-median and MCLP; ``method="heuristic"``, or ``"auto"`` when
the MILP has more than :data:`AUTO_EXACT_MAX_PAIRS` demand–site pairs). Dropping the
capacities leaves the uncapacitated model, a relaxation: its Lagrangian bound
(:func:`~coverage.siting.optimize.heuristics.bound_and_polish`) bounds the capacitated
optimum (for MCLP also the total capacity of the ``k`` largest sites). The sites come from
greedy + interchange on that relaxation; the capacitated assignment to those sites is then
solved exactly by the same MILP restricted to them (a transportation LP when demand may be
split, a generalised assignment MILP with single sourcing), so the answer respects the
capacities and comes with a proven bound and gap; ``status`` is ``"optimal"`` only when the
bound meets it. If the chosen sites cannot hold the demand (p-median without a penalty),
the full MILP is solved instead. LSCP with capacities is exact only.

:func:`solve_capacitated` is the branch LSCP, MCLP and p-median take when the options
carry capacities.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import InfeasibleError, ParameterError, SolverError
from .base import HIGHS_MIP, Outcome, SolveRun, closes, heuristic_status
from .caplagrange import CapPairs, capacitated_lagrangian, greedy_capacitated_value
from .heuristics import (
    Incumbent,
    SiteRules,
    SparseCost,
    bound_and_polish,
    interchange_solve,
    is_integral,
    round_bound,
)
from .highs import MilpModel, MipSolution
from .options import METHOD_AUTO, METHOD_HEURISTIC
from .problem import Problem
from .result import SiteSelection

__all__ = ["solve_capacitated"]

logger = logging.getLogger(__name__)

#: ``method="auto"`` takes the capacitated heuristic above this many demand–site pairs.
AUTO_EXACT_MAX_PAIRS = 200_000


@dataclass(frozen=True, eq=False)
class _Pairs:
    """The served rows and their demand–site pairs; variables ``x (m) | y (q) | u (n)``."""

    cols: np.ndarray  # allowed site positions (x columns)
    rows: np.ndarray  # demand positions to serve (u columns, assignment rows)
    pr: np.ndarray  # pair -> served-row index
    prow: np.ndarray  # pair -> demand position
    pcol: np.ndarray  # pair -> x column
    pdist: np.ndarray

    @property
    def m(self) -> int:
        return len(self.cols)

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def q(self) -> int:
        return len(self.pr)

    @property
    def ycol(self) -> np.ndarray:
        return self.m + np.arange(self.q)

    @property
    def ucol(self) -> np.ndarray:
        return self.m + self.q + np.arange(self.n)

    @property
    def nvar(self) -> int:
        return self.m + self.q + self.n


def _pairs(prob: Problem, kind: str, limit_m: float) -> _Pairs:
    """Pairs within ``limit_m``; every weighted row for p-median, reachable rows otherwise."""
    t, w = prob.costs, prob.weights
    cols = np.flatnonzero(prob.allowed)
    cpos = np.full(t.n_sites, -1, dtype=np.int64)
    cpos[cols] = np.arange(len(cols))
    keep = (cpos[t.site_idx] >= 0) & (t.dist_m <= limit_m) & (w[t.demand_idx] > 0)
    prow, pcol, pdist = t.demand_idx[keep], cpos[t.site_idx[keep]], t.dist_m[keep]
    rows = np.flatnonzero(w > 0) if kind == "pmedian" else np.unique(prow)
    rpos = np.full(t.n_demand, -1, dtype=np.int64)
    rpos[rows] = np.arange(len(rows))
    pr = rpos[prow]
    ok = pr >= 0
    return _Pairs(cols, rows, pr[ok], prow[ok], pcol[ok], pdist[ok])


def _rows(
    prob: Problem, pp: _Pairs, card: tuple[float, float] | None, budget: float | None
) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray]:
    """Assignment (``sum y + u = 1``), linking (``y <= x``), capacity and site rows."""
    m, n, q, ycol, nvar = pp.m, pp.n, pp.q, pp.ycol, pp.nvar
    a_assign = sp.csr_matrix(
        (np.ones(q + n), (np.concatenate([pp.pr, np.arange(n)]), np.concatenate([ycol, pp.ucol]))),
        shape=(n, nvar),
    )
    a_link = sp.csr_matrix(
        (
            np.concatenate([np.ones(q), -np.ones(q)]),
            (np.tile(np.arange(q), 2), np.concatenate([ycol, pp.pcol])),
        ),
        shape=(q, nvar),
    )
    # capacity rows: sum_i w_i y_ij - cap_j x_j <= 0
    assert prob.capacity is not None
    cap = prob.capacity[pp.cols]
    capped = np.flatnonzero(np.isfinite(cap))
    crow = np.full(m, -1, dtype=np.int64)
    crow[capped] = np.arange(len(capped))
    inc = crow[pp.pcol] >= 0
    a_cap = sp.csr_matrix(
        (
            np.concatenate([prob.weights[pp.prow[inc]], -cap[capped]]),
            (
                np.concatenate([crow[pp.pcol[inc]], np.arange(len(capped))]),
                np.concatenate([ycol[inc], capped]),
            ),
        ),
        shape=(len(capped), nvar),
    )
    a_site, s_lo, s_hi = prob.site_rows(pp.cols, card=card, budget=budget, extra=q + n)
    A = sp.vstack([a_assign, a_link, a_cap, a_site], format="csc")
    lo = np.concatenate([np.ones(n), np.full(q, -np.inf), np.full(len(capped), -np.inf), s_lo])
    hi = np.concatenate([np.ones(n), np.zeros(q), np.zeros(len(capped)), s_hi])
    return A, lo, hi


def _model(run: SolveRun, pp: _Pairs, card: tuple[float, float] | None, budget: float | None) -> MilpModel:
    """The capacitated MILP of the run's model kind (objective per the module notes)."""
    prob, kind, w = run.prob, run.spec.kind, run.prob.weights
    A, lo, hi = _rows(prob, pp, card, budget)
    c = np.zeros(pp.nvar)
    u_ub = np.ones(pp.n)
    if kind == "lscp":
        c[: pp.m] = prob.site_cost[pp.cols]
        u_ub[:] = 0.0
    elif kind == "mclp":
        c[pp.ycol] = w[pp.prow]  # maximise the weight served
    else:
        c[pp.ycol] = w[pp.prow] * pp.pdist
        if run.penalty is None:
            u_ub[:] = 0.0
        else:
            c[pp.ucol] = w[pp.rows] * run.penalty
    lb = np.zeros(pp.nvar)
    lb[: pp.m] = prob.required[pp.cols].astype(float)
    integer = np.zeros(pp.nvar, dtype=bool)
    integer[: pp.m] = True
    if run.opts.single_source:
        integer[pp.ycol] = True
    return MilpModel(
        c, A, lo, hi, lb=lb, ub=np.concatenate([np.ones(pp.m + pp.q), u_ub]),
        integer=integer, maximize=kind == "mclp",
    )  # fmt: skip


def _allocation(prob: Problem, pp: _Pairs, sol: MipSolution) -> tuple[np.ndarray, pd.DataFrame]:
    """Site of each demand row (largest share) and the positive shares."""
    yv = sol.x[pp.ycol]
    pos = yv > 1e-9
    alloc = pd.DataFrame(
        {"demand_pos": pp.prow[pos], "site_pos": pp.cols[pp.pcol[pos]], "share": yv[pos]}
    )
    assignment = np.full(prob.n_demand, -1, dtype=np.int64)
    if len(alloc):
        top = alloc.sort_values(["demand_pos", "share"], ascending=[True, False])
        top = top.drop_duplicates("demand_pos")
        assignment[top["demand_pos"].to_numpy()] = top["site_pos"].to_numpy()
    return assignment, alloc


def capacitated_outcome(
    run: SolveRun, *, card: tuple[float, float] | None, budget: float | None
) -> Outcome:
    """Build and solve the capacitated assignment MILP of ``run`` (capacities set).

    Parameters
    ----------
    run
        The call, its problem with ``capacity`` set; ``run.spec.kind`` picks the
        objective, ``run.limit_m`` the farthest allowed pair (radius or table cutoff),
        ``run.penalty`` the p-median unreachable penalty (``None`` = every demand must be
        assigned) and ``run.opts.single_source`` binary or fractional assignment.
    card, budget
        Site-count bounds and budget (see :meth:`Problem.site_rows`).

    Returns
    -------
    Outcome
        With the assignment; ``details`` holds ``allocation`` (a DataFrame of positive
        shares), ``single_source`` and the model size.

    Raises
    ------
    InfeasibleError
        No assignment respects the capacities and the other rules.
    """
    prob, kind = run.prob, run.spec.kind
    assert prob.capacity is not None
    pp = _pairs(prob, kind, run.limit_m)
    model = _model(run, pp, card, budget)
    sol = run.milp(
        model,
        time_limit_s=run.opts.time_limit_s,
        label=f"capacitated {kind}",
        infeasible_message=(
            f"capacitated {kind}: no solution serves the demand within the site capacities "
            f"and the other rules (total positive demand {prob.weights[pp.rows].sum():g}, total "
            f"capacity of allowed sites {prob.capacity[pp.cols].sum():g}); raise capacities, "
            "allow more sites or relax p/k"
        ),
    )
    assignment, alloc = _allocation(prob, pp, sol)
    if kind == "lscp" and np.any(assignment[pp.rows] < 0):
        raise InfeasibleError("capacitated lscp: solver returned an incomplete assignment")
    details: dict[str, Any] = {
        "allocation": alloc,
        "single_source": run.opts.single_source,
        "model_size": {"vars": pp.nvar, "rows": int(model.A.shape[0]), "nnz": int(model.A.nnz)},
    }
    return Outcome(
        open_mask=prob.mask_of(pp.cols[sol.x[: pp.m] > 0.5]),
        objective=sol.objective,
        bound=sol.bound,
        status=sol.status,
        method=f"{HIGHS_MIP} (capacitated)",
        details=details,
        assignment=assignment,
    )


def _restrict(pp: _Pairs, open_cols: np.ndarray) -> _Pairs:
    """The pairs of the open model columns only (columns renumbered)."""
    pos = np.full(pp.m, -1, dtype=np.int64)
    pos[open_cols] = np.arange(len(open_cols))
    k = pos[pp.pcol] >= 0
    return _Pairs(pp.cols[open_cols], pp.rows, pp.pr[k], pp.prow[k], pos[pp.pcol[k]], pp.pdist[k])


def _cap_pairs(run: SolveRun, pp: _Pairs) -> CapPairs:
    """The capacitated model of ``run`` in the minimisation form of :mod:`.caplagrange`."""
    prob, kind = run.prob, run.spec.kind
    w = prob.weights[pp.prow]
    if kind == "pmedian":
        cost = w * pp.pdist
        ucost = prob.weights[pp.rows] * run.penalty if run.penalty is not None else np.full(pp.n, np.inf)
    else:  # mclp: minimise the weight not served
        cost, ucost = -w, np.zeros(pp.n)
    assert prob.capacity is not None
    cap = np.where(np.isfinite(prob.capacity[pp.cols]), prob.capacity[pp.cols], np.inf)
    return CapPairs(pp.pr, pp.pcol, cost, w, ucost, cap)


def _relaxation(
    run: SolveRun, pp: _Pairs, card: tuple[float, float] | None, budget: float | None
) -> tuple[list[np.ndarray], float, dict[str, Any]]:
    """Plans to assign (best first) and a proven bound on the capacitated optimum (lower
    for p-median, upper for MCLP): the uncapacitated relaxation's choice and bound, then
    the capacitated Lagrangian's (:mod:`.caplagrange`), whose subproblems keep the
    capacities; the stronger bound is kept."""
    prob, kind = run.prob, run.spec.kind
    w = prob.weights[pp.rows]
    if kind == "pmedian":
        big = 10.0 * max(float(pp.pdist.max()) if pp.q else 1.0, 1.0) + 1.0
        pen = run.penalty if run.penalty is not None else big
        sc = SparseCost.build(pp.pr, pp.pcol, pp.pdist, w, pen, pp.m)
    else:
        sc = SparseCost.build(pp.pr, pp.pcol, np.zeros(pp.q), w, 1.0, pp.m)
    kmin, kmax = (0, pp.m) if card is None else (int(card[0]), int(min(card[1], pp.m)))
    rules = SiteRules.for_columns(
        prob, pp.cols, required=prob.required[pp.cols], kmin=kmin, kmax=kmax, budget=budget
    )
    mask, val, info = interchange_solve(
        sc, rules, n_starts=run.opts.n_starts, seed=run.opts.seed,
        time_limit_s=run.time_left(0.2, floor=0.1),
    )  # fmt: skip
    inc, lb, _fixed = bound_and_polish(
        sc, rules, Incumbent(mask, val, info), fixing=False,
        bound_deadline=time_share(run, 0.3), deadline=time_share(run, 0.35),
    )  # fmt: skip
    # the capacities kept: a stronger bound, and plans that respect them
    cp = _cap_pairs(run, pp)
    first = greedy_capacitated_value(cp, inc.mask)
    lam0 = np.full(cp.n, np.inf)
    np.minimum.at(lam0, cp.row, cp.cost)
    lam0 = np.where(np.isfinite(lam0), lam0, 0.0)
    cl = capacitated_lagrangian(cp, rules, first, lam0, deadline=time_share(run, 0.65))
    plans = sorted([(first, inc.mask), *cl.plans], key=lambda vp: vp[0])
    ordered: list[np.ndarray] = []
    for _v, pm in plans:
        if not any(np.array_equal(pm, o) for o in ordered):
            ordered.append(pm)
    integral = is_integral(w, pp.pdist, run.penalty) if kind == "pmedian" else is_integral(w)
    if kind == "pmedian":
        bound = round_bound(max(lb, cl.bound), integral, lower=True)
    else:
        bound = round_bound(min(float(w.sum()) - lb, -cl.bound), integral, lower=False)
        if card is not None:  # the open sites hold at most their capacities
            cap = prob.capacity[pp.cols] if prob.capacity is not None else np.full(pp.m, np.inf)
            req = prob.required[pp.cols]
            rest = np.sort(cap[~req])[::-1][: max(kmax - int(req.sum()), 0)]
            bound = min(bound, float(cap[req].sum() + rest.sum()))
    kept = "capacitated lagrangian" if (cl.bound > lb if kind == "pmedian" else -cl.bound < float(w.sum()) - lb) else "uncapacitated lagrangian"
    return ordered, bound, {"heuristic": inc.info, "bound": kept, "lagrangian_iterations": cl.iterations,
                            "plans_tried": 0}  # fmt: skip


def time_share(run: SolveRun, share: float) -> float:
    """``perf_counter`` time when ``share`` of the call's time limit has passed."""
    return run.t0 + share * run.opts.time_limit_s


def _assign_exact(run: SolveRun, pp: _Pairs, plan: np.ndarray) -> tuple[_Pairs, MilpModel, MipSolution]:
    """The capacitated assignment to the sites of ``plan``, solved exactly."""
    sub = _restrict(pp, np.flatnonzero(plan))
    model = _model(run, sub, None, None)
    model = MilpModel(
        model.c, model.A, model.row_lo, model.row_hi,
        lb=np.r_[np.ones(sub.m), model.lb[sub.m:]], ub=model.ub, integer=model.integer,
        maximize=model.maximize,
    )  # fmt: skip
    return sub, model, run.milp(model, label=f"capacitated {run.spec.kind} assignment")


def capacitated_heuristic(
    run: SolveRun, *, card: tuple[float, float] | None, budget: float | None
) -> Outcome:
    """Plans from the relaxations, the capacitated assignment to the best two solved
    exactly, and the stronger bound (see the module notes). Falls back to the full MILP
    when no plan's sites can hold the demand."""
    prob, kind = run.prob, run.spec.kind
    pp = _pairs(prob, kind, run.limit_m)
    plans, bound, details = _relaxation(run, pp, card, budget)
    best: tuple[_Pairs, MilpModel, MipSolution] | None = None
    failed: list[str] = []
    for plan in plans[:2]:
        if best is not None and time.perf_counter() > time_share(run, 0.85):
            break
        try:
            got = _assign_exact(run, pp, plan)
        except (InfeasibleError, SolverError) as exc:
            failed.append(str(exc))
            continue
        details["plans_tried"] += 1
        better = best is None or (got[2].objective > best[2].objective if kind == "mclp" else got[2].objective < best[2].objective)
        if better:
            best = got
    if best is None:
        logger.info("capacitated %s heuristic: %s; solving the full MILP", kind, "; ".join(failed))
        out = capacitated_outcome(run, card=card, budget=budget)
        return Outcome(
            out.open_mask, out.objective, out.bound, out.status, out.method,
            {**out.details, "heuristic_failed": "; ".join(failed)}, out.assignment,
        )  # fmt: skip
    sub, model, sol = best
    assignment, alloc = _allocation(prob, sub, sol)
    objective = float(sol.objective)
    proven = closes(abs(objective - bound), objective)
    details.update(
        allocation=alloc, single_source=run.opts.single_source,
        assignment_status=sol.status,
        model_size={"vars": sub.nvar, "rows": int(model.A.shape[0]), "nnz": int(model.A.nnz)},
    )  # fmt: skip
    return Outcome(
        open_mask=prob.mask_of(sub.cols),
        objective=objective,
        bound=objective if proven else bound,
        status=heuristic_status(proven and sol.status == "optimal"),
        method="greedy+interchange+capacitated-lagrangian+assignment",
        details=details,
        assignment=assignment,
    )


def solve_capacitated(
    run: SolveRun,
    *,
    card: tuple[float, float] | None,
    budget: float | None,
    uncoverable: np.ndarray,
) -> SiteSelection:
    """The capacitated branch of LSCP, MCLP and p-median, packaged.

    ``method="heuristic"`` (p-median, MCLP), or ``"auto"`` on a model with more than
    :data:`AUTO_EXACT_MAX_PAIRS` pairs, takes :func:`capacitated_heuristic`; otherwise
    the exact MILP.

    Raises
    ------
    ParameterError
        ``method="heuristic"`` for LSCP (exact only).
    InfeasibleError
        No assignment respects the capacities and the other rules.
    """
    kind = run.spec.kind
    if run.method == METHOD_HEURISTIC and kind == "lscp":
        raise ParameterError("capacitated LSCP is solved exactly only; use method='exact'")
    heuristic = kind != "lscp" and (
        run.method == METHOD_HEURISTIC
        or (
            run.method == METHOD_AUTO
            and _pairs(run.prob, kind, run.limit_m).q > AUTO_EXACT_MAX_PAIRS
        )
    )
    costs = run.prob.costs
    outcome = (
        capacitated_heuristic(run, card=card, budget=budget)
        if heuristic
        else capacitated_outcome(run, card=card, budget=budget)
    )
    return run.finish(
        outcome,
        shrink={"demand_in": costs.n_demand, "sites_in": costs.n_sites},
        uncoverable=uncoverable,
    )
