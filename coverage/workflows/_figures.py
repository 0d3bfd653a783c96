"""Figures two workflows share, computed by one function each so that ``coverage targets``
and ``coverage villages`` agree whenever they speak of the same thing, and named apart
where they differ:

* **villages with any elderly-care facility (existing)** -- zones holding at least one
  facility of any kind (:func:`zones_with_facility`);
* **villages with a mutual-aid point (existing)** -- zones holding a facility whose kind is
  a mutual-aid point (``village_point``, 村级互助养老点), the same function with ``kinds``;
* **villages with a mutual-aid point (existing + proposed)** -- the above after the
  proposed points open (``coverage villages`` only);
* **villages meeting the coverage target of 85% (share of homes within 1000 m by road)**
  -- zones whose share of homes within the radius reaches the target
  (:func:`meets_coverage`; :func:`~coverage.audit.summary.points_short` says by how many
  homes the others fall short).

:func:`figure_label` gives each its one name (Chinese, English) for the console, the
reports and the tables.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from ..audit.summary import pct
from ..audit.zones import zone_of_points
from ..config import AuditConfig
from ._columns import standard_kinds

__all__ = ["POINT_KINDS", "figure_label", "meets_coverage", "zone_of", "zones_with_facility"]

#: facility kinds that are village mutual-aid points (互助养老点)
POINT_KINDS = ("village_point",)


def zone_of(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """Zone id of every point: its own ``zone_id`` when that names one of ``zones``, else the
    polygon it lies in (``""`` outside every zone)."""
    zid = set(zones["zone_id"].astype(str))
    if "zone_id" in points and points["zone_id"].astype(str).isin(zid).all():
        return points["zone_id"].astype(str)
    z = zone_of_points(points.to_crs("EPSG:4326"), zones)
    if "zone_id" in points:
        own = points["zone_id"].astype(str)
        z = z.where(~own.isin(zid), own)
    return z.fillna("").astype(str)


def zones_with_facility(facilities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, kinds: Iterable[str] | None = None) -> pd.Series:
    """How many facilities (of ``kinds``, Chinese kinds read as English; all kinds when
    ``None``) lie in each zone, indexed by every ``zone_id`` of ``zones`` (0 for none)."""
    fac = facilities
    if kinds is not None:
        if "kind" not in fac:
            fac = fac.iloc[0:0]
        else:
            fac = fac[standard_kinds(fac["kind"]).isin(tuple(kinds)).to_numpy()]
    ids = zones["zone_id"].astype(str)
    if len(fac) == 0:
        return pd.Series(0, index=ids.to_numpy(), dtype=int)
    z = zone_of(fac, zones)
    return z[z != ""].value_counts().reindex(ids.to_numpy(), fill_value=0).astype(int)


def meets_coverage(n_covered: Iterable[float], n_points: Iterable[float], target: float | Iterable[float]) -> np.ndarray:
    """Whether each zone's share of homes covered reaches ``target`` (one share, or one per
    zone); a zone without homes does not."""
    c = np.asarray(list(n_covered), dtype=float)
    n = np.asarray(list(n_points), dtype=float)
    t = np.asarray(list(target) if isinstance(target, Iterable) else target, dtype=float)
    share = np.divide(c, n, out=np.zeros_like(c), where=n > 0)
    return (n > 0) & (share >= t - 1e-12)


def figure_label(key: str, *, config: AuditConfig | None = None, target: float | None = None, zone: str = "village",
                 lang: str = "en", measure: str = "share_radius") -> str:  # fmt: skip
    """The one name of a shared figure: ``"with_facility"``, ``"with_point"``,
    ``"with_point_after"`` or ``"meeting"`` (needs ``target`` and ``config``); ``zone`` is
    ``"village"`` or ``"community"`` (or ``"zone"``); ``lang`` ``"zh"``, ``"en"`` or ``"both"``;
    ``measure`` the coverage share the target applies to (``"share_radius"``, ``"share_time"``,
    ``"wshare_radius"``, ``"wshare_time"``).

    >>> figure_label("meeting", config=AuditConfig(), target=0.85)
    'villages meeting the coverage target of 85% (share of homes within 1000 m by road)'
    """
    zh_zone, en_zone = {"village": ("村", "villages"), "community": ("社区", "communities")}.get(zone, ("片区", "zones"))
    if key == "meeting":
        cfg = config or AuditConfig()
        t = pct(target if target is not None else float("nan"), 0)
        rule = "time" if measure.endswith("time") else "radius"
        what_zh, what_en = ("加权比例", "weighted share of people") if measure.startswith("w") else ("户数比例", "share of homes")
        zh = f"覆盖达标的{zh_zone}（目标{t}：{cfg.rule_label(rule, lang='zh')}的{what_zh}）"
        en = f"{en_zone} meeting the coverage target of {t} ({what_en} within {cfg.rule_label(rule, lang='en')})"
    else:
        zh, en = {
            "with_facility": (f"有养老设施的{zh_zone}（现有）", f"{en_zone} with any elderly-care facility (existing)"),
            "with_point": (f"有互助点的{zh_zone}（现有）", f"{en_zone} with a mutual-aid point (existing)"),
            "with_point_after": (f"有互助点的{zh_zone}（现有+拟建）", f"{en_zone} with a mutual-aid point (existing + proposed)"),
        }[key]  # fmt: skip
    return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")
