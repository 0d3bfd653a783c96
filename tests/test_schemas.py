"""The inputs a planner prepares: documented schemas, the example files, round trips.

* The README's input tables are :func:`coverage.workflows._columns.schema_markdown` (one
  alias table in :mod:`coverage.inputs.points`, one table of ``kind`` values).
* Every documented name (Chinese and English) is read as its column.
* ``coverage data`` writes an example of every input (:data:`MODEL_COUNTY_FILES`); every
  workflow run on those files, read back from disk with ``read_points``/``read_zones``,
  gives the results of the embedded default run -- and so do copies with the headers (and
  kind/action values) in English.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage import model_county, run_audit
from coverage.datasets.examples import HEADERS, KIND_LABELS, example_tables, write_examples
from coverage.datasets.model_county import MODEL_COUNTY_FILES
from coverage.datasets.scenarios import (
    consolidation_scenario,
    development_scenario,
    makeup_candidates,
    village_scenario,
)
from coverage.inputs.osm import read_network
from coverage.inputs.points import column_aliases, points_from_frame, read_points, read_zones
from coverage.siting.propose import propose_sites
from coverage.workflows import (
    check_targets,
    consolidate_homes,
    plan_makeup,
    plan_village_points,
    review_development,
)
from coverage.workflows._columns import (
    INPUT_SCHEMAS,
    KIND_SYNONYMS,
    POINT_COLUMNS,
    schema_markdown,
    standard_kinds,
)
from coverage.workflows.villages import read_plan

README = Path(__file__).resolve().parents[1] / "README.md"
DATE = "2026-01-01"


# --------------------------------------------------------------------------- the documentation
def test_the_readme_tables_are_the_schemas() -> None:
    text = README.read_text(encoding="utf-8")
    assert schema_markdown() in text, (
        "README.md's input tables differ from the code: paste the output of "
        "`python -c 'from coverage.workflows._columns import schema_markdown; print(schema_markdown())'`"
    )


def test_every_input_has_an_example_file_and_a_flag() -> None:
    from coverage.cli.commands import build_parser

    examples = {f.strip() for sc in INPUT_SCHEMAS for f in sc.example.split(",")}
    assert examples == set(MODEL_COUNTY_FILES.values()) - {"roads.osm"}
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for sc in INPUT_SCHEMAS:
        flag = sc.flags.split()[0]
        for cmd in (c.strip() for c in sc.commands.split(",")):
            flags = {s for a in sub.choices[cmd]._actions for s in a.option_strings}
            assert flag in flags or (cmd == "costs" and flag == "--candidates"), (sc.key, cmd)


@pytest.mark.parametrize("lang", [0, 1], ids=["zh", "en"])
def test_every_documented_name_is_read(lang: int) -> None:
    """A table with the first (and the last) documented name of a column gives that column."""
    columns = dict.fromkeys(c.name for sc in INPUT_SCHEMAS if sc.geometry == "points" for c in sc.columns if c.name != "id")
    lon, lat = ("lng", "lat") if lang else ("经度", "纬度")
    values = {"kind": "x", "township": "t", "zone_id": "Z1", "home_id": "F1", "action": "keep", "origin_name": "o", "care": "c"}
    for c in columns:
        aliases = column_aliases()[c]
        names = [a for a in aliases if (a.isascii() if lang else not a.isascii())]
        for header in {names[0], names[-1], *([c] if lang else [])}:
            g = points_from_frame(pd.DataFrame({lon: [112.8], lat: [25.27], header: [values.get(c, 3)]}), source=f"{c}.csv")
            assert c in g.columns, (c, header, list(g.columns))


def test_zone_names_are_read(tmp_path: Path) -> None:
    for lang in (0, 1):
        props = {}
        for c in ("zone_id", "zone_name", "kind", "township"):
            aliases = column_aliases("zones")[c]
            props[next(a for a in aliases if (a.isascii() if lang else not a.isascii()))] = {"zone_id": "V1"}.get(c, c)
        f = tmp_path / f"z{lang}.geojson"
        geom = {"type": "Polygon", "coordinates": [[[112.8, 25.27], [112.81, 25.27], [112.81, 25.28], [112.8, 25.27]]]}
        f.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": props, "geometry": geom}]}),
                     encoding="utf-8")  # fmt: skip
        z = read_zones(f, coord_system="wgs84")
        assert z.loc[0, "zone_id"] == "V1" and z.loc[0, "kind"] == "kind" and z.loc[0, "township"] == "township", (lang, props)


def test_kind_values_read_back() -> None:
    labels = {k: v for k, v in KIND_LABELS.items() if k not in ("keep", "close")}
    assert standard_kinds(pd.Series(list(labels.values()))).tolist() == list(labels)
    assert set(labels) <= set(KIND_SYNONYMS)
    assert not {c.name for c in POINT_COLUMNS} - set(column_aliases())


# --------------------------------------------------------------------------- round trips
def _english(path: Path, folder: Path) -> Path:
    """A copy of an example file with English headers and English kind/action values."""
    zh_to_en = {}
    for zh, en in HEADERS.values():
        zh_to_en.setdefault(zh, en)
    values = {v: k for k, v in KIND_LABELS.items()}
    out = folder / path.name
    if path.suffix == ".geojson":
        data = json.loads(path.read_text(encoding="utf-8"))
        for f in data["features"]:
            f["properties"] = {zh_to_en[k]: values.get(v, v) for k, v in f["properties"].items()}
        out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    elif path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        rows = [[zh_to_en[h] for h in rows[0]], *([values.get(v, v) for v in r] for r in rows[1:])]
        with out.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    else:
        out.write_bytes(path.read_bytes())
    return out


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    zh = tmp_path_factory.mktemp("zh")
    write_examples(zh)
    en = tmp_path_factory.mktemp("en")
    for p in sorted(zh.iterdir()):
        _english(p, en)
    return {"zh": zh, "en": en}


@pytest.fixture(scope="module")
def county():
    return model_county()


@pytest.fixture(scope="module")
def network(folders):
    return read_network(folders["zh"] / "roads.osm")


_KIND = {"facilities": "facilities", "demand": "demand", "candidates": "candidates", "buildings": "demand",
         "planned": "candidates", "areas": "demand", "makeup_candidates": "candidates", "centres": "facilities",
         "homes": "facilities", "residents": "demand"}  # fmt: skip


def _read(folder: Path) -> dict[str, object]:
    """Every example layer read back from disk, as a planner's own files are."""
    layers: dict[str, object] = {}
    for key, name in MODEL_COUNTY_FILES.items():
        path = folder / name
        if key == "roads":
            continue
        if key == "plan":
            layers[key] = read_plan(path)
        elif path.suffix == ".geojson":
            layers[key] = read_zones(path)
        else:
            layers[key] = read_points(path, kind=_KIND[key])
    return layers


def _embedded(mc) -> dict[str, object]:
    """The layers the commands use when run without inputs (the embedded scenarios)."""
    dev, vil, con = development_scenario(mc), village_scenario(mc), consolidation_scenario(mc)
    town = mc.demand[mc.demand["zone_id"].isin(mc.zones.loc[mc.zones["kind"] == "community", "zone_id"])]
    return {"facilities": mc.facilities, "demand": mc.demand, "candidates": mc.candidates, "zones": mc.zones,
            "buildings": dev.buildings, "site": dev.site, "planned": dev.planned, "areas": town,
            "makeup_candidates": makeup_candidates(mc), "centres": vil.centres, "plan": vil.plan,
            "village_facilities": vil.facilities, "homes": con.homes, "residents": con.residents}  # fmt: skip


def _run(workflow: str, net, x: dict) -> dict[str, object]:
    """Run one workflow and return its key numbers."""
    if workflow == "audit":
        r = run_audit(net, x["facilities"], x["demand"], zones=x["zones"], with_service_areas=False, run_date=DATE)
        return {"summary": r.summary.round(9).to_dict("records"), "by_zone": r.by_zone[["zone_id", "n_covered_radius"]].to_dict("records")}
    if workflow == "site":
        r = propose_sites(net, x["facilities"], x["demand"], x["candidates"], model="mclp", k_new=3, zones=x["zones"],
                          zone_rule="at_most_one", with_service_areas=False)  # fmt: skip
        # the notes name the zones' kinds as the files write them (社区/村 or community/village)
        return {"proposed": r.proposed["id"].tolist(), "objective": round(r.selection.objective, 6), "notes": len(r.notes)}
    if workflow == "review":
        r = review_development(net, buildings=x["buildings"], facilities=x["facilities"], site=x["site"],
                               planned=x["planned"], run_date=DATE)  # fmt: skip
        return {"verdict": r.verdict, "reasons": r.reasons, "floor": r.floor_space.round(6).to_dict("records"),
                "dist": r.buildings["dist_m"].round(3).tolist()}  # fmt: skip
    if workflow == "makeup":
        r = plan_makeup(net, facilities=x["facilities"], areas=x["areas"], candidates=x["makeup_candidates"], run_date=DATE)
        return {"proposed": r.proposed["id"].tolist(), "summary": r.summary.round(6).to_dict("records")}
    if workflow == "villages":
        r = plan_village_points(net, facilities=x.get("village_facilities", x["facilities"]), demand=x["demand"],
                                zones=x["zones"], candidates=x["candidates"], centres=x["centres"], plan=x["plan"],
                                run_date=DATE)  # fmt: skip
        t = r.townships[["township", "planned_points", "existing_points", "proposed_points", "coverage_rate"]]
        return {"summary": r.summary.round(6).to_dict("records"), "points": r.points[["id", "status", "centre_id"]].to_dict("records"),
                "townships": t.to_dict("records")}  # fmt: skip
    if workflow == "consolidate":
        r = consolidate_homes(net, homes=x["homes"], residents=x["residents"], must_keep=["F05"], compare_optimum=False,
                              run_date=DATE)  # fmt: skip
        cap = r.capacity[["id", "action", "beds", "residents_after", "incoming"]]
        return {"unplaced": r.unplaced, "capacity": cap.to_dict("records"), "keep_sets": r.keep_sets["mean_m"].round(3).tolist(),
                "villages": r.villages.drop(columns=[c for c in r.villages if r.villages[c].dtype == object and c != "origin"]).round(3).to_dict("records")}  # fmt: skip
    r = check_targets(run_audit(net, x["facilities"], x["demand"], zones=x["zones"], with_service_areas=False, run_date=DATE))
    return {"by_zone": r.by_zone[["zone_id", "target", "meets"]].to_dict("records"), "by_kind": r.by_kind.round(9).to_dict("records")}


WORKFLOWS = ["audit", "site", "review", "makeup", "villages", "consolidate", "targets"]


@pytest.fixture(scope="module")
def expected(county) -> dict[str, dict[str, object]]:
    return {}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_round_trip_of_the_written_examples(workflow: str, lang: str, folders, county, network, expected) -> None:
    if workflow not in expected:
        expected[workflow] = _run(workflow, county.network, _embedded(county))
    got = _run(workflow, network, _read(folders[lang]))
    assert got == expected[workflow]


def test_example_files_have_chinese_headers_and_kinds(folders) -> None:
    zh = folders["zh"]
    assert (zh / "facilities.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel and WPS read UTF-8 with a BOM
    head = (zh / "homes.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert head == "编号,名称,类型,床位,处置,片区,经度,纬度"
    fac = read_points(zh / "facilities.csv", kind="facilities")
    assert set(standard_kinds(fac["kind"])) == {"community_station", "township_centre", "nursing_home", "village_point"}
    assert "村级互助养老点" in set(fac["kind"])
    zones = read_zones(zh / "zones.geojson")
    assert zones["zone_id"].tolist() == county_zone_ids() and set(zones["kind"]) == {"社区", "村"}
    tables = example_tables()
    assert set(tables) == set(MODEL_COUNTY_FILES) - {"roads"}
    assert isinstance(tables["site"], gpd.GeoDataFrame) and np.isclose(tables["buildings"]["households"].sum(), 1234)


def county_zone_ids() -> list[str]:
    return model_county().zones["zone_id"].tolist()


#: (input, required column, the workflow that needs it)
REQUIRED = [("buildings", "households", "review"), ("areas", "households", "makeup"), ("facilities", "kind", "villages"),
            ("zones", "kind", "targets"), ("homes", "capacity", "consolidate"), ("residents", "home_id", "consolidate"),
            ("residents", "count", "consolidate")]  # fmt: skip


def test_the_required_columns_are_those_the_workflows_need() -> None:
    documented = {(sc.key, c.name) for sc in INPUT_SCHEMAS for c in sc.columns if "required" in c.required}
    assert {(k, c) for k, c, _w in REQUIRED} <= documented


@pytest.mark.parametrize(("layer", "column", "workflow"), REQUIRED, ids=[f"{k}-{c}" for k, c, _w in REQUIRED])
def test_a_missing_required_column_names_the_file_and_the_names_accepted(layer, column, workflow, folders, network) -> None:
    from coverage.errors import InputFileError

    x = _read(folders["zh"])
    x[layer] = x[layer].drop(columns=column)
    with pytest.raises(InputFileError) as info:
        _run(workflow, network, x)
    message = str(info.value)
    assert MODEL_COUNTY_FILES[layer] in message and f"'{column}'" in message, message
    zh = [a for a in column_aliases("zones" if layer == "zones" else "points")[column] if not a.isascii()]
    assert zh[0] in message, message
