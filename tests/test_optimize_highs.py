"""The HiGHS wrapper: honest statuses, and a silent library."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coverage.errors import InfeasibleError
from coverage.siting.optimize.highs import MilpModel, solve_milp


def test_highs_wrapper_statuses() -> None:
    A = sp.csr_matrix(np.array([[1.0, 1.0]]))
    sol = solve_milp(
        MilpModel(
            np.array([1.0, 2.0]),
            A,
            np.array([1.0]),
            np.array([np.inf]),
            lb=np.zeros(2),
            ub=np.ones(2),
            integer=np.array([True, True]),
        )
    )
    assert sol.status == "optimal" and sol.objective == 1.0 and sol.bound == 1.0
    with pytest.raises(InfeasibleError, match="nothing fits"):
        solve_milp(
            MilpModel(
                np.ones(2),
                A,
                np.array([3.0]),
                np.array([np.inf]),
                lb=np.zeros(2),
                ub=np.ones(2),
                integer=np.array([True, True]),
            ),
            infeasible_message="nothing fits",
        )


def test_library_prints_nothing() -> None:
    # HiGHS writes a banner to C stdout on its first instance; it must not leak
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import numpy as np\n"
        "from coverage.engine.costs import CostTable\n"
        "from coverage.siting.optimize import solve_lscp, solve_pmedian\n"
        "ct = CostTable.from_dense(np.array([[0., 5.], [5., 0.]]))\n"
        "solve_lscp(ct, radius_m=1.0)\n"
        "solve_pmedian(ct, p=1, method='exact')\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout == ""
    assert "Running HiGHS" not in out.stderr


def _cover_model(n: int, m: int, density: float, seed: int) -> MilpModel:
    """A random MCLP block (rows ``z_i <= sum x``, each site priced at 25): HiGHS needs a
    tree for these (measured: 400 × 80 took 355 nodes; 600 × 120 was not proven in 30 s)."""
    from coverage.siting.optimize.coverdecomp import _block_model

    rng = np.random.default_rng(seed)
    cov = sp.csr_matrix(rng.random((n, m)) < density)
    w = rng.integers(1, 20, n).astype(float)
    return _block_model(cov, w, np.full(m, -25.0), np.zeros(m, dtype=bool))


def test_a_set_stop_interrupts_the_solve() -> None:
    """``stop`` interrupts HiGHS: already set, before any node; set by another thread
    0.3 s in, long before the time limit, with its incumbent and a valid bound."""
    import threading
    import time

    model = _cover_model(400, 80, 0.06, 3)
    ev = threading.Event()
    ev.set()
    sol = solve_milp(model, time_limit_s=60, stop=ev, start=np.zeros(len(model.c)))
    assert sol.model_status == "Interrupted by user" and sol.status == "time_limit"
    assert sol.nodes == 0
    model = _cover_model(600, 120, 0.04, 3)
    ev = threading.Event()
    timer = threading.Timer(0.3, ev.set)
    t0 = time.perf_counter()
    timer.start()
    sol = solve_milp(model, time_limit_s=60, stop=ev, start=np.zeros(len(model.c)))
    assert time.perf_counter() - t0 < 20.0  # the limit is 60 s; unstopped it runs to it
    assert sol.model_status == "Interrupted by user" and sol.status == "time_limit"
    m = 120
    x, z = sol.x[:m], sol.x[m:]
    a = model.A.toarray()
    assert np.all(a @ sol.x <= 1e-9)  # the incumbent is feasible: z_i <= sum x over its sites
    assert sol.objective == pytest.approx(float(model.c @ sol.x))
    assert np.isfinite(sol.bound) and sol.bound >= sol.objective - 1e-6
    assert set(np.unique(x)) <= {0.0, 1.0} and np.all((z >= -1e-9) & (z <= 1 + 1e-9))
