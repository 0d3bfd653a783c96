"""The planning workflows: hand-checkable numbers on tiny grids, the embedded scenarios, the CLI."""

from __future__ import annotations

import argparse
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from conftest import grid_network

from coverage import model_county, run_audit
from coverage.cli.workflows import add_workflow_commands
from coverage.config import AuditConfig
from coverage.datasets.scenarios import (
    consolidation_scenario,
    development_scenario,
    makeup_candidates,
    village_scenario,
)
from coverage.errors import CoverageError, InputFileError, OutputExistsError, ParameterError
from coverage.workflows import (
    assign_to_centres,
    check_targets,
    consolidate_homes,
    plan_makeup,
    plan_village_points,
    required_floor_area_m2,
    review_development,
    target_table,
    village_candidates,
)

_LL = pyproj.Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True)


def _pts(to_xy, xy, **cols) -> gpd.GeoDataFrame:
    """Points at metric grid offsets (see conftest.grid_network) as EPSG:4326."""
    p = to_xy(xy)
    lon, lat = _LL.transform(p[:, 0], p[:, 1])
    return gpd.GeoDataFrame(pd.DataFrame(cols), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


@pytest.fixture(scope="module")
def county():
    return model_county()


# --------------------------------------------------------------------------- floor space, review
def test_required_floor_area_by_hand():
    assert required_floor_area_m2(1234) == 246.8  # 1,234 households x 20 m² / 100
    assert required_floor_area_m2(1234, area_type="existing") == 185.1  # x 15 m² / 100
    assert required_floor_area_m2(0) == 0.0
    with pytest.raises(ParameterError, match="area_type"):
        required_floor_area_m2(100, area_type="old")
    with pytest.raises(ParameterError, match="households"):
        required_floor_area_m2(-1)


def test_review_on_a_grid_by_hand():
    # 5 x 5 grid of 250 m blocks; the facility at (0, 0); buildings on nodes (no access walk)
    net, to_xy = grid_network(5, 250.0)
    fac = _pts(to_xy, [(0, 0)], id=["F"], name=["station"])
    b = _pts(to_xy, [(250, 0), (1000, 1000), (500, 250)], id=["B1", "B2", "B3"], households=[600, 400, 234])
    r = review_development(net, buildings=b, facilities=fac, provided_floor_m2=246.8, run_date="2026-01-01")
    d = r.buildings.set_index("id")["dist_m"]
    assert d.to_dict() == pytest.approx({"B1": 250.0, "B2": 2000.0, "B3": 750.0})
    fs = r.floor_space.iloc[0]
    assert fs.households == 1234 and fs.required_m2 == 246.8 and fs.meets
    # 1000 m: B2 is beyond; 15 min at 0.8 m/s = 720 m: B2 and B3 are beyond
    assert r.verdict == "fail" and len(r.reasons) == 2
    assert r.reasons[0].startswith("1 of 3 buildings beyond 1000 m") and r.reasons[0].endswith("B2")
    assert "2 of 3 buildings beyond a 15-minute walk (720 m" in r.reasons[1]
    # the radius rule alone, with a planned room at the far corner: passes except floor space
    p = _pts(to_xy, [(1000, 1000)], id=["P"], name=["planned"], floor_area_m2=[200.0])
    r2 = review_development(net, buildings=b, facilities=fac, planned=p, rules=("radius",), run_date="2026-01-01")
    assert r2.buildings.set_index("id").loc["B2", "nearest_is_planned"]
    assert r2.buildings.set_index("id").loc["B2", "dist_existing_m"] == pytest.approx(2000.0)
    assert r2.floor_space.loc[0, "shortfall_m2"] == pytest.approx(46.8)
    assert r2.verdict == "fail" and len(r2.reasons) == 1 and "short by 46.8 m²" in r2.reasons[0]
    r3 = review_development(net, buildings=b, facilities=fac, planned=p, provided_floor_m2=250, rules=("radius",), run_date="2026-01-01")
    assert r3.passed and r3.reasons == ()
    with pytest.raises(ParameterError, match="rules"):
        review_development(net, buildings=b, facilities=fac, rules=("walk",))


def test_review_of_the_embedded_development(county):
    s = development_scenario(county)
    r = review_development(county.network, buildings=s.buildings, facilities=county.facilities, planned=s.planned, site=s.site,
                           provided_floor_m2=s.provided_floor_m2, run_date="2026-01-01")  # fmt: skip
    assert r.verdict == "fail" and len(r.reasons) == 1
    assert r.floor_space.loc[0, "required_m2"] == 246.8 and r.floor_space.loc[0, "shortfall_m2"] == pytest.approx(46.8)
    b = r.buildings
    assert b["within_radius"].all() and b["within_time"].all() and b["nearest_is_planned"].all()
    assert (b["dist_existing_m"] > b["dist_m"]).all()
    # without the planned room, six buildings are beyond 1000 m of the existing stations
    r0 = review_development(county.network, buildings=s.buildings, facilities=county.facilities, site=s.site,
                            provided_floor_m2=300.0, run_date="2026-01-01")  # fmt: skip
    assert (~r0.buildings["within_radius"]).sum() == 6
    assert r0.reasons[0].startswith("6 of 8 buildings beyond 1000 m")


# --------------------------------------------------------------------------- make-up
def test_makeup_on_the_model_county(county):
    town = county.demand[county.demand["id"].str.startswith("R")]
    r = plan_makeup(county.network, facilities=county.facilities, areas=town, candidates=makeup_candidates(county), run_date="2026-01-01")
    s = r.summary.iloc[0]
    assert s.outside_before == 6 and s.outside_after == 0
    assert r.proposed["id"].tolist() == ["T02", "T03"]  # vacant buildings preferred over gap centres
    a = r.areas
    for row in r.proposed.itertuples():
        hh = a.loc[a["new_site"] == row.id, "households"].sum()
        assert row.households_newly_covered == hh
        assert row.floor_area_needed_m2 == pytest.approx(hh * 15 / 100)
    assert s.floor_area_needed_m2 == pytest.approx(a.loc[a["newly_covered"], "households"].sum() * 0.15)
    assert s.households_outside_before == a.loc[~a["covered_before"], "households"].sum()
    with pytest.raises(ParameterError, match="k_new"):
        plan_makeup(county.network, facilities=county.facilities, areas=town, candidates=makeup_candidates(county), model="mclp")


# --------------------------------------------------------------------------- villages
def test_assign_to_centres_by_road_not_by_crow_flight():
    # a wall between grid columns 1 and 2 except along the bottom row
    net, to_xy = grid_network(5, 250.0, drop={((1, j), (2, j)) for j in range(1, 5)})
    point = _pts(to_xy, [(250, 1000)], id=["P"], township=["T1"])
    centres = _pts(to_xy, [(500, 1000), (0, 0)], id=["A", "B"], name=["across the wall", "corner"], township=["T1", "T2"])
    a = assign_to_centres(net, points=point, centres=centres).iloc[0]
    # A is 250 m away as the crow flies but 1000 + 250 + 1000 m by road; B is 250 + 1000 m
    assert a.centre_id == "B" and a.road_m == pytest.approx(1250.0)
    assert a.straight_m == pytest.approx(math.hypot(250, 1000))
    own = assign_to_centres(net, points=point, centres=centres, own_township=True).iloc[0]
    assert own.centre_id == "A" and own.road_m == pytest.approx(2250.0) and own.centre_township == "T1"


def test_village_candidates_follow_the_preference_rule(county):
    villages = county.zones[county.zones["kind"] == "village"]
    c = village_candidates(county.candidates, villages=villages, demand=county.demand)
    assert set(c["kind"]) == {"village_service_centre", "clinic"}  # idle schools only as a second choice
    assert set(c["zone_id"]) == set(villages["zone_id"])
    # a village without candidates falls back to its largest hamlet
    c2 = village_candidates(county.candidates[county.candidates["zone_id"] != "V01"], villages=villages, demand=county.demand)
    v01 = c2[c2["zone_id"] == "V01"]
    d = county.demand[county.demand["zone_id"] == "V01"]
    assert v01["kind"].tolist() == ["largest_hamlet"]
    assert v01["id"].iloc[0] == "hamlet-" + d.loc[d["households"].idxmax(), "id"]


@pytest.mark.parametrize(("target", "proposed"), [(0.85, 9), (0.40, 3), (1.0, 10)])
def test_village_points_reach_the_target(county, target, proposed):
    s = village_scenario(county)
    r = plan_village_points(county.network, facilities=s.facilities, demand=county.demand, zones=county.zones, candidates=county.candidates,
                            centres=s.centres, target=target, plan=s.plan, run_date="2026-01-01")  # fmt: skip
    sm = r.summary.iloc[0]
    # 12 villages, 2 with a point: ceil(target x 12) - 2 new points
    assert sm.needed == proposed == sm.proposed == math.ceil(target * 12 - 1e-9) - 2
    assert sm.villages_with_point_after == 2 + proposed and sm.meets_target
    p = r.points
    assert not p["zone_id"].duplicated().any()  # at most one point per village
    assert set(p.loc[p["status"] == "proposed", "kind"]) <= {"village_service_centre", "clinic"}
    assert (p.loc[p["status"] == "existing", "floor_ok"] == True).all()  # noqa: E712 (120 and 110 m² >= 100)
    assert p["centre_id"].isin(["F04", "G01"]).all() and (p["centre_road_m"] >= p["centre_straight_m"] - 1).all()
    t = r.townships.set_index("township")
    body = t.drop(index="合计 total")
    for col in ("n_villages", "existing_points", "proposed_points", "villages_with_point", "planned_points"):
        assert t.loc["合计 total", col] == body[col].sum()
    assert t.loc["合计 total", "planned_points"] == 9  # 3 + 2 and 2 + 2 in the task table
    assert t.loc["合计 total", "coverage_rate"] == pytest.approx((2 + proposed) / 12)
    assert (t["coverage_rate"] == t["villages_with_point"] / t["n_villages"]).all()


def test_village_points_mclp_every_village_and_own_township(county):
    s = village_scenario(county)
    r = plan_village_points(county.network, facilities=s.facilities, demand=county.demand, zones=county.zones, candidates=county.candidates,
                            centres=s.centres, target=1.0, model="mclp", centre_rule="own_township",
                            run_date="2026-01-01")  # fmt: skip
    # every village needs one: exactly one per village, even where a point covers nobody new
    assert r.summary.loc[0, "proposed"] == 10 and r.meta["zone_rule"] == "exactly_one"
    assert r.points["same_township"].all()  # both townships have a centre
    with pytest.raises(ParameterError, match="target"):
        plan_village_points(county.network, facilities=s.facilities, demand=county.demand, zones=county.zones, candidates=None,
                            centres=s.centres, target=85)  # fmt: skip


# --------------------------------------------------------------------------- consolidation
def _tiny_consolidation(beds_c: float = 10.0):
    # 4 x 4 grid of 1 km blocks: home A (0, 0) closes; B (1000, 0) keeps, 5 beds, 3 residents;
    # C (0, 2000) keeps. Group gA (4 people of A) comes from (400, 0); gB (3 of B) from (1000, 0).
    net, to_xy = grid_network(4, 1000.0)
    homes = _pts(to_xy, [(0, 0), (1000, 0), (0, 2000)], id=["A", "B", "C"], name=["A", "B", "C"],
                 capacity=[10.0, 5.0, beds_c], action=["close", "keep", "keep"])  # fmt: skip
    groups = _pts(to_xy, [(400, 0), (1000, 0)], id=["gA", "gB"], home_id=["A", "B"], count=[4, 3],
                  origin_name=["VA", "VB"], care=["自理", "失能"])  # fmt: skip
    return net, homes, groups


def test_consolidation_by_hand():
    net, homes, groups = _tiny_consolidation()
    r = consolidate_homes(net, homes=homes, residents=groups, run_date="2026-01-01")
    assert r.unplaced == 0 and r.messages == ()
    al = r.allocation.set_index(["group_id", "to_home"])
    # B has 5 - 3 = 2 free beds: 2 of gA go to B (600 m), the other 2 to C (400 + 2000 m)
    assert al.loc[("gA", "B"), "residents"] == pytest.approx(2)
    assert al.loc[("gA", "C"), "residents"] == pytest.approx(2)
    assert al.loc[("gA", "B"), "dist_after_m"] == pytest.approx(600)
    assert al.loc[("gA", "C"), "dist_after_m"] == pytest.approx(2400)
    assert al.loc[("gA", "C"), "move_m"] == pytest.approx(2000)  # home A to home C by road
    assert al.loc[("gB", "B"), "residents"] == 3 and al.loc[("gB", "B"), "move_m"] == 0
    g = r.groups.set_index("id")
    assert g.loc["gA", "dist_before_m"] == pytest.approx(400)
    assert g.loc["gA", "dist_after_m"] == pytest.approx((2 * 600 + 2 * 2400) / 4)  # 1500
    assert g.loc["gB", "action"] == "stay" and g.loc["gB", "change_m"] == 0
    v = r.villages.set_index("origin")
    assert v.loc["VA", "mean_change_m"] == pytest.approx(1100)
    cap = r.capacity.set_index("id")
    assert cap.loc["B", "residents_after"] == 5 and cap.loc["B", "spare_after"] == 0
    assert cap.loc["C", "incoming"] == pytest.approx(2) and not cap["over_capacity"].any()
    assert cap.loc["A", "residents_after"] == 0 and cap.loc["B", "staff_needed"] == 1  # ceil(5 / 10)
    ks = r.keep_sets.set_index("keep_set")
    # plan {B, C}, everyone to the nearest kept home: gA 4 x 600 m, gB 3 x 0 m
    assert ks.loc["plan", "total_m"] == pytest.approx(2400) and ks.loc["plan", "max_m"] == pytest.approx(600)
    assert ks.loc["plan", "mean_m"] == pytest.approx(2400 / 7)
    # within beds: B takes gB (3) and 2 of gA; 2 of gA go to C: 2 x 600 + 2 x 2400
    assert ks.loc["plan", "beds_total_m"] == pytest.approx(6000) and ks.loc["plan", "beds_unplaced"] == 0
    # p-median with 2 homes: {A, B} = 4 x 400 + 0 = 1600 beats {B, C} = 2400 and {A, C} = 1600 + 3 x 1000
    assert ks.loc["p-median optimum", "homes"] == "A, B"
    assert ks.loc["p-median optimum", "total_m"] == pytest.approx(1600)


def test_consolidation_says_when_capacity_is_short():
    net, homes, groups = _tiny_consolidation(beds_c=1.0)
    r = consolidate_homes(net, homes=homes, residents=groups, compare_optimum=False, run_date="2026-01-01")
    # 4 people to move, 2 + 1 free beds: one cannot be placed
    assert r.unplaced == pytest.approx(1)
    assert any("\nCAPACITY SHORT: 4 residents" in m and "1 residents cannot be placed" in m for m in r.messages)
    assert r.groups.set_index("id").loc["gA", "unplaced"] == pytest.approx(1)
    assert (r.allocation["to_home"] == "").sum() == 1


def test_consolidation_input_errors():
    net, homes, groups = _tiny_consolidation()
    with pytest.raises(ParameterError, match="unknown home ids"):
        consolidate_homes(net, homes=homes, residents=groups, keep=["B", "Z"])
    with pytest.raises(ParameterError, match="split the homes"):
        consolidate_homes(net, homes=homes, residents=groups, keep=["B"], close=["A"])
    bad = groups.assign(home_id=["A", "Q"])
    with pytest.raises(InputFileError, match="unknown homes"):
        consolidate_homes(net, homes=homes, residents=bad)


def test_consolidation_of_the_embedded_scenario(county):
    s = consolidation_scenario(county)
    r = consolidate_homes(county.network, homes=s.homes, residents=s.residents, keep=s.keep, must_keep=s.must_keep,
                          alternatives=s.alternatives, run_date="2026-01-01")  # fmt: skip
    assert r.unplaced == 0 and not r.capacity["over_capacity"].any()
    moving = s.residents.loc[s.residents["home_id"].isin(s.close), "count"].sum()
    assert r.capacity["incoming"].sum() == pytest.approx(moving) == pytest.approx(71)
    assert r.allocation["residents"].sum() == pytest.approx(202)
    ks = r.keep_sets.set_index("keep_set")
    assert ks.loc["p-median optimum", "total_m"] <= ks.loc["plan", "total_m"] + 1e-6
    assert ks.loc["p-median optimum within beds", "beds_total_m"] <= ks.loc["plan", "beds_total_m"] + 1e-6
    assert all("F05" in h for h in ks["homes"])  # the county centre is in every keep-set


# --------------------------------------------------------------------------- targets
def test_target_table_arithmetic():
    bz = pd.DataFrame({
        "zone_id": ["C1", "C2", "V1", "V2", "V3"], "n_points": [10, 8, 5, 3, 20],
        "n_covered_radius": [9, 8, 4, 3, 17], "n_covered_time": [9, 8, 4, 3, 17],
    })  # fmt: skip
    bz["share_radius"] = bz["n_covered_radius"] / bz["n_points"]
    kinds = {"C1": "community", "C2": "community", "V1": "village", "V2": "village", "V3": "village"}
    z, k = target_table(bz, kinds=kinds, targets={"community": 1.0, "village": 0.85}, n_facilities={"C1": 1, "V1": 1})
    z = z.set_index("zone_id")
    assert z["gap_pct_points"].to_dict() == pytest.approx({"C1": 10.0, "C2": 0.0, "V1": 5.0, "V2": 0.0, "V3": 0.0})
    assert z["points_short"].to_dict() == {"C1": 1, "C2": 0, "V1": 1, "V2": 0, "V3": 0}  # ceil(0.85 x 5) - 4 = 1
    assert z["meets"].to_dict() == {"C1": False, "C2": True, "V1": False, "V2": True, "V3": True}  # 17/20 = 85%
    k = k.set_index("kind")
    assert k.loc["community", "zones_with_facility"] == 1 and k.loc["community", "share_with_facility"] == 0.5
    assert not k.loc["community", "meets_facility_target"]
    assert k.loc["community", "achieved"] == pytest.approx(17 / 18)
    assert k.loc["village", "zones_meeting"] == 2 and k.loc["village", "share_zones_meeting"] == pytest.approx(2 / 3)
    with pytest.raises(ParameterError, match="no target for zone kind"):
        target_table(bz, kinds=kinds, targets={"community": 1.0})
    with pytest.raises(ParameterError, match="measure"):
        target_table(bz, kinds=None, targets=0.9, measure="share")


def test_targets_from_an_audit(county):
    audit = run_audit(county.network, county.facilities, county.demand, zones=county.zones,
                      config=AuditConfig(), run_date="2026-01-01", with_service_areas=False)  # fmt: skip
    r = check_targets(audit, targets={"community": 1.0, "village": 0.40})
    z = r.by_zone.set_index("zone_id")
    bz = audit.by_zone.set_index("zone_id")
    assert (z["achieved"] == bz["share_radius"]).all()
    assert (z["meets"] == (bz["share_radius"] >= z["target"] - 1e-12)).all()
    assert z.loc["C02", "points_short"] == bz.loc["C02", "n_points"] - bz.loc["C02", "n_covered_radius"]
    k = r.by_kind.set_index("kind")
    assert k.loc["community", "n_zones"] == 6 and k.loc["village", "n_zones"] == 12
    assert k.loc["village", "target"] == 0.40
    assert k["n_points"].sum() == len(county.demand)
    with pytest.raises(ParameterError, match="no zones"):
        check_targets(run_audit(county.network, county.facilities, county.demand, with_service_areas=False))


# --------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli():
    parser = argparse.ArgumentParser(prog="coverage")
    handlers = add_workflow_commands(parser.add_subparsers(dest="command", required=True))
    return parser, handlers


_EXPECT = {
    "review": ("development review: FAIL", ["review_sheet.html", "review.xlsx", "review.gpkg", "buildings.csv", "review_map.html"]),
    "makeup": ("6 of 74 areas outside the standard -> 0 with 2 sites", ["makeup.gpkg", "proposed.csv", "makeup_map.html", "makeup.xlsx"]),
    "villages": ("villages with a mutual-aid point (existing): 2/12 -> villages with a mutual-aid point (existing + proposed): 11/12", ["townships.csv", "points.csv", "villages_map.html", "villages_report.html"]),
    "consolidate": ("71 residents move, 0 unplaced", ["capacity.csv", "keep_sets.csv", "consolidation.gpkg", "consolidation.xlsx"]),
    "targets": ("4 of 18 zones meet their target", ["targets_by_zone.csv", "targets_by_kind.csv", "targets_map.html"]),
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(_EXPECT))
def test_cli_subcommands_on_the_embedded_scenarios(cli, command, tmp_path, capsys):
    parser, handlers = cli
    args = parser.parse_args([command, "--out", str(tmp_path / command), "--date", "2026-01-01"])
    assert handlers[command](args) == 0
    text, files = _EXPECT[command]
    assert text in capsys.readouterr().out
    for f in files:
        assert (tmp_path / command / f).stat().st_size > 0


def test_cli_refuses_to_overwrite_and_checks_inputs(cli, tmp_path):
    parser, handlers = cli
    args = parser.parse_args(["targets", "--out", str(tmp_path), "--date", "2026-01-01"])
    assert handlers["targets"](args) == 0
    before = (tmp_path / "targets_by_zone.csv").read_bytes()
    with pytest.raises(OutputExistsError):
        handlers["targets"](args)
    assert (tmp_path / "targets_by_zone.csv").read_bytes() == before
    args = parser.parse_args(["targets", "--out", str(tmp_path), "--overwrite", "--date", "2026-01-01",
                              "--target-village", "0.4"])  # fmt: skip
    assert handlers["targets"](args) == 0
    assert "0.4" in (tmp_path / "targets_by_kind.csv").read_text(encoding="utf-8-sig")
    args = parser.parse_args(["review", "--network", "roads.osm", "--out", str(tmp_path)])
    with pytest.raises(CoverageError, match="with --network give --buildings, --facilities"):
        handlers["review"](args)
    args = parser.parse_args(["consolidate", "--alternative", "nolabel", "--no-optimum", "--out", str(tmp_path)])
    with pytest.raises(CoverageError, match="label=ID"):
        handlers["consolidate"](args)


def test_scenarios_are_labelled_and_deterministic(county):
    a, b = development_scenario(county), development_scenario(county)
    assert a.buildings.equals(b.buildings) and "GENERATED" in a.note
    assert int(a.buildings["households"].sum()) == 1234
    c = consolidation_scenario(county)
    assert len(c.close) == 5 and len(c.keep) == 4 and c.must_keep == ("F05",)
    assert np.isclose(c.homes["residents"].sum(), c.residents["count"].sum())
