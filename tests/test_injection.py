"""Hostile names in every output: nothing is evaluated as a template, markup, formula or math.

Names, ids and zone names come from files a planner receives from strangers. Folium/branca
render each element's output a second time as a Jinja template, so a facility called
``{{ 6*7 }}`` showed ``42`` on the map and ``{{ cycler.__init__.__globals__.os.popen(...) }}``
ran a shell command. Every writer that shows user text is run here on the model county with
hostile names: the audit map, the committee package (HTML, Excel, charts, PDF with Chromium),
the site-selection map and each workflow's map, report, figure and Excel workbook.

Each hostile text is ``PAYLOAD~Q<k>`` (names; ``~I``/``~F``/``~Z`` for demand, facility and
zone ids), so an evaluated ``{{ 3*14 }}`` would leave ``42~Q0`` and an evaluated
``{% if 1 %}X{% endif %}`` would leave ``X~Q1``.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import matplotlib as mpl
import openpyxl
import pandas as pd
import pytest
from matplotlib.mathtext import MathTextParser

from coverage import model_county, run_audit
from coverage.config import AuditConfig
from coverage.datasets.scenarios import (
    DEFAULT_TARGETS,
    consolidation_scenario,
    development_scenario,
    makeup_candidates,
    village_scenario,
)
from coverage.errors import ParameterError
from coverage.publish._html import check_inert, esc
from coverage.publish.audit_package import committee_package, write_outputs
from coverage.publish.browser import find_chromium
from coverage.publish.charts import coverage_by_zone_chart, plain_text_rc, share_bars_chart
from coverage.publish.maps import audit_layers, audit_map, save_map
from coverage.publish.site_map import siting_map
from coverage.siting.propose import propose_sites
from coverage.workflows import (
    check_targets,
    consolidate_homes,
    plan_makeup,
    plan_village_points,
    review_development,
    write_consolidation_outputs,
    write_makeup_outputs,
    write_review_outputs,
    write_targets_outputs,
    write_village_outputs,
)

HAS_CHROMIUM = find_chromium() is not None
needs_chromium = pytest.mark.skipif(
    not HAS_CHROMIUM, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)
DATE = "2026-01-01"
# the generated scenarios may trip data-plausibility warnings (coordinate system); they are not
# what these tests are about
pytestmark = pytest.mark.filterwarnings("ignore::coverage.errors.CoverageWarning")
N_TEMPLATE = 7  # PAYLOADS[:7] are Jinja source


def _payloads(sandbox: Path) -> list[str]:
    return [
        "{{ 3*14 }}",
        "{% if 1 %}X{% endif %}",
        "{{ 1 + }}",
        "{%",
        "{#",
        # quoted: HTML escaping alone already broke it (a crash, not a command)
        f"{{{{ cycler.__init__.__globals__.os.popen('touch {sandbox}/pwned').read() }}}}",
        # no quotes: this one ran before the fix (makes ./pwned_dir in the working directory)
        "{{ cycler.__init__.__globals__.os.mkdir(dict(pwned_dir=1)|first) }}",
        "<script>alert(1)</script>",
        "`${alert(1)}`",
        "$\\frac$",
        "$x^2$",
        '=HYPERLINK("http://x","c")',
    ]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """Working directory of every writer; records any mathtext parse (there must be none)."""
    d = tmp_path_factory.mktemp("sandbox")
    parsed: list[str] = []
    original = MathTextParser.parse

    def spy(self, s, *args, **kwargs):
        parsed.append(s)
        return original(self, s, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        mp.setattr(MathTextParser, "parse", spy)
        yield {"dir": d, "payloads": _payloads(d), "mathtext": parsed}


@pytest.fixture(scope="module")
def P(sandbox) -> list[str]:
    return sandbox["payloads"]


def _hostile(frame, col: str, P: list[str], tag: str = "Q", start: int = 0):
    """``frame`` with its first rows' ``col`` replaced by ``PAYLOAD~<tag><k>``."""
    out = frame.copy()
    vals = out[col].astype(object).tolist()
    for i in range(min(len(vals), len(P))):
        k = (start + i) % len(P)
        vals[i] = f"{P[k]}~{tag}{k}"
    out[col] = vals
    return out


@pytest.fixture(scope="module")
def county(P):
    """The model county with hostile facility, demand and zone names and ids."""
    mc = model_county()
    fac = _hostile(_hostile(mc.facilities, "name", P), "id", P, "F")
    dem = _hostile(_hostile(mc.demand, "name", P), "id", P, "I")
    zones = _hostile(_hostile(mc.zones, "zone_name", P), "zone_id", P, "Z")
    rename = dict(zip(mc.zones["zone_id"], zones["zone_id"], strict=True))
    dem["zone_id"] = dem["zone_id"].map(rename)
    cand = _hostile(mc.candidates, "name", P)
    cand["zone_id"] = cand["zone_id"].map(rename)
    return dataclasses.replace(mc, facilities=fac, demand=dem, zones=zones, candidates=cand)


@pytest.fixture(scope="module")
def audit(county):
    return run_audit(county.network, county.facilities, county.demand, zones=county.zones, target=0.9, run_date=DATE)


@pytest.fixture(scope="module")
def audit_files(audit, sandbox):
    since = len(sandbox["mathtext"])
    out = sandbox["dir"] / "audit"
    paths = write_outputs(audit, out, map_path=out / "audit_map.html", basemap="none")
    pkg = committee_package(audit, out, map_html=paths["map"], pdf=HAS_CHROMIUM, map_picture=HAS_CHROMIUM)
    return {**paths, **{f"pkg_{k}": v for k, v in pkg.items()}, "since": since, "until": len(sandbox["mathtext"])}


# --------------------------------------------------------------------------- checks
_EVALUATED = re.compile(r"42~[QIFZ]0|X~[QIFZ]1")


def _folium_json(s: str) -> str:
    """``s`` as Folium's ``tojson`` writes it inside the map's scripts."""
    body = json.dumps(s)[1:-1]
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        body = body.replace(ch, code)
    return body


def _has(text: str, s: str) -> bool:
    return s in text or _folium_json(s) in text


def _check_common(text: str, P: list[str], where: str, *, js: bool = False) -> None:
    assert not _EVALUATED.search(text), f"{where}: a template was evaluated"
    assert "<script>alert(1)" not in text, where
    if js:  # inside the map's JavaScript template literals
        assert "${alert" not in text, where


def _check_map(path: Path, P: list[str], *, tags: str = "Q", ks: range | None = None) -> str:
    """A map shows every hostile name in its escaped form and evaluates none."""
    text = Path(path).read_text(encoding="utf-8")
    _check_common(text, P, str(path), js=True)
    for k in ks if ks is not None else range(len(P)):
        for tag in tags:
            hostile = f"{P[k]}~{tag}{k}"
            if k < N_TEMPLATE:  # Jinja source never appears raw: it would have been rendered
                assert not _has(text, hostile), (path.name, hostile)
        shown = f"{esc(P[k])}~{tags[0]}{k}"
        assert _has(text, shown), (path.name, shown)
    assert "&#123;&#123; 3*14 &#125;&#125;~" in text or _folium_json("&#123;&#123; 3*14 &#125;&#125;~") in text
    return text


def _check_report(path: Path, P: list[str], *, ks: range | None = None) -> str:
    """An HTML report (not a template) shows the names literally, HTML-escaped."""
    page = Path(path).read_text(encoding="utf-8")
    _check_common(page, P, str(path))
    assert "<script" not in page.lower()
    for k in ks if ks is not None else range(len(P)):
        assert f"{_html(P[k])}~Q{k}" in page, (path.name, P[k])
    return page


def _html(s: str) -> str:
    return html.escape(s, quote=True)


def _check_xlsx(path: Path, P: list[str], *, hyperlink: bool = True) -> None:
    """No cell is a formula; the "=HYPERLINK" name is stored as text."""
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert "<f>" not in xml and "<f " not in xml, path.name
    _check_common(xml, P, str(path))
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"], path.name
    if hyperlink:
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert any(t.startswith('=HYPERLINK("http://x","c")~') for t in texts), path.name
        assert any("{{ 3*14 }}~" in t for t in texts), path.name


def _no_side_effects(sandbox, since: int, until: int | None = None) -> None:
    """No payload ran, and no text drawn in ``[since, until)`` was parsed as mathtext."""
    d = sandbox["dir"]
    assert not (d / "pwned").exists() and not (d / "pwned_dir").exists()
    parsed = sandbox["mathtext"][since:until]
    assert not parsed, f"text parsed as mathtext: {parsed[:3]}"


# --------------------------------------------------------------------------- escaping unit
def test_esc_is_inert_html_js_and_jinja():
    from jinja2 import Template

    for s in ("{{ 3*14 }}", "{% if 1 %}X{% endif %}", "{{ 1 + }}", "{%", "{#", "`${x}`\\", "<b>'\"&"):
        e = esc(s)
        assert not re.search(r"[{}`$\\<>\"']", e), e
        twice = Template(Template(e).render()).render()  # any number of render passes
        assert twice == e
    assert esc("{{ 3*14 }}") == "&#123;&#123; 3*14 &#125;&#125;"
    assert esc("$x^2$") == "&#36;x^2&#36;"


def test_check_inert_refuses_unescaped_text(tmp_path, audit):
    import folium

    m = audit_map(audit_layers(audit), basemap="none")
    check_inert(m.get_root())  # the audit map itself is inert
    for bad in ("{{ 6*7 }}", "a {% if 1 %}", "{# c"):
        m = audit_map(audit_layers(audit), basemap="none")
        folium.Marker([28.0, 115.0], tooltip=folium.Tooltip(bad)).add_to(m)
        with pytest.raises(ParameterError, match="esc"):
            save_map(m, tmp_path / "bad.html")
        m = audit_map(audit_layers(audit), basemap="none")
        folium.GeoJson({"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.0, 28.0]},
                        "properties": {"t": bad}},
                       tooltip=folium.GeoJsonTooltip(fields=["t"])).add_to(m)  # fmt: skip
        with pytest.raises(ParameterError, match="esc"):
            save_map(m, tmp_path / "bad.html")
    assert not (tmp_path / "bad.html").exists()


def test_charts_draw_text_literally(sandbox):
    """``$x^2$`` is no mathtext and ``$\\frac$`` does not crash; LaTeX is never used."""
    since = len(sandbox["mathtext"])
    bz = pd.DataFrame({"zone_id": ["$\\frac$", "$x^2$"], "share_radius": [0.5, 0.9], "share_time": [0.4, 0.8]})
    d = sandbox["dir"] / "charts"
    d.mkdir()
    with mpl.rc_context({"text.usetex": False}):
        coverage_by_zone_chart(bz, target=0.8, path=d / "z.png")
        table = pd.DataFrame({"scope": ["$\\frac$", "$x^2$"], "share_before": [0.1, 0.2], "share_after": [0.3, 0.4]})
        share_bars_chart(table["scope"], {"现状 Before": table["share_before"], "新增设施后 After": table["share_after"]},
                         path=d / "b.png")
    assert (d / "z.png").stat().st_size > 0 and (d / "b.png").stat().st_size > 0
    assert plain_text_rc() == {"text.parse_math": False, "text.usetex": False}
    _no_side_effects(sandbox, since)


# --------------------------------------------------------------------------- audit map, package
def test_audit_map(audit_files, P, sandbox):
    since, until = audit_files["since"], audit_files["until"]
    text = _check_map(audit_files["map"], P, tags="Q")
    for k in range(len(P)):  # ids and zone names shown in popups, escaped
        assert _has(text, f"{esc(P[k])}~I{k}"), P[k]
        assert _has(text, f"{esc(P[k])}~Q{k}"), P[k]
    _no_side_effects(sandbox, since, until)


@pytest.fixture(scope="module")
def geojson_map(audit, sandbox):
    """The audit map with every point layer as one GeoJson layer (``max_markers=0``)."""
    return save_map(audit_map(audit_layers(audit), basemap="osm", max_markers=0), sandbox["dir"] / "geojson_map.html")


def test_audit_map_as_one_geojson_layer(geojson_map, P, sandbox):
    """Above ``max_markers`` popups and tooltips are GeoJSON feature properties."""
    since = len(sandbox["mathtext"])
    text = _check_map(geojson_map, P, tags="Q")
    assert "GeoJsonPopup" in text or "bindPopup" in text
    _no_side_effects(sandbox, since)


@needs_chromium
@pytest.mark.skipif(os.name != "posix", reason="page_check drives Chromium over POSIX pipes")
@pytest.mark.parametrize("layout", ["markers", "geojson"])
def test_browser_shows_the_literal_names(audit_files, geojson_map, sandbox, layout):
    """In the browser the escaped names read as typed, in popups and tooltips."""
    from page_check import page_check

    r = page_check(audit_files["map"] if layout == "markers" else geojson_map)
    assert not r["console_errors"], r["console_errors"][:3]
    popups, tips = "\n".join(r["popup_texts"]), "\n".join(r["tooltip_texts"])
    for text in (popups, tips):
        assert "{{ 3*14 }}~Q0" in text and "{% if 1 %}X{% endif %}~Q1" in text
        assert "<script>alert(1)</script>~Q7" in text and "`${alert(1)}`~Q8" in text
        assert "$x^2$~Q10" in text
        assert not _EVALUATED.search(text)
    assert not {"script", "img"} & set(r["popup_tags"])
    assert r["title"] == r["title_before"]
    _no_side_effects(sandbox, len(sandbox["mathtext"]))


def test_committee_package(audit_files, P, sandbox):
    since, until = audit_files["since"], audit_files["until"]
    _check_report(audit_files["pkg_report"], P)
    page = audit_files["pkg_report"].read_text(encoding="utf-8")
    assert "{{ 3*14 }}~Q0" in page and "{{ 3*14 }}~Z0" in page and "{{ 3*14 }}~F0" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;~Q7" in page
    _check_xlsx(audit_files["pkg_xlsx"], P)
    for key in ("pkg_chart_distance", "pkg_chart_by_zone"):
        assert audit_files[key].stat().st_size > 0
    if HAS_CHROMIUM:
        assert audit_files["pkg_pdf"].read_bytes().startswith(b"%PDF")
        assert audit_files["pkg_map_png"].stat().st_size > 0
        if shutil.which("pdftotext"):  # poppler-utils
            text = subprocess.run(["pdftotext", str(audit_files["pkg_pdf"]), "-"], capture_output=True,
                                  text=True, check=True, timeout=60).stdout  # fmt: skip
            assert "{{ 3*14 }}~Q0" in text and not _EVALUATED.search(text)
    _no_side_effects(sandbox, since, until)


@needs_chromium
def test_committee_pdf_is_reproducible(audit, sandbox):
    """Two packages of the same audit and date give byte-identical PDFs."""
    since = len(sandbox["mathtext"])
    base = sandbox["dir"] / "pdfs"
    pdfs = []
    for run in ("a", "b"):
        out = base / run
        paths = write_outputs(audit, out, basemap="none")
        pdfs.append(committee_package(audit, out, map_html=paths["map"], pdf=True, map_picture=False)["pdf"].read_bytes())
    assert pdfs[0] == pdfs[1]
    assert b"/CreationDate (D:20260101000000" in pdfs[0] and b"/ModDate (D:20260101000000" in pdfs[0]
    _no_side_effects(sandbox, since)


def test_fix_pdf_dates_keeps_length_and_offsets():
    from coverage.publish.browser import fix_pdf_dates

    pdf = (b"%PDF-1.4\n1 0 obj\n<</Producer (Skia/PDF m120)\n/CreationDate (D:20991231235959+00'00')\n"
           b"/ModDate (D:20991231235959Z)>>\nendobj\ntrailer\n<</Size 2 /ID [<00ff00ff00ff00ff> <00ff00ff00ff00ff>]"
           b" /Info 1 0 R>>\n%%EOF\n")  # fmt: skip
    out = fix_pdf_dates(pdf, DATE)
    assert len(out) == len(pdf)
    assert b"/CreationDate (D:20260101000000+00'00')\n" in out
    assert b"/ModDate (D:20260101000000Z)>>" in out
    assert b"<00ff00ff00ff00ff>" not in out
    assert fix_pdf_dates(pdf.replace(b"20991231", b"20980101"), DATE) == out  # the clock is gone



def test_structure_ids_numbered_in_order():
    """Chromium names structure elements after DOM node ids, which drift between two prints
    of the same page (seen: every id shifted by 2); ranks make both the same, keep the
    id tree sorted and the length unchanged."""
    from coverage.publish.browser import renumber_pdf_node_ids

    def pdf(ids: list[int]) -> bytes:
        elems = b"".join(b"%d 0 obj\n<</Type /StructElem /ID (node%08d)>>\nendobj\n" % (i + 3, n) for i, n in enumerate(ids))
        tree = b" ".join(b"(node%08d) %d 0 R" % (n, i + 3) for i, n in enumerate(sorted(ids)))
        return b"%PDF-1.4\n" + elems + b"2 0 obj\n<</IDTree <</Names [" + tree + b"]>>>>\nendobj\n/Headers [(node%08d)]\n%%EOF\n" % ids[1]

    a, b = pdf([25, 27, 103, 9]), pdf([23, 25, 101, 7])
    assert a != b and renumber_pdf_node_ids(a) == renumber_pdf_node_ids(b)
    out = renumber_pdf_node_ids(a)
    assert len(out) == len(a) and out == pdf([2, 3, 4, 1])
    assert b"/Headers [(node00000003)]" in out  # references follow their element
    assert renumber_pdf_node_ids(pdf([1, 2, 3, 4])) == pdf([1, 2, 3, 4])
    assert renumber_pdf_node_ids(b"%PDF-1.4\n(nodeX) (node123)\n") == b"%PDF-1.4\n(nodeX) (node123)\n"


# --------------------------------------------------------------------------- site selection
def test_siting_map(county, P, sandbox):
    since = len(sandbox["mathtext"])
    res = propose_sites(county.network, county.facilities, county.demand, county.candidates, k_new=3,
                        config=AuditConfig(), time_limit_s=30)  # fmt: skip
    m = siting_map(res, zones=county.zones, basemap="none", run_date=DATE)
    path = save_map(m, sandbox["dir"] / "site_map.html")
    _check_map(path, P, tags="Q", ks=range(N_TEMPLATE))
    table = res.before_after
    share_bars_chart(table["scope"], {"现状 Before": table["share_before"], "新增设施后 After": table["share_after"]},
                     path=sandbox["dir"] / "site_before_after.png")
    _no_side_effects(sandbox, since)


# --------------------------------------------------------------------------- workflows
def _check_folder(folder: Path, P: list[str], *, maps: tuple[str, ...], reports: tuple[str, ...],
                  xlsx: tuple[str, ...]) -> None:  # fmt: skip
    for name in maps:
        text = (folder / name).read_text(encoding="utf-8")
        _check_common(text, P, name, js=True)
        assert "&#123;&#123; 3*14 &#125;&#125;~Q0" in text or _folium_json("&#123;&#123; 3*14 &#125;&#125;~Q0") in text, name
    for name in reports:
        page = _check_report(folder / name, P, ks=range(0))
        assert "{{ 3*14 }}~Q0" in page, name
    for name in xlsx:
        _check_xlsx(folder / name, P, hyperlink=False)
    for png in folder.glob("*.png"):
        assert png.stat().st_size > 0


def test_review_workflow(P, sandbox):
    since = len(sandbox["mathtext"])
    mc = model_county()
    s = development_scenario(mc)
    r = review_development(mc.network, buildings=_hostile(s.buildings, "name", P),
                           facilities=_hostile(mc.facilities, "name", P), planned=_hostile(s.planned, "name", P),
                           site=_hostile(s.site, "name", P), provided_floor_m2=s.provided_floor_m2, run_date=DATE)  # fmt: skip
    out = sandbox["dir"] / "review"
    write_review_outputs(r, out, basemap="none")
    _check_folder(out, P, maps=("review_map.html",), reports=("review_sheet.html",), xlsx=("review.xlsx",))
    _no_side_effects(sandbox, since)


def test_makeup_workflow(P, sandbox):
    since = len(sandbox["mathtext"])
    mc = model_county()
    town = mc.demand[mc.demand["id"].str.startswith("R")]
    r = plan_makeup(mc.network, facilities=_hostile(mc.facilities, "name", P), areas=_hostile(town, "name", P),
                    candidates=_hostile(makeup_candidates(mc), "name", P), run_date=DATE)  # fmt: skip
    out = sandbox["dir"] / "makeup"
    write_makeup_outputs(r, out, basemap="none")
    _check_folder(out, P, maps=("makeup_map.html",), reports=("makeup_report.html",), xlsx=("makeup.xlsx",))
    _no_side_effects(sandbox, since)


def test_villages_workflow(P, sandbox):
    since = len(sandbox["mathtext"])
    mc = model_county()
    s = village_scenario(mc)
    evil_town = f"{P[0]}~T0"
    centres = _hostile(s.centres, "name", P)
    centres["township"] = centres["township"].replace({"石桥镇": evil_town})
    plan = s.plan.replace({"township": {"石桥镇": evil_town}})
    r = plan_village_points(mc.network, facilities=_hostile(s.facilities, "name", P), demand=_hostile(mc.demand, "name", P),
                            zones=_hostile(mc.zones, "zone_name", P), candidates=_hostile(mc.candidates, "name", P),
                            centres=centres, plan=plan, run_date=DATE)  # fmt: skip
    out = sandbox["dir"] / "villages"
    write_village_outputs(r, out, basemap="none")
    _check_folder(out, P, maps=("villages_map.html",), reports=("villages_report.html",), xlsx=())
    for x in out.glob("*.xlsx"):
        _check_xlsx(x, P, hyperlink=False)
    _no_side_effects(sandbox, since)


def test_consolidation_workflow(P, sandbox):
    since = len(sandbox["mathtext"])
    mc = model_county()
    s = consolidation_scenario(mc)
    alternatives = {f"{P[1]}~Q1 {P[7]}": ids for ids in s.alternatives.values()}
    r = consolidate_homes(mc.network, homes=_hostile(s.homes, "name", P), residents=_hostile(s.residents, "origin_name", P),
                          keep=s.keep, must_keep=s.must_keep, alternatives=alternatives, run_date=DATE)  # fmt: skip
    out = sandbox["dir"] / "consolidate"
    write_consolidation_outputs(r, out)
    reports = tuple(p.name for p in out.glob("*.html") if p.name != "consolidation_map.html")
    assert reports
    _check_folder(out, P, maps=("consolidation_map.html",), reports=reports, xlsx=tuple(p.name for p in out.glob("*.xlsx")))
    _no_side_effects(sandbox, since)


def test_targets_workflow(county, P, sandbox):
    since = len(sandbox["mathtext"])
    a = run_audit(county.network, county.facilities, county.demand, zones=county.zones, run_date=DATE)
    r = check_targets(a, targets=dict(DEFAULT_TARGETS))
    out = sandbox["dir"] / "targets"
    write_targets_outputs(r, out, basemap="none")
    _check_folder(out, P, maps=("targets_map.html",), reports=("targets_report.html",), xlsx=("targets.xlsx",))
    text = (out / "targets_report.html").read_text(encoding="utf-8")
    assert "{{ 3*14 }}~Z0" in text or "{{ 3*14 }}~Q0" in text
    _no_side_effects(sandbox, since)
