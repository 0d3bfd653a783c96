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
from ..audit.summary import pct, points_short
from ..config import AuditConfig
from ..errors import ParameterError
from ..publish._labels import tr
from ..publish.atomic import writes_output_set
from ..publish.audit_package import report_basis
from ..publish.figures import PrintMap, facility_layers, print_map, rule_subtitle, zone_layers
from ..publish.maps import MapLayers, audit_layers, write_map
from ..publish.report import Report, ReportOptions, ReportSection, write_report_files
from ..publish.tables import write_csv, write_json
from ._columns import require_columns, standard_kinds
from ._figures import POINT_KINDS, figure_label, meets_coverage, zones_with_facility

__all__ = ["MEASURES", "TargetsResult", "check_targets", "target_table", "targets_lines", "write_targets_outputs"]

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
    out["points_short"] = [points_short(t, k, c) for t, k, c in zip(tgt, n, cov, strict=True)]
    # a share of homes: the one test both `coverage targets` and `coverage villages` use
    out["meets"] = meets_coverage(cov, n, tgt) if measure.startswith("share") else (ach.fillna(0.0) >= tgt - 1e-12).to_numpy()
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
    nf = zones_with_facility(audit.facilities, zones, kinds=facility_kinds)
    by_zone, by_kind = target_table(audit.by_zone, kinds=kinds, targets=tg, measure=measure, n_facilities=nf)
    # the mutual-aid points of each zone, counted as `coverage villages` counts them
    npts = zones_with_facility(audit.facilities, zones, kinds=POINT_KINDS)
    by_zone["n_mutual_aid_points"] = by_zone["zone_id"].map(npts).fillna(0).astype(int).to_numpy()
    with_pt = by_zone.assign(_p=by_zone["n_mutual_aid_points"] > 0).groupby("kind")["_p"].sum()
    by_kind.insert(by_kind.columns.get_loc("share_with_facility") + 1, "zones_with_point",
                   by_kind["kind"].map(with_pt).fillna(0).astype(int).to_numpy())  # fmt: skip
    meta = {k: audit.meta[k] for k in ("title", "crs", "speed_mps", "radius_m", "time_min", "walk_limit_m", "source", "date")}
    meta.update({"targets": dict(tg) if isinstance(tg, Mapping) else tg, "measure": measure,
                 "facility_kinds": list(facility_kinds) if facility_kinds else "all"})  # fmt: skip
    logger.info("targets: %d of %d zones meet their target", int(by_zone["meets"].sum()), len(by_zone))
    return TargetsResult(by_zone, by_kind, audit, meta)



def _measure_text(measure: str, cfg: AuditConfig) -> str:
    """``"目标口径 Measure: share of homes 路网1000米内 1000 m by road"`` (``wshare_*``: weighted)."""
    rule = measure.split("_", 1)[-1]
    what = cfg.rule_label(rule) if rule in ("radius", "time", "both") else measure
    weighted = "（加权 weighted）" if measure.startswith("wshare") else ""
    return f"目标口径 Measure: 覆盖比例 share covered, {what}{weighted}"


def _measure_label(r: TargetsResult, lang: str) -> str:
    cfg = r.audit.config if r.audit is not None else AuditConfig()
    m = str(r.meta["measure"])
    rule = "time" if m.endswith("time") else "radius"
    what = ("加权比例", "weighted share of people") if m.startswith("w") else ("户数比例", "share of homes")
    return tr(f"{cfg.rule_label(rule, lang='zh')}的{what[0]}", f"{what[1]} within {cfg.rule_label(rule, lang='en')}", lang)


def targets_lines(result: TargetsResult, *, lang: str = "en") -> list[str]:
    """The console's words (``lang`` ``"en"``, ``"zh"`` or ``"both"``): a head line, then
    per kind of zone the zones meeting their coverage target, the pooled share, the zones
    with any elderly-care facility and (villages) with a mutual-aid point, each under the
    name :func:`~coverage.workflows._figures.figure_label` gives it (the same names and
    counts ``coverage villages`` prints)."""
    r = result
    cfg = r.audit.config if r.audit is not None else AuditConfig()
    measure = str(r.meta["measure"])
    meet = int(r.by_zone["meets"].sum())
    out = [tr(f"覆盖率目标（{_measure_label(r, 'zh')}）：{len(r.by_zone)} 个片区中 {meet} 个达到各自的目标。",
              f"coverage targets ({_measure_label(r, 'en')}): {meet} of {len(r.by_zone)} zones meet their target", lang)]  # fmt: skip
    for k in r.by_kind.itertuples():
        zone = str(k.kind) if k.kind in ("village", "community") else "zone"
        n = int(k.n_zones)
        parts = [f"{figure_label('meeting', config=cfg, target=k.target, zone=zone, lang=lang, measure=measure)}: {int(k.zones_meeting)}/{n}",
                 tr(f"{_measure_label(r, 'zh')}（全部合计）：{pct(k.achieved)}",
                    f"{_measure_label(r, 'en')}, all their homes together: {pct(k.achieved)}", lang),
                 f"{figure_label('with_facility', zone=zone, lang=lang)}: {int(k.zones_with_facility)}/{n}"]  # fmt: skip
        if zone == "village" or int(k.zones_with_point):
            parts.append(f"{figure_label('with_point', zone=zone, lang=lang)}: {int(k.zones_with_point)}/{n}")
        kind = tr(*{"village": ("村", "village"), "community": ("社区", "community")}.get(zone, (str(k.kind), str(k.kind))), lang)
        out.append(f"  {kind} ({n}): " + "; ".join(parts))
    return out


def _kind_table(r: TargetsResult, lang: str) -> pd.DataFrame:
    """Page 1's table: per kind, the target and the counts under their figure names."""
    rows = []
    for k in r.by_kind.itertuples():
        zone = str(k.kind) if k.kind in ("village", "community") else "zone"
        rows.append({tr("片区类型", "Kind", lang): tr(*{"village": ("村", "village"), "community": ("社区", "community")}.get(zone, (zone, zone)), lang),
                     tr("目标", "Target", lang): pct(k.target, 0),
                     tr("达到覆盖目标", "Meeting the coverage target", lang): f"{int(k.zones_meeting)}/{int(k.n_zones)}",
                     tr("合计覆盖比例", "All homes together", lang): pct(k.achieved),
                     tr("有养老设施（现有）", "With any facility (existing)", lang): f"{int(k.zones_with_facility)}/{int(k.n_zones)}",
                     tr("有互助点（现有）", "With a mutual-aid point (existing)", lang): f"{int(k.zones_with_point)}/{int(k.n_zones)}"})  # fmt: skip
    return pd.DataFrame(rows)


def _short_zones(r: TargetsResult, lang: str) -> list[str]:
    """What to do: the zones below their target, most homes short first."""
    z = r.by_zone[~r.by_zone["meets"].astype(bool)].sort_values(["points_short", "zone_id"], ascending=[False, True])
    out = []
    for row in z.head(6).itertuples():
        out.append(tr(f"{row.zone_name}：{int(row.n_points)} 个点中 {int(row.n_covered)} 个（{pct(row.achieved)}），达到 {pct(row.target, 0)} 还差 {int(row.points_short)} 个点。",
                      f"{row.zone_name}: {int(row.n_covered)} of {int(row.n_points)} points ({pct(row.achieved)}); {int(row.points_short)} more to reach {pct(row.target, 0)}.", lang))  # fmt: skip
    if len(z) > 6:
        out.append(tr(f"另有 {len(z) - 6} 个片区未达标，见“分片区”。", f"{len(z) - 6} more zones fall short: see By zone.", lang))
    return out


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
    tianditu_key: str | None = None,
    options: ReportOptions | None = None,
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
    write_map(names["map"], layers, overwrite=overwrite, basemap=basemap, tianditu_key=tianditu_key)
    spec = PrintMap(title="覆盖率目标 Coverage targets", network=a.network, layers=[*zone_layers(zones), *facility_layers(a.facilities)],
                    source=str(a.meta.get("source", "")), date=str(r.meta.get("date", a.meta.get("date", ""))),
                    subtitle=rule_subtitle(a, _measure_text(str(r.meta["measure"]), a.config)), pad_m=150.0,
                    lang=(options or ReportOptions()).lang)  # fmt: skip
    print_map(names["png"], spec, overwrite=overwrite)
    opts = options or ReportOptions()
    lang = opts.lang
    findings = ReportSection(tr("结论", "Findings", lang), targets_lines(r, lang=lang if lang == "zh" else "both")[:1],
                             [(tr("按片区类型", "By kind of zone", lang), _kind_table(r, lang))], bullets=_short_zones(r, lang))  # fmt: skip
    sections = [ReportSection(tr("按片区类型", "Targets by kind of zone", lang), targets_lines(r, lang=lang if lang == "zh" else "both")[1:],
                              tables=[(tr("按片区类型", "By kind of zone", lang), r.by_kind)]),
                ReportSection(tr("分片区", "By zone", lang), tables=[(tr("各片区", "Every zone", lang), r.by_zone)])]  # fmt: skip
    report = Report("养老服务覆盖率目标 Coverage targets", sections, r.meta, basis=report_basis(r.meta, plan_basis=opts.plan_basis, lang=lang,
                    topics=("radius", "time", "target_community", "target_village")), map_html=names["map"], map_png=names["png"],
                    findings=findings, options=opts)  # fmt: skip
    rep = write_report_files(names["report"], names["xlsx"], report, sheets={tr("按片区类型", "By kind", lang): r.by_kind,
                             tr("分片区", "By zone", lang): r.by_zone},
                             overwrite=overwrite, pdf=pdf)  # fmt: skip
    if "report_pdf" in rep:
        names["pdf"] = rep["report_pdf"]
    logger.info("wrote the target outputs to %s", out)
    return names
