"""Site-selection models against published / reference optima (``../shared/bench``).

Skipped when the benchmark folder is absent. The full tables are produced by
``benchmarks/bench_optimize.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from coverage.engine.costs import CostTable
from coverage.siting.optimize import solve_lscp, solve_mclp, solve_pmedian
from coverage.siting.optimize.instances import (
    read_mclp_points,
    read_mclp_reference,
    read_optima,
    read_pmed,
    read_scp,
)

BENCH = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not BENCH.is_dir(), reason=f"benchmark folder {BENCH} is absent"),
]


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def pmed_opt() -> dict[str, float]:
    return read_optima(_need(BENCH / "pmed" / "pmedopt.txt"))


def test_pmed_duplicate_edges_last_occurrence_wins(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text("3 3 1\n1 2 5\n2 3 1\n2 1 7\n")
    ct, p = read_pmed(f)
    d = ct.distance_matrix().toarray()
    assert p == 1 and d[0, 1] == 7 and d[0, 2] == 8


@pytest.mark.parametrize("name", ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5"])
def test_pmed_exact_reproduces_published_optimum(name: str, pmed_opt: dict[str, float]) -> None:
    ct, p = read_pmed(_need(BENCH / "pmed" / f"{name}.txt"))
    res = solve_pmedian(ct, p=p, method="exact", time_limit_s=60)
    assert res.status == "optimal"
    assert res.objective == pmed_opt[name]
    assert len(res.selected) == p


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pmed6", "pmed7", "pmed8", "pmed9", "pmed10"])
def test_pmed_exact_larger(name: str, pmed_opt: dict[str, float]) -> None:
    ct, p = read_pmed(_need(BENCH / "pmed" / f"{name}.txt"))
    res = solve_pmedian(ct, p=p, method="exact", time_limit_s=60)
    assert res.status == "optimal" and res.objective == pmed_opt[name]


@pytest.mark.parametrize("name", [f"pmed{i}" for i in range(1, 11)])
def test_pmed_heuristic_within_one_percent(name: str, pmed_opt: dict[str, float]) -> None:
    ct, p = read_pmed(_need(BENCH / "pmed" / f"{name}.txt"))
    res = solve_pmedian(ct, p=p, method="heuristic", seed=0)
    opt = pmed_opt[name]
    assert opt <= res.objective <= 1.01 * opt
    assert res.best_bound <= opt + 1e-6  # the Lagrangian bound is a true lower bound
    assert res.status in ("heuristic", "optimal")
    if res.status == "optimal":
        assert res.objective == opt


@pytest.mark.parametrize("name", ["scp41", "scp42", "scp43", "scp44", "scp45"])
def test_scp_weighted_lscp_reproduces_optimum(name: str) -> None:
    opt = read_optima(_need(BENCH / "scp" / "optima_scp.tsv"))
    ct, cost = read_scp(_need(BENCH / "scp" / f"{name}.txt"))
    res = solve_lscp(ct, radius_m=0.0, site_cost=cost, time_limit_s=60)
    assert res.status == "optimal" and res.objective == opt[name]
    assert res.covered.all()
    h = solve_lscp(ct, radius_m=0.0, site_cost=cost, method="heuristic")
    assert h.covered.all() and h.best_bound <= opt[name] + 1e-6 <= h.objective + 1e-6


def _mclp_cases(folder: str, ref: str, keep: set[tuple[str, float, int]] | None) -> list:
    path = BENCH / "mclp" / folder / ref
    if not path.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{path} is absent"))]
    rows = read_mclp_reference(path)
    return [
        pytest.param(r, id=f"{r[0]}-S{r[1]:g}-p{r[2]}")
        for r in rows
        if keep is None or (r[0], r[1], r[2]) in keep
    ]


_SJC_KEEP = {
    (inst, s, p)
    for inst in ("SJC324", "SJC402", "SJC500")
    for s in (800.0, 1200.0)
    for p in (2, 3, 5)
}


@pytest.mark.parametrize(
    "case",
    _mclp_cases("Swain", "reference_optima_computed_HiGHS.tsv", None)
    + _mclp_cases("SJC", "reference_optima.tsv", _SJC_KEEP),
)
def test_mclp_reference_optima(case: tuple[str, float, int, float]) -> None:
    inst, s, p, value = case
    if inst == "swain55":
        xy, w = read_mclp_points(_need(BENCH / "mclp" / "Swain" / "swain55.tsv"))
    else:
        xy, w = read_mclp_points(_need(BENCH / "mclp" / "SJC" / f"{inst}.txt"))
    ct = CostTable.from_dense(cdist(xy, xy), cutoff_m=s)
    res = solve_mclp(ct, k=p, weights=w, radius_m=s, time_limit_s=60)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(value)
    assert res.best_bound == pytest.approx(value)
    h = solve_mclp(ct, k=p, weights=w, radius_m=s, method="heuristic")
    assert h.objective <= value + 1e-9 and h.best_bound >= value - 1e-6
    assert h.objective >= 0.98 * value


def test_mclp_sjc_file_header_parsed() -> None:
    xy, w = read_mclp_points(_need(BENCH / "mclp" / "SJC" / "SJC324.txt"))
    assert xy.shape == (324, 2) and w.sum() == 12152
    xy, w = read_mclp_points(_need(BENCH / "mclp" / "Swain" / "swain55.tsv"))
    assert xy.shape == (55, 2) and w.sum() == 640
    assert np.all(np.isfinite(xy))


@pytest.mark.parametrize("name", ["pmed4", "pmed8"])
def test_pmed_sites_fixed_open_are_in_the_proven_optimum(name: str, pmed_opt: dict[str, float]) -> None:
    # Lagrangian fixing (issue 13) opens sites before the MILP; a wrong open fixing would
    # force a site the published optimum can do without and miss the optimum
    ct, p = read_pmed(_need(BENCH / "pmed" / f"{name}.txt"))
    res = solve_pmedian(ct, p=p, method="exact", time_limit_s=60)
    assert res.status == "optimal" and res.objective == pmed_opt[name]
    assert res.shrink["sites_fixed_open"] > 0 and res.shrink["sites_fixed_closed"] > 0
    assert res.best_bound == pytest.approx(res.objective)


@pytest.mark.parametrize("name", ["pmed6", "pmed16", "pmed26", "pmed35"])
def test_pmed_few_sites_proven_by_the_lagrangian_branch_and_bound(
    name: str, pmed_opt: dict[str, float]
) -> None:
    """Small p, where the chain's LP bound is about 1 % low: the Lagrangian search proves
    the published optimum (issue 13: pmed36 took the chain MILP 141 s)."""
    ct, p = read_pmed(_need(BENCH / "pmed" / f"{name}.txt"))
    res = solve_pmedian(ct, p=p, method="exact", time_limit_s=60)
    assert res.status == "optimal" and res.objective == pmed_opt[name]
    assert res.best_bound == res.objective
    assert res.method == "greedy+interchange+lagrangian-branch-and-bound"
    assert res.details["branch_and_bound"]["proven"] and res.details["branch_and_bound"]["nodes"] > 1


@pytest.mark.parametrize("name", ["pmed7", "pmed9"])
def test_pmed_chain_with_its_highs_settings_reproduces_optimum(
    name: str, pmed_opt: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain MILP under its HiGHS settings (interior point LPs, no presolve, and no
    primal heuristics when the interchange's answer is the start) proves the published
    optimum."""
    from coverage.siting.optimize import pmedian

    seen: list[dict] = []
    real = pmedian.MilpModel

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        seen.append(dict(kw.get("highs_options") or {}))
        return real(*a, **kw)

    monkeypatch.setattr(pmedian, "MilpModel", spy)
    monkeypatch.setattr(pmedian, "applicable", lambda *a: False)  # no branch-and-bound first
    ct, p = read_pmed(_need(BENCH / "pmed" / f"{name}.txt"))
    res = solve_pmedian(ct, p=p, method="exact", time_limit_s=60)
    assert res.status == "optimal" and res.objective == pmed_opt[name]
    assert res.method == "highs-mip" and seen
    assert seen[-1] == {**pmedian.CHAIN_HIGHS_OPTIONS, **pmedian.CHAIN_START_OPTIONS}
    assert seen[-1]["mip_lp_solver"] == "ipm" and seen[-1]["mip_heuristic_run_rins"] is False
