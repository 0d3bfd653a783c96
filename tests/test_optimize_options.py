"""The options every model shares (SolveOptions): validation, overrides, one record for all
solvers, and the status words."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from optimize_cases import line_table, random_table

from coverage.errors import ParameterError
from coverage.siting.optimize import (
    STATUS_GAP_LIMIT,
    STATUS_HEURISTIC,
    STATUS_OPTIMAL,
    STATUS_TIME_LIMIT,
    STATUSES,
    SolveOptions,
    build_problem,
    solve_consolidation,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)
from coverage.siting.optimize.options import UnknownOptionError


def test_defaults_are_the_documented_ones_and_the_record_is_frozen() -> None:
    opts = SolveOptions()
    assert opts.method == "auto" and opts.time_limit_s == 60.0 and opts.mip_rel_gap == 0.0
    assert opts.threads == 1 and opts.seed == 0 and opts.n_starts == 16
    assert opts.reduce and opts.single_source
    assert opts.weights is None and opts.existing is None and opts.zone_rule is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.seed = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("method", "magic", "method"),
        ("time_limit_s", 0, "time_limit_s"),
        ("time_limit_s", -5.0, "time_limit_s"),
        ("time_limit_s", float("nan"), "time_limit_s"),
        ("time_limit_s", "60", "time_limit_s"),
        ("mip_rel_gap", -0.1, "mip_rel_gap"),
        ("mip_rel_gap", float("inf"), "mip_rel_gap"),
        ("threads", 0, "threads"),
        ("threads", 1.5, "threads"),
        ("seed", -1, "seed"),
        ("seed", True, "seed"),
        ("n_starts", 0, "n_starts"),
        ("reduce", "yes", "reduce"),
        ("single_source", None, "single_source"),
    ],
)
def test_bad_values_are_refused_when_the_record_is_made(field: str, value: object, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        SolveOptions(**{field: value})
    ct = line_table([0, 100], [0, 100], cutoff=200)
    with pytest.raises(ParameterError, match=match):  # the same through keywords
        solve_lscp(ct, **{field: value})


def test_no_time_limit_and_numpy_scalars_are_fine() -> None:
    opts = SolveOptions(time_limit_s=np.inf, seed=np.int64(3), threads=np.int32(1), reduce=np.bool_(False))
    assert opts.seed == 3 and not opts.reduce


def test_unknown_keyword_is_a_type_error_and_a_parameter_error_with_a_hint() -> None:
    ct = line_table([0, 100], [0, 100], cutoff=200)
    with pytest.raises(UnknownOptionError, match="'time_limit'.*did you mean 'time_limit_s'"):
        solve_lscp(ct, time_limit=5)
    with pytest.raises(TypeError, match="bogus"):
        solve_mclp(ct, k=1, bogus=1)
    with pytest.raises(ParameterError, match="bogus"):
        solve_pmedian(ct, p=1, bogus=1)
    with pytest.raises(UnknownOptionError, match="solve_pcenter"):
        solve_pcenter(ct, p=1, radius_m=10)
    with pytest.raises(UnknownOptionError):
        build_problem(ct, method_name="exact")


def test_options_must_be_a_solve_options() -> None:
    ct = line_table([0, 100], [0, 100], cutoff=200)
    with pytest.raises(ParameterError, match="SolveOptions"):
        solve_lscp(ct, options={"method": "exact"})  # type: ignore[arg-type]


def test_keywords_override_the_record_without_changing_it() -> None:
    x = [0, 100, 200, 300]
    ct = line_table(x, x, cutoff=150)
    opts = SolveOptions(method="heuristic", time_limit_s=20)
    assert solve_lscp(ct, radius_m=100, options=opts).method == "greedy+redundancy"
    assert solve_lscp(ct, radius_m=100, options=opts, method="exact").method == "highs-mip"
    assert opts.method == "heuristic"
    merged = SolveOptions.resolve(opts, {"seed": 3}, caller="test")
    assert merged.seed == 3 and merged.method == "heuristic" and merged.time_limit_s == 20
    assert SolveOptions.resolve(opts, {}, caller="test") is opts


def test_is_set_compares_with_the_defaults() -> None:
    opts = SolveOptions(weights=np.ones(3), seed=0, method="exact")
    assert opts.is_set("weights") and opts.is_set("method")
    assert not opts.is_set("seed") and not opts.is_set("capacity")


def test_every_solver_takes_the_same_record() -> None:
    ct, _d, w = random_table(5, n=12, m=8)
    homes = [0, 2, 3, 5, 6]
    opts = SolveOptions(
        weights=w, existing=[0], forbidden=[1], method="exact", time_limit_s=30, seed=2
    )
    results = {
        "lscp": (solve_lscp(ct, radius_m=600, options=opts),
                 solve_lscp(ct, radius_m=600, weights=w, existing=[0], forbidden=[1],
                            method="exact", time_limit_s=30, seed=2)),
        "mclp": (solve_mclp(ct, k=3, radius_m=300, options=opts),
                 solve_mclp(ct, k=3, radius_m=300, weights=w, existing=[0], forbidden=[1],
                            method="exact", time_limit_s=30, seed=2)),
        "pmedian": (solve_pmedian(ct, p=3, options=opts),
                    solve_pmedian(ct, p=3, weights=w, existing=[0], forbidden=[1],
                                  method="exact", time_limit_s=30, seed=2)),
        "pcenter": (solve_pcenter(ct, p=3, options=opts),
                    solve_pcenter(ct, p=3, weights=w, existing=[0], forbidden=[1],
                                  method="exact", time_limit_s=30, seed=2)),
        "consolidation": (solve_consolidation(ct, keep=3, homes=homes, options=opts),
                          solve_consolidation(ct, keep=3, homes=homes, weights=w, existing=[0],
                                              forbidden=[1], method="exact", time_limit_s=30,
                                              seed=2)),
    }  # fmt: skip
    for model, (with_record, with_keywords) in results.items():
        assert with_record.model == model
        assert with_record.status == STATUS_OPTIMAL
        assert 0 in with_record.selected and 1 not in with_record.selected
        assert with_record.objective == pytest.approx(with_keywords.objective)
        assert sorted(with_record.selected.tolist()) == sorted(with_keywords.selected.tolist())


def test_build_problem_reads_the_problem_fields_of_the_record() -> None:
    ct = line_table([0, 100, 200], [0, 100], cutoff=300)
    a = build_problem(ct, SolveOptions(weights=[1, 2, 3], existing=[1], method="exact"))
    b = build_problem(ct, weights=[1, 2, 3], existing=[1])
    assert a.weights.tolist() == b.weights.tolist() == [1.0, 2.0, 3.0]
    assert a.required.tolist() == b.required.tolist() == [False, True]


def test_method_must_be_one_the_model_knows() -> None:
    ct = line_table([0, 100], [0, 100], cutoff=200)
    with pytest.raises(ParameterError, match="method must be 'auto', 'exact' or 'heuristic'"):
        solve_mclp(ct, k=1, method="milp")
    with pytest.raises(ParameterError, match="method must be 'auto', 'exact' or 'heuristic'"):
        solve_pmedian(ct, p=1, method="search")
    assert solve_pcenter(ct, p=2, method="search").status == STATUS_OPTIMAL


def test_options_a_model_cannot_honour_are_refused_not_ignored() -> None:
    ct = line_table([0, 100], [0, 100], cutoff=200)
    with pytest.raises(ParameterError, match="p-center does not use capacity"):
        solve_pcenter(ct, p=1, capacity=[5, 5])
    with pytest.raises(ParameterError, match="p-center does not use site_cost"):
        solve_pcenter(ct, p=1, options=SolveOptions(site_cost=[1, 2]))
    with pytest.raises(ParameterError, match="p-median does not use site_cost"):
        solve_pmedian(ct, p=1, site_cost=[1, 2])
    with pytest.raises(ParameterError, match="homes="):
        solve_consolidation(ct, keep=1, options=SolveOptions(candidates=[0]))


def test_statuses_come_from_one_vocabulary() -> None:
    assert STATUSES == ("optimal", "time_limit", "gap_limit", "heuristic")
    assert (STATUS_OPTIMAL, STATUS_TIME_LIMIT, STATUS_GAP_LIMIT, STATUS_HEURISTIC) == STATUSES
    ct, _d, w = random_table(11, n=20, m=10)
    for res in (
        solve_mclp(ct, k=2, weights=w, radius_m=300, method="heuristic"),
        solve_pmedian(ct, p=2, weights=w, method="heuristic", n_starts=1),
        solve_pcenter(ct, p=2, method="heuristic"),
        solve_lscp(ct, radius_m=500, method="heuristic"),
    ):
        assert res.status in STATUSES
        assert res.proven_optimal == (res.status == STATUS_OPTIMAL)
        if res.status == STATUS_OPTIMAL:
            assert res.gap == pytest.approx(0.0, abs=1e-8)
