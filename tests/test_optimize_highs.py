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
