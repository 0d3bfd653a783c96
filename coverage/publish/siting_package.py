"""The outputs of a site selection: ``sites.gpkg`` and its tables (:func:`write_siting_outputs`),
an all-or-nothing output set; the map is :func:`coverage.publish.site_map.siting_map`."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from ..siting.propose import SitingResult
from .atomic import writes_output_set
from .tables import write_csv, write_gpkg, write_json

__all__ = ["SITING_FILES", "write_siting_outputs"]


#: the files :func:`write_siting_outputs` writes (``gaps.csv`` only with gaps)
SITING_FILES: dict[str, str] = {
    "gpkg": "sites.gpkg",
    "proposed": "proposed.csv",
    "before_after": "before_after.csv",
    "newly": "newly_covered.csv",
    "assignment": "assignment.csv",
    "meta": "siting.json",
    "gaps": "gaps.csv",
}


@writes_output_set('out_dir')
def write_siting_outputs(
    result: SitingResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    gaps: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """Write ``sites.gpkg`` (proposed, sites, demand, service_areas, gaps), ``proposed.csv``,
    ``before_after.csv``, ``newly_covered.csv``, ``assignment.csv`` and ``siting.json``
    (and ``gaps.csv`` when ``gaps`` are given)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in SITING_FILES.items() if k != "gaps"}
    if gaps is not None and len(gaps):
        names["gaps"] = out / SITING_FILES["gaps"]
    layers = {
        "proposed": result.proposed,
        "sites": result.sites,
        "demand": result.demand,
        "service_areas": result.service_areas,
        "gaps": gaps if gaps is not None and len(gaps) else None,
    }
    write_gpkg(names["gpkg"], layers, overwrite=overwrite)
    write_csv(names["proposed"], result.proposed, overwrite=overwrite)
    write_csv(names["before_after"], result.before_after, overwrite=overwrite)
    write_csv(names["newly"], result.newly_covered, overwrite=overwrite)
    write_csv(names["assignment"], result.selection.assignment_frame(), overwrite=overwrite)
    if "gaps" in names:
        write_csv(names["gaps"], gaps, overwrite=overwrite)
    write_json(names["meta"], result.meta, overwrite=overwrite)
    return names
