"""A thin, honest wrapper around the HiGHS MIP solver (``highspy``).

The constraint matrix is passed in one call (``Highs.passModel`` with a column-wise
sparse matrix built by :mod:`scipy.sparse`), never one Python call per nonzero. After the
run the *real* model status, primal bound, dual bound and MIP gap are read back:

* ``kOptimal`` with a gap within tolerance → ``status="optimal"``;
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
import time
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from ...errors import InfeasibleError, SolverError

__all__ = ["MipSolution", "solve_milp"]

logger = logging.getLogger(__name__)

_MS = highspy.HighsModelStatus
_LIMITS = {
    _MS.kTimeLimit: "time_limit",
    _MS.kIterationLimit: "iteration_limit",
    _MS.kSolutionLimit: "solution_limit",
    _MS.kInterrupt: "interrupted",
    _MS.kObjectiveBound: "objective_bound",
    _MS.kObjectiveTarget: "objective_target",
}
for _name in ("kMemoryLimit", "kHighsInterrupt"):
    if hasattr(_MS, _name):
        _LIMITS[getattr(_MS, _name)] = _name[1:].lower()


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
    gap
        Relative gap ``|objective - bound| / max(|objective|, 1)``.
    status
        ``"optimal"`` only when HiGHS proved optimality within ``mip_rel_gap``;
        ``"gap_limit"`` when it stopped at a positive user gap; otherwise
        ``"time_limit"`` (any work limit).
    model_status
        HiGHS' own model status string.
    seconds
        Wall time of the run.
    nodes
        Branch-and-bound nodes.
    """

    x: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    model_status: str
    seconds: float
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


def solve_milp(
    c: np.ndarray,
    A: sp.spmatrix,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    *,
    lb: np.ndarray,
    ub: np.ndarray,
    integer: np.ndarray | None = None,
    maximize: bool = False,
    offset: float = 0.0,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    threads: int = 1,
    seed: int = 0,
    start: np.ndarray | None = None,
    label: str = "model",
    infeasible_message: str | None = None,
) -> MipSolution:
    """Solve ``min/max c·x + offset`` s.t. ``row_lo <= A x <= row_hi``, ``lb <= x <= ub``.

    Parameters
    ----------
    c, A, row_lo, row_hi, lb, ub
        Model data; ``A`` is any scipy sparse matrix (converted to CSC once).
        Infinite bounds are allowed.
    integer
        Boolean mask of integer columns (``None`` = pure LP).
    maximize
        Maximise instead of minimise.
    offset
        Constant added to the objective.
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
    n = len(c)
    A = sp.csc_matrix(A, dtype=np.float64)
    A.sum_duplicates()
    A.sort_indices()
    if A.shape[1] != n:
        raise SolverError(f"{label}: matrix has {A.shape[1]} columns for {n} variables")
    m = A.shape[0]
    integrality = np.zeros(n, dtype=np.int32) if integer is None else np.asarray(integer, np.int32)
    is_mip = bool(integrality.any())
    h = _new_highs(threads)
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.01)))
    h.setOptionValue("random_seed", int(seed))
    if is_mip:
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.setOptionValue("mip_abs_gap", 1e-9 if mip_rel_gap == 0 else 1e-6)
    sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    status = h.passModel(
        n,
        m,
        A.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(sense),
        float(offset),
        np.ascontiguousarray(c, dtype=np.float64),
        np.ascontiguousarray(lb, dtype=np.float64),
        np.ascontiguousarray(ub, dtype=np.float64),
        np.ascontiguousarray(row_lo, dtype=np.float64),
        np.ascontiguousarray(row_hi, dtype=np.float64),
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data,
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError(f"{label}: HiGHS rejected the model (passModel error)")
    if start is not None and is_mip:
        sol = highspy.HighsSolution()
        sol.col_value = np.ascontiguousarray(start, dtype=np.float64)
        h.setSolution(sol)
    logger.debug(
        "%s: HiGHS %d cols (%d int), %d rows, %d nnz", label, n, int(integrality.sum()), m, A.nnz
    )
    if is_mip:
        _log_progress(h, label)
    run = h.run()
    if run == highspy.HighsStatus.kError and h.getModelStatus() == _MS.kNotset:
        # The global thread scheduler was started with another thread count.
        highspy.Highs.resetGlobalScheduler(True)
        run = h.run()
    ms = h.getModelStatus()
    ms_text = h.modelStatusToString(ms)
    info = h.getInfo()
    seconds = time.perf_counter() - t0
    if ms in (_MS.kInfeasible, _MS.kUnboundedOrInfeasible):
        raise InfeasibleError(infeasible_message or f"{label}: no feasible solution exists")
    if ms == _MS.kUnbounded:
        raise SolverError(f"{label}: HiGHS reports an unbounded model (internal error)")
    has_sol = info.primal_solution_status == highspy.kSolutionStatusFeasible
    if ms == _MS.kOptimal:
        state = "optimal"
    elif ms in _LIMITS:
        if not has_sol:
            raise SolverError(
                f"{label}: HiGHS stopped ({ms_text}) after {seconds:.1f} s without a "
                "feasible solution; raise time_limit_s (--time-limit) or use method='heuristic' (--method heuristic)"
            )
        state = "time_limit"
    else:
        raise SolverError(f"{label}: HiGHS failed with model status {ms_text!r}")
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    if is_mip:
        isint = integrality.astype(bool)
        x[isint] = np.round(x[isint])
        obj = float(info.objective_function_value)
        bound = float(info.mip_dual_bound)
        nodes = int(info.mip_node_count)
    else:
        obj = float(info.objective_function_value)
        bound = obj if state == "optimal" else (np.inf if not maximize else -np.inf)
        nodes = 0
    if not np.isfinite(bound):
        bound = -np.inf if not maximize else np.inf
    gap = abs(obj - bound) / max(abs(obj), 1.0) if np.isfinite(bound) else np.inf
    if state == "optimal" and mip_rel_gap > 0 and gap > 1e-6 and abs(obj - bound) > 1e-6:
        state = "gap_limit"  # stopped at the user's gap: a good answer, not a proof
    logger.info(
        "%s: HiGHS %s, objective %.6g, bound %.6g, gap %.2e, %d nodes, %.2f s",
        label,
        ms_text,
        obj,
        bound,
        gap,
        nodes,
        seconds,
    )
    return MipSolution(
        x=x,
        objective=obj,
        bound=bound,
        gap=gap,
        status=state,
        model_status=ms_text,
        seconds=seconds,
        nodes=nodes,
    )
