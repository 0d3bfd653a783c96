"""The committee package: HTML report (+ PDF), Excel tables, charts, the ``--report`` flag.

Browser checks (static map picture, PDF, the report in headless Chromium) are skipped when
no Chromium is installed; rendering the PDF's first page needs ``pdftoppm`` (poppler-utils).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from page_check import page_check
from PIL import Image

from coverage import AuditConfig, model_county, run_audit, write_outputs
from coverage.cli.commands import main
from coverage.errors import OutputExistsError
from coverage.publish.audit_package import committee_package
from coverage.publish.browser import find_chromium
from coverage.publish.charts import coverage_by_zone_chart, distance_histogram, share_bars_chart
from coverage.publish.excel import write_excel
from coverage.publish.report import Report, ReportSection, write_report

HAS_CHROMIUM = find_chromium() is not None
needs_chromium = pytest.mark.skipif(
    not HAS_CHROMIUM, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)
EVIL = "<img src=x onerror=alert(1)>"
EVIL_TITLE = """<img src=x onerror="document.title='PWNED'">"""


def _non_blank(png: Path) -> float:
    """Share of pixels that are not (near) white."""
    im = np.asarray(Image.open(png).convert("L"), dtype=np.uint8)
    return float((im < 235).mean())


@pytest.fixture(scope="module")
def result():
    mc = model_county()
    return run_audit(mc.network, mc.facilities, mc.demand, zones=mc.zones, target=0.9, run_date="2026-01-01")


@pytest.fixture(scope="module")
def package(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg")
    paths = write_outputs(result, out, map_path=out / "maps" / "audit_map.html", basemap="none")
    return committee_package(result, out, map_html=paths["map"], pdf=HAS_CHROMIUM)


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory):
    """A package whose facility and zone names are hostile HTML (no browser outputs)."""
    mc = model_county()
    fac, zones, dem = mc.facilities.copy(), mc.zones.copy(), mc.demand.copy()
    fac.loc[fac.index[0], "name"] = EVIL
    zones.loc[zones.index[0], "zone_name"] = EVIL_TITLE
    dem.loc[dem.index[0], "name"] = "=HYPERLINK(\"http://x\",\"click\")"
    res = run_audit(mc.network, fac, dem, zones=zones, target=0.9, run_date="2026-01-01")
    out = tmp_path_factory.mktemp("evil")
    fake_map = out / "map.html"
    fake_map.write_text("<!DOCTYPE html><title>map</title>", encoding="utf-8")
    return committee_package(res, out, map_html=fake_map, pdf=False, map_picture=False)


# --------------------------------------------------------------------------- report content
def test_report_states_numbers_parameters_rules_and_sources(result, package):
    page = package["report"].read_text(encoding="utf-8")
    d = result.demand
    n = len(d)
    w = d["elderly"].astype(float)
    # page 1: the key figures by rule, counted here from the demand table
    key = {row[0]: row[1:] for row in _table_rows(page, "data")[:8]}
    for label, flag in (("路网1000米内 1000 m by road", d.covered_radius), ("步行15分钟（0.8 m/s） 15 min walk at 0.8 m/s", d.covered_time)):
        k = int(flag.sum())
        assert key[label][:4] == [str(k), str(n), f"{k / n:.1%}", f"{w[flag].sum() / w.sum():.1%}"]  # 78 124 62.9% 83.4%
    assert "<p>124 个需求点中，78 个（62.9%）在路网 1,000 米内" in page and "<p>78 of 124 demand points (62.9%)" in page
    assert page.index("结论 Findings") < page.index("本次使用的参数 Parameters used") < page.index("参考：内置标准库")
    # parameters with their sources, the library as reference (no basis named), CRS, model-county note
    for text in ("0.8 m/s", "Asher", "720 m", "1,000 m", "15 min", "90%", "EPSG:32649", "10,000 m",
                 "002 山东省平阴县 Pingyin County, Shandong (2021) §三(一)", "001 江西省会昌县 Huichang County, Jiangxi (2021) §(八)",
                 "004 重庆市奉节县 Fengjie County, Chongqing (2021) §二(四)", "≥ 20 m²/百户 ≥ 20 m² per 100 households",
                 "≥ 15 m²/百户", "≥ 100 m²", "not a real place", "no document is claimed as the legal basis",
                 "分片区覆盖 Coverage by zone", "城西社区: 9 of 13 points (69.2%) within 1,000 m by road; 3 more to reach 90%"):  # fmt: skip
        assert text in page, text
    assert "规划依据 Planning basis" not in page  # nothing named: no document is cited as the basis
    assert "OpenStreetMap contributors" not in page  # generated data, not OSM
    # self-contained: no script, no external resource; figures embedded; link to the map
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert page.count('src="data:image/png;base64,') >= 2 + HAS_CHROMIUM
    assert 'href="maps/audit_map.html"' in page
    assert "@page" in page and "A4" in page
    # readable tables: no code as a header, no Python repr
    heads = re.findall(r"<th>(.*?)</th>", page)
    assert heads and not [h for h in heads if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", h)], heads
    assert not re.search(r"[\[{]'", page)


def _table_rows(page: str, cls: str) -> list[list[str]]:
    """The body cells of the report table with CSS class ``cls``, row by row (text unescaped)."""
    import html

    table = re.search(rf'<table[^>]*class="(?:dataframe )?{cls}">(.*?)</table>', page, re.S)
    assert table, cls
    body = table.group(1).split("<tbody>", 1)[1]
    return [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_rules_and_parameters_state_the_values_used(tmp_path):
    """A report on a run at 0.6 m/s (800 m, 10 min) states those values, the library's
    standards beside them as reference."""
    mc = model_county()
    cfg = AuditConfig(speed_mps=0.6, radius_m=800, time_min=10)
    res = run_audit(mc.network, mc.facilities, mc.demand, config=cfg, run_date="2026-01-01")
    fake_map = tmp_path / "map.html"
    fake_map.write_text("<!DOCTYPE html><title>map</title>", encoding="utf-8")
    out = committee_package(res, tmp_path / "pkg", map_html=fake_map, pdf=False, map_picture=False)
    page = out["report"].read_text(encoding="utf-8")
    params = {row[0]: row[1] for row in _table_rows(page, "data params")}
    assert params["老年人步行速度 Walking speed of older people"] == "0.6 m/s"
    assert params["覆盖半径（路网距离） Coverage radius (by road)"] == "800 m"
    assert params["服务圈（步行时间） Service circle (walking time)"] == "10 min"
    ref = _table_rows(page, "data rules reference")
    radius = next(r for r in ref if "Coverage radius" in r[0])
    assert radius[1].startswith("≤ 1000") and "800 m" in radius[3]  # the standard, and what this run checked
    assert next(r for r in ref if "15-minute" in r[0])[3].endswith("10 min）")
    sheet = pd.read_excel(out["xlsx"], sheet_name="参数 Parameters")
    values = dict(zip(sheet.iloc[:, 0], sheet.iloc[:, 1]))
    assert values["老年人步行速度 Walking speed of older people"] == "0.6 m/s"


def test_plan_basis_cites_only_the_named_documents(result, tmp_path):
    """A named basis is cited alone; a county's own document (not in the library) is cited as
    given, and no library document appears as its basis; Chinese only has no English."""
    from coverage.publish.report import ReportOptions

    fake_map = tmp_path / "map.html"
    fake_map.write_text("<!DOCTYPE html><title>map</title>", encoding="utf-8")
    opts = ReportOptions(plan_basis=("pingyin2021",), title="平阴县养老服务设施覆盖评估", organisation="平阴县民政局", author="规划科")
    page = committee_package(result, tmp_path / "a", map_html=fake_map, pdf=False, map_picture=False,
                             options=opts)["report"].read_text(encoding="utf-8")  # fmt: skip
    assert "规划依据 Planning basis" in page and "参考：内置标准库" not in page
    docs = _table_rows(page, "data docs")
    assert [d[0] for d in docs] == ["002"]
    assert "会昌" not in page and "奉节" not in page and "平阴县民政局 · 规划科" in page
    assert "<title>平阴县养老服务设施覆盖评估</title>" in page
    henan = ReportOptions(plan_basis=("河南省某县养老服务设施布局规划（2023）",), lang="zh")
    page = committee_package(result, tmp_path / "b", map_html=fake_map, pdf=False, map_picture=False,
                             options=henan)["report"].read_text(encoding="utf-8")  # fmt: skip
    assert [d[2] for d in _table_rows(page, "data docs")] == ["河南省某县养老服务设施布局规划（2023）"]
    for other in ("平阴", "会昌", "奉节", "江永", "六安"):
        assert other not in page, other
    body = re.sub(r"<style>.*?</style>|<[^>]+>", " ", page, flags=re.S)
    assert "Verdict" not in body and "Findings" not in body and "结论" in body


def test_osm_source_is_attributed(tmp_path):
    meta = {"date": "2026-01-01", "source": "OpenStreetMap via osmnx: 平阴县", "crs": "EPSG:32650"}
    out = write_report(tmp_path / "r.html", Report("t", [], meta), pdf=False)
    page = out["html"].read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in page and "ODbL" in page
    assert "not a real place" not in page


def test_hostile_names_are_escaped(evil_report):
    page = evil_report["report"].read_text(encoding="utf-8")
    assert EVIL not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;img src=x onerror=\"document.title='PWNED'\"&gt;" in page  # the zone name, as text
    # Excel keeps the text as text: a name starting with "=" is no formula
    wb = openpyxl.load_workbook(evil_report["xlsx"])
    ws = wb["需求点 Demand"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_sections_escape_their_text(tmp_path):
    sec = ReportSection(title=EVIL, paragraphs=[EVIL], tables=[(EVIL, pd.DataFrame({EVIL: [EVIL], "x": [np.inf]}))])
    page = write_report(tmp_path / "r.html", Report(EVIL, [sec], {"date": EVIL}), pdf=False)["html"].read_text(encoding="utf-8")
    assert EVIL not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
    with pytest.raises(OutputExistsError):
        write_report(tmp_path / "r.html", Report("t", [], {}), pdf=False)


# --------------------------------------------------------------------------- Excel
def test_excel_round_trip_with_chinese_headers(tmp_path):
    df = pd.DataFrame({
        "片区名称": ["城东社区", "新田村", "=1+1"],
        "覆盖率 share_radius": [0.5, 1.0, 0.25],
        "路网距离(m)": [12.5, np.inf, np.nan],
        "点数": [3, 4, 5],
        "达标": [True, False, True],
    })  # fmt: skip
    sheets = {"汇总 Summary": df, "一个非常长的工作表名称 with a very long English name": df, "a/b?": df.head(1)}
    path = write_excel(tmp_path / "t.xlsx", sheets, run_date="2026-01-01")
    back = pd.read_excel(path, sheet_name=None)
    names = list(back)
    assert names[0] == "汇总 Summary" and len(names[1]) == 31 and names[2] == "a_b_"
    got = back["汇总 Summary"]
    assert list(got.columns) == list(df.columns)
    assert got["片区名称"].tolist() == df["片区名称"].tolist()
    assert got["覆盖率 share_radius"].tolist() == df["覆盖率 share_radius"].tolist()
    assert got["路网距离(m)"].iloc[0] == 12.5 and got["路网距离(m)"].iloc[1:].isna().all()  # inf -> blank
    assert got["点数"].tolist() == [3, 4, 5] and got["达标"].tolist() == [True, False, True]
    ws = openpyxl.load_workbook(path)["汇总 Summary"]
    assert ws.freeze_panes == "A2" and all(c.font.b for c in ws[1])
    assert ws["B2"].number_format == "0.0%" and ws["C3"].value is None
    assert ws.column_dimensions["A"].width >= 10 and ws["A4"].data_type == "s"


def test_excel_bytes_are_reproducible(tmp_path):
    df = pd.DataFrame({"名称": ["甲", "乙"], "x": [1.5, np.inf]})
    a = write_excel(tmp_path / "a.xlsx", {"表": df}, run_date="2026-01-01")
    time.sleep(1.1)  # a clock-stamped file would differ now
    b = write_excel(tmp_path / "b.xlsx", {"表": df}, run_date="2026-01-01")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        core = z.read("docProps/core.xml").decode()
        assert core.count("2026-01-01T00:00:00Z") == 2
        assert {i.date_time for i in z.infolist()} == {(2026, 1, 1, 0, 0, 0)}
    c = write_excel(tmp_path / "c.xlsx", {"表": df}, run_date="2026-02-01")
    assert c.read_bytes() != a.read_bytes()


def test_package_workbook_matches_the_audit(result, package):
    book = pd.read_excel(package["xlsx"], sheet_name=None)
    assert list(book) == ["汇总 Summary", "分片区 By zone", "需求点 Demand", "设施 Facilities",
                          "虚假覆盖 False coverage", "路网连通 Components", "参数 Parameters"]  # fmt: skip
    s = book["汇总 Summary"].set_index("指标 Figure")
    assert s.loc["路网1000米内 1000 m by road", "点数 Points"] == result.summary.loc[0, "n_covered_radius"] == 78
    assert s.loc["路网1000米内 1000 m by road", "比例 Share"] == "62.9%"
    dem = book["需求点 Demand"]
    assert len(dem) == len(result.demand) and {"经度 Longitude", "纬度 Latitude"} <= set(dem.columns)
    # every home has its road distance to the nearest facility (the 10 km search limit reaches all)
    dist = dem["到最近设施路网距离(米) Road distance to nearest facility (m)"]
    assert dist.notna().all() and dist.max() > 6000
    assert set(dem["路网1000米内 within 1000 m by road"]) == {"是 yes", "否 no"}
    assert not [c for c in dem.columns if "_" in c]
    assert len(book["虚假覆盖 False coverage"]) == len(result.false_coverage)
    assert "Asher" in book["参数 Parameters"].to_string()


# --------------------------------------------------------------------------- charts
def test_charts_are_reproducible(result, tmp_path):
    cfg = result.config
    for i in (1, 2):
        distance_histogram(result.demand, radius_m=cfg.radius_m, walk_limit_m=cfg.walk_limit_m, path=tmp_path / f"h{i}.png")
        coverage_by_zone_chart(result.by_zone, target=0.9, path=tmp_path / f"z{i}.png")
        ba = pd.DataFrame({"scope": ["all", EVIL], "share_before": [0.6, 0.2], "share_after": [0.8, np.nan]})
        share_bars_chart(ba["scope"], {"现状 Before": ba["share_before"], "新增设施后 After": ba["share_after"]},
                         path=tmp_path / f"b{i}.png", target=0.9)
    for name in "hzb":
        one, two = (tmp_path / f"{name}1.png").read_bytes(), (tmp_path / f"{name}2.png").read_bytes()
        assert one.startswith(b"\x89PNG") and one == two and b"Software" not in one
        assert _non_blank(tmp_path / f"{name}1.png") > 0.02


# --------------------------------------------------------------------------- browser
@needs_chromium
def test_report_in_browser_has_no_errors_and_is_not_blank(package, tmp_path):
    shot = tmp_path / "report.png"
    rep = page_check(package["report"], open_popups=False, screenshot_path=shot, size=(1200, 1600))
    assert rep["console_errors"] == [] and rep["remote_requests"] == []
    assert "本次使用的参数 Parameters used" in rep["body_text"] and "62.9%" in rep["body_text"]
    assert _non_blank(shot) > 0.03
    assert _non_blank(package["map_png"]) > 0.03  # the static map picture


@needs_chromium
def test_hostile_names_stay_text_in_browser(evil_report):
    rep = page_check(evil_report["report"], open_popups=False)
    assert rep["title"] != "PWNED" and rep["console_errors"] == []
    assert EVIL in rep["body_text"]


@needs_chromium
def test_pdf_has_pages_and_ink(package, tmp_path):
    pdf = package["pdf"]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 1
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: page 1 not rendered")
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(tmp_path / "p1")],
                   check=True, timeout=60)  # fmt: skip
    assert _non_blank(tmp_path / "p1.png") > 0.01


@needs_chromium
def test_pdf_last_page_is_not_blank(package, tmp_path):
    """No empty page at the end (page 1 breaks before the details; nothing may spill)."""
    if shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdfinfo, pdftoppm) not installed")
    info = subprocess.run(["pdfinfo", str(package["pdf"])], capture_output=True, text=True, check=True, timeout=60).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert pages >= 3
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", str(pages), "-l", str(pages), "-singlefile", str(package["pdf"]),
                    str(tmp_path / "last")], check=True, timeout=60)  # fmt: skip
    assert _non_blank(tmp_path / "last.png") > 0.01


def test_excel_shows_shares_as_percentages(package):
    ws = openpyxl.load_workbook(package["xlsx"])["分片区 By zone"]
    heads = {c.value: c.column_letter for c in ws[1]}
    col = heads["路网1000米内比例 Share within 1000 m by road"]
    assert ws[f"{col}2"].number_format == "0.0%" and 0 <= ws[f"{col}2"].value <= 1
    assert ws[f"{heads['需求点数 Demand points']}2"].value == int(ws[f"{heads['需求点数 Demand points']}2"].value)


def test_no_chromium_means_no_pdf_and_no_crash(result, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("coverage.publish.browser.find_chromium", lambda: None)
    fake_map = tmp_path / "map.html"
    fake_map.write_text("<!DOCTYPE html><title>map</title>", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="coverage"):
        out = committee_package(result, tmp_path / "pkg", map_html=fake_map, pdf=True)
    assert "pdf" not in out and out["report"].is_file()
    assert out["map_png"].is_file()  # the print map needs no browser
    assert not (tmp_path / "pkg" / "audit_report.pdf").exists()
    assert any("Chromium" in r.getMessage() for r in caplog.records)
    with pytest.raises(OutputExistsError):  # nothing is replaced without overwrite
        committee_package(result, tmp_path / "pkg", map_html=fake_map, pdf=False)


def test_cli_audit_report_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("coverage.publish.browser.find_chromium", lambda: None)  # keep it fast
    out = tmp_path / "audit"
    code = main(["audit", "--quiet", "--out", str(out), "--map", str(out / "map.html"), "--target", "0.9",
                 "--date", "2026-01-01", "--report"])  # fmt: skip
    assert code == 0
    for name in ("audit_report.html", "audit_tables.xlsx", "chart_distance.png", "chart_by_zone.png", "summary.csv"):
        assert (out / name).is_file(), name
    assert "report:" in capsys.readouterr().out
    assert 'href="map.html"' in (out / "audit_report.html").read_text(encoding="utf-8")
