"""The planning studio (``coverage serve``): its JSON API and what it answers.

Oracles: a what-if state built from scratch (:meth:`AuditState.build` on a fresh engine with
the plan's facilities), a whole new audit (:func:`run_audit`) of the plan's facility layer,
the site model run on its own (:func:`propose_sites`), and the files ``coverage audit
--report`` writes. Security: the token, the Host and Origin checks, the body-size and rate
bounds, hostile names (the bad-input corpus's payloads). The load test drives a real uvicorn
server on loopback from 4 clients and replays the server's log on a fresh state.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import warnings
from pathlib import Path

import httpx
import numpy as np
import pytest

from coverage import model_county, run_audit
from coverage.audit.summary import CoverageSummary
from coverage.engine.engine import Engine
from coverage.engine.whatif import AuditState
from coverage.publish._html import esc
from coverage.siting.propose import propose_sites
from coverage.studio import ScenarioBook, Studio, create_app
from coverage.studio.server import start_in_thread
from coverage.studio.session import categories, facility_frame

with warnings.catch_warnings():  # starlette's test client warns about httpx at import (a newer httpx2 exists)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::coverage.errors.CoverageWarning")
TOKEN = "test-token-0123456789"
H = {"X-Studio-Token": TOKEN}
DATE = "2026-01-01"


@pytest.fixture(scope="module")
def mc():
    return model_county()


def _studio(mc, **kw) -> Studio:
    from coverage.audit.run import AuditOptions

    return Studio(mc.network, mc.facilities, mc.demand, zones=mc.zones, candidates=mc.candidates,
                  options=AuditOptions(run_date=DATE, **kw))  # fmt: skip


@pytest.fixture
def studio(mc):
    return _studio(mc)


def _client(studio, **kw) -> TestClient:
    return TestClient(create_app(studio, token=TOKEN, **kw), base_url="http://127.0.0.1:8765")


def _from_scratch(mc, xy: np.ndarray) -> AuditState:
    """The audit of facilities at ``xy`` (metric), on a fresh engine: no incremental update."""
    eng = Engine.build(mc.network, compact=False)
    return AuditState.build(eng, np.asarray(xy).reshape(-1, 2), eng.xy(mc.demand), warn_far=False)


def _open_xy(studio) -> np.ndarray:
    return np.array([s.xy for s in studio.open_stations()])


def _near(studio, key: str, dx: float, dy: float) -> tuple[float, float]:
    """Longitude/latitude ``dx, dy`` metres from station ``key``."""
    x, y = studio.stations[key].xy
    ll = studio.to_lonlat(np.array([[x + dx, y + dy]]))[0]
    return float(ll[0]), float(ll[1])


# --------------------------------------------------------------------------- edits
def test_edits_equal_a_state_built_from_scratch(mc, studio):
    c = _client(studio)
    lon, lat = _near(studio, "e0", 700, 500)
    r = c.post("/api/stations", json={"lon": lon, "lat": lat}, headers=H)
    assert r.status_code == 200, r.text
    key = r.json()["opened"][0]["key"]
    lon2, lat2 = _near(studio, "e3", -600, 400)
    assert c.put(f"/api/stations/{key}", json={"lon": lon2, "lat": lat2}, headers=H).status_code == 200
    assert c.delete("/api/stations/e1", headers=H).status_code == 200
    fresh = _from_scratch(mc, _open_xy(studio))
    assert np.allclose(studio.state.result.dist_m, fresh.result.dist_m, rtol=0, atol=1e-6)
    figures = {f["key"]: f["count"] for f in c.get("/api/summary", headers=H).json()["figures"]}
    assert figures["radius"] == int(fresh.result.covered_radius.sum())
    assert figures["time"] == int(fresh.result.covered_time.sum())
    assert figures["false"] == int(fresh.result.false_coverage.sum())


def test_the_figures_and_zones_are_those_of_a_new_audit(mc, studio):
    studio.add(*_near(studio, "e2", 800, -300))
    studio.close("e4")
    studio.move("e1", *_near(studio, "e1", -400, 250))
    frame = facility_frame(studio)
    assert len(frame) == len(mc.facilities) and frame["id"].tolist()[-1] == "N001"
    assert frame.geometry.iloc[1].distance(mc.facilities.geometry.iloc[1]) > 1e-3  # e1 stands where it was moved to
    res = run_audit(mc.network, frame, mc.demand, zones=mc.zones, with_service_areas=False)
    live = studio.summary()
    assert dict(live.counts) == dict(res.coverage.counts)
    assert np.allclose([live.weights[k] for k in live.weights], [res.coverage.weights[k] for k in live.weights])
    by_zone = res.by_zone.set_index("zone_id")
    for row in studio.zone_rows():
        assert row[2] == by_zone.loc[row[0], "n_points"] and row[3] == by_zone.loc[row[0], "n_covered_radius"]
        assert row[6] == pytest.approx(by_zone.loc[row[0], "share_radius"])


def test_only_changed_demand_is_sent(studio):
    before = categories(studio.state.result, studio.unreachable).copy()
    false_before = studio.state.result.false_coverage.copy()
    out = studio.close("e0")
    after = categories(studio.state.result, studio.unreachable)
    expected = np.flatnonzero((after != before) | (studio.state.result.false_coverage != false_before))
    assert len(expected) > 0  # closing the town's first station changes colours
    assert out["demand"]["index"] == expected.tolist()
    assert out["demand"]["category"] == after[expected].tolist()
    assert out["closed"] == ["e0"] and out["opened"] == []


def test_undo_redo_restore_the_plan(mc, studio):
    base = studio.state.result.dist_m.copy()
    studio.add(*_near(studio, "e1", 500, 500))
    studio.move("n1", *_near(studio, "e5", 300, -800))
    studio.close("e2")
    edited = studio.state.result.dist_m.copy()
    for _ in range(3):
        studio.undo()
    # the repaired search sums the same roads in another order: equal to rounding
    assert np.allclose(studio.state.result.dist_m, base, rtol=0, atol=1e-6)
    assert studio.summary().lines() == run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False).coverage.lines()
    for _ in range(3):
        studio.redo()
    assert np.allclose(studio.state.result.dist_m, edited, rtol=0, atol=1e-6)
    c = _client(studio)
    assert c.post("/api/redo", headers=H).status_code == 422  # nothing left to redo


def test_summary_of_equals_from_demand(mc, studio):
    studio.add(*_near(studio, "e6", 900, 900))
    res = run_audit(mc.network, facility_frame(studio), mc.demand, with_service_areas=False)
    direct = CoverageSummary.from_demand(res.demand, studio.config, weight_column=res.coverage.weight_column)
    assert studio.summary().lines() == direct.lines()


def test_bad_edits_are_refused_with_reasons(studio):
    c = _client(studio)
    assert c.delete("/api/stations/zzz", headers=H).status_code == 404
    far = c.post("/api/stations", json={"lon": 0.0, "lat": 0.0}, headers=H)
    assert far.status_code == 422 and "no road within" in far.json()["detail"]
    assert c.post("/api/stations", json={"lon": 999, "lat": 0}, headers=H).status_code == 422
    assert studio.version == 0


# --------------------------------------------------------------------------- candidates, models, scenarios
def test_candidate_gain_is_what_adding_it_gives(studio):
    c = _client(studio)
    top = c.get("/api/candidates?top=5", headers=H).json()["candidates"]
    assert top and all(a["gain"] >= b["gain"] for a, b in itertools.pairwise(top))
    w0 = studio.summary().weights["radius"]
    n0 = studio.summary().counts["radius"]
    c.post("/api/stations", json={"lon": top[0]["lon"], "lat": top[0]["lat"]}, headers=H)
    assert studio.summary().weights["radius"] - w0 == pytest.approx(top[0]["gain"])
    assert studio.summary().counts["radius"] - n0 == top[0]["points"]


def test_mclp_scenario_matches_the_site_model(mc, studio):
    c = _client(studio)
    r = c.post("/api/scenarios/propose", json={"model": "mclp", "k": 2}, headers=H)
    assert r.status_code == 200, r.text
    res = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, model="mclp", k_new=2, with_service_areas=False)
    assert [p["id"] for p in r.json()["proposed"]] == [esc(i) for i in res.proposed["id"]]
    radius = next(f for f in r.json()["figures"] if f["key"] == "radius")
    assert radius["count"] == int(res.demand["covered_after"].sum())
    assert studio.version == 0  # a proposal is a scenario; the live plan is unchanged
    opened = c.post(f"/api/scenarios/{r.json()['sid']}/open", headers=H).json()
    assert len(opened["opened"]) == 2 and next(f for f in opened["figures"] if f["key"] == "radius")["count"] == radius["count"]
    lscp = c.post("/api/scenarios/propose", json={"model": "lscp"}, headers=H).json()
    assert next(f for f in lscp["figures"] if f["key"] == "none")["count"] <= next(f for f in r.json()["figures"] if f["key"] == "none")["count"]


def test_compare_two_scenarios(studio):
    c = _client(studio)
    a = c.post("/api/scenarios", json={"name": "现状 baseline"}, headers=H).json()
    lon, lat = _near(studio, "e0", 600, -700)
    c.post("/api/stations", json={"lon": lon, "lat": lat, "name": "新站 A"}, headers=H)
    b = c.post("/api/scenarios", json={"name": "plan B"}, headers=H).json()
    cmp = c.get(f"/api/scenarios/compare?a={a['sid']}&b={b['sid']}", headers=H).json()
    fa = {f["key"]: f["count"] for f in a["figures"]}
    fb = {f["key"]: f["count"] for f in b["figures"]}
    for f in cmp["figures"]:
        assert (f["a"], f["b"], f["diff"]) == (fa[f["key"]], fb[f["key"]], fb[f["key"]] - fa[f["key"]])
    assert cmp["only_a"] == [] and [x["name"] for x in cmp["only_b"]] == ["新站 A"]
    assert c.get("/api/scenarios/compare?a=1&b=99", headers=H).status_code == 404


def test_export_is_what_the_cli_writes(mc, tmp_path, monkeypatch):
    from coverage.cli.commands import main

    monkeypatch.chdir(tmp_path)
    studio = _studio(mc)
    book = ScenarioBook(studio, tmp_path / "studio")
    c = TestClient(create_app(studio, token=TOKEN, book=book), base_url="http://127.0.0.1:8765")
    sid = c.post("/api/scenarios", json={"name": "../../etc"}, headers=H).json()["sid"]
    files = c.post(f"/api/scenarios/{sid}/export", headers=H).json()["files"]
    assert all(f.startswith(f"scenario-{sid}/") for f in files.values())  # the name never makes a path
    assert main(["audit", "--report", "--date", DATE, "--out", "cli", "--quiet"]) == 0
    got = sorted(p.relative_to(tmp_path / "studio" / f"scenario-{sid}") for p in (tmp_path / "studio" / f"scenario-{sid}").rglob("*") if p.is_file())
    want = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*") if p.is_file())
    assert got == want
    for rel in want:
        if rel.suffix in (".csv", ".json", ".html", ".gpkg", ".xlsx"):
            assert (tmp_path / "cli" / rel).read_bytes() == (tmp_path / "studio" / f"scenario-{sid}" / rel).read_bytes(), rel


def test_export_of_an_edited_plan_is_its_audit(mc, tmp_path):
    studio = _studio(mc)
    book = ScenarioBook(studio, tmp_path, pdf=False)
    studio.add(*_near(studio, "e0", 700, 600), name="<b>新</b>")
    studio.close("e3")
    sc = book.save("edited")
    files = book.export(sc.sid)
    summary = json.loads((tmp_path / files["parameters"]).read_text(encoding="utf-8"))["summary"][0]
    assert summary["n_covered_radius"] == studio.summary().counts["radius"]
    assert summary["n_covered_time"] == studio.summary().counts["time"]
    assert "report" in files and (tmp_path / files["report"]).is_file()


# --------------------------------------------------------------------------- security
def test_token_is_required_everywhere(studio):
    c = _client(studio)
    assert c.get("/api/state").status_code == 403
    assert c.get("/api/state", headers={"X-Studio-Token": "wrong"}).status_code == 403
    assert c.post("/api/stations", json={"lon": 112.8, "lat": 25.27}).status_code == 403
    assert c.get("/").status_code == 403
    assert c.get("/api/openapi.json").status_code == 403
    page = c.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert c.get("/api/openapi.json", headers=H).json()["paths"]["/api/stations"]["post"]
    assert c.get("/static/leaflet.js").status_code == 200  # the library itself is public
    assert c.get("/static/../session.py").status_code == 404
    assert studio.version == 0


def test_other_hosts_and_origins_are_refused(studio):
    c = _client(studio)
    assert c.get("/api/state", headers={**H, "Host": "evil.example"}).status_code == 421
    assert c.get("/api/state", headers={**H, "Host": "127.0.0.1.evil.example:8765"}).status_code == 421
    # another page open in the same browser: its origin, no token
    other = c.post("/api/stations", json={"lon": 112.8, "lat": 25.27}, headers={"Origin": "http://evil.example"})
    assert other.status_code == 403
    assert c.get("/api/state", headers={**H, "Origin": "http://evil.example"}).status_code == 403
    assert c.get("/api/state", headers={**H, "Origin": "null"}).status_code == 403
    assert c.get("/api/state", headers={**H, "Origin": "http://127.0.0.1:8765"}).status_code == 200
    assert c.get("/api/state", headers={**H, "Host": "localhost:8765"}).status_code == 200
    assert studio.version == 0


def test_body_size_and_rate_are_bounded(studio):
    c = _client(studio)
    big = {"lon": 112.8, "lat": 25.27, "name": "x" * 20_000}
    assert c.post("/api/stations", json=big, headers=H).status_code == 413

    def chunks():
        for _ in range(40):
            yield b"x" * 1000

    assert c.post("/api/scenarios", content=chunks(), headers={**H, "Content-Type": "application/json"}).status_code == 413
    assert c.post("/api/stations", json={"lon": 112.8, "lat": 25.27, "name": "n" * 81}, headers=H).status_code == 422
    slow = _client(studio, rate=0.01, burst=3)
    codes = [slow.get("/api/summary", headers=H).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


HOSTILE = ["{{ 3*14 }}", "{% if 1 %}X{% endif %}", "<script>alert(1)</script>", "`${alert(1)}`", '"><img src=x onerror=alert(1)>',
           "$x^2$", '=HYPERLINK("http://x","c")']  # fmt: skip


def test_hostile_names_are_escaped(mc):
    fac = mc.facilities.copy()
    fac["name"] = [HOSTILE[i % len(HOSTILE)] + f"~F{i}" for i in range(len(fac))]
    fac["id"] = [HOSTILE[(i + 2) % len(HOSTILE)] + f"~I{i}" for i in range(len(fac))]
    dem = mc.demand.copy()
    dem["name"] = [HOSTILE[i % len(HOSTILE)] + f"~D{i}" for i in range(len(dem))]
    zones = mc.zones.copy()
    zones["zone_name"] = [HOSTILE[i % len(HOSTILE)] + f"~Z{i}" for i in range(len(zones))]
    studio = Studio(mc.network, fac, dem, zones=zones, candidates=mc.candidates)
    c = _client(studio)
    state = c.get("/api/state", headers=H)
    edit = c.post("/api/stations", json={"lon": state.json()["stations"][0]["lon"] + 0.004, "lat": state.json()["stations"][0]["lat"],
                                         "name": "<script>alert(2)</script>"}, headers=H)  # fmt: skip
    sc = c.post("/api/scenarios", json={"name": "<img src=x onerror=alert(3)>"}, headers=H)
    detail = c.get("/api/demand/0", headers=H)
    for r in (state, edit, sc, detail):
        assert r.status_code == 200, r.text
        text = r.text
        for raw in ("<script", "<img", '"><img', "{{ 3*14 }}", "{%", "${"):
            assert raw not in text, (raw, r.request.url)
        assert "42~" not in text
    names = {s["name"] for s in state.json()["stations"]}
    assert names == {esc(n) for n in fac["name"]}
    assert edit.json()["opened"][0]["name"] == esc("<script>alert(2)</script>")
    assert {z["name"] for z in state.json()["zones"]} == {esc(n) for n in zones["zone_name"]}
    assert detail.json()["name"] == esc(dem["name"].iloc[0])


# --------------------------------------------------------------------------- load
def _replay(mc, log: list[list]) -> AuditState:
    """The server's log applied in order to a fresh state of the input facilities."""
    eng = Engine.build(mc.network, compact=False)
    st = AuditState.build(eng, eng.xy(mc.facilities), eng.xy(mc.demand), warn_far=False)
    pos = {f"e{i}": i for i in range(len(mc.facilities))}
    for op, key, x, y in log:
        if op == "open":
            st.add_facility((x, y))
            pos[key] = len(st.facility_xy) - 1
        else:
            st.remove_facility(pos[key])
    return st


def test_load_from_four_clients_loses_no_edit(mc):
    """1,000 edits from 4 concurrent clients over loopback, then stop: no error, every edit
    applied once, the final state equal to the server's log replayed in order."""
    studio = _studio(mc)
    srv = start_in_thread(create_app(studio, token=TOKEN, rate=1e6, burst=10**6))
    n_clients, per_client = 4, 250
    lon0, lat0, lon1, lat1 = mc.demand.to_crs(4326).total_bounds
    errors: list[str] = []
    added: list[int] = []

    def client(seed: int) -> None:
        rng = np.random.default_rng(seed)
        mine: list[str] = []
        ok = 0
        with httpx.Client(base_url=srv.base, headers=H, timeout=30) as http:
            for _ in range(per_client):
                if mine and rng.random() < 0.4:
                    r = http.delete(f"/api/stations/{mine.pop(int(rng.integers(len(mine))))}")
                else:
                    # town centre (dense roads): every click is within the snap tolerance
                    lon = lon0 + (lon1 - lon0) * (0.45 + 0.1 * rng.random())
                    lat = lat0 + (lat1 - lat0) * (0.45 + 0.1 * rng.random())
                    r = http.post("/api/stations", json={"lon": float(lon), "lat": float(lat)})
                    if r.status_code == 200:
                        mine.append(r.json()["opened"][0]["key"])
                        ok += 1
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")
        added.append(ok)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(n_clients)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        with httpx.Client(base_url=srv.base, headers=H) as http:
            log = http.get("/api/history").json()
            figures = {f["key"]: f["count"] for f in http.get("/api/summary").json()["figures"]}
    finally:
        srv.stop()
    assert not errors, errors[:3]
    assert log["version"] == n_clients * per_client
    assert sum(op == "open" for op, *_ in log["log"]) == sum(added)
    replayed = _replay(mc, log["log"])
    assert np.allclose(replayed.result.dist_m, studio.state.result.dist_m, rtol=0, atol=1e-6)
    assert np.array_equal(replayed.result.covered_radius, studio.state.result.covered_radius)
    assert np.array_equal(replayed.open, studio.state.open)
    assert figures["radius"] == int(replayed.result.covered_radius.sum())
    fresh = _from_scratch(mc, _open_xy(studio))  # and the incremental state equals a rebuild
    assert np.allclose(fresh.result.dist_m, studio.state.result.dist_m, rtol=0, atol=1e-6)


def test_serve_is_registered():
    from coverage.cli.commands import build_parser

    args = build_parser().parse_args(["serve", "--no-browser", "--lang", "zh"])
    assert args.host == "127.0.0.1" and args.no_browser and args.lang == "zh"


BAD = Path(__file__).parent / "data" / "bad"


@pytest.mark.parametrize("role", ["facilities", "demand", "zones", "candidates"])
def test_serve_refuses_bad_inputs_before_it_listens(role, tmp_path, capsys):
    """The bad-input corpus in each role of ``coverage serve``: one ``error:`` line and exit 2,
    before any server starts (a valid run would not return)."""
    from coverage.cli.commands import main

    valid = {"facilities": "town_facilities.csv", "demand": "town_demand.csv", "zones": "town_zones.geojson",
             "candidates": "town_candidates.csv"}  # fmt: skip
    for bad in ("empty.csv", "duplicate_ids.csv", "empty_coordinate.csv"):
        files = {**valid, role: bad}
        argv = ["serve", "--no-browser", "--network", str(BAD / "town.osm"), "--out", str(tmp_path), "--quiet"]
        for r, name in files.items():
            argv += [f"--{r}", str(BAD / name)]
        assert main(argv) == 2, (role, bad)
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), err
    _ = dataclasses
