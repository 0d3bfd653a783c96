"""End to end on the embedded model county: results, outputs, determinism, the CLI."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from coverage import model_county, run_audit, write_outputs
from coverage.cli.commands import main
from coverage.config import AuditConfig
from coverage.errors import OutputExistsError


@pytest.fixture(scope="module")
def county():
    return model_county()


@pytest.fixture(scope="module")
def result(county):
    return run_audit(county.network, county.facilities, county.demand, zones=county.zones, target=0.9, run_date="2026-01-01")


def test_model_county_is_deterministic_and_connected(county):
    again = model_county()
    assert np.array_equal(county.network.node_xy, again.network.node_xy)
    assert county.demand.equals(again.demand)
    assert county.network.components.max() == 0
    assert len(county.zones) == 18 and len(county.facilities) == 8


def test_audit_results_are_consistent(result, county):
    d = result.demand
    assert len(d) == len(county.demand)
    ok = d["status"] == "ok"
    assert (d.loc[ok, "dist_m"] <= result.config.search_cutoff_m + 1e-6).all()
    assert np.allclose(d["time_min"][ok], d["dist_m"][ok] / 0.8 / 60)
    assert (d["covered_time"] <= d["covered_radius"]).all()  # 720 m is stricter than 1000 m
    # the network distance is never shorter than the straight line (allowing snapping slack)
    assert (d.loc[ok, "dist_m"] >= d.loc[ok, "euclid_m"] - 1.0).all()
    # false coverage exists in the town: the river has only two bridges
    assert d["false_coverage"].sum() > 0
    assert (d["false_coverage"] == (d["within_circle"] & ~d["covered_radius"])).all()
    s = result.summary.iloc[0]
    assert s.n_points == len(d) and s.n_covered_radius == d["covered_radius"].sum()
    assert s.weight_total == pytest.approx(d["elderly"].sum())
    # per zone totals add up to the whole
    assert result.by_zone["n_points"].sum() == len(d)
    assert result.by_zone["n_covered_radius"].sum() == s.n_covered_radius
    # catchments add up: every covered point is counted at exactly one facility
    assert result.facilities["n_covered_radius"].sum() == s.n_covered_radius
    assert result.meta["weight_column"] == "elderly"
    # service areas: one per facility and rule, road length reached at most the road network
    sa = result.service_areas
    assert len(sa) == 2 * len(county.facilities)
    assert (sa.groupby("facility_id")["road_m"].max() > 0).all()
    rad = sa[sa.rule == "radius"].set_index("facility_id")["road_m"]
    tim = sa[sa.rule == "time"].set_index("facility_id")["road_m"]
    assert (tim <= rad + 1e-6).all()


def test_speed_parameter_changes_time_rule(county):
    slow = run_audit(county.network, county.facilities, county.demand, config=AuditConfig(speed_mps=0.64), with_service_areas=False)
    fast = run_audit(county.network, county.facilities, county.demand, config=AuditConfig(speed_mps=1.1), with_service_areas=False)
    assert slow.demand["covered_time"].sum() < fast.demand["covered_time"].sum()
    assert slow.meta["walk_limit_m"] == pytest.approx(576)


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_outputs_written_atomically_and_deterministic(result, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    write_outputs(result, a, map_path=a / "map.html", basemap="none")
    write_outputs(result, b, map_path=b / "map.html", basemap="none")
    da, db = _digest(a), _digest(b)
    assert set(da) >= {"audit.gpkg", "demand.csv", "summary.csv", "summary_by_zone.csv", "false_coverage.csv", "parameters.json", "map.html"}
    assert da == db
    params = json.loads((a / "parameters.json").read_text())
    assert params["speed_mps"] == 0.8 and params["crs"] == "EPSG:32649"
    before = (a / "summary.csv").read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_outputs(result, a, map_path=a / "map.html")
    assert (a / "summary.csv").read_bytes() == before
    import geopandas as gpd

    g = gpd.read_file(a / "audit.gpkg", layer="demand")
    assert len(g) == len(result.demand)
    assert g.crs.to_epsg() == 4326


def test_cli_default_run_and_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["audit", "--quiet", "--date", "2026-01-01"]) == 0
    out = capsys.readouterr().out
    assert "  1000 m by road: 78/124 (62.9%); weighted 83.4%" in out and "0.8 m/s" in out
    assert "  15 min walk at 0.8 m/s: 44/124 (35.5%); weighted 46.1%" in out
    assert (tmp_path / "out" / "audit" / "audit_map.html").exists()
    assert (tmp_path / "out" / "audit" / "audit.gpkg").exists()
    # a second run without --overwrite refuses, one line, exit 2
    assert main(["audit", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--overwrite" in err[0]
    assert main(["audit", "--quiet", "--network", "missing.osm", "--facilities", "f.csv", "--demand", "d.csv"]) == 2
    assert "missing.osm: file not found" in capsys.readouterr().err
    assert main(["costs", "--quiet", "--out", "c.csv"]) == 0
    assert (tmp_path / "c.csv").read_text(encoding="utf-8-sig").startswith("demand_id,site_id,dist_m,time_min")


def test_every_home_has_its_distance_and_the_rules_do_not_move(county, tmp_path, capsys):
    """The road distance to the nearest facility is measured up to the search limit (10 km
    by default), also beyond the rules; the rules alone decide coverage."""
    from coverage.errors import ParameterError

    run = lambda cfg: run_audit(county.network, county.facilities, county.demand, config=cfg, with_service_areas=False).demand  # noqa: E731
    default, wide, narrow = run(None), run(AuditConfig(cutoff_m=50_000)), run(AuditConfig(cutoff_m=1000))
    assert np.isfinite(default["dist_m"]).all() and (default["status"] == "ok").all()
    assert np.allclose(default["dist_m"], wide["dist_m"]) and default["dist_m"].max() > 6000  # the far hamlets
    for col in ("covered_radius", "covered_time", "false_coverage"):
        assert default[col].equals(wide[col]) and default[col].equals(narrow[col]), col
    far = wide["dist_m"] > 1000
    assert np.isinf(narrow.loc[far, "dist_m"]).all() and (narrow.loc[far, "status"] == "beyond_cutoff").all()
    assert AuditConfig().search_cutoff_m == 10_000 and AuditConfig(radius_m=4000).search_cutoff_m == 12_000
    with pytest.raises(ParameterError, match="--search-limit"):
        AuditConfig(cutoff_m=800)
    # the flag: homes beyond 2 km are counted as such, coverage is unchanged
    assert main(["audit", "--quiet", "--search-limit", "2000", "--out", str(tmp_path / "a"), "--date", "2026-01-01"]) == 0
    out = capsys.readouterr().out
    assert f"no facility within 2,000 m by road (search limit): {int((wide['dist_m'] > 2000).sum())}" in out
    assert "1000 m by road: 78/124 (62.9%)" in out
