"""One truth: a figure reads the same in every output of a run.

Each command runs once on the embedded model county through the CLI (``--report``, no
PDF). From its outputs this test reads the same figure five ways -- the console, the CSV
summary, the Excel summary sheet, the report (HTML) and the map's legend (HTML) -- and
checks them against each other and against an independent count from the per-home table
(the road distance of every home against 1000 m and 720 m, the older residents' column).
The site selection's "after" is checked against the demand table of the site package, its
"before" against the audit of the same inputs; ``coverage targets`` and ``coverage
villages`` must agree on every figure they share.

On the embedded default (by hand: ``coverage audit``): 124 homes; 78 within 1000 m by road
(62.9%, 83.4% of older residents); 44 within the 15 min walk at 0.8 m/s (720 m; 35.5%); 44
both; 34 one rule only; 46 neither; 7 false coverage; the site selection (MCLP, 3 sites)
raises 78 to 87 within 1000 m (59 within both rules).
"""

from __future__ import annotations

import html
import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage.cli.commands import main

DATE = "2026-01-01"
RAD, WALK, BOTH = "1000 m by road", "15 min walk at 0.8 m/s", "1000 m by road and 15 min walk"


def _run(argv: list[str]) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main([*argv, "--quiet", "--date", DATE]) == 0
    return buf.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every command once, on the embedded model county: ``{name: (console, folder)}``."""
    root = tmp_path_factory.mktemp("truth")
    out = {}
    for name, argv in {
        "audit": ["audit", "--report"],
        "site": ["site", "--k", "3", "--report"],
        "targets": ["targets"],
        "villages": ["villages"],
        "review": ["review"],
        "makeup": ["makeup"],
        "consolidate": ["consolidate"],
    }.items():
        folder = root / name
        out[name] = (_run([*argv, "--out", str(folder)]), folder)
    return out


# --------------------------------------------------------------------------- readers
_FIGURE = re.compile(r"^\s+(?P<label>[^:]+(?::[^:/]+)?): (?P<k>\d+)/(?P<n>\d+) \((?P<share>[\d.]+%)\)(?:; weighted (?P<w>[\d.]+%))?")


def console_figures(text: str) -> dict[str, tuple[int, int, str, str | None]]:
    """``label: k/n (share); weighted w`` lines of a console summary."""
    out = {}
    for line in text.splitlines():
        m = _FIGURE.match(line)
        if m and "->" not in line:
            out[m["label"].strip()] = (int(m["k"]), int(m["n"]), m["share"], m["w"])
    return out


def legend_rows(map_html: Path) -> dict[str, tuple[int, str]]:
    """The legend's ``label — count (share)`` rows, by their English name."""
    page = map_html.read_text(encoding="utf-8")
    seg = page[page.index('class="yl-legend'):]
    seg = seg[: seg.index("</div></div>") if "</div></div>" in seg else 20000]
    text = html.unescape(re.sub(r"<[^>]+>", "\n", seg))
    out = {}
    for line in (x.strip() for x in text.splitlines()):
        m = re.search(r"(?P<label>[^—]+?) — (?P<k>[\d,]+) \((?P<share>[\d.]+%)\)", line)
        if m:
            out[m["label"].strip()] = (int(m["k"].replace(",", "")), m["share"])
    return out


def legend_row(rows: dict[str, tuple[int, str]], start: str) -> tuple[int, str]:
    """The legend row whose (bilingual) name has the English words ``start``."""
    hits = [v for k, v in rows.items() if f" {start}" in k]
    assert len(hits) == 1, (start, rows)
    return hits[0]


def report_table(page: str, caption: str) -> pd.DataFrame:
    """The report table under ``caption`` (its cells as text)."""
    i = page.index(f'<p class="caption">{caption}</p>')
    table = page[i : page.index("</table>", i)]
    cell = lambda c: html.unescape(re.sub(r"<[^>]+>", "", c)).strip()  # noqa: E731
    head = [cell(h) for h in re.findall(r"<th>(.*?)</th>", table, re.S)]
    body = table.split("<tbody>", 1)[1]
    rows = [[cell(c) for c in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return pd.DataFrame(rows, columns=head)


def _pct(k: float, n: float) -> str:
    return f"{k / n:.1%}"


# --------------------------------------------------------------------------- the audit
def test_audit_figures_agree_everywhere(runs):
    text, out = runs["audit"]
    # independent: recount from every home's road distance and older residents
    d = pd.read_csv(out / "demand.csv", encoding="utf-8-sig")
    n, w = len(d), d["elderly"].astype(float)
    dist = d["dist_m"].astype(float)
    assert dist.notna().all()  # every home has its distance (10 km search limit)
    within = {RAD: dist <= 1000 + 1e-6, WALK: dist <= 720 + 1e-6}
    within[BOTH] = within[RAD] & within[WALK]
    expect = {k: (int(m.sum()), n, _pct(m.sum(), n), _pct(w[m].sum(), w.sum())) for k, m in within.items()}
    assert expect[RAD][:3] == (78, 124, "62.9%") and expect[WALK][:3] == (44, 124, "35.5%")
    # console
    con = console_figures(text)
    for label in (RAD, WALK, BOTH):
        assert con[label] == expect[label], label
    # CSV summary
    s = pd.read_csv(out / "summary.csv", encoding="utf-8-sig").iloc[0]
    for key, label in (("radius", RAD), ("time", WALK), ("both", BOTH)):
        assert int(s[f"n_covered_{key}"]) == expect[label][0]
        assert f"{s[f'share_{key}']:.1%}" == expect[label][2] and f"{s[f'wshare_{key}']:.1%}" == expect[label][3]
    # Excel summary sheet
    x = pd.read_excel(out / "audit_tables.xlsx", sheet_name="汇总 Summary").set_index("指标 Figure")
    for label in (RAD, WALK, BOTH):
        row = x[x.index.str.endswith(label)].iloc[0]
        assert (int(row["点数 Points"]), int(row["总点数 Of all points"]), row["比例 Share"]) == expect[label][:3]
        assert row.filter(like="加权比例").iloc[0] == expect[label][3]
    # report: page 1's key figures, and the verdict's words
    page = (out / "audit_report.html").read_text(encoding="utf-8")
    key = report_table(page, "主要指标 Key figures").set_index("指标 Figure")
    for label in (RAD, WALK, BOTH):
        row = key[key.index.str.endswith(label)].iloc[0]
        assert (int(row["点数 Points"]), int(row["总点数 Of all points"]), row["比例 Share"]) == expect[label][:3]
    assert f"<p>{expect[RAD][0]} of {n} demand points ({expect[RAD][2]})" in page
    # the map legend: covered by both rules; one rule only + both = the radius figure
    legend = legend_rows(out / "audit_map.html")
    both, one = legend_row(legend, "1000 m by road and 15 min walk"), legend_row(legend, "one rule only")
    neither, false = legend_row(legend, "neither rule"), legend_row(legend, "false coverage")
    assert both == (expect[BOTH][0], expect[BOTH][2])
    assert both[0] + one[0] == expect[RAD][0] and neither[0] == n - expect[RAD][0]
    fc = int((d["false_coverage"].astype(str) == "True").sum())
    assert false[0] == fc == int(s["n_false_coverage"]) == 7
    assert f"false coverage (inside the straight-line 1000 m circle, beyond 1000 m by road): {fc}" in text


# --------------------------------------------------------------------------- site selection
_SITE = re.compile(r"^\s+(?P<label>[^:]+): (?P<b>\d+)/(?P<n>\d+) \((?P<bs>[\d.]+%)\) -> (?P<a>\d+)/\d+ \((?P<as_>[\d.]+%)\)")


def test_site_figures_agree_everywhere(runs):
    text, out = runs["site"]
    audit_text = runs["audit"][0]
    con = {m["label"]: (int(m["b"]), int(m["a"]), int(m["n"]), m["bs"], m["as_"]) for m in map(_SITE.match, text.splitlines()) if m}
    assert set(con) == {RAD, WALK, BOTH}
    # before: the audit of the same inputs says the same
    audit = console_figures(audit_text)
    for label in (RAD, WALK, BOTH):
        assert con[label][0] == audit[label][0] and con[label][3] == audit[label][2]
    # the cost table's own count (before_after.csv, another computation) and the newly covered homes
    ba = pd.read_csv(out / "before_after.csv", encoding="utf-8-sig").iloc[0]
    assert (int(ba.n_covered_before), int(ba.n_covered_after)) == con[RAD][:2] == (78, 87)
    newly = pd.read_csv(out / "newly_covered.csv", encoding="utf-8-sig")
    assert len(newly) == con[RAD][1] - con[RAD][0]
    # the ranked sites' newly covered homes add up (no site counts a home another covers here)
    prop = pd.read_csv(out / "proposed.csv", encoding="utf-8-sig")
    assert int(prop["n_in_reach_newly_covered"].sum()) == len(newly)
    for row in prop.itertuples():
        assert f"+{row.weight_in_reach_newly_covered:,.0f} older residents within {RAD} ({row.n_in_reach_newly_covered} points)" in text
    # Excel summary and the report's key figures: before and after under the same names
    x = pd.read_excel(out / "site_tables.xlsx", sheet_name="汇总 Summary").set_index("指标 Figure")
    page = (out / "site_report.html").read_text(encoding="utf-8")
    key = report_table(page, "主要指标 Key figures").set_index("指标 Figure")
    for label in (RAD, WALK, BOTH):
        b, a, n, bs, as_ = con[label]
        for table in (x, key):
            row = table[table.index.str.endswith(label)].iloc[0]
            assert (row["现状 Before"], row["新增站点后 After"]) == (f"{b}/{n} ({bs})", f"{a}/{n} ({as_})"), label
    assert f"rise from {con[RAD][0]} ({con[RAD][3]}) to {con[RAD][1]} ({con[RAD][4]})" in page
    # the site map's legend shows the coverage after, under the same names
    legend = legend_rows(out / "site_map.html")
    both, one = legend_row(legend, "1000 m by road and 15 min walk"), legend_row(legend, "one rule only")
    assert both == (con[BOTH][1], con[BOTH][4])
    assert both[0] + one[0] == con[RAD][1]
    shown = re.search(r"Newly covered homes — (\d+)", html.unescape((out / "site_map.html").read_text(encoding="utf-8")))
    assert shown is None or int(shown[1]) == len(newly)
    assert (out / "site_map.png").stat().st_size > 0 and (out / "site_map.html").is_file()


# --------------------------------------------------------------------------- targets and villages
_T = re.compile(r"(?P<label>(?:villages|communities) [^:]+): (?P<k>\d+)/(?P<n>\d+)")


def _shared(text: str) -> dict[str, tuple[int, int]]:
    """Every ``<figure name>: k/n`` the console says about villages or communities."""
    out = {}
    for line in text.splitlines():
        for part in re.split(r"; | -> ", line):
            for m in _T.finditer(part):
                out[m["label"].strip()] = (int(m["k"]), int(m["n"]))
    return out


def test_targets_and_villages_agree_where_they_speak_of_the_same(runs):
    t_text, t_out = runs["targets"]
    v_text, v_out = runs["villages"]
    t, v = _shared(t_text), _shared(v_text)
    meeting = "villages meeting the coverage target of 85% (share of homes within 1000 m by road)"
    for name in (meeting, "villages with any elderly-care facility (existing)", "villages with a mutual-aid point (existing)"):
        assert name in t and name in v, name
        assert t[name] == v[name], name
    assert t[meeting] == (0, 12) and t["villages with a mutual-aid point (existing)"] == (2, 12)
    assert t["villages with any elderly-care facility (existing)"] == (4, 12)
    assert v["villages with a mutual-aid point (existing + proposed)"] == (11, 12)
    # independent: the audit's own table per zone (homes within 1000 m / homes >= 85%)
    bz = pd.read_csv(runs["audit"][1] / "summary_by_zone.csv", encoding="utf-8-sig")
    vil = bz[bz["zone_id"].astype(str).str.startswith("V")]
    assert int((vil["n_covered_radius"] >= np.ceil(0.85 * vil["n_points"] - 1e-9)).sum()) == t[meeting][0]
    # the CSV and Excel tables and the reports say the same
    kind = pd.read_csv(t_out / "targets_by_kind.csv", encoding="utf-8-sig").set_index("kind")
    s = pd.read_csv(v_out / "summary.csv", encoding="utf-8-sig").iloc[0]
    assert int(kind.loc["village", "zones_meeting"]) == int(s.villages_meeting_coverage_before) == t[meeting][0]
    assert int(kind.loc["village", "zones_with_facility"]) == int(s.villages_with_facility_before) == 4
    assert int(kind.loc["village", "zones_with_point"]) == int(s.villages_with_point_before) == 2
    xk = pd.read_excel(t_out / "targets.xlsx", sheet_name="按片区类型 By kind")
    assert xk.filter(like="Zones meeting the coverage target").iloc[:, 0].tolist() == kind["zones_meeting"].tolist()
    xs = pd.read_excel(v_out / "villages.xlsx", sheet_name="汇总 Summary").iloc[0]
    assert int(xs.filter(like="Villages with a point (existing + proposed)").iloc[0]) == 11
    t_page = (t_out / "targets_report.html").read_text(encoding="utf-8")
    v_page = (v_out / "villages_report.html").read_text(encoding="utf-8")
    for page in (t_page, v_page):
        assert f"{meeting}: 0/12" in html.unescape(page)
    assert "villages with a mutual-aid point (existing + proposed): 11/12" in html.unescape(v_page)
    # the villages map's legend: homes covered after, as the summary's share
    legend = legend_rows(v_out / "villages_map.html")
    both, one = legend_row(legend, "1000 m by road and 15 min walk"), legend_row(legend, "one rule only")
    total = sum(legend_row(legend, k)[0] for k in ("1000 m by road and", "one rule only", "neither rule", "unreachable"))
    assert (both[0] + one[0]) / total == pytest.approx(float(s.homes_covered_share_after), abs=5e-4)
    # the targets map's legend: the audit's figures
    tl = legend_rows(t_out / "targets_map.html")
    a = console_figures(runs["audit"][0])
    assert legend_row(tl, "1000 m by road and 15 min walk")[0] == a[BOTH][0]


# --------------------------------------------------------------------------- review, makeup, consolidate
def _page(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


def _page1_first_and_readable(page: str) -> None:
    """Page 1 (the findings) comes before the parameters; no snake_case header, no Python repr."""
    assert page.index('id="findings"') < page.index('id="parameters"')
    heads = [html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<th>(.*?)</th>", page, re.S)]
    snake = [h for h in heads if re.search(r"\b[a-z]+_[a-z_]+\b", h)]
    assert not snake, snake
    text = html.unescape(page[page.index("<main>"):])
    text = re.sub(r"<img[^>]*>", "", text)
    assert "{'" not in text and "['" not in text


def test_review_figures_agree_everywhere(runs):
    text, out = runs["review"]
    b = pd.read_csv(out / "buildings.csv", encoding="utf-8-sig")
    fs = pd.read_csv(out / "floor_space.csv", encoding="utf-8-sig").iloc[0]
    n, rad, walk = len(b), int(b["within_radius"].astype(str).eq("True").sum()), int(b["within_time"].astype(str).eq("True").sum())
    # console
    assert f"buildings within {RAD}: {rad}/{n}; buildings within {WALK}: {walk}/{n}" in text
    assert f"floor space: required {fs.required_m2:,.1f} m²" in text and f"provided {fs.provided_m2:,.1f} m²" in text
    assert "development review: FAIL" in text
    # Excel summary and the report's key figures
    x = pd.read_excel(out / "review.xlsx", sheet_name="汇总 Summary").set_index("检查 Check")
    page = _page(out, "review_sheet.html")
    key = report_table(page, "主要指标 Key figures").set_index("检查 Check")
    for table in (x, key):
        assert table.loc[f"楼栋在路网1000米内 Buildings within {RAD}", "结果 Result"].startswith(f"{rad}/{n} 栋")
        assert f"{walk}/{n} buildings" in table.filter(like=WALK, axis=0).iloc[0]["结果 Result"]
        floor = table.filter(like="floor space", axis=0).iloc[0]
        assert floor["结果 Result"] == f"{fs.provided_m2:,.1f} m²" and f"{fs.required_m2:,.1f} m²" in floor["标准 Standard"]
    assert "审查结论：不通过。" in page and "Verdict: FAIL." in page
    _page1_first_and_readable(page)


def test_makeup_figures_agree_everywhere(runs):
    text, out = runs["makeup"]
    s = pd.read_csv(out / "summary.csv", encoding="utf-8-sig").iloc[0]
    areas = pd.read_csv(out / "areas.csv", encoding="utf-8-sig")
    before = int((~areas["covered_before"].astype(str).eq("True")).sum())
    after = int((~areas["covered_after"].astype(str).eq("True")).sum())
    assert (before, after) == (int(s.outside_before), int(s.outside_after))
    assert f"{before} of {len(areas)} areas outside the standard -> {after} with {int(s.n_sites)} sites" in text
    assert f"floor space {s.floor_area_needed_m2:,.1f} m² in total" in text
    prop = pd.read_csv(out / "proposed.csv", encoding="utf-8-sig")
    for p in prop.itertuples():
        assert f"{p.id}  {p.name}: {p.n_areas_newly_covered} areas, {p.households_newly_covered:,.0f} households -> {p.floor_area_needed_m2:,.1f} m²" in text
    x = pd.read_excel(out / "makeup.xlsx", sheet_name="汇总 Summary", dtype=str).set_index("指标 Figure")
    page = _page(out, "makeup_report.html")
    key = report_table(page, "主要指标 Key figures").set_index("指标 Figure")
    for table in (x, key):
        row = table.filter(like="Areas outside", axis=0).iloc[0]
        assert (row["现状 Before"], row["补建后 After"]) == (f"{before}/{len(areas)}", f"{after}/{len(areas)}")
        assert table.filter(like="Floor space needed", axis=0).iloc[0]["补建后 After"] == f"{s.floor_area_needed_m2:,.1f} m²"
    for p in prop.itertuples():
        assert f"at least {p.floor_area_needed_m2:,.1f} m²" in page
    _page1_first_and_readable(page)


def test_consolidate_figures_agree_everywhere(runs):
    text, out = runs["consolidate"]
    cap = pd.read_csv(out / "capacity.csv", encoding="utf-8-sig")
    kept = cap[cap["action"] == "keep"]
    x = pd.read_excel(out / "consolidation.xlsx", sheet_name="汇总 Summary", dtype=str).set_index("保留院 Home kept")
    page = _page(out, "consolidation_report.html")
    key = report_table(page, "保留院床位 Beds of the kept homes").set_index("保留院 Home kept")
    for c in kept.itertuples():
        assert f"{c.id} {c.name}: {c.residents_after:g}/{c.beds:g} beds after ({c.incoming:g} incoming)" in text
        for table in (x, key):
            row = table.loc[f"{c.id} {c.name}"]
            assert row["撤并后入住/床位 Residents after / beds"] == f"{c.residents_after:g}/{c.beds:g}"
            assert row["转入 Incoming"] == f"{c.incoming:g}"
    groups = pd.read_csv(out / "groups.csv", encoding="utf-8-sig")
    moved = float(groups.loc[groups["action"] == "move", "count"].sum())
    assert f"{moved:g} residents move, 0 unplaced" in text and f"{moved:g} residents move, 0 unplaced" in html.unescape(page)
    _page1_first_and_readable(page)
