"""The opening and closing every site-selection model shares.

Each ``solve_*`` function is its own model between a common opening and closing:

1. :meth:`ModelSpec.options` merges ``options=`` with the keyword overrides into one
   validated :class:`~coverage.siting.optimize.options.SolveOptions`, checks the method
   against the model's methods and refuses options the model cannot honour;
2. :func:`~coverage.siting.optimize.problem.build_problem` validates the problem data,
   and a :class:`SolveRun` carries it with the options and the clock (time shares,
   whether to solve exactly, MILP calls with the shared HiGHS settings);
3. the model returns an :class:`Outcome` (open sites, objective, proven bound, status,
   method) and :meth:`SolveRun.finish` packages it as a
   :class:`~coverage.siting.optimize.result.SiteSelection` with the gap, the ranking
   and the assignment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...engine.costs import CostTable
from ...errors import ParameterError
from .highs import MilpModel, MipSolution, solve_milp
from .options import METHOD_AUTO, METHOD_HEURISTIC, STATUS_HEURISTIC, STATUS_OPTIMAL, SolveOptions
from .problem import Problem
from .result import SiteSelection, nearest_open, rank_by_gain

__all__ = [
    "HIGHS_MIP",
    "ModelSpec",
    "Outcome",
    "SolveRun",
    "closes",
    "count_arg",
    "heuristic_status",
    "resolve_radius",
]

logger = logging.getLogger(__name__)

#: ``SiteSelection.method`` of an answer solved by the HiGHS MILP.
HIGHS_MIP = "highs-mip"


def _either(words: tuple[str, ...]) -> str:
    quoted = [repr(w) for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@dataclass(frozen=True)
class ModelSpec:
    """What a model declares to the shared opening.

    Attributes
    ----------
    kind
        Formulation family: ``"lscp"``, ``"mclp"``, ``"pmedian"`` or ``"pcenter"``.
    label
        Name in messages (``"LSCP"``, ``"MCLP"``, ``"p-median"``, ``"p-center"``).
    methods
        The ``method`` values the model understands.
    covering
        Whether demand counts as served only within a radius (LSCP, MCLP, p-center).
    refuses
        :class:`SolveOptions` fields the model has no use for: setting one is an error
        rather than silently ignored (e.g. ``site_cost`` in p-median).
    name
        ``SiteSelection.model`` (default: ``kind``).
    """

    kind: str
    label: str
    methods: tuple[str, ...]
    covering: bool
    refuses: tuple[str, ...] = ()
    name: str = ""

    @property
    def model(self) -> str:
        """Model name recorded in the result."""
        return self.name or self.kind

    def options(self, options: SolveOptions | None, overrides: Mapping[str, Any]) -> SolveOptions:
        """The validated options of one call of this model."""
        opts = SolveOptions.resolve(options, overrides, caller=f"solve_{self.model}")
        if opts.method not in self.methods:
            raise ParameterError(
                f"method must be {_either(self.methods)}, got {opts.method!r}"
            )
        refused = [f for f in self.refuses if opts.is_set(f)]
        if refused:
            raise ParameterError(
                f"{self.label} does not use {', '.join(refused)}; leave it unset for this model"
            )
        return opts


@dataclass(frozen=True, eq=False)
class Outcome:
    """A model's answer before it is packaged.

    Attributes
    ----------
    open_mask
        Open sites over all sites of the table.
    objective
        Objective recomputed on the full, unreduced input.
    bound
        Best proven bound (``nan`` if none).
    status
        One of :data:`~coverage.siting.optimize.options.STATUSES`.
    method
        How it was solved.
    details
        Model-specific extras.
    assignment
        Site of each demand row when the model decides it (capacities); ``None`` = the
        nearest open site.
    """

    open_mask: np.ndarray
    objective: float
    bound: float
    status: str
    method: str
    details: dict[str, Any] = field(default_factory=dict)
    assignment: np.ndarray | None = None


def closes(gap: float, scale: float) -> bool:
    """Whether a bound ``gap`` away from a value of size ``scale`` proves it optimal."""
    return gap <= 1e-9 * max(abs(scale), 1.0) + 1e-9


def heuristic_status(proven: bool) -> str:
    """Status of a heuristic answer: optimal only when its bound proved it."""
    return STATUS_OPTIMAL if proven else STATUS_HEURISTIC


def count_arg(value: Any, name: str, *, minimum: int) -> int:
    """A whole number of sites (``p``, ``k``) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ParameterError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def resolve_radius(costs: CostTable, radius_m: float | None) -> float:
    """The service radius: ``radius_m`` or the table cutoff; never beyond the cutoff."""
    if radius_m is None:
        if not np.isfinite(costs.cutoff_m):
            raise ParameterError("radius_m is required when the cost table has no finite cutoff")
        return float(costs.cutoff_m)
    r = float(radius_m)
    if not np.isfinite(r) or r < 0:
        raise ParameterError(f"radius_m must be a finite number >= 0, got {radius_m!r}")
    if r > costs.cutoff_m + 1e-9:
        raise ParameterError(
            f"radius_m={r:g} exceeds the cost table cutoff ({costs.cutoff_m:g} m); "
            "rebuild the table with a larger cutoff"
        )
    return r


@dataclass(frozen=True, eq=False)
class SolveRun:
    """One call of a model: its spec, validated problem, options and clock.

    Attributes
    ----------
    spec
        The model.
    prob
        The validated problem.
    opts
        The validated options.
    t0
        ``time.perf_counter()`` at the start of the call.
    limit_m
        Service radius of covering models (``inf`` otherwise).
    penalty
        p-median unreachable penalty, or ``None``.
    """

    spec: ModelSpec
    prob: Problem
    opts: SolveOptions
    t0: float
    limit_m: float = np.inf
    penalty: float | None = None

    @property
    def method(self) -> str:
        """The requested method."""
        return self.opts.method

    @property
    def deadline(self) -> float:
        """When the time limit of the whole call runs out (``perf_counter`` clock)."""
        return self.t0 + self.opts.time_limit_s

    def time_left(self, share: float = 1.0, *, floor: float = 0.5) -> float:
        """``share`` of the time left, at least ``floor`` seconds."""
        return max(floor, (self.deadline - time.perf_counter()) * share)

    def bound_deadline(self) -> float:
        """Deadline of a Lagrangian bound: 80 % of the limit, at least one more second."""
        return max(self.t0 + 0.8 * self.opts.time_limit_s, time.perf_counter() + 1.0)

    def wants_exact(self, size: float = 0.0, max_size: float = np.inf) -> bool:
        """Exact unless the heuristic was asked for, or ``auto`` meets a model too large."""
        if self.method == METHOD_HEURISTIC:
            return False
        return not (self.method == METHOD_AUTO and size > max_size)

    def milp(
        self,
        model: MilpModel,
        *,
        label: str,
        infeasible_message: str | None = None,
        start: np.ndarray | None = None,
        time_limit_s: float | None = None,
        stop: threading.Event | None = None,
    ) -> MipSolution:
        """Solve ``model`` with the shared HiGHS settings (default: the time left), until
        ``stop`` is set if given."""
        return solve_milp(
            model,
            time_limit_s=self.time_left() if time_limit_s is None else time_limit_s,
            mip_rel_gap=self.opts.mip_rel_gap,
            threads=self.opts.threads,
            seed=self.opts.seed,
            start=start,
            label=label,
            infeasible_message=infeasible_message,
            stop=stop,
        )

    def _assignment(self, outcome: Outcome, limit_m: float) -> tuple[np.ndarray, np.ndarray]:
        if outcome.assignment is None:
            return nearest_open(self.prob, outcome.open_mask, limit_m)
        assignment = np.asarray(outcome.assignment, dtype=np.int64)
        adist = np.full(self.prob.n_demand, np.inf)
        t = self.prob.costs
        hit = assignment[t.demand_idx] == t.site_idx
        adist[t.demand_idx[hit]] = t.dist_m[hit]
        return assignment, adist

    def finish(
        self,
        outcome: Outcome,
        *,
        shrink: dict[str, Any],
        uncoverable: np.ndarray | None = None,
        limit_m: float | None = None,
    ) -> SiteSelection:
        """Package ``outcome`` as a :class:`SiteSelection`.

        The open sites are ranked by marginal gain; without an explicit assignment every
        demand row goes to its nearest open site within the radius (covering models) or
        within the table. ``gap = |objective - bound| / max(|objective|, 1)`` (``nan``
        without a bound). ``limit_m`` overrides the run's radius (p-center: achieved).
        """
        prob, spec = self.prob, self.spec
        limit = self.limit_m if limit_m is None else limit_m
        order, gains = rank_by_gain(
            prob, np.flatnonzero(outcome.open_mask), limit_m=limit, covering=spec.covering,
            penalty=self.penalty,
        )  # fmt: skip
        assignment, adist = self._assignment(outcome, limit)
        served = assignment >= 0
        load = np.bincount(
            assignment[served], weights=prob.weights[served], minlength=prob.n_sites
        ).astype(np.float64)[order]
        bound = outcome.bound
        if np.isfinite(bound):
            gap = abs(outcome.objective - bound) / max(abs(outcome.objective), 1.0)
        else:
            gap = float("nan") if np.isnan(bound) else float("inf")
        unc = np.zeros(0, dtype=object) if uncoverable is None else prob.costs.demand_ids[uncoverable]
        res = SiteSelection(
            model=spec.model,
            selected=order,
            objective=float(outcome.objective),
            best_bound=float(bound),
            gap=float(gap),
            status=outcome.status,
            method=outcome.method,
            assignment=assignment,
            covered=served & (adist <= limit) if spec.covering else None,
            seconds=time.perf_counter() - self.t0,
            shrink=dict(shrink),
            marginal_gain=gains,
            assigned_dist_m=adist,
            uncoverable=unc,
            site_ids=prob.costs.site_ids,
            demand_ids=prob.costs.demand_ids,
            required=prob.required[order],
            load=load,
            radius_m=None if not np.isfinite(limit) else float(limit),
            details=dict(outcome.details),
        )
        logger.info(
            "%s: %d sites, objective %.6g, bound %.6g, gap %.3g, %s (%s), %.2f s",
            res.model, len(order), res.objective, res.best_bound, res.gap, res.status,
            res.method, res.seconds,
        )  # fmt: skip
        return res
