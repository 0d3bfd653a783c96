"""Coverage targets (覆盖率目标): per zone and per kind of zone, against what the plan sets.

Plans set different targets for urban communities and villages: urban communities with an
elderly-care facility 100% (Jiangyong 2022 §二(二)2), day-care in 90% of urban communities
(Huichang §(二)), mutual-aid service in 85% of villages by 2025 (Huichang §(五)) or village
stations in 40% of villages by 2023 (Lu'an item 17). :func:`check_targets` reads an
:class:`~coverage.audit.run.AuditResult` (run with zones) and reports:

* **per zone**: ``zone, kind, target, achieved`` (the zone's share of homes within the
  standard, by ``measure``), ``gap_pct_points`` (target minus achieved, in percentage
  points, 0 when met), ``points_short`` (how many more homes must be covered:
  ``ceil(target × n_points) - n_covered``), ``meets`` and ``n_facilities`` in the zone;
* **per kind**: the plan's own measure -- the share of zones of that kind with a facility
  (``share_with_facility`` against the target) -- and the share of zones meeting the
  target, plus the pooled coverage of all their homes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..audit.run import AuditResult
from ..audit.zones import zone_of_points
from ..errors import ParameterError
from ..publish.atomic import writes_output_set
from ..publish.audit_package import report_basis
from ..publish.figures import Layer, figure_png
from ..publish.maps import MapLayers, audit_layers, write_map
from ..publish.report import Report, ReportSection, write_report_files
from ..publish.tables import write_csv, write_json
from ._columns import require_columns, standard_kinds

__all__ = ["MEASURES", "TargetsResult", "check_targets", "target_table", "write_targets_outputs"]

logger = logging.getLogger(__name__)

#: Coverage measures of :meth:`AuditResult.by_zone` a target can apply to.
MEASURES = ("share_radius", "share_time", "wshare_radius", "wshare_time")


@dataclass(frozen=True, eq=False)
class TargetsResult:
    """Targets against achievements.

    Attributes
    ----------
    by_zone
        ``zone_id, zone_name, kind, n_points, n_covered, target, achieved,
        gap_pct_points, points_short, meets, n_facilities``.
    by_kind
        ``kind, target, n_zones, zones_with_facility, share_with_facility,
        meets_facility_target, zones_meeting, share_zones_meeting, n_points, n_covered,
        achieved, meets_coverage_target``.
    audit
        The audit the table was read from.
    meta
        Targets, measure, parameters.
    """

    by_zone: pd.DataFrame
    by_kind: pd.DataFrame
    audit: AuditResult | None
    meta: dict[str, object]


def target_table(
    by_zone: pd.DataFrame,
    *,
    kinds: pd.Series | Mapping[str, str] | None,
    targets: Mapping[str, float] | float,
    measure: str = "share_radius",
    n_facilities: pd.Series | Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Targets against a per-zone coverage table (pure arithmetic).

    Parameters
    ----------
    by_zone
        ``zone_id, n_points, n_covered_radius, n_covered_time`` and the ``measure``
        column (as :attr:`AuditResult.by_zone`); ``zone_name`` optional.
    kinds
        Kind of each zone by ``zone_id`` (``"community"``, ``"village"`` ...); ``None``
        makes every zone kind ``"zone"``.
    targets
        Target share by kind, or one share for every kind.
    measure
        One of :data:`MEASURES`.
    n_facilities
        Facilities located in each zone by ``zone_id`` (default 0).

    Returns
    -------
    by_zone, by_kind
        See :class:`TargetsResult`.

    Examples
    --------
    >>> bz = pd.DataFrame({"zone_id": ["C1", "V1"], "n_points": [10, 5],
    ...                    "n_covered_radius": [9, 4], "n_covered_time": [9, 4],
    ...                    "share_radius": [0.9, 0.8]})
    >>> z, k = target_table(bz, kinds={"C1": "community", "V1": "village"},
    ...                     targets={"community": 1.0, "village": 0.85})
    >>> z[["zone_id", "gap_pct_points", "points_short", "meets"]].to_dict("records")
    [{'zone_id': 'C1', 'gap_pct_points': 10.0, 'points_short': 1, 'meets': False}, {'zone_id': 'V1', 'gap_pct_points': 5.0, 'points_short': 1, 'meets': False}]
    """
    if measure not in MEASURES:
        raise ParameterError(f"measure={measure!r} (--measure); choose one of {list(MEASURES)}")
    zid = by_zone["zone_id"].astype(str)
    kind = zid.map(dict(kinds)) if kinds is not None else pd.Series("zone", index=by_zone.index)
    kind = kind.fillna("other").astype(str)
    if isinstance(targets, Mapping):
        missing = sorted(set(kind) - set(targets))
        if missing:
            raise ParameterError(
                f"no target for zone kind(s) {missing}; targets are given for {sorted(targets)}. Fix: mark every "
                "zone community or village (社区/村) in its kind (类型) column, or give one target for every zone "
                "(targets=0.9, --target 0.9)"
            )
        tgt = kind.map(dict(targets)).astype(float)
    else:
        tgt = pd.Series(float(targets), index=by_zone.index)
    if ((tgt < 0) | (tgt > 1)).any():
        raise ParameterError("targets must be shares between 0 and 1 (e.g. 0.85; --target, --target-community, --target-village)")
    rule = "time" if measure.endswith("time") else "radius"
    n = by_zone["n_points"].astype(int)
    cov = by_zone[f"n_covered_{rule}"].astype(int)
    ach = by_zone[measure].astype(float)
    out = pd.DataFrame({"zone_id": zid, "zone_name": by_zone["zone_name"] if "zone_name" in by_zone else zid,
                        "kind": kind, "n_points": n, "n_covered": cov, "target": tgt, "achieved": ach})  # fmt: skip
    gap = np.maximum(0.0, tgt - ach.fillna(0.0)) * 100.0
    out["gap_pct_points"] = np.round(gap, 9)
    out["points_short"] = [max(0, math.ceil(t * k - 1e-9) - c) for t, k, c in zip(tgt, n, cov, strict=True)]
    out["meets"] = ach.fillna(0.0) >= tgt - 1e-12
    nf = zid.map(dict(n_facilities)) if n_facilities is not None else pd.Series(0, index=by_zone.index)
    out["n_facilities"] = nf.fillna(0).astype(int)
    rows = []
    for k, grp in out.groupby("kind", sort=True):
        nz = len(grp)
        with_f = int((grp["n_facilities"] > 0).sum())
        meet = int(grp["meets"].sum())
        pts = int(grp["n_points"].sum())
        covd = int(grp["n_covered"].sum())
        t = float(grp["target"].iloc[0])
        rows.append({"kind": k, "target": t, "n_zones": nz, "zones_with_facility": with_f,
                     "share_with_facility": with_f / nz, "meets_facility_target": with_f / nz >= t - 1e-12,
                     "zones_meeting": meet, "share_zones_meeting": meet / nz, "n_points": pts, "n_covered": covd,
                     "achieved": covd / pts if pts else math.nan,
                     "meets_coverage_target": (covd / pts if pts else 0.0) >= t - 1e-12})  # fmt: skip
    return out.reset_index(drop=True), pd.DataFrame(rows)


def check_targets(
    audit: AuditResult,
    *,
    targets: Mapping[str, float] | float | None = None,
    measure: str = "share_radius",
    kind_col: str = "kind",
    facility_kinds: tuple[str, ...] | None = None,
) -> TargetsResult:
    """Coverage per zone and per kind of zone against the plan's targets.

    Parameters
    ----------
    audit
        A coverage audit run with zones (:func:`coverage.run_audit` ``zones=``).
    targets
        Target share by zone kind (default: communities 1.0, villages 0.85), or one share.
    measure
        ``"share_radius"`` (share of homes within the radius, default), ``"share_time"``,
        or the population-weighted ``"wshare_radius"``/``"wshare_time"``.
    kind_col
        Zone column with the kind (``community``/``village``).
    facility_kinds
        Facility kinds that count for "zones with a facility" (default all).

    Returns
    -------
    TargetsResult

    Raises
    ------
    ParameterError
        The audit has no zones, unknown measure, a zone kind without a target.

    Examples
    --------
    >>> from coverage import model_county, run_audit
    >>> mc = model_county()
    >>> audit = run_audit(mc.network, mc.facilities, mc.demand, zones=mc.zones, run_date="2026-01-01")
    >>> res = check_targets(audit)
    >>> res.by_kind[["kind", "n_zones", "zones_meeting"]].to_dict("records")
    [{'kind': 'community', 'n_zones': 6, 'zones_meeting': 4}, {'kind': 'village', 'n_zones': 12, 'zones_meeting': 0}]
    """
    from ..datasets.scenarios import DEFAULT_TARGETS

    if audit.by_zone is None or audit.zones is None:
        raise ParameterError("the audit has no zones: run run_audit(..., zones=...) with community/village polygons")
    zones = audit.zones
    tg = DEFAULT_TARGETS if targets is None else targets
    if isinstance(tg, Mapping):
        require_columns(zones, {kind_col: f"(community/village) to apply the targets by kind of zone {dict(tg)}"}, label="zones",
                        fix="add a 类型 (kind) column with community or village (社区/村) to the zones, or give one "
                        "target for every zone (targets=0.9, --target 0.9)")  # fmt: skip
    # 社区/村 read as community/village, the kinds the targets are given for
    kinds = standard_kinds(zones.set_index(zones["zone_id"].astype(str))[kind_col]) if kind_col in zones else None
    fac = audit.facilities
    if facility_kinds is not None and "kind" in fac:
        fac = fac[fac["kind"].isin(facility_kinds)]
    zf = zone_of_points(fac, zones).dropna()
    nf = zf.groupby(zf).size()
    by_zone, by_kind = target_table(audit.by_zone, kinds=kinds, targets=tg, measure=measure, n_facilities=nf)
    meta = {k: audit.meta[k] for k in ("title", "crs", "speed_mps", "radius_m", "time_min", "walk_limit_m", "source", "date")}
    meta.update({"targets": dict(tg) if isinstance(tg, Mapping) else tg, "measure": measure,
                 "facility_kinds": list(facility_kinds) if facility_kinds else "all"})  # fmt: skip
    logger.info("targets: %d of %d zones meet their target", int(by_zone["meets"].sum()), len(by_zone))
    return TargetsResult(by_zone, by_kind, audit, meta)



#: the files :func:`write_targets_outputs` writes (and ``<report>.pdf`` with ``pdf=True``)
TARGETS_FILES: dict[str, str] = {
    "by_zone": "targets_by_zone.csv",
    "by_kind": "targets_by_kind.csv",
    "json": "targets.json",
    "map": "targets_map.html",
    "png": "targets_map.png",
    "report": "targets_report.html",
    "xlsx": "targets.xlsx",
}


@writes_output_set("out_dir")
def write_targets_outputs(
    result: TargetsResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    basemap: str = "none",
    pdf: bool = False,
) -> dict[str, Path]:
    """Write ``targets_by_zone.csv``, ``targets_by_kind.csv``, ``targets.json``, the map
    (``targets_map.html`` with zones coloured by their own target, ``targets_map.png``),
    ``targets_report.html`` and ``targets.xlsx``, each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in TARGETS_FILES.items()}
    r = result
    write_csv(names["by_zone"], r.by_zone, overwrite=overwrite)
    write_csv(names["by_kind"], r.by_kind, overwrite=overwrite)
    write_json(names["json"], {**r.meta, "by_kind": r.by_kind}, overwrite=overwrite)
    a = r.audit
    zones = a.zones.drop(columns=[c for c in ("target", "meets_target") if c in a.zones]).merge(
        r.by_zone[["zone_id", "target", "meets"]].rename(columns={"meets": "meets_target"}), on="zone_id", how="left")
    base = audit_layers(a)
    layers = MapLayers(demand=base.demand, facilities=base.facilities, roads=base.roads, service_areas=base.service_areas,
                       zones=zones, meta={**base.meta, "title": "覆盖率目标 Coverage targets"})  # fmt: skip
    write_map(names["map"], layers, overwrite=overwrite, basemap=basemap)
    figure_png(names["png"], network=a.network, overwrite=overwrite, title=f"Coverage targets ({r.meta['measure']})",
               layers=[Layer(zones[zones["meets_target"].astype(bool)], "zone meets its target", "#2ca02c"),
                       Layer(zones[~zones["meets_target"].astype(bool)], "zone below its target", "#d62728"),
                       Layer(a.facilities, "facility", "#1f77b4", "s", 30, True, "id")])  # fmt: skip
    text = [f"{row.kind}: target {row.target:.0%}; {row.zones_with_facility}/{row.n_zones} zones with a facility "
            f"({row.share_with_facility:.0%}); {row.zones_meeting}/{row.n_zones} zones meet the coverage target; "
            f"homes covered {row.achieved:.1%}." for row in r.by_kind.itertuples()]  # fmt: skip
    sections = [ReportSection("目标 Targets by kind of zone", text, tables=[("by kind", r.by_kind)]),
                ReportSection("片区 By zone", tables=[("by zone", r.by_zone)])]
    report = Report("养老服务覆盖率目标 Coverage targets", sections, r.meta, basis=report_basis(r.meta),
                    map_html=names["map"], map_png=names["png"])  # fmt: skip
    rep = write_report_files(names["report"], names["xlsx"], report, sheets={"by_kind": r.by_kind, "by_zone": r.by_zone},
                             overwrite=overwrite, pdf=pdf)  # fmt: skip
    if "report_pdf" in rep:
        names["pdf"] = rep["report_pdf"]
    logger.info("wrote the target outputs to %s", out)
    return names
