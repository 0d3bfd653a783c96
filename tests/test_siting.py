"""Site selection on the model county: before/after coverage, ranking, side constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage import model_county
from coverage.errors import ParameterError
from coverage.publish.siting_package import write_siting_outputs
from coverage.siting.propose import propose_sites


@pytest.fixture(scope="module")
def mc():
    return model_county()


def test_mclp_adds_coverage_and_ranks(mc):
    r = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="mclp", k_new=3, method="exact")
    assert r.selection.status == "optimal"
    assert len(r.proposed) == 3
    ba = r.before_after.iloc[0]
    assert ba.n_covered_after >= ba.n_covered_before
    # objective = covered older population with existing + new sites
    assert r.selection.objective == pytest.approx(r.demand.loc[r.demand.covered_after, "elderly"].sum())
    # ranked by marginal gain, largest first
    g = r.proposed["marginal_gain"].to_numpy()
    assert np.all(np.diff(g) <= 1e-9)
    # every newly covered home is within 1000 m of a proposed site by the cost table
    assert r.demand["newly_covered"].sum() == (r.demand.covered_after & ~r.demand.covered_before).sum()
    # brute force over all triples of candidates gives the same optimum
    import itertools

    cov = r.costs.coverage_matrix(1000.0).toarray()
    w = r.demand["elderly"].to_numpy(float)
    ex = r.sites["existing"].to_numpy()
    base = cov[:, ex].any(1)
    cand = np.flatnonzero(~ex)
    best = max(w[base | cov[:, list(t)].any(1)].sum() for t in itertools.combinations(cand, 3))
    assert r.selection.objective == pytest.approx(best)


def test_one_point_per_village(mc):
    c = mc.candidates[mc.candidates["zone_id"].str.startswith("V")]
    r = propose_sites(mc.network, mc.facilities, mc.demand, c, model="mclp", k_new=12, zone_rule="at_most_one")
    per_zone = r.proposed.groupby("zone_id").size()
    assert per_zone.max() == 1


def test_lscp_reports_uncoverable(mc):
    r = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="lscp")
    # every coverable home is covered after
    unc = set(r.selection.uncoverable)
    d = r.demand
    assert d.loc[~d["id"].isin(unc), "covered_after"].all()
    assert not d.loc[d["id"].isin(unc), "covered_after"].any()


def test_bad_parameters(mc, tmp_path):
    with pytest.raises(ParameterError, match="only 34 candidate sites"):
        propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="mclp", k_new=1000)
    with pytest.raises(ParameterError, match="needs the number of new sites: --k N \\(k_new="):
        propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="pmedian")
    r = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="pmedian", k_new=2, with_service_areas=False)
    paths = write_siting_outputs(r, tmp_path)
    assert all(p.exists() for p in paths.values())


def test_site_cli_map_and_gaps(tmp_path, capsys):
    from page_check import page_check

    from coverage.cli.commands import main
    from coverage.publish.browser import find_chromium

    out = tmp_path / "site"
    assert main(["site", "--quiet", "--k", "2", "--gaps", "--out", str(out), "--date", "2026-01-01"]) == 0
    text = capsys.readouterr().out
    assert "mclp: 2 new sites" in text and "optimal" in text
    for name in ("sites.gpkg", "proposed.csv", "before_after.csv", "gaps.csv", "site_map.html"):
        assert (out / name).exists()
    html = (out / "site_map.html").read_text(encoding="utf-8")
    assert "Proposed sites" in html and "Coverage gaps" in html
    assert "<script src=" not in html  # offline page: every script inlined
    if find_chromium():
        r = page_check(out / "site_map.html")
        assert r["console_errors"] == []
        assert "拟建站点 Proposed sites" in r["layer_names"]


def test_the_result_says_why_fewer_sites_open(mc, tmp_path, capsys):
    # `coverage site --one-per-zone at_most_one --k 12` opens 10: 8 of the 18 zones already
    # hold a facility (existing sites count), and two sites fall in town communities
    r = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="mclp", k_new=12, zones=mc.zones,
                      zone_rule="at_most_one", with_service_areas=False)  # fmt: skip
    assert len(r.proposed) == 10
    assert "\n12 new sites asked for (--k), 10 opened: the zone rule 'at_most_one'" in r.notes[0]
    assert r.notes[0].startswith("要求新增 12 处")
    assert "8 zones have one already" in r.notes[0] and "V02 西岭村 (F06)" in r.notes[0] and "10 zones with a candidate" in r.notes[0]
    assert "community (2)" in r.notes[1] and "T02 in C02 城西社区" in r.notes[1]
    assert "\n24 demand points are farther than 1000 m" in r.notes[2] and r.notes[2].startswith("24 个需求点")
    assert r.meta["notes"] == list(r.notes)
    # villages only: room for 14, the mclp stops at 10 because the others add nothing
    villages = mc.zones[mc.zones["kind"] == "village"]
    r2 = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="mclp", k_new=12, zones=villages,
                       zone_rule="at_most_one", with_service_areas=False)  # fmt: skip
    assert "no further gain" in r2.notes[0]
    # nothing to explain when every asked-for site opens and all demand can be reached
    r3 = propose_sites(mc.network, mc.facilities, mc.demand[mc.demand["id"].str.startswith("R")], mc.candidates,
                       model="mclp", k_new=1, with_service_areas=False)  # fmt: skip
    assert r3.notes == ()


def test_solver_method_in_words_in_the_report(mc):
    from coverage.publish._labels import METHOD_STEPS, method_words
    from coverage.publish.siting_package import _site_sections, _sites_table, site_coverage

    assert method_words("greedy+interchange+lagrangian-branch-and-bound", "en") == (
        "greedy + interchange + Lagrangian branch-and-bound"
    )
    assert method_words("highs-mip", "zh") == "整数规划（HiGHS）"
    assert method_words("lp-start+new-step", "en") == "start from the LP relaxation + new-step"  # unknown kept
    # every step the solvers name has words
    steps = {
        "greedy", "interchange", "swap", "lagrangian-proof", "lagrangian-branch-and-bound",
        "highs-mip", "highs-lscp", "binary-search", "lp-start", "block-decomposition",
        "block-decomposition-proof",
        "redundancy", "farthest-first", "greedy-cover-search", "capacitated-lagrangian", "assignment",
    }  # fmt: skip
    assert steps <= set(METHOD_STEPS)
    r = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="pmedian", k_new=2, with_service_areas=False)
    before, after = site_coverage(r)
    sections = _site_sections(r, before, after, _sites_table(r, None), {}, "both")
    solver = next(s for s in sections if "Solver" in s.title).tables[0][1]
    row = solver.iloc[0]
    assert row["方法代码 Method code"] == r.selection.method
    assert row["方法 Method"] == method_words(r.selection.method, "both")
    assert row["状态 Status"] == "已证明最优 proven optimal"
    assert row["差距 Gap"] == "0 %"
    from coverage.publish._labels import readable_table

    gaps = readable_table(pd.DataFrame({"gap": [0.00076, 0.0101, 1e-16]}), "en")["gap"].tolist()
    assert gaps == ["0.076 %", "1.01 %", "0 %"]  # a small gap is not shown as 0.00
