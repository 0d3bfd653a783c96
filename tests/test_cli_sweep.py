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
writes (Chinese column names; every workflow on its own example files, with the embedded
default run's results). The last tests walk the parser: every option has help, the same
flags mean the same things in every subcommand, the map lives in ``--out``, and the map and
report flags reach the writers' keywords.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from coverage.cli.commands import build_parser, main
from coverage.datasets.model_county import MODEL_COUNTY_FILES
from coverage.datasets.terrain import DEM_FILE

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
CORPUS = sorted(BAD.iterdir()) + sorted((DATA / "points" / "bad").iterdir())

#: subcommand -> role -> (flag, the valid default in tests/data/bad)
COMMANDS: dict[str, dict[str, tuple[str, str | None]]] = {
    "audit": {"network": ("--network", "town.osm"), "edges": ("--edges", None),
              "facilities": ("--facilities", "town_facilities.csv"), "demand": ("--demand", "town_demand.csv"),
              "zones": ("--zones", "town_zones.geojson"), "dem": ("--dem", None)},
    "costs": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "facilities": ("--facilities", "town_facilities.csv"),
              "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson"),
              "sites": ("--sites", "town_candidates.csv")},
    "site": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "facilities": ("--facilities", "town_facilities.csv"),
             "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson"),
             "candidates": ("--candidates", "town_candidates.csv"), "osm-candidates": ("--osm-candidates", None)},
    "review": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "buildings": ("--buildings", "town_buildings.csv"),
               "site": ("--site", "town_zones.geojson"), "facilities": ("--facilities", "town_facilities.csv"),
               "planned": ("--planned", "town_candidates.csv")},
    "makeup": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "facilities": ("--facilities", "town_facilities.csv"),
               "areas": ("--areas", "town_buildings.csv"), "candidates": ("--candidates", "town_candidates.csv")},
    "villages": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "facilities": ("--facilities", "town_homes.csv"),
                 "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson"),
                 "candidates": ("--candidates", "town_candidates.csv"), "centres": ("--centres", "town_homes.csv"),
                 "plan": ("--plan", "town_plan.csv")},
    "consolidate": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "homes": ("--homes", "town_homes.csv"),
                    "residents": ("--residents", "town_residents.csv")},
    "targets": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "facilities": ("--facilities", "town_facilities.csv"),
                "demand": ("--demand", "town_demand.csv"), "zones": ("--zones", "town_zones.geojson")},
    "batch": {"network": ("--network", "town.osm"), "edges": ("--edges", None), "facilities": ("--facilities", "town_facilities.csv"),
              "demand": ("--demand", "town_demand.csv"), "regions": ("--regions", "town_zones.geojson")},
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
    "batch": ["--scheduler", "sync", "--no-region-maps", "--date", "2026-01-01"],
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
    # serve starts a server and does not return: its inputs are swept in tests/test_studio.py
    assert set(sub.choices) == set(COMMANDS) | {"serve"}
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

WRITTEN = {  # subcommand -> inputs from the written folder (the model county and its scenarios, Chinese headers)
    "audit": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson",
              "--dem", "terrain_dem.tif"],
    "costs": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--sites", "candidates.csv"],
    "site": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson",
             "--candidates", "candidates.csv", "--k", "2"],
    "review": ["--network", "roads.osm", "--buildings", "buildings.csv", "--site", "site.geojson", "--facilities",
               "facilities.csv", "--planned", "planned.csv"],
    "makeup": ["--network", "roads.osm", "--facilities", "facilities.csv", "--areas", "areas.csv", "--candidates",
               "makeup_candidates.csv"],
    "villages": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson",
                 "--candidates", "candidates.csv", "--centres", "centres.csv", "--plan", "plan.csv"],
    "consolidate": ["--network", "roads.osm", "--homes", "homes.csv", "--residents", "residents.csv", "--must-keep", "F05",
                    "--alternative", "alternative: keep 东坪 N01 instead of 新田 N07=F05,N01,N04,F08", "--no-optimum"],
    "targets": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--zones", "zones.geojson"],
    "batch": ["--network", "roads.osm", "--facilities", "facilities.csv", "--demand", "demand.csv", "--regions", "townships.geojson",
              "--scheduler", "sync"],
}  # fmt: skip
#: the embedded default run each file run is compared with (its own flags: the same choices)
EMBEDDED = {"site": ["--k", "2"], "consolidate": ["--no-optimum"], "audit": ["--dem", "model-county"], "batch": ["--scheduler", "sync"]}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model_county")
    assert main(["data", str(folder), "--overwrite", "--quiet"]) == 0
    assert "类型" in (folder / "facilities.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*MODEL_COUNTY_FILES.values(), DEM_FILE])  # + the generated hill
    return folder


@pytest.mark.parametrize("cmd", sorted(WRITTEN))
def test_the_written_data_files_run(cmd: str, written: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [cmd, *(str(written / a) if a.endswith((".osm", ".csv", ".geojson", ".tif")) else a for a in WRITTEN[cmd])]
    out = tmp_path / "out"
    argv += ["--out", str(out), "--quiet", "--date", "2026-01-01"]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert _files(out)
    # the same summary as the embedded default run (e.g. the two existing points, 类型 村级互助养老点, are found)
    assert main([cmd, *EMBEDDED.get(cmd, []), "--out", str(out), "--overwrite", "--quiet", "--date", "2026-01-01"]) == 0
    timing = re.compile(r"\d+\.\d+ s\b|[\d,]+ homes/s")  # run times differ
    dem_name = re.compile(r"terrain: DEM [^(]*")  # the written hill's file name vs the embedded hill's (same heights)
    assert dem_name.sub("", timing.sub("_ s", capsys.readouterr().out)) == dem_name.sub("", timing.sub("_ s", captured.out))


def test_villages_read_chinese_columns_and_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # town_homes.csv: 类型 column, F2 is a 互助养老点; town_plan.csv: 乡镇, 计划点数
    argv = ["villages", "--network", str(BAD / "town.osm"), "--facilities", str(BAD / "town_homes.csv"),
            "--demand", str(BAD / "town_demand.csv"), "--zones", str(BAD / "town_zones.geojson"),
            "--candidates", str(BAD / "town_candidates.csv"), "--centres", str(BAD / "town_homes.csv"),
            "--plan", str(BAD / "town_plan.csv"), "--out", str(tmp_path), "--date", "2026-01-01", "--quiet"]  # fmt: skip
    import coverage.workflows.villages as villages

    results = []
    real = villages.write_village_outputs

    def keep(result, *args, **kwargs):
        results.append(result)
        return real(result, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(villages, "write_village_outputs", keep)
        assert main(argv) == 0
    s = results[0].summary.iloc[0]
    assert (s.villages_with_point_before, s.villages_with_point_after, s.n_villages) == (1, 3, 3)  # F2 is found
    assert results[0].townships["planned_points"].iloc[0] == 2  # the task table's 计划点数


# --- one command line everywhere ----------------------------------------------------------

#: hidden spellings kept for old command lines
HIDDEN = {("consolidate", "--cutoff")}
REPORTING = ("audit", "site", "review", "makeup", "villages", "consolidate", "targets")
#: flags every command has (data: a folder, no rules, no maps)
EVERYWHERE = {"--overwrite", "--quiet", "--debug"}
ANALYSES = {"--out", "--date", "--network", "--edges", "--place", "--crs", "--coord-system", "--radius", "--minutes",
            "--speed", "--snap-tolerance", "--search-limit"}  # fmt: skip
REPORT_FLAGS = {"--report", "--pdf", "--title", "--organisation", "--author", "--lang", "--plan-basis", "--basemap",
                "--tianditu-key"}  # fmt: skip


def _subparsers() -> dict[str, object]:
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def test_every_option_has_help() -> None:
    import argparse

    missing = []
    for cmd, p in _subparsers().items():
        for a in p._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            if a.help == argparse.SUPPRESS:
                assert {(cmd, s) for s in a.option_strings} <= HIDDEN, (cmd, a.option_strings)
            elif not (a.help or "").strip():
                missing.append(f"{cmd} {'/'.join(a.option_strings) or a.dest}")
    assert not missing, f"options without help: {missing}"


def test_the_same_flags_everywhere() -> None:
    subs = _subparsers()
    for cmd, p in subs.items():
        flags = {s for a in p._actions for s in a.option_strings}
        assert flags >= EVERYWHERE, cmd
        if cmd != "data":
            assert flags >= ANALYSES, (cmd, ANALYSES - flags)
        if cmd in REPORTING:
            assert flags >= REPORT_FLAGS, (cmd, REPORT_FLAGS - flags)
            assert "--map" in flags, cmd
        # every input file flag has its own coordinate-system flag
        for a in p._actions:
            if a.dest in {"facilities", "demand", "zones", "candidates", "sites", "buildings", "site", "planned", "areas",
                          "centres", "homes", "residents"}:  # fmt: skip
                assert f"--{a.dest}-coord-system" in flags, (cmd, a.dest)
    basemap = {cmd: next(a for a in p._actions if a.dest == "basemap").default for cmd, p in subs.items() if cmd in REPORTING}
    assert set(basemap.values()) == {"none"}


def test_the_map_lives_in_the_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit"
    assert main(["audit", "--quiet", "--out", str(out), "--date", "2026-01-01"]) == 0
    assert (out / "audit_map.html").is_file()
    extra = tmp_path / "maps" / "copy.html"
    assert main(["audit", "--quiet", "--out", str(out), "--map", str(extra), "--overwrite", "--date", "2026-01-01"]) == 0
    assert extra.read_bytes() == (out / "audit_map.html").read_bytes()
    assert main(["costs", "--quiet", "--out", str(tmp_path / "costs")]) == 0
    assert sorted(p.name for p in (tmp_path / "costs").iterdir()) == ["costs.csv", "costs.json"]
    assert main(["site", "--model", "pmedian", "--quiet", "--out", str(tmp_path / "s")]) == 2
    assert "--k" in capsys.readouterr().err


def test_map_and_report_flags_reach_the_writers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Every map and report flag is forwarded to the writer's keyword of the same name when
    the writer takes it (its signature is read), and reported when it does not."""
    import logging

    import coverage.workflows.targets as targets

    seen: dict[str, object] = {}

    def full(result, out_dir, *, overwrite=False, pdf=False, title=None, organisation=None, author=None, lang="both",  # noqa: PLR0913
             plan_basis=None, basemap="none", tianditu_key=None):  # a writer taking every keyword  # fmt: skip
        seen.update(pdf=pdf, title=title, organisation=organisation, author=author, lang=lang, plan_basis=plan_basis,
                    basemap=basemap, tianditu_key=tianditu_key)  # fmt: skip
        return {}

    monkeypatch.setattr(targets, "write_targets_outputs", full)
    argv = ["targets", "--quiet", "--out", str(tmp_path / "t"), "--date", "2026-01-01", "--pdf", "--title", "县养老服务设施覆盖评估",
            "--organisation", "县民政局", "--author", "规划科", "--lang", "zh", "--plan-basis", "pingyin2021",
            "--basemap", "tianditu", "--tianditu-key", "KEY"]  # fmt: skip
    assert main(argv) == 0
    assert seen == {"pdf": True, "title": "县养老服务设施覆盖评估", "organisation": "县民政局", "author": "规划科", "lang": "zh",
                    "plan_basis": "pingyin2021", "basemap": "tianditu", "tianditu_key": "KEY"}  # fmt: skip

    def bare(result, out_dir, *, overwrite=False, pdf=False):
        seen.update(bare=pdf)
        return {}

    monkeypatch.setattr(targets, "write_targets_outputs", bare)
    with caplog.at_level(logging.WARNING, logger="coverage.cli"):
        assert main([*argv[:6], "--overwrite", "--title", "T", "--lang", "zh"]) == 0
    assert seen["bare"] is False
    assert any("--title, --lang: not used" in r.getMessage() for r in caplog.records)
    # a --plan-basis that names a file must exist (checked before any work)
    assert main([*argv[:6], "--overwrite", "--plan-basis", str(tmp_path / "plan.md")]) == 2
