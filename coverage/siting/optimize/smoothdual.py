"""The MCLP LP bound in seconds at city scale: the dual of the LP relaxation, smoothed.

At 100,000 homes × 10,000 sites (issue 13) HiGHS' interior point method needs 21–33 s for
the LP relaxation of the reduced MCLP (45,678 rows, 1.5 M nonzeros), half of a one-minute
solve. Its only uses are multipliers for the Lagrangian bound and the site closing
(:func:`~coverage.siting.optimize.coverdecomp.closed_by_duals`), and a fractional
solution to round. Both come, nearly as good, from the dual solved as a smooth problem.

The dual
--------
With cardinality ``k``, required sites ``R`` and row weights ``w``, the LP dual of the
MCLP is the Lagrangian dual of the coverage rows ``z_i <= sum_{j in N_i} x_j``:

.. math::

    \\min_{0 \\le \\lambda \\le w,\\ \\mu \\ge 0}\\ D(\\lambda, \\mu) =
    (k - |R|)\\mu + \\sum_i (w_i - \\lambda_i) + \\sum_{j \\in R} \\rho_j
    + \\sum_{j \\notin R} \\max(0, \\rho_j - \\mu), \\qquad \\rho = A^T \\lambda .

Replacing ``max(0, t)`` by ``tau * log(1 + exp(t / tau))`` (larger, by at most
``tau log 2`` per site) makes ``D`` smooth and convex (Nesterov 2005, "Smooth minimization
of non-smooth functions", Math. Prog. 103). L-BFGS-B (scipy; Byrd, Lu, Nocedal & Zhu 1995)
minimises it within the box for a decreasing sequence of ``tau``, each stage from the
previous one's answer (continuation). The gradient is ``-1 + A s`` in ``lambda`` and
``(k - |R|) - sum s`` in ``mu``, with ``s_j = sigmoid((rho_j - mu) / tau)`` (1 on ``R``):
``s`` is the smoothed primal, which approximates the LP's ``x`` (``sum s = k - |R|`` at
a stationary point with ``mu > 0``).

Nothing here is trusted as a bound: callers evaluate the exact Lagrangian value of the
multipliers, which bounds the MCLP for any ``0 <= lambda <= w``. Measured on that
instance (k = 100, :data:`SMOOTH_ITERATIONS` = 200): 7.1 s gave multipliers whose
Lagrangian value is 1,268,804.6 against the LP optimum 1,268,771.2; against the optimum,
1,267,641, the four stages' multipliers together close 4,637 of the 7,196 sites, the LP
duals 4,571.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit

__all__ = ["SMOOTH_ITERATIONS", "SMOOTH_SCHEDULE", "SmoothDual", "smoothed_dual", "smoothed_value"]

logger = logging.getLogger(__name__)

#: Smoothing ``tau`` of each stage, as a share of the weight per open site
#: (``sum w / (k - |R|)``). Measured (issue 13, k = 100, 12,700 weight per site): 300, 30,
#: 3, 0.3 reached 16 above the LP optimum in 11 s; ending at 3 stayed 136 above; starting
#: at 20 (not 300) left L-BFGS-B far from the optimum after 120 steps a stage.
SMOOTH_SCHEDULE: tuple[float, ...] = (2e-2, 2e-3, 2e-4, 2e-5)

#: L-BFGS-B iterations per stage (about 9 ms each at 1.4 M nonzeros). Measured (issue 13,
#: k = 100): 300 a stage took 9.8 s and left 2,546 sites open against the optimum, 250
#: 8.7 s and 2,552, 200 7.1 s and 2,559; three stages (2e-2, 2e-4, 2e-5) 7.9 s and 2,643.
SMOOTH_ITERATIONS = 200

#: Starting multipliers, as a share of each row's weight.
SMOOTH_START = 0.3


@dataclass
class SmoothDual:
    """Multipliers from the smoothed LP dual.

    Attributes
    ----------
    lam
        Row multipliers of the last stage, in ``[0, w]``.
    stages
        The multipliers at the end of each stage, last first (each closes sites on its
        own; callers may use them all).
    x
        The smoothed primal ``s`` of the last stage: a fractional site solution near the
        LP's (required sites at 1).
    seconds, iterations
        Time and L-BFGS-B iterations in all.
    stopped
        Whether the deadline cut the schedule short.
    """

    lam: np.ndarray
    x: np.ndarray
    stages: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0
    iterations: int = 0
    stopped: bool = False


def smoothed_value(
    v: np.ndarray,
    tau: float,
    a: sp.csr_matrix,
    at: sp.csr_matrix,
    w: np.ndarray,
    required: np.ndarray,
    free_k: int,
) -> tuple[float, np.ndarray]:
    """The smoothed dual of the module notes and its gradient at ``v = (lambda, mu)``:
    ``a`` is rows × sites (``at`` its transpose, both float CSR), ``free_k = k - |R|``."""
    n = a.shape[0]
    lam, mu = v[:n], v[n]
    rho = at @ lam
    t = (rho - mu) / tau
    s = np.where(required, 1.0, expit(t))
    soft = np.where(required, rho, tau * np.logaddexp(0.0, t))
    f = free_k * mu + float((w - lam).sum()) + float(soft.sum())
    g = np.empty(n + 1)
    g[:n] = a @ s - 1.0
    g[n] = free_k - float(s[~required].sum())
    return f, g


def smoothed_dual(
    cov: sp.spmatrix,
    w: np.ndarray,
    k: int,
    required: np.ndarray,
    *,
    deadline: float,
    schedule: tuple[float, ...] = SMOOTH_SCHEDULE,
    iterations: int = SMOOTH_ITERATIONS,
) -> SmoothDual | None:
    """Minimise the smoothed MCLP LP dual of the module notes until ``deadline``.

    ``cov`` is rows × sites (which sites cover which row), ``w`` the row weights (``> 0``),
    ``k`` the largest number of open sites, ``required`` the sites forced open. Returns
    ``None`` when there is nothing to price: no rows, no sites, or no free choice left
    (``k <= |R|``).
    """
    t0 = time.perf_counter()
    w = np.asarray(w, dtype=np.float64)
    n, m = cov.shape
    required = np.asarray(required, dtype=bool)
    free_k = int(k) - int(required.sum())
    if n == 0 or m == 0 or free_k <= 0 or not (w > 0).any():
        return None
    a = sp.csr_matrix(cov, dtype=np.float64)
    at = sp.csr_matrix(a.T)
    scale = float(w.sum()) / free_k
    state = {"iterations": 0}

    def check(intermediate_result: object) -> None:  # scipy passes it by this name
        state["iterations"] += 1
        if time.perf_counter() > deadline:
            raise StopIteration

    v = np.concatenate([SMOOTH_START * w, [0.0]])
    bounds = np.column_stack([np.zeros(n + 1), np.concatenate([w, [np.inf]])])
    stages: list[np.ndarray] = []
    stopped = False
    tau = scale
    for share in schedule:
        if time.perf_counter() > deadline:
            stopped = True
            break
        tau = max(share * scale, 1e-9)
        res = minimize(
            smoothed_value, v, args=(tau, a, at, w, required, free_k), jac=True,
            method="L-BFGS-B", bounds=bounds, callback=check,
            options={"maxiter": int(iterations), "maxcor": 20},
        )  # fmt: skip
        v = np.clip(res.x, bounds[:, 0], bounds[:, 1])
        stages.insert(0, v[:n].copy())
        if time.perf_counter() > deadline:
            stopped = True
            break
    if not stages:
        return None
    lam = stages[0]
    rho = at @ lam
    x = np.where(required, 1.0, expit((rho - v[n]) / tau))
    out = SmoothDual(
        lam=lam, x=x, stages=stages, seconds=time.perf_counter() - t0,
        iterations=state["iterations"], stopped=stopped,
    )  # fmt: skip
    logger.info(
        "MCLP smoothed LP dual: %d stages, %d L-BFGS-B iterations, %.2f s%s",
        len(stages), out.iterations, out.seconds, " (deadline)" if stopped else "",
    )  # fmt: skip
    return out
