"""A thin, honest wrapper around the HiGHS MIP solver (``highspy``).

A model is one :class:`MilpModel` record. The constraint matrix is passed in one call (``Highs.passModel`` with a column-wise
sparse matrix built by :mod:`scipy.sparse`), never one Python call per nonzero. After the
run the *real* model status, primal bound, dual bound and MIP gap are read back:

* ``kOptimal`` with a gap within tolerance → ``status="optimal"``
  (:data:`~coverage.siting.optimize.options.STATUS_OPTIMAL`), or ``"gap_limit"`` when it
  stopped at a positive user ``mip_rel_gap``;
* a time/iteration/node limit with an incumbent → ``status="time_limit"`` (objective
  and bound both reported; never presented as optimal);
* a limit without any feasible solution → :class:`~coverage.errors.SolverError`;
* ``kInfeasible`` (or infeasible-or-unbounded: every model here is bounded) →
  :class:`~coverage.errors.InfeasibleError`.

HiGHS writes a version banner to C stdout when the first ``Highs`` object of a process
is created; that one construction runs with file descriptor 1 pointed at ``/dev/null``.
Everything else is silenced (``output_flag=False``) and summarised through
:mod:`logging`.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from ...errors import InfeasibleError, SolverError
from .options import STATUS_GAP_LIMIT, STATUS_OPTIMAL, STATUS_TIME_LIMIT

__all__ = ["MilpModel", "MipSolution", "lp_relaxation", "solve_milp"]

logger = logging.getLogger(__name__)

_MS = highspy.HighsModelStatus
#: Model statuses of a run stopped by a work limit (time, iterations, nodes, ...).
_LIMITS = frozenset(
    getattr(_MS, name)
    for name in (
        "kTimeLimit",
        "kIterationLimit",
        "kSolutionLimit",
        "kInterrupt",
        "kObjectiveBound",
        "kObjectiveTarget",
        "kMemoryLimit",
        "kHighsInterrupt",
    )
    if hasattr(_MS, name)
)


#: HiGHS settings for MILPs whose LPs are large and degenerate and whose binaries are
#: few after the reductions (the p-median's radius chain, the MCLP on the sites its LP
#: duals leave open): the LPs by the interior point method, presolve off, branching on
#: pseudocosts from the start instead of strong branching. Measured (issue 13) in
#: :data:`~coverage.siting.optimize.pmedian.CHAIN_HIGHS_OPTIONS` and
#: :data:`~coverage.siting.optimize.mclp.CLOSED_MILP_OPTIONS`.
DEGENERATE_MIP_OPTIONS: dict[str, Any] = {
    "mip_pscost_minreliable": 0,
    "mip_lp_solver": "ipm",
    "presolve": "off",
}
#: Added when a heuristic's answer is handed over as the start: HiGHS' own primal
#: heuristics (sub-MIPs, feasibility jump, root reduced cost) off.
START_MIP_OPTIONS: dict[str, Any] = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False,
}


@dataclass(frozen=True, eq=False)
class MilpModel:
    """``min/max c·x + offset`` s.t. ``row_lo <= A x <= row_hi``, ``lb <= x <= ub``.

    Attributes
    ----------
    c, A, row_lo, row_hi, lb, ub
        Model data; ``A`` is any scipy sparse matrix (converted to CSC once, by
        :func:`solve_milp`). Infinite bounds are allowed.
    integer
        Boolean mask of integer columns (``None`` = pure LP).
    maximize
        Maximise instead of minimise.
    offset
        Constant added to the objective.
    highs_options
        Further HiGHS options for this model (e.g. branching settings), set after the
        shared ones.
    """

    c: np.ndarray
    A: sp.spmatrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray | None = None
    maximize: bool = False
    offset: float = 0.0
    highs_options: Mapping[str, Any] | None = None

    @property
    def integrality(self) -> np.ndarray:
        """HiGHS integrality codes (1 = integer column)."""
        n = len(self.c)
        return np.zeros(n, dtype=np.int32) if self.integer is None else np.asarray(self.integer, np.int32)


@dataclass(frozen=True)
class MipSolution:
    """What HiGHS returned.

    Attributes
    ----------
    x
        Column values (rounded to integers for integer columns).
    objective
        Objective of ``x`` (including the offset), in the model's sense.
    bound
        Proven dual bound (lower bound when minimising, upper when maximising);
        equals ``objective`` for a solved LP.
    status
        ``"optimal"`` only when HiGHS proved optimality within ``mip_rel_gap``;
        ``"gap_limit"`` when it stopped at a positive user gap; otherwise
        ``"time_limit"`` (any work limit).
    model_status
        HiGHS' own model status string.
    nodes
        Branch-and-bound nodes.
    """

    x: np.ndarray
    objective: float
    bound: float
    status: str
    model_status: str
    nodes: int


_BANNER_SHOWN = False


@contextlib.contextmanager
def _quiet_fd1() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (C-level output, e.g. HiGHS' banner)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - platforms without a C runtime handle
        libc = None
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                yield
            finally:
                if libc is not None:
                    libc.fflush(None)
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def _new_highs(threads: int) -> highspy.Highs:
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        # HiGHS writes a version banner to C stdout when the first instance of the
        # process is created, before any option can be set; keep library code silent.
        try:
            with _quiet_fd1():
                h = highspy.Highs()
        except OSError:  # pragma: no cover - no usable fd 1
            h = highspy.Highs()
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    return h


def new_highs(threads: int = 1) -> highspy.Highs:
    """A silent HiGHS instance on ``threads`` threads, for callers that solve many small
    models through one instance (``clearModel`` between them)."""
    return _new_highs(threads)


def _log_progress(h: highspy.Highs, label: str) -> None:
    """Log every improving MIP solution (objective, bound, gap, time) at INFO level, at most
    one line a second after the first two seconds: the CLI shows these as progress."""
    last = [-1.0]

    def on_improving(event: object) -> None:
        try:
            d = event.data_out  # type: ignore[attr-defined]
            t = float(d.running_time)
            if t < 2.0 or t - last[0] < 1.0:
                return
            last[0] = t
            logger.info(
                "%s: %.0f s, incumbent %.6g, bound %.6g, gap %.2e",
                label, t, d.objective_function_value, d.mip_dual_bound, d.mip_gap,
            )  # fmt: skip
        except Exception:  # pragma: no cover - logging must never break a solve
            pass

    try:
        h.cbMipImprovingSolution.subscribe(on_improving)
    except AttributeError:  # pragma: no cover - highspy without the callback API
        logger.debug("this highspy has no MIP callbacks; no progress lines")


def _interrupt_on(h: highspy.Highs, stop: threading.Event) -> None:
    """Interrupt the MIP solve once ``stop`` is set, at HiGHS' next check of its limits
    (where it checks the time limit too: not inside an LP, so a root LP of seconds runs
    to its end; measured 15 s on a 4,657-site MCLP)."""

    def on_check(event: object) -> None:
        if stop.is_set():
            event.interrupt()  # type: ignore[attr-defined]

    h.cbMipInterrupt.subscribe(on_check)


def _pass_model(h: highspy.Highs, model: MilpModel, label: str) -> None:
    """Hand the whole model to HiGHS in one call (column-wise CSC matrix)."""
    n = len(model.c)
    A = sp.csc_matrix(model.A, dtype=np.float64)
    A.sum_duplicates()
    A.sort_indices()
    if A.shape[1] != n:
        raise SolverError(f"{label}: matrix has {A.shape[1]} columns for {n} variables")
    integrality = model.integrality
    sense = highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize
    status = h.passModel(
        n,
        A.shape[0],
        A.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(sense),
        float(model.offset),
        np.ascontiguousarray(model.c, dtype=np.float64),
        np.ascontiguousarray(model.lb, dtype=np.float64),
        np.ascontiguousarray(model.ub, dtype=np.float64),
        np.ascontiguousarray(model.row_lo, dtype=np.float64),
        np.ascontiguousarray(model.row_hi, dtype=np.float64),
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data,
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError(f"{label}: HiGHS rejected the model (passModel error)")
    logger.debug(
        "%s: HiGHS %d cols (%d int), %d rows, %d nnz",
        label, n, int(integrality.sum()), A.shape[0], A.nnz,
    )  # fmt: skip


def _run(h: highspy.Highs) -> None:
    run = h.run()
    if run == highspy.HighsStatus.kError and h.getModelStatus() == _MS.kNotset:
        # The global thread scheduler was started with another thread count.
        highspy.Highs.resetGlobalScheduler(True)
        h.run()


def _state(
    h: highspy.Highs, *, label: str, seconds: float, infeasible_message: str | None
) -> str:
    """Optimal or stopped at a limit with an incumbent; raise on anything else."""
    ms = h.getModelStatus()
    ms_text = h.modelStatusToString(ms)
    if ms in (_MS.kInfeasible, _MS.kUnboundedOrInfeasible):
        raise InfeasibleError(infeasible_message or f"{label}: no feasible solution exists")
    if ms == _MS.kUnbounded:
        raise SolverError(f"{label}: HiGHS reports an unbounded model (internal error)")
    if ms == _MS.kOptimal:
        return STATUS_OPTIMAL
    if ms not in _LIMITS:
        raise SolverError(f"{label}: HiGHS failed with model status {ms_text!r}")
    if h.getInfo().primal_solution_status != highspy.kSolutionStatusFeasible:
        raise SolverError(
            f"{label}: HiGHS stopped ({ms_text}) after {seconds:.1f} s without a "
            "feasible solution; raise time_limit_s (--time-limit) or use method='heuristic' (--method heuristic)"
        )
    return STATUS_TIME_LIMIT


def _read(h: highspy.Highs, model: MilpModel, state: str) -> tuple[np.ndarray, float, float, int]:
    """Column values (integers rounded), objective, dual bound and node count."""
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    obj = float(info.objective_function_value)
    isint = model.integrality.astype(bool)
    if isint.any():
        x[isint] = np.round(x[isint])
        bound = float(info.mip_dual_bound)
        nodes = int(info.mip_node_count)
    else:
        bound = obj if state == STATUS_OPTIMAL else (np.inf if not model.maximize else -np.inf)
        nodes = 0
    if not np.isfinite(bound):
        bound = -np.inf if not model.maximize else np.inf
    return x, obj, bound, nodes


def solve_milp(  # noqa: PLR0913  (HiGHS settings, each a keyword)
    model: MilpModel,
    *,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    threads: int = 1,
    seed: int = 0,
    start: np.ndarray | None = None,
    label: str = "model",
    infeasible_message: str | None = None,
    stop: threading.Event | None = None,
) -> MipSolution:
    """Solve a :class:`MilpModel` with HiGHS and report what was proven.

    Parameters
    ----------
    model
        The model.
    time_limit_s
        HiGHS ``time_limit`` (seconds, wall clock of this run).
    mip_rel_gap
        HiGHS ``mip_rel_gap``; the default 0 asks for a proof of optimality
        (HiGHS' own default, 1e-4, would stop early and still say "optimal").
    threads
        HiGHS ``threads`` (1 or 2 on small machines).
    seed
        HiGHS ``random_seed``.
    start
        Optional feasible column values handed to HiGHS as an incumbent.
    label
        Model name for log and error messages.
    infeasible_message
        Message of the :class:`InfeasibleError` raised when HiGHS proves infeasibility.
    stop
        Optional event: once set (by another thread), HiGHS is interrupted at its next MIP
        check and the result is read as at a time limit (its incumbent and bound).
    Returns
    -------
    MipSolution

    Raises
    ------
    InfeasibleError
        HiGHS proved that no solution exists.
    SolverError
        HiGHS stopped without a feasible solution or with an error.
    """
    t0 = time.perf_counter()
    is_mip = bool(model.integrality.any())
    h = _new_highs(threads)
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.01)))
    h.setOptionValue("random_seed", int(seed))
    if is_mip:
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.setOptionValue("mip_abs_gap", 1e-9 if mip_rel_gap == 0 else 1e-6)
    for name, value in (model.highs_options or {}).items():
        h.setOptionValue(name, value)
    _pass_model(h, model, label)
    if start is not None and is_mip:
        sol = highspy.HighsSolution()
        sol.col_value = np.ascontiguousarray(start, dtype=np.float64)
        h.setSolution(sol)
    if is_mip:
        _log_progress(h, label)
        if stop is not None:
            _interrupt_on(h, stop)
    _run(h)
    seconds = time.perf_counter() - t0
    state = _state(h, label=label, seconds=seconds, infeasible_message=infeasible_message)
    x, obj, bound, nodes = _read(h, model, state)
    gap = abs(obj - bound) / max(abs(obj), 1.0) if np.isfinite(bound) else np.inf
    if state == STATUS_OPTIMAL and mip_rel_gap > 0 and gap > 1e-6 and abs(obj - bound) > 1e-6:
        state = STATUS_GAP_LIMIT  # stopped at the user's gap: a good answer, not a proof
    ms_text = h.modelStatusToString(h.getModelStatus())
    logger.info(
        "%s: HiGHS %s, objective %.6g, bound %.6g, gap %.2e, %d nodes, %.2f s",
        label, ms_text, obj, bound, gap, nodes, seconds,
    )  # fmt: skip
    return MipSolution(
        x=x, objective=obj, bound=bound, status=state, model_status=ms_text, nodes=nodes
    )


def lp_relaxation(
    model: MilpModel, *, time_limit_s: float, threads: int = 1, label: str = "LP"
) -> tuple[np.ndarray, np.ndarray] | None:
    """Column values and row duals of the LP relaxation of ``model`` by HiGHS' interior
    point method without crossover, or ``None`` when it stops without an optimum (time
    limit, error).

    Neither is trusted: the column values only seed a heuristic, and the duals are not
    taken as a bound: callers turn them into multipliers of a
    Lagrangian relaxation and evaluate that exactly, so an inaccurate or early-stopped
    interior point solution only gives a weaker (still valid) bound.
    """
    t0 = time.perf_counter()
    h = _new_highs(threads)
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.01)))
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    relaxed = MilpModel(
        model.c, model.A, model.row_lo, model.row_hi, model.lb, model.ub,
        maximize=model.maximize, offset=model.offset,
    )  # fmt: skip
    _pass_model(h, relaxed, label)
    _run(h)
    ms = h.getModelStatus()
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64)
    duals = np.asarray(sol.row_dual, dtype=np.float64)
    ok = (
        ms == _MS.kOptimal
        and len(duals) == model.A.shape[0]
        and len(x) == len(model.c)
        and bool(np.all(np.isfinite(duals)))
    )
    logger.info(
        "%s: HiGHS IPM %s, objective %.6g, %.2f s",
        label, h.modelStatusToString(ms), h.getInfo().objective_function_value,
        time.perf_counter() - t0,
    )  # fmt: skip
    return (x, duals) if ok else None
