"""Coverage summaries of an audit: counts and (population-)weighted shares, overall or
per zone, against a target; the weight of every demand point; and :class:`CoverageSummary`,
the one object every output reads its figures from.

One truth
---------
An audit's figures are computed once, by :meth:`CoverageSummary.from_demand` (the
:attr:`AuditResult.coverage <coverage.audit.run.AuditResult.coverage>` of a run), and read
from that object by every output: the console lines (:meth:`CoverageSummary.lines`), the
report's key figures and the Excel summary sheet (:meth:`CoverageSummary.figures_frame`),
``summary.csv`` (:meth:`CoverageSummary.table`) and the map legend
(:meth:`CoverageSummary.legend_rows`). Every figure is named by its rule with
:meth:`AuditConfig.rule_label <coverage.config.AuditConfig.rule_label>` ("1000 m by road",
"15 min walk at 0.8 m/s", "1000 m by road and 15 min walk"), so the same number carries the
same name everywhere.

Both rules measure the same road distance (the radius directly, the service circle as the
distance walked in ``time_min`` at ``speed_mps``), so one rule's covered points always
contain the other's: "one rule only" means within the looser rule but not the stricter one,
and "neither" means beyond the looser rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import AuditConfig, TerrainConfig
from ..engine.whatif import STATUS_BEYOND, STATUS_UNREACHABLE
from ..errors import InputFileError, ParameterError

__all__ = [
    "LEGEND_KEYS", "TARGET_RULES", "WEIGHT_COLUMNS", "CoverageSummary", "Figure", "LegendRow",
    "config_of", "demand_weights", "pct", "points_short", "summary_table",
]  # fmt: skip

#: population columns used for weights when none is named, first found wins
WEIGHT_COLUMNS = ("elderly", "population", "households")
#: the rules a coverage target can apply to
TARGET_RULES = ("radius", "time", "both")
#: the map legend's categories, in order (the keys of the map colours)
LEGEND_KEYS = ("both", "partial", "none", "unreachable", "false")


def pct(share: float, digits: int = 1) -> str:
    """A share as a percentage with ``digits`` decimals (``"62.9%"``), ``"—"`` when undefined.

    Every output prints shares with this function, so the same share reads the same.

    >>> pct(78 / 124), pct(float("nan")), pct(0.85, 0)
    ('62.9%', '—', '85%')
    """
    try:
        x = float(share)
    except (TypeError, ValueError):
        return "—"
    return f"{x:.{digits}%}" if math.isfinite(x) else "—"


def points_short(target: float, n_points: int, n_covered: int) -> int:
    """How many more points must be covered to reach ``target`` (a share) of ``n_points``:
    ``ceil(target × n_points) - n_covered``, never below 0. Every "short by" figure (the
    audit report, the targets workflow) is this one.

    >>> points_short(0.9, 20, 12), points_short(0.85, 6, 6)
    (6, 0)
    """
    return max(0, math.ceil(float(target) * int(n_points) - 1e-9) - int(n_covered))


def demand_weights(demand: gpd.GeoDataFrame, weight_col: str | None, source: str = "demand") -> tuple[np.ndarray, str]:
    """The weight of every demand point and where it came from: ``weight_col`` (raising
    :class:`~coverage.errors.InputFileError` naming ``source`` when it is missing), else the
    first of :data:`WEIGHT_COLUMNS` with values, else 1 per point (``"count (no population
    column)"``). Missing or non-numeric weights count 0."""
    if weight_col is not None:
        if weight_col not in demand.columns:
            raise InputFileError(
                f"{source}: weight column {weight_col!r} not found; columns are {list(demand.columns)}. "
                "Fix: pass one of them as weight_col"
            )
        col = weight_col
    else:
        col = next((c for c in WEIGHT_COLUMNS if c in demand.columns and demand[c].notna().any()), "")
    if not col:
        return np.ones(len(demand)), "count (no population column)"
    w = pd.to_numeric(demand[col], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(w), w, 0.0), col


def summary_table(
    frame: pd.DataFrame,
    *,
    by: str | None = None,
    weight: str = "weight",
    target: float | None = None,
    target_rule: str = "radius",
) -> pd.DataFrame:
    """Coverage counts and shares, overall (``by=None``) or per group.

    Columns: ``n_points, n_covered_radius, share_radius, n_covered_time, share_time,
    n_covered_both, share_both, weight_total, weight_covered_radius, wshare_radius,
    weight_covered_time, wshare_time, weight_covered_both, wshare_both, n_false_coverage,
    n_unreachable, n_beyond_cutoff`` and, with a target, ``target`` and ``meets_target``
    (share of points covered under ``target_rule`` ≥ target).
    """
    if target_rule not in TARGET_RULES:
        raise ParameterError(f"target_rule={target_rule!r}; choose 'radius', 'time' or 'both'")
    f = frame.copy()
    f["_w"] = f[weight].astype(float).fillna(0.0)
    f["_cr"] = f["covered_radius"].astype(bool)
    f["_ct"] = f["covered_time"].astype(bool)
    f["_cb"] = f["_cr"] & f["_ct"]
    for rule in ("r", "t", "b"):
        f[f"_w{rule}"] = f["_w"] * f[f"_c{rule}"]
    f["_fc"] = f["false_coverage"].astype(bool)
    f["_un"] = f["status"] == STATUS_UNREACHABLE
    f["_bc"] = f["status"] == STATUS_BEYOND
    f["_all"] = "all"
    key = by if by is not None else "_all"
    g = f.groupby(key, sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "n_points": g.size(),
            "n_covered_radius": g["_cr"].sum(),
            "n_covered_time": g["_ct"].sum(),
            "n_covered_both": g["_cb"].sum(),
            "weight_total": g["_w"].sum(),
            "weight_covered_radius": g["_wr"].sum(),
            "weight_covered_time": g["_wt"].sum(),
            "weight_covered_both": g["_wb"].sum(),
            "n_false_coverage": g["_fc"].sum(),
            "n_unreachable": g["_un"].sum(),
            "n_beyond_cutoff": g["_bc"].sum(),
        }
    )
    wt = out["weight_total"].where(out["weight_total"] > 0)
    for rule in ("radius", "time", "both"):
        out[f"share_{rule}"] = out[f"n_covered_{rule}"] / out["n_points"]
        out[f"wshare_{rule}"] = out[f"weight_covered_{rule}"] / wt
    if target is not None:
        out["target"] = target
        out["meets_target"] = out[f"share_{target_rule}"] >= target - 1e-12
    out.index.name = by or "scope"
    return out.reset_index()


def config_of(meta: Mapping[str, Any]) -> AuditConfig:
    """The rules recorded in a run's ``meta`` (``radius_m``, ``time_min``, ``speed_mps``;
    the defaults for missing keys), e.g. to name figures from a map's metadata."""
    keys = ("radius_m", "time_min", "speed_mps")
    params = meta.get("parameters") if isinstance(meta.get("parameters"), Mapping) else {}
    given = {k: float(meta.get(k, params.get(k))) for k in keys if meta.get(k, params.get(k)) is not None}
    return AuditConfig(**given)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Figure:
    """One labelled figure: how many points (and how much weight) fall in a category.

    Attributes
    ----------
    key
        ``"radius"``, ``"time"``, ``"both"`` (covered by that rule), ``"partial"`` (the
        looser rule only), ``"none"`` (neither rule), ``"beyond"`` (no facility within the
        search limit, part of ``"none"``), ``"unreachable"`` (off-road) or ``"false"``
        (false coverage: inside the straight-line circle, beyond the radius by road).
    label_zh, label_en
        The figure's name (from :meth:`AuditConfig.rule_label
        <coverage.config.AuditConfig.rule_label>` for the rules).
    count, total
        Points in the category and all points.
    weight, weight_total
        Their weight (older residents, population ... see ``weight_column``).
    """

    key: str
    label_zh: str
    label_en: str
    count: int
    total: int
    weight: float
    weight_total: float

    @property
    def share(self) -> float:
        """``count / total`` (NaN without points)."""
        return self.count / self.total if self.total else math.nan

    @property
    def wshare(self) -> float:
        """``weight / weight_total`` (NaN without weight)."""
        return self.weight / self.weight_total if self.weight_total > 0 else math.nan

    def label(self, lang: str = "both") -> str:
        """The name in ``"zh"``, ``"en"`` or ``"both"`` (Chinese first)."""
        return {"zh": self.label_zh, "en": self.label_en}.get(lang, f"{self.label_zh} {self.label_en}")

    def text(self, lang: str = "en", *, weighted: bool = True) -> str:
        """``"1000 m by road: 78/124 (62.9%); weighted 83.4%"`` (the console's words)."""
        w = {"zh": "加权", "en": "weighted"}.get(lang, "加权 weighted")
        tail = f"; {w} {pct(self.wshare)}" if weighted and math.isfinite(self.wshare) else ""
        return f"{self.label(lang)}: {self.count}/{self.total} ({pct(self.share)}){tail}"


@dataclass(frozen=True)
class LegendRow:
    """One row of the map legend (:meth:`CoverageSummary.legend_rows`): ``key`` is one of
    :data:`LEGEND_KEYS` (the map colour), ``label`` the bilingual name, ``count`` and
    ``share`` of all points, ``weight_share`` of the total weight (NaN without weights)."""

    key: str
    label: str
    count: int
    share: float
    weight_share: float

    def text(self) -> str:
        """``"label — 44 (35.5%)"``: the legend's words (plain text: escape it for HTML)."""
        return f"{self.label} — {self.count:,} ({pct(self.share)})"


def _sum(frame: pd.DataFrame, mask: Any) -> tuple[int, float]:
    m = np.asarray(mask, dtype=bool)
    return int(m.sum()), float(frame["weight"].astype(float).fillna(0.0).to_numpy()[m].sum())


@dataclass(frozen=True, eq=False)
class CoverageSummary:
    """The figures of one audit, named by their rule (see the module docstring).

    Build it with :meth:`from_demand` (an audit's is :attr:`AuditResult.coverage
    <coverage.audit.run.AuditResult.coverage>`). Every output reads it: the console
    (:meth:`lines`), the map legend (:meth:`legend_rows`), the report and Excel
    (:meth:`figures_frame`), ``summary.csv`` (:meth:`table`).

    Attributes
    ----------
    config
        The rules (radius, minutes, walking speed, search limit).
    counts, weights
        Points and weight per figure key (see :class:`Figure`).
    n_points, weight_total
        All points and their weight.
    weight_column
        Where the weights came from (``"elderly"`` ... or ``"count (no population column)"``).
    target, target_rule, meets_target
        The coverage target (share of points under ``target_rule``) and whether it is met
        (``None`` without a target).
    by_zone
        Coverage per zone (:func:`summary_table` by ``zone_id``), or ``None``.
    terrain
        The slope model of an audit on terrain (``--dem``), else ``None``; then the figures
        also hold ``"time_terrain"`` (the service circle walked on the terrain),
        ``"terrain_out"`` (within the flat circle, not on the terrain) and ``"terrain_in"``
        (the other way round: downhill walks).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"covered_radius": [True, True, False, False],
    ...                   "covered_time": [True, False, False, False],
    ...                   "false_coverage": [False, False, True, False],
    ...                   "status": ["ok", "ok", "ok", "unreachable"], "weight": [1.0, 1, 1, 1]})
    >>> s = CoverageSummary.from_demand(d, AuditConfig())
    >>> s.lines()[1]
    '  1000 m by road: 2/4 (50.0%); weighted 50.0%'
    >>> [(r.key, r.count) for r in s.legend_rows()]
    [('both', 1), ('partial', 1), ('none', 1), ('unreachable', 1), ('false', 1)]
    """

    config: AuditConfig
    counts: Mapping[str, int]
    weights: Mapping[str, float]
    n_points: int
    weight_total: float
    weight_column: str = ""
    target: float | None = None
    target_rule: str = "radius"
    meets_target: bool | None = None
    by_zone: pd.DataFrame | None = None
    terrain: TerrainConfig | None = None

    @classmethod
    def from_demand(
        cls,
        demand: pd.DataFrame,
        config: AuditConfig,
        *,
        weight_column: str = "",
        target: float | None = None,
        target_rule: str = "radius",
        by_zone: pd.DataFrame | None = None,
        terrain: TerrainConfig | None = None,
    ) -> CoverageSummary:
        """The figures of audited demand: ``covered_radius, covered_time, false_coverage,
        status, weight`` columns (an audit's ``demand``), under the rules of ``config``; with
        ``terrain``, also its ``covered_time_terrain`` column."""
        if target_rule not in TARGET_RULES:
            raise ParameterError(f"target_rule={target_rule!r}; choose 'radius', 'time' or 'both'")
        r = demand["covered_radius"].astype(bool).to_numpy()
        t = demand["covered_time"].astype(bool).to_numpy()
        status = demand["status"].astype(str).to_numpy()
        unreach = status == STATUS_UNREACHABLE
        masks = {
            "radius": r, "time": t, "both": r & t, "partial": (r ^ t) & ~unreach, "none": ~(r | t) & ~unreach,
            "beyond": status == STATUS_BEYOND, "unreachable": unreach,
            "false": demand["false_coverage"].astype(bool).to_numpy(),
        }  # fmt: skip
        if terrain is not None:
            tt = demand["covered_time_terrain"].astype(bool).to_numpy()
            masks.update({"time_terrain": tt, "terrain_out": t & ~tt, "terrain_in": tt & ~t})
        sums = {k: _sum(demand, m) for k, m in masks.items()}
        n, wt = _sum(demand, np.ones(len(demand), dtype=bool))
        meets = None
        if target is not None:
            share = sums[target_rule][0] / n if n else 0.0
            meets = bool(share >= target - 1e-12)
        return cls(config, {k: v[0] for k, v in sums.items()}, {k: v[1] for k, v in sums.items()}, n, wt,
                   weight_column, target, target_rule, meets, by_zone, terrain)  # fmt: skip

    # ------------------------------------------------------------------ names
    @property
    def looser_rule(self) -> str:
        """The rule reaching farther (``"radius"`` unless the walk is longer than the radius)."""
        return "radius" if self.config.radius_m >= self.config.walk_limit_m else "time"

    def _labels(self, key: str) -> tuple[str, str]:
        cfg = self.config
        if key in ("radius", "time", "both"):
            return cfg.rule_label(key, lang="zh"), cfg.rule_label(key, lang="en")
        if key in ("time_terrain", "terrain_out", "terrain_in") and self.terrain is not None:
            tz, te = self.terrain.rule_label(cfg, lang="zh"), self.terrain.rule_label(cfg, lang="en")
            fz, fe = cfg.rule_label("time", lang="zh"), cfg.rule_label("time", lang="en")
            return {"time_terrain": (tz, te),
                    "terrain_out": (f"地形使其超出{fz}", f"taken out of the {fe} by terrain"),
                    "terrain_in": (f"地形使其进入{fz}（下坡）", f"brought into the {fe} by terrain (downhill)")}[key]  # fmt: skip
        loose = self.looser_rule
        strict = "time" if loose == "radius" else "radius"
        lz, le = cfg.rule_label(loose, lang="zh"), cfg.rule_label(loose, lang="en")
        sz, se = cfg.rule_label(strict, lang="zh"), cfg.rule_label(strict, lang="en")
        limit = f"{cfg.search_cutoff_m:,.0f}"
        return {
            "partial": (f"仅满足一项：{lz}，未达{sz}", f"one rule only: {le}, not {se}"),
            "none": (f"两项均不满足（路网距离超过{max(cfg.radius_m, cfg.walk_limit_m):,.0f}米）", f"neither rule (beyond {le})"),
            "beyond": (f"路网{limit}米内无设施", f"no facility within {limit} m by road (search limit)"),
            "unreachable": ("无法到达（离路过远）", "unreachable (too far from any road)"),
            "false": (f"虚假覆盖（直线{cfg.radius_m:g}米圆内、路网不达）",
                      f"false coverage (inside the straight-line {cfg.radius_m:g} m circle, beyond {cfg.radius_m:g} m by road)"),
        }[key]  # fmt: skip

    def figure(self, key: str) -> Figure:
        """The figure ``key`` (see :class:`Figure`)."""
        if key not in self.counts:
            raise ParameterError(f"no figure {key!r}; figures are {list(self.counts)}")
        zh, en = self._labels(key)
        return Figure(key, zh, en, int(self.counts[key]), self.n_points, float(self.weights[key]), self.weight_total)

    def figures(self) -> list[Figure]:
        """Every figure in reading order: the three rules, one rule only, neither (of which
        beyond the search limit), unreachable, false coverage; on terrain then the service
        circle on the terrain and the homes the terrain takes out of (brings into) it."""
        keys = ["radius", "time", "both", "partial", "none", "beyond", "unreachable", "false"]
        if self.terrain is not None:
            keys += ["time_terrain", "terrain_out", "terrain_in"]
        return [self.figure(k) for k in keys]

    def count(self, rule: str) -> int:
        """Points covered under ``rule`` (``"radius"``, ``"time"``, ``"both"``)."""
        return self.figure(rule).count

    def share(self, rule: str) -> float:
        """Share of points covered under ``rule``."""
        return self.figure(rule).share

    def wshare(self, rule: str) -> float:
        """Share of the weight covered under ``rule``."""
        return self.figure(rule).wshare

    # ------------------------------------------------------------------ outputs
    def lines(self, lang: str = "en") -> list[str]:
        """The console summary: a head line, then one line per figure (``lang`` ``"en"``,
        ``"zh"`` or ``"both"``)."""
        cfg = self.config
        zh = lang == "zh"
        head = (f"{self.n_points} 个需求点；步行速度 {cfg.speed_mps:g} m/s（{cfg.time_min:g} 分钟 {cfg.walk_limit_m:,.0f} m）"
                if zh else f"{self.n_points} demand points; walking speed {cfg.speed_mps:g} m/s "
                f"({cfg.walk_limit_m:,.0f} m in {cfg.time_min:g} min)")  # fmt: skip
        out = [head] + [f"  {self.figure(k).text(lang)}" for k in ("radius", "time", "both")]
        rest = [self.figure(k) for k in ("partial", "none", "beyond", "unreachable", "false")]
        out += [f"  {f.label(lang)}: {f.count}" for f in rest]
        if self.terrain is not None:
            out.append(f"  {self.figure('time_terrain').text(lang)}")
            out += [f"  {self.figure(k).label(lang)}: {self.counts[k]}" for k in ("terrain_out", "terrain_in")]
        if self.target is not None:
            met = ("已达到" if self.meets_target else "未达到") if zh else ("met" if self.meets_target else "NOT met")
            what = self.config.rule_label(self.target_rule, lang="zh" if zh else "en")
            out.append(f"  {'目标' if zh else 'target'} {pct(self.target, 0)} ({what}): {met}")
        return out

    def legend_rows(self) -> list[LegendRow]:
        """The map legend's rows, in :data:`LEGEND_KEYS` order: covered by both rules, one
        rule only, neither, unreachable, false coverage; each with the bilingual label,
        count, share of all points and share of the weight. The first four add up to all
        points; false coverage is a ring around points already counted (a subset of one
        rule only / neither). These are the numbers the console prints (:meth:`lines`)."""
        rows = []
        for key in LEGEND_KEYS:
            f = self.figure(key)
            rows.append(LegendRow(key, f.label("both"), f.count, f.share, f.wshare))
        return rows

    def figures_frame(self, lang: str = "both") -> pd.DataFrame:
        """The figures as a table with readable headers (report, Excel summary sheet):
        figure, points covered, of all, share, weighted share."""
        zh, en = lang != "en", lang != "zh"

        def head(z: str, e: str) -> str:
            return " ".join(p for p, keep in ((z, zh), (e, en)) if keep)

        who = _who(self.weight_column, lang)
        rows = [
            {head("指标", "Figure"): f.label(lang), head("点数", "Points"): f.count, head("总点数", "Of all points"): f.total,
             head("比例", "Share"): pct(f.share), head("加权比例", "Weighted share") + (f" ({who})" if who else ""): pct(f.wshare)}
            for f in self.figures()
        ]  # fmt: skip
        return pd.DataFrame(rows)

    def table(self) -> pd.DataFrame:
        """The one-row wide table of ``summary.csv`` (the columns of :func:`summary_table`
        plus ``n_one_rule_only``, ``n_neither``; ``target``/``meets_target`` with a target)."""
        c, w = self.counts, self.weights
        wt = self.weight_total if self.weight_total > 0 else math.nan
        row: dict[str, Any] = {"scope": "all", "n_points": self.n_points}
        for rule in ("radius", "time", "both"):
            row[f"n_covered_{rule}"] = int(c[rule])
        row["weight_total"] = self.weight_total
        for rule in ("radius", "time", "both"):
            row[f"weight_covered_{rule}"] = float(w[rule])
        row.update({"n_false_coverage": int(c["false"]), "n_unreachable": int(c["unreachable"]),
                    "n_beyond_cutoff": int(c["beyond"])})  # fmt: skip
        for rule in ("radius", "time", "both"):
            row[f"share_{rule}"] = c[rule] / self.n_points if self.n_points else math.nan
            row[f"wshare_{rule}"] = w[rule] / wt
        row["n_one_rule_only"] = int(c["partial"])
        row["n_neither"] = int(c["none"])
        if self.terrain is not None:
            row["slope_model"] = self.terrain.slope_model
            row["n_covered_time_terrain"] = int(c["time_terrain"])
            row["weight_covered_time_terrain"] = float(w["time_terrain"])
            row["share_time_terrain"] = c["time_terrain"] / self.n_points if self.n_points else math.nan
            row["wshare_time_terrain"] = w["time_terrain"] / wt
            row["n_terrain_out"] = int(c["terrain_out"])
            row["n_terrain_in"] = int(c["terrain_in"])
        if self.target is not None:
            row["target"] = self.target
            row["meets_target"] = bool(self.meets_target)
        return pd.DataFrame([row])


def _who(weight_column: object, lang: str = "both") -> str:
    """The name of the weight (``elderly`` -> 老年人口 older residents; none for counts)."""
    names = {"elderly": ("老年人口", "older residents"), "population": ("人口", "population"),
             "households": ("户数", "households")}  # fmt: skip
    w = str(weight_column or "")
    if w not in names:
        return "" if w.startswith("count") or not w else w
    zh, en = names[w]
    return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")
