"""Every subcommand × every file of the bad-input corpus × every input role: never a traceback.

Each corpus file (tests/data/bad/*, tests/data/points/bad/*) is given to the command line
(:func:`coverage.cli.commands.main`, in-process) in every input role a subcommand has -- network,
edge table, facilities, demand, zones, candidates and the workflows' own inputs (buildings,
site polygon, planned point, areas, township centres, task table, homes, resident groups,
the ``data`` folder) -- with the other inputs valid: the tiny town of tests/data/bad
(town.osm, town_facilities.csv, town_demand.csv, town_candidates.csv, town_zones.geojson;
for the workflows town_homes.csv with kinds and beds, town_buildings.csv with households,
town_residents.csv and town_plan.csv).

A call must return 0 or 2, never raise; on 2 it prints exactly one ``error:`` line naming
the file, and the output folder holds no files. Roles shared by several subcommands
(network, facilities, demand, zones, candidates) are taken by one subcommand per file, in
turn, so every file meets every role once and every subcommand sees every role it has.
The workflows' PNG maps are stubbed (they only draw validated layers; test_workflows draws
them): the sweep is ~1,500 calls in about a minute.

:func:`test_the_written_data_files_run` runs every subcommand on the files ``coverage data``
writes (Chinese column names).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from coverage.cli.commands import build_parser, main

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
CORPUS = sorted(BAD.iterdir()) + sorted((DATA / "points" / "bad").iterdir())

#: subcommand -> role -> (flag, the valid default in tests/data/bad)
COMMANDS: dict[str, dict[str, tuple[str, str | None]]] = {
    "audit": {"network": ("--network", "town.osm"), "edges": ("--edges", None),
              "facilities": ("--facilities", "town_facilities.csv"), "demand": ("--demand", "town_demand.csv"),
              "zones": ("--zones", "town_zones.geojson")},
    "costs": {"network": ("--network", "town.osm"), "facilities": ("--facilities", "town_facilities.csv"),
              "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson"),
              "sites": ("--sites", "town_candidates.csv")},
    "site": {"network": ("--network", "town.osm"), "facilities": ("--facilities", "town_facilities.csv"),
             "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson"),
             "candidates": ("--candidates", "town_candidates.csv"), "osm-candidates": ("--osm-candidates", None)},
    "review": {"network": ("--network", "town.osm"), "buildings": ("--buildings", "town_buildings.csv"),
               "site": ("--site", "town_zones.geojson"), "facilities": ("--facilities", "town_facilities.csv"),
               "planned": ("--planned", "town_candidates.csv")},
    "makeup": {"network": ("--network", "town.osm"), "facilities": ("--facilities", "town_facilities.csv"),
               "areas": ("--areas", "town_buildings.csv"), "candidates": ("--candidates", "town_candidates.csv")},
    "villages": {"network": ("--network", "town.osm"), "facilities": ("--facilities", "town_homes.csv"),
                 "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson"),
                 "candidates": ("--candidates", "town_candidates.csv"), "centres": ("--centres", "town_homes.csv"),
                 "plan": ("--plan", "town_plan.csv")},
    "consolidate": {"network": ("--network", "town.osm"), "homes": ("--homes", "town_homes.csv"),
                    "residents": ("--residents", "town_residents.csv")},
    "targets": {"network": ("--network", "town.osm"), "facilities": ("--facilities", "town_facilities.csv"),
                "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson")},
    "data": {"folder": ("", None)},
}  # fmt: skip
EXTRA = {  # fast, deterministic settings (no basemap tiles, fixed date)
    "audit": ["--basemap", "none", "--date", "2026-01-01"],
    "costs": [],
    "site": ["--k", "1", "--basemap", "none", "--date", "2026-01-01"],
    "review": ["--date", "2026-01-01"],
    "makeup": ["--date", "2026-01-01"],
    "villages": ["--date", "2026-01-01"],
    "consolidate": ["--keep", "F1", "--no-optimum", "--date", "2026-01-01"],
    "targets": ["--target", "0.9", "--date", "2026-01-01"],
    "data": [],
}


def _plan() -> list[tuple[str, str, Path]]:
    """(command, role, file): every file in every role once, shared roles rotating over the commands."""
    by_role: dict[str, list[str]] = {}
    for cmd, roles in COMMANDS.items():
        for role in roles:
            by_role.setdefault(role, []).append(cmd)
    cases = []
    for i, f in enumerate(CORPUS):
        for role, cmds in by_role.items():
            cases.append((cmds[i % len(cmds)], role, f))
    return cases


CASES = _plan()


@pytest.fixture(scope="module", autouse=True)
def _no_matplotlib() -> object:
    """Skip drawing the workflows' static PNG maps (a third of a successful call; they take
    no input beyond the validated layers and are tested in test_workflows): write a stub."""
    from coverage.publish import figures
    from coverage.publish.atomic import atomic_write_bytes

    def stub(path: Path, *, overwrite: bool, **_kw: object) -> Path:
        return atomic_write_bytes(path, b"\x89PNG sweep stub", overwrite=overwrite)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figures, "_figure_png", stub)
        yield


def _argv(cmd: str, role: str, path: Path, out: Path) -> list[str]:
    if cmd == "data":
        return ["data", str(path), "--quiet"]
    argv = [cmd]
    for r, (flag, default) in COMMANDS[cmd].items():
        value = str(path) if r == role else default
        if r == "network" and role == "edges":
            value = "net_nodes.csv"
        if value is None:
            continue
        if not os.path.isabs(value):
            value = str(BAD / value)
        argv += [flag, value]
    if cmd == "costs":
        argv += ["--out", str(out / "costs.csv")]
    else:
        argv += ["--out", str(out)]
    if cmd == "audit":
        argv += ["--map", str(out / "audit_map.html")]
    return [*argv, *EXTRA[cmd], "--quiet"]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


TIMES: list[tuple[float, str]] = []


@pytest.mark.parametrize(("cmd", "role", "path"), CASES, ids=[f"{c}-{r}-{p.relative_to(DATA).as_posix().replace('/', '-')}" for c, r, p in CASES])
def test_no_traceback(cmd: str, role: str, path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    if cmd == "data":  # the corpus file stands where the folder should be
        path = Path(shutil.copy(path, tmp_path / path.name))
        before = path.read_bytes()
    argv = _argv(cmd, role, path, out)
    t0 = time.perf_counter()
    code = main(argv)  # an uncaught exception fails the test with its traceback
    TIMES.append((time.perf_counter() - t0, f"{cmd} {role} {path.name} {code}"))
    err = capsys.readouterr().err
    assert code in (0, 2), (code, err)
    if code == 0:
        return
    assert "Traceback" not in err, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, err
    assert re.search(re.escape(path.name), errors[0]), f"the message does not name {path.name}: {errors[0]}"
    if cmd == "data":
        assert path.read_bytes() == before and _files(tmp_path) == [path.name]
    else:
        assert _files(out) == [], f"files left after a failure: {_files(out)}"


def test_every_role_and_file_is_swept() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    for cmd, roles in COMMANDS.items():
        flags = {s for a in sub.choices[cmd]._actions for s in a.option_strings}
        assert {flag for flag, _ in roles.values() if flag} <= flags, cmd
    seen = {(r, p) for _c, r, p in CASES}
    assert seen == {(r, p) for roles in COMMANDS.values() for r in roles for p in CORPUS}
    assert {(c, r) for c, r, _p in CASES} == {(c, r) for c, roles in COMMANDS.items() for r in roles}
    assert len(CORPUS) > 60


def teardown_module() -> None:
    if TIMES:
        total = sum(t for t, _ in TIMES)
        slow = sorted(TIMES, reverse=True)[:5]
        if os.environ.get("SWEEP_TIMES"):
            Path(os.environ["SWEEP_TIMES"]).write_text("".join(f"{t:.3f} {name}\n" for t, name in TIMES))
        print(f"\nsweep: {len(TIMES)} calls, {total:.1f} s in main(); slowest: "
              + "; ".join(f"{name} {t:.2f} s" for t, name in slow))  # fmt: skip


# --- the files `coverage data` writes ---------------------------------------------------

WRITTEN = {  # subcommand -> inputs from the written folder (the model county, Chinese headers)
    "audit": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson"],
    "costs": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--sites", "candidates.csv"],
    "site": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson",
             "--candidates", "candidates.csv", "--k", "2"],
    "review": ["--network", "roads.osm", "--buildings", "demand.csv", "--facilities", "facilities.csv"],
    "makeup": ["--network", "roads.osm", "--facilities", "facilities.csv", "--areas", "demand.csv", "--candidates", "candidates.csv"],
    "villages": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson",
                 "--candidates", "candidates.csv", "--centres", "facilities.csv"],
    # no resident groups are written: the demand table lacks their columns, and says so
    "consolidate": ["--network", "roads.osm", "--homes", "facilities.csv", "--residents", "demand.csv"],
    "targets": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson"],
}  # fmt: skip


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model_county")
    assert main(["data", str(folder), "--overwrite", "--quiet"]) == 0
    assert "类型" in (folder / "facilities.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    return folder


@pytest.mark.parametrize("cmd", sorted(WRITTEN))
def test_the_written_data_files_run(cmd: str, written: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [cmd, *(str(written / a) if a.endswith((".osm", ".csv", ".geojson")) else a for a in WRITTEN[cmd])]
    out = tmp_path / "out"
    argv += ["--out", str(out / "costs.csv" if cmd == "costs" else out), "--quiet"]
    argv += [] if cmd == "costs" else ["--date", "2026-01-01"]
    argv += ["--map", str(out / "audit_map.html")] if cmd == "audit" else []
    argv += ["--basemap", "none"] if cmd in ("audit", "site") else []
    code = main(argv)
    captured = capsys.readouterr()
    if cmd == "consolidate":
        assert code == 2
        assert re.search(r"demand\.csv: 2 problems: no column 'home_id' \(所在机构.*no column 'count' \(人数", captured.err)
        assert _files(out) == []
        return
    assert code == 0, captured.err
    assert _files(out)
    if cmd == "villages":  # the two existing points (类型 village_point) are found
        assert "2 -> 11 of 12 villages" in captured.out


def test_villages_read_chinese_columns_and_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # town_homes.csv: 类型 column, F2 is a 互助养老点; town_plan.csv: 乡镇, 计划点数
    argv = ["villages", "--network", str(BAD / "town.osm"), "--facilities", str(BAD / "town_homes.csv"),
            "--demand", str(BAD / "town_demand.csv"), "--zones", str(BAD / "town_zones.geojson"),
            "--candidates", str(BAD / "town_candidates.csv"), "--centres", str(BAD / "town_homes.csv"),
            "--plan", str(BAD / "town_plan.csv"), "--out", str(tmp_path), "--date", "2026-01-01", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "1 -> 3 of 3 villages" in out  # the existing point F2 is found
    assert "planned 2" in out  # the task table's 计划点数
