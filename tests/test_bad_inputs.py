"""The bad-input corpus: every row of tests/data/bad/cases.csv must give its typed error or
warning, with a message naming the file, row/column and the fix, through the API and (for
errors) through the command line: one ``error:`` line on stderr and exit status 2.

Manifest columns: ``case``; ``file`` (in tests/data/bad); ``what`` (points, zones, network,
audit, site, cli); ``options`` (JSON keyword arguments, see :func:`run_api` and
:func:`cli_argv`); ``expect`` (a class of :mod:`coverage.errors`); ``match`` (regex the
message must contain); ``note``.

For ``audit`` and ``site`` rows, ``options["role"]`` says which input the file replaces;
the others are the tiny town in tests/data/bad (town.osm, town_facilities.csv,
town_demand.csv, town_candidates.csv) unless ``options`` names them. ``cli`` rows give a
whole command line of any subcommand (``options["argv"]``, ``{data}`` = tests/data/bad; the
tiny town's workflow inputs are town_homes.csv, town_buildings.csv, town_residents.csv and
town_plan.csv); ``--out`` (and ``--map`` for ``audit``) go to a temporary folder.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coverage import errors
from coverage.audit.run import run_audit
from coverage.cli.commands import main
from coverage.config import AuditConfig
from coverage.errors import CoverageError, CoverageWarning
from coverage.inputs.osm import read_network
from coverage.inputs.points import read_points, read_zones
from coverage.siting.propose import propose_sites

BAD = Path(__file__).parent / "data" / "bad"
with (BAD / "cases.csv").open(encoding="utf-8", newline="") as _fh:
    CASES = list(csv.DictReader(_fh))
FILE_KEYS = ("network", "facilities", "demand", "zones", "candidates", "edges_path")
TOWN = {
    "network": "town.osm",
    "facilities": "town_facilities.csv",
    "demand": "town_demand.csv",
    "candidates": "town_candidates.csv",
    "zones": None,
}


def _options(row: dict[str, str]) -> dict[str, Any]:
    opts = json.loads(row["options"] or "{}")
    for key in FILE_KEYS:
        if isinstance(opts.get(key), str):
            opts[key] = str(BAD / opts[key])
    return opts


def _inputs(row: dict[str, str], opts: dict[str, Any]) -> dict[str, Any]:
    files = {k: (str(BAD / v) if v else None) for k, v in TOWN.items()}
    files.update({k: opts.pop(k) for k in list(opts) if k in files})
    files[opts.pop("role")] = str(BAD / row["file"])
    return files


def _expected(row: dict[str, str]) -> type:
    cls = getattr(errors, row["expect"])
    assert row["expect"] in errors.__all__
    assert issubclass(cls, CoverageError | CoverageWarning)
    return cls


def run_api(row: dict[str, str]) -> None:
    """Run one manifest row through the library."""
    opts = _options(row)
    what, path = row["what"], BAD / row["file"]
    if what == "points":
        read_points(path, **opts)
    elif what == "zones":
        read_zones(path, **opts)
    elif what == "network":
        read_network(path, **opts)
    elif what in ("audit", "site"):
        files = _inputs(row, opts)
        cs = opts.pop("coord_system", None)
        cfg = AuditConfig(
            snap_tolerance_m=opts.pop("snap_tolerance_m", 500.0),
            radius_m=opts.pop("radius_m", 1000.0),
        )
        net = read_network(files["network"])
        fac = read_points(files["facilities"], kind="facilities", coord_system=cs)
        dem = read_points(files["demand"], kind="demand", coord_system=cs)
        zones = read_zones(files["zones"], coord_system=cs) if files["zones"] else None
        if what == "audit":
            assert not opts, opts
            run_audit(net, fac, dem, zones=zones, config=cfg, with_service_areas=False)
        else:
            cand = read_points(files["candidates"], kind="candidates", coord_system=cs)
            propose_sites(net, fac, dem, cand, zones=zones, config=cfg, with_service_areas=False, **opts)
    else:
        raise AssertionError(f"unknown what={what!r}")


def cli_argv(row: dict[str, str], tmp_path: Path) -> list[str]:
    """The command line for one manifest row (outputs in ``tmp_path``)."""
    opts = _options(row)
    what, path = row["what"], str(BAD / row["file"])
    if what == "cli":
        argv = [a.replace("{data}", str(BAD)).replace("{tmp}", str(tmp_path)) for a in opts["argv"]]
        argv += ["--out", str(tmp_path / "out")]
        return [*argv, "--map", str(tmp_path / "map.html")] if argv[0] == "audit" else argv
    if what == "points":
        kind = opts.pop("kind", "demand")
        opts["role"] = kind
        what = "site" if kind == "candidates" else "audit"
        row = {**row, "what": what}
    if what == "zones":
        opts["role"], what = "zones", "audit"
    if what == "network":
        opts["role"], what = "network", "audit"
    edges = opts.pop("edges_path", None)
    files = _inputs({**row, "file": path}, {k: v for k, v in opts.items() if k in (*TOWN, "role")})
    for k in (*TOWN, "role"):
        opts.pop(k, None)
    argv = [what, "--network", files["network"], "--facilities", files["facilities"]]
    argv += ["--demand", files["demand"]]
    if edges:
        argv += ["--edges", edges]
    if files["zones"]:
        argv += ["--zones", files["zones"]]
    flags = {
        "coord_system": "--coord-system", "snap_tolerance_m": "--snap-tolerance",
        "radius_m": "--radius", "model": "--model", "k_new": "--k", "budget": "--budget",
        "zone_rule": "--one-per-zone",
    }  # fmt: skip
    for key, value in opts.items():
        assert key in flags, f"{row['case']}: option {key!r} has no command-line flag"
        argv += [flags[key], str(value)]
    if what == "site":
        argv += ["--candidates", files["candidates"], "--out", str(tmp_path / "out")]
        if "--k" not in argv and "--budget" not in argv and "--model" not in argv:
            argv += ["--k", "1"]
    else:
        argv += ["--out", str(tmp_path / "out"), "--map", str(tmp_path / "map.html")]
    return argv


# --- the manifest ----------------------------------------------------------------------


def test_manifest_is_complete() -> None:
    names = [r["case"] for r in CASES]
    assert len(names) >= 35 and len(set(names)) == len(names)
    assert {r["what"] for r in CASES} == {"points", "zones", "network", "audit", "site", "cli"}
    for r in CASES:
        _expected(r)
        re.compile(r["match"])
        assert r["note"], r["case"]
        if r["case"] != "cli_missing_file":
            assert (BAD / r["file"]).is_file(), r["file"]
    for f in BAD.iterdir():
        assert f.stat().st_size < (32 if f.name == "cases.csv" else 4) * 1024, f"{f.name} is not tiny"
    # every item of the list has a case
    expects = {r["expect"] for r in CASES}
    assert {"InputFileError", "CoordinateError", "CRSError", "NetworkError", "ParameterError",
            "InfeasibleError", "DataWarning", "SnapWarning", "OutputExistsError"} <= expects
    assert not (BAD / "missing.csv").exists()


API = [r for r in CASES if r["what"] != "cli"]  # "cli" rows are command-line only


@pytest.mark.parametrize("row", API, ids=[r["case"] for r in API])
def test_api(row: dict[str, str]) -> None:
    cls = _expected(row)
    if issubclass(cls, Warning):
        with pytest.warns(cls, match=row["match"]):
            run_api(row)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CoverageWarning)
            with pytest.raises(cls, match=row["match"]) as info:
                run_api(row)
        assert "\n" not in str(info.value)


ERRORS = [r for r in CASES if not issubclass(getattr(errors, r["expect"]), Warning)]


@pytest.mark.parametrize("row", ERRORS, ids=[r["case"] for r in ERRORS])
def test_cli(row: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = cli_argv(row, tmp_path)
    existing = json.loads(row["options"]).get("existing")
    if existing:
        (tmp_path / existing).parent.mkdir(parents=True)
        (tmp_path / existing).write_text("from the first run\n")
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(row["match"], lines[0]), lines[0]


# --- details the manifest cannot say ---------------------------------------------------


def _town(demand: str = "town_demand.csv", **kw: Any):
    net = read_network(BAD / "town.osm")
    fac = read_points(BAD / "town_facilities.csv", kind="facilities")
    dem = read_points(BAD / demand, **kw)
    return net, fac, dem


def test_far_points_are_unreachable_never_snapped() -> None:
    net, fac, dem = _town("far_from_road.csv")
    with pytest.warns(errors.SnapWarning, match="row 8"):
        res = run_audit(net, fac, dem, with_service_areas=False)
    d = res.demand.set_index("id")
    assert d.loc["D7", "status"] == "unreachable"
    assert d.loc["D7", "access_m"] == pytest.approx(3000, abs=60)
    assert not np.isfinite(d.loc["D7", "dist_m"]) and not d.loc["D7", "covered_radius"]
    assert (d.drop(index="D7")["status"] != "unreachable").all()


def test_gcj02_declared_right_gives_no_warning() -> None:
    net, fac, dem = _town("gcj02_declared_wgs84.csv", coord_system="gcj02")
    res = run_audit(net, fac, dem, with_service_areas=False)  # warnings are errors here
    assert res.demand["access_m"].max() < 5


def test_good_town_runs_clean(tmp_path: Path) -> None:
    net, fac, dem = _town()
    zones = read_zones(BAD / "town_zones.geojson")
    res = run_audit(net, fac, dem, zones=zones, with_service_areas=False)
    assert set(res.demand["zone_id"]) == {"V1", "V2", "V3"}
    cand = read_points(BAD / "town_candidates.csv", kind="candidates")
    out = propose_sites(net, fac, dem, cand, zones=zones, zone_rule="exactly_one", k_new=1, with_service_areas=False)
    assert len(out.proposed) == 1 and out.proposed["id"].iloc[0] in {"C3", "C4"}  # 北村 needs one


def test_cli_warnings_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    argv = [
        "audit", "--network", str(BAD / "town.osm"), "--facilities", str(BAD / "town_facilities.csv"),
        "--demand", str(BAD / "disconnected.csv"), "--zones", str(BAD / "zones_partial.geojson"),
        "--out", str(tmp_path / "out"), "--map", str(tmp_path / "map.html"), "--basemap", "none",
    ]  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="py.warnings"):
        assert main(argv) == 0
    shown = [r.getMessage() for r in caplog.records if r.name == "py.warnings"]
    assert len(shown) == 2, shown
    assert all("\n" not in m for m in shown)
    assert shown[0].startswith("DataWarning: ") and "disconnected pieces" in " ".join(shown)
    assert "error" not in capsys.readouterr().err


def test_cli_debug_shows_the_traceback(tmp_path: Path) -> None:
    row = next(r for r in CASES if r["case"] == "osm_truncated")
    with pytest.raises(errors.NetworkError):
        main([*cli_argv(row, tmp_path), "--debug"])


def test_every_public_error_is_a_coverage_error() -> None:
    from coverage.publish import _offline as offline
    from coverage.publish import browser

    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, CoverageError), name
    assert offline.OfflineAssetError is errors.OfflineAssetError
    assert browser.BrowserError is errors.BrowserError
    assert issubclass(errors.BrowserError, RuntimeError)
