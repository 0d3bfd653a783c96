"""Nursing-home consolidation (敬老院撤并, Jiangyong "1+3"): who moves where, and how far.

Jiangyong 2022 §二(三)1 closes five township nursing homes and keeps one county
disabled-care centre and three regional centres; residents move to the **nearest** kept
home. :func:`consolidate_homes` answers what the planner asks:

* **reassignment**: residents of kept homes stay; the residents of closed homes go to the
  nearest kept home *with a free bed* -- a capacitated transportation problem solved with
  :func:`coverage.siting.optimize.solve_pmedian` (every kept home open, capacities = beds minus
  the residents who stay, groups may be split between homes, total resident-metres
  minimised). If the kept homes have fewer free beds than people to move, the result says
  so and lists who cannot be placed;
* **distance before and after** for every resident group and every village of origin,
  measured by road from the village (where the family lives) to the home;
* **capacity check** of every home after the move (beds, residents, occupancy, staff needed
  at 1:3 in the county disabled-care centre and 1:10 in township homes, Fengjie §二(五));
* **alternative keep-sets**: the plan, any alternatives, and the p-median optimum for the
  same number of kept homes (:func:`coverage.siting.optimize.solve_consolidation`, uncapacitated
  and within beds), each with total, mean and maximum travel distance when everyone goes
  to the nearest kept home, and when beds are respected.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..audit.run import audit_cost_table, options_from
from ..audit.summary import pct
from ..config import AuditConfig
from ..engine.costs import CostTable
from ..engine.diagnostics import layer_source
from ..engine.engine import Engine
from ..engine.network import RoadNetwork
from ..errors import InputFileError, ParameterError
from ..publish._html import esc, num
from ..publish._labels import tr
from ..publish.atomic import writes_output_set
from ..publish.audit_package import report_basis
from ..publish.figures import Layer, PrintMap, print_map
from ..publish.maps import save_map
from ..publish.overlay_map import Overlay, overlay_map
from ..publish.report import Report, ReportOptions, ReportSection, write_report_files
from ..publish.tables import write_csv, write_gpkg, write_json
from ..siting.optimize import solve_consolidation, solve_pmedian
from ..siting.propose import note_text
from ._columns import require_columns

__all__ = ["KEEP_SET_NAMES", "STAFF_RATIO", "ConsolidationOptions", "ConsolidationResult", "consolidate_homes", "consolidation_key_table",
           "consolidation_lines", "consolidation_report", "keep_set_label", "write_consolidation_outputs"]

logger = logging.getLogger(__name__)

#: Residents per staff member by home kind (Fengjie §二(五)); other kinds 10.
STAFF_RATIO: dict[str, float] = {"county_centre": 3.0, "disabled_care_centre": 3.0}


@dataclass(frozen=True, eq=False)
class ConsolidationResult:
    """The consolidation plan and its comparison.

    Attributes
    ----------
    groups
        Per resident group (point at its origin): ``id, home_id, origin, care, count,
        action`` (stay/move), ``to_homes``, ``dist_before_m``, ``dist_after_m``
        (resident-weighted), ``change_m``, ``unplaced``.
    allocation
        One row per group and destination: ``group_id, from_home, to_home, residents,
        dist_before_m, dist_after_m, move_m`` (home to home by road); unplaced
        residents have an empty ``to_home``.
    villages
        Per origin: ``origin, residents, moved, mean_before_m, mean_after_m,
        max_after_m, mean_change_m``.
    capacity
        Per home: ``id, name, kind, action, beds, residents_before, staying, incoming,
        residents_after, spare_after, occupancy_after, over_capacity, staff_needed``.
    keep_sets
        Per keep-set: ``keep_set, homes, beds, residents, total_m, mean_m, max_m``
        (everyone to the nearest kept home) and ``beds_total_m, beds_mean_m,
        beds_max_m, beds_unplaced`` (within beds).
    homes
        Homes with ``action``.
    unplaced
        Residents who could not be placed (0 when the kept homes have room).
    messages
        Plain-language findings (capacity short, homes over capacity ...): each Chinese, a
        line break, English (:func:`coverage.siting.propose.note_text` picks one).
    costs
        Group × home road-distance table.
    network
        The road network (for maps).
    meta
        Parameters.
    """

    groups: gpd.GeoDataFrame
    allocation: pd.DataFrame
    villages: pd.DataFrame
    capacity: pd.DataFrame
    keep_sets: pd.DataFrame
    homes: gpd.GeoDataFrame
    unplaced: float
    messages: tuple[str, ...]
    costs: CostTable
    network: RoadNetwork
    meta: dict[str, object]


#: the keep-sets every comparison has, by their label in ``keep_sets.keep_set``: (Chinese, English)
KEEP_SET_NAMES: dict[str, tuple[str, str]] = {
    "plan, residents of kept homes stay": ("计划方案（保留院现有老人不动）", "plan, residents of kept homes stay"),
    "plan": ("计划方案", "plan"),
    "p-median optimum": ("p-中位最优方案", "p-median optimum"),
    "p-median optimum within beds": ("p-中位最优方案（按床位）", "p-median optimum within beds"),
}


def keep_set_label(label: str, lang: str = "both") -> str:
    """A keep-set's label in ``lang``: the fixed ones from :data:`KEEP_SET_NAMES`, an
    alternative's label written "Chinese, a line break, English" by
    :func:`~coverage.siting.propose.note_text`, any other as given.

    >>> keep_set_label("p-median optimum", "zh")
    'p-中位最优方案'
    """
    if str(label) in KEEP_SET_NAMES:
        return tr(*KEEP_SET_NAMES[str(label)], lang)
    return note_text(str(label), lang)


def _shown_keep_sets(r: ConsolidationResult, lang: str) -> pd.DataFrame:
    """The keep-sets with their labels in ``lang`` (for the report and the workbook)."""
    return r.keep_sets.assign(keep_set=[keep_set_label(k, lang) for k in r.keep_sets["keep_set"]])


def _dense(t: CostTable) -> np.ndarray:
    d = np.full((t.n_demand, t.n_sites), np.inf)
    d[t.demand_idx, t.site_idx] = t.dist_m
    return d


def _resolve_sets(ids: np.ndarray, keep: Sequence[str] | None, close: Sequence[str] | None, action: pd.Series | None,
                  *, source: str = "homes", what: str | None = None) -> np.ndarray:  # fmt: skip
    known = set(ids)
    for name, given in (("keep", keep), ("close", close)):
        bad = sorted(set(given or ()) - known)
        if bad:
            label = what or f"{name} (--{name})"
            raise ParameterError(f"{label}: unknown home ids {bad}; the homes of {source} are {sorted(known)[:20]}")
    if keep is None and close is None:
        if action is None:
            raise ParameterError(
                f"{source}: say which homes to keep: keep=[...] or close=[...] (--keep/--close ID,ID), or an "
                "action (处置) column in the homes file with keep/close (保留/撤并)"
            )
        a = action.astype(str).str.strip().str.lower()
        bad = sorted(set(a) - {"keep", "close", "保留", "撤并", "关闭"})
        if bad:
            raise InputFileError(f"{source}: column 'action' (处置): values {bad[:10]} not understood. Fix: write keep or close (保留/撤并) in every row")
        return a.isin(["keep", "保留"]).to_numpy()
    if keep is not None and close is not None:
        both = set(keep) & set(close)
        neither = known - set(keep) - set(close)
        if both or neither:
            raise ParameterError(f"keep and close (--keep/--close) must split the homes of {source}: in both {sorted(both)}, in neither {sorted(neither)}")
    return np.isin(ids, list(keep)) if keep is not None else ~np.isin(ids, list(close or ()))


def _capacitated(t: CostTable, w: np.ndarray, keep_mask: np.ndarray, cap: np.ndarray, penalty: float, time_limit_s: float) -> pd.DataFrame:
    """Allocation ``demand_pos, site_pos, residents`` of ``w`` to the kept homes within ``cap``."""
    if w.sum() <= 0:
        return pd.DataFrame({"demand_pos": [], "site_pos": [], "residents": []})
    sel = solve_pmedian(t, p=int(keep_mask.sum()), weights=w.astype(float), existing=keep_mask, candidates=keep_mask,
                        capacity=np.where(keep_mask, cap, 0.0).astype(float), single_source=False,
                        unreachable_penalty_m=penalty, method="exact", time_limit_s=time_limit_s)  # fmt: skip
    al = sel.details["allocation"].copy()
    al["residents"] = np.round(al["share"].to_numpy() * w[al["demand_pos"].to_numpy()], 6)
    return al[al["residents"] > 1e-9][["demand_pos", "site_pos", "residents"]].reset_index(drop=True)


def _stats(dist: np.ndarray, n: np.ndarray) -> tuple[float, float, float]:
    ok = n > 0
    if not ok.any():
        return 0.0, math.nan, math.nan
    total = float(np.sum(n[ok] * dist[ok]))
    return total, total / float(n[ok].sum()), float(dist[ok].max())


def _evaluate(t: CostTable, dense: np.ndarray, n: np.ndarray, beds: np.ndarray, keep_mask: np.ndarray, penalty: float,
              time_limit_s: float) -> dict[str, float]:  # fmt: skip
    near = dense[:, keep_mask].min(axis=1) if keep_mask.any() else np.full(len(n), np.inf)
    total, mean, mx = _stats(near, n)
    al = _capacitated(t, n, keep_mask, beds, penalty, time_limit_s)
    d = dense[al["demand_pos"].to_numpy(int), al["site_pos"].to_numpy(int)]
    r = al["residents"].to_numpy(float)
    btot = float(np.sum(r * d))
    placed = float(r.sum())
    return {"beds": float(beds[keep_mask].sum()), "residents": float(n.sum()), "total_m": total, "mean_m": mean,
            "max_m": mx, "beds_total_m": btot, "beds_mean_m": btot / placed if placed else math.nan,
            "beds_max_m": float(d.max()) if len(d) else math.nan, "beds_unplaced": float(n.sum()) - placed}  # fmt: skip


@dataclass(frozen=True)
class ConsolidationOptions:
    """Which homes are kept, what is compared, and the input columns (:func:`consolidate_homes`).

    Attributes
    ----------
    keep, close
        Home ids kept / closed (one of them is enough; neither: the homes' ``action``
        column).
    must_keep
        Homes every optimised keep-set must contain (the county centre).
    alternatives
        Other keep-sets to compare, by label.
    compare_optimum
        Add the p-median optimum keep-sets (uncapacitated and within beds).
    capacity_col, count_col, home_col, origin_col, care_col
        Column names: beds of a home; residents, current home, village of origin and
        self-care ability of a group.
    cutoff_m
        Road distance searched; farther pairs count as unreachable.
    time_limit_s
        Limit of each solver call.
    run_date
        ISO date recorded in outputs.
    """

    keep: Sequence[str] | None = None
    close: Sequence[str] | None = None
    must_keep: Sequence[str] = ()
    alternatives: Mapping[str, Sequence[str]] | None = None
    compare_optimum: bool = True
    capacity_col: str = "capacity"
    count_col: str = "count"
    home_col: str = "home_id"
    origin_col: str = "origin_name"
    care_col: str = "care"
    cutoff_m: float = 50_000.0
    time_limit_s: float = 30.0
    run_date: str | None = None


@dataclass(frozen=True, eq=False)
class _Case:
    """The checked inputs: homes ``h`` and resident groups ``g`` (EPSG:4326) as arrays."""

    h: gpd.GeoDataFrame
    g: gpd.GeoDataFrame
    ids: np.ndarray  # home ids
    beds: np.ndarray  # per home
    n: np.ndarray  # residents per group
    home: np.ndarray  # position of each group's current home
    keep: np.ndarray  # per home: kept
    source: str  # the homes' file, for messages

    @property
    def stays(self) -> np.ndarray:
        """Per group: its home is kept."""
        return self.keep[self.home]


def consolidate_homes(
    network: RoadNetwork,
    *,
    homes: gpd.GeoDataFrame,
    residents: gpd.GeoDataFrame,
    options: ConsolidationOptions | None = None,
    config: AuditConfig | None = None,
    **keywords: Any,
) -> ConsolidationResult:
    """Reassign the residents of closed homes and compare keep-sets.

    Parameters
    ----------
    network
        The road network.
    homes
        Nursing homes: ``id, name``, beds in ``options.capacity_col``, optional ``kind``
        and ``action`` (keep/close, used when ``options.keep``/``close`` are not given).
    residents
        Resident groups, one point per group **at its village of origin**: ``id``, the
        current home in ``options.home_col``, the number of people in
        ``options.count_col``, optional ``options.origin_col`` and ``options.care_col``
        (self-care ability).
    options, **keywords
        Kept/closed homes, alternatives, columns, cutoff, solver limit and date: a :class:`ConsolidationOptions`, or its fields as keywords (which
        override it).
    config
        Snap tolerance and access-walk rule.

    Returns
    -------
    ConsolidationResult

    Raises
    ------
    ParameterError
        Unknown home ids, inconsistent keep/close, no home kept.
    InputFileError
        Missing or negative beds/counts, groups in unknown homes.

    Examples
    --------
    >>> from coverage.datasets.scenarios import consolidation_scenario
    >>> s = consolidation_scenario()
    >>> opt = ConsolidationOptions(keep=s.keep, must_keep=s.must_keep, compare_optimum=False, run_date="2026-01-01")
    >>> r = consolidate_homes(s.county.network, homes=s.homes, residents=s.residents, options=opt)
    >>> r.unplaced, int(r.capacity["incoming"].sum())
    (0.0, 71)
    """
    import datetime as _dt

    opt: ConsolidationOptions = options_from(ConsolidationOptions, options, keywords, "consolidate_homes")
    cfg = config or AuditConfig()
    case = _case(homes, residents, opt)
    table = audit_cost_table(network, case.g, case.h, cutoff_m=opt.cutoff_m, config=cfg, labels=("resident groups", "homes"))
    dense = _dense(table)
    hh = _dense(audit_cost_table(network, case.h, case.h, cutoff_m=opt.cutoff_m, config=cfg, labels=("homes", "homes")))
    al, staying, unpl, messages = _reassign(case, table, _penalty_m(opt), opt.time_limit_s)
    before = dense[np.arange(len(case.g)), case.home]
    allocation = _allocation(case, al, unpl, before, dense, hh)
    groups = _group_table(case, allocation, before, unpl, opt)
    capacity = _capacity_table(case, al, staying)
    keep_sets = _keep_sets(case, table, dense, allocation, float(unpl.sum()), opt)
    ids, keep = case.ids, case.keep
    meta: dict[str, object] = {
        "title": "敬老院撤并 Nursing-home consolidation", "crs": network.crs, "source": network.source,
        "date": opt.run_date or _dt.date.today().isoformat(), "cutoff_m": opt.cutoff_m, "speed_mps": cfg.speed_mps,
        "keep": ids[keep].tolist(), "close": ids[~keep].tolist(), "must_keep": list(opt.must_keep),
        "distance": "road distance from each group's village of origin to the home (access walks included)",
        "assignment": "capacitated transportation (solve_pmedian, kept homes open, capacity = free beds, split groups allowed)",
        "staff_ratio": {**STAFF_RATIO, "other": 10.0}, "messages": messages,
    }  # fmt: skip
    for m in messages:
        logger.warning(note_text(m))
    logger.info("consolidation: %g residents move, %g unplaced", float(case.n[~case.stays].sum()), unpl.sum())
    return ConsolidationResult(groups, allocation, _village_table(groups), capacity, keep_sets, case.h, float(unpl.sum()),
                               tuple(messages), table, network, meta)  # fmt: skip


def _penalty_m(opt: ConsolidationOptions) -> float:
    """What an unreachable group-home pair costs the solvers: ten times the cutoff."""
    return 10.0 * opt.cutoff_m


def _case(homes: gpd.GeoDataFrame, residents: gpd.GeoDataFrame, opt: ConsolidationOptions) -> _Case:
    """Check the homes and groups (columns, beds, counts, homes named) and which homes are kept."""
    require_columns(homes, {opt.capacity_col: "with the beds of each home"}, label="homes",
                    fix="give the nursing homes' beds in a 床位 (capacity) column")  # fmt: skip
    require_columns(residents, {opt.home_col: "naming the home each group lives in now (an id of the homes file)",
                                opt.count_col: "with the number of residents in each group"}, label="residents",
                    fix="give one row per resident group at its village of origin, with 所在机构 (home_id) "
                    "and 人数 (count) columns")  # fmt: skip
    h = homes.to_crs("EPSG:4326").reset_index(drop=True).copy()
    g = residents.to_crs("EPSG:4326").reset_index(drop=True).copy()
    hsrc, gsrc = layer_source(homes, "homes"), layer_source(residents, "residents")
    h["id"] = h["id"].astype(str)
    if h["id"].duplicated().any():
        raise InputFileError(f"{hsrc}: repeated home ids {sorted(set(h.loc[h['id'].duplicated(), 'id']))}. Fix: give every home an id of its own")
    if "name" not in h:
        h["name"] = h["id"]
    g["id"] = g["id"].astype(str) if "id" in g else [f"G{i + 1}" for i in range(len(g))]
    ids = h["id"].to_numpy()
    beds = pd.to_numeric(h[opt.capacity_col], errors="coerce").to_numpy(float)
    n = pd.to_numeric(g[opt.count_col], errors="coerce").to_numpy(float)
    gh = g[opt.home_col].astype(str)
    problems = []
    if np.any(~np.isfinite(beds) | (beds < 0)):
        problems.append(f"{hsrc}: beds missing or negative for homes {ids[~np.isfinite(beds) | (beds < 0)].tolist()[:10]}")
    if np.any(~np.isfinite(n) | (n < 0)):
        problems.append(f"{gsrc}: resident counts missing or negative in groups {g['id'][~np.isfinite(n) | (n < 0)].tolist()[:10]}")
    if (~gh.isin(ids)).any():
        problems.append(f"{gsrc}: groups in unknown homes {sorted(set(gh[~gh.isin(ids)]))[:10]} (not ids of {hsrc})")
    if problems:
        raise InputFileError("; ".join(problems) + ". Fix: correct the homes/residents tables")
    keep = _kept(ids, opt, h["action"] if "action" in h else None, hsrc)
    h["action"] = np.where(keep, "keep", "close")
    home = pd.Series(np.arange(len(ids)), index=ids)[gh].to_numpy()
    return _Case(h, g, ids, beds, n, home, keep, hsrc)


def _kept(ids: np.ndarray, opt: ConsolidationOptions, action: pd.Series | None, source: str) -> np.ndarray:
    """Per home: kept (from keep/close or the action column); at least one, ``must_keep`` known."""
    keep = _resolve_sets(ids, opt.keep, opt.close, action, source=source)
    if not keep.any():
        raise ParameterError(f"{source}: no home is kept. Fix: keep at least one home (keep=, --keep ID,ID)")
    unknown = sorted(set(opt.must_keep) - set(ids))
    if unknown:
        raise ParameterError(f"must_keep (--must-keep): unknown home ids {unknown}; the homes of {source} are {sorted(set(ids))[:20]}")
    return keep


def _reassign(case: _Case, table: CostTable, penalty: float, time_limit_s: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """Move the residents of closed homes to the free beds of kept homes.

    Returns the movers' allocation (``demand_pos, site_pos, residents``), the residents
    staying in each home, the residents of each group left without a bed, and the findings.
    """
    ids, keep, beds, n, home, stays = case.ids, case.keep, case.beds, case.n, case.home, case.stays
    staying = np.bincount(home[stays], weights=n[stays], minlength=len(ids))
    spare = np.where(keep, np.maximum(beds - staying, 0.0), 0.0)
    movers = np.where(stays, 0.0, n)
    messages: list[str] = []
    over_now = keep & (staying > beds)
    if over_now.any():
        messages.append(f"保留院撤并前已超床位：{ids[over_now].tolist()}\nkept homes already over capacity before the move: {ids[over_now].tolist()}")
    if movers.sum() > spare.sum() + 1e-9:
        messages.append(
            f"床位不足：撤并院 {movers.sum():g} 人需要床位，保留院只有 {spare.sum():g} 张空床；{movers.sum() - spare.sum():g} 人无法安置\n"
            f"CAPACITY SHORT: {movers.sum():g} residents of closed homes need a bed but the kept homes have "
            f"{spare.sum():g} free beds; {movers.sum() - spare.sum():g} residents cannot be placed"
        )
    al = _capacitated(table, movers, keep, spare, penalty, time_limit_s)
    placed = np.bincount(al["demand_pos"].to_numpy(int), weights=al["residents"].to_numpy(float), minlength=len(n))
    unpl = np.where(stays, 0.0, np.maximum(movers - placed, 0.0))
    unpl[unpl < 1e-6] = 0.0
    if unpl.any():
        u = np.flatnonzero(unpl > 0)
        gids = case.g["id"].to_numpy()[u].tolist()[:10]
        messages.append(f"{len(u)} 个人员组共 {unpl.sum():g} 人无处安置：{gids}\n{unpl.sum():g} residents in {len(u)} groups have no place: {gids}")
    return al, staying, unpl, messages


def _allocation(case: _Case, al: pd.DataFrame, unpl: np.ndarray, before: np.ndarray, dense: np.ndarray,
                hh: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One row per group and destination (stayers, movers, then the unplaced with no home)."""
    home, stays, gid = case.home, case.stays, case.g["id"].to_numpy()
    rows = [pd.DataFrame({"gpos": np.flatnonzero(stays), "spos": home[stays], "residents": case.n[stays]}),
            pd.DataFrame({"gpos": al["demand_pos"].to_numpy(int), "spos": al["site_pos"].to_numpy(int),
                          "residents": al["residents"].to_numpy(float)})]  # fmt: skip
    a = pd.concat(rows, ignore_index=True).sort_values(["gpos", "spos"]).reset_index(drop=True)
    gp, sp_ = a["gpos"].to_numpy(int), a["spos"].to_numpy(int)
    allocation = pd.DataFrame({
        "group_id": gid[gp], "from_home": case.ids[home[gp]], "to_home": case.ids[sp_], "residents": a["residents"],
        "dist_before_m": before[gp], "dist_after_m": dense[gp, sp_],
        "move_m": np.where(home[gp] == sp_, 0.0, hh[home[gp], sp_]),
    })  # fmt: skip
    if unpl.any():
        u = np.flatnonzero(unpl > 0)
        allocation = pd.concat([allocation, pd.DataFrame({
            "group_id": gid[u], "from_home": case.ids[home[u]], "to_home": "", "residents": unpl[u],
            "dist_before_m": before[u], "dist_after_m": np.inf, "move_m": np.inf})], ignore_index=True)  # fmt: skip
    return allocation


def _group_table(case: _Case, allocation: pd.DataFrame, before: np.ndarray, unpl: np.ndarray,
                 opt: ConsolidationOptions) -> gpd.GeoDataFrame:  # fmt: skip
    """Per group: origin, care, action, destinations, distance before and after."""
    g, stays = case.g, case.stays
    placed_rows = allocation[allocation["to_home"] != ""]
    wsum = placed_rows.assign(_w=placed_rows["residents"] * placed_rows["dist_after_m"]).groupby("group_id")
    after = (wsum["_w"].sum() / wsum["residents"].sum()).reindex(g["id"]).to_numpy()
    after = np.where(stays, before, after)  # exactly, not a weighted mean of one value
    dest = pd.Series({gid: ", ".join(f"{t}×{r:g}" for t, r in zip(x["to_home"], x["residents"], strict=True))
                      for gid, x in placed_rows.groupby("group_id")}, dtype=object).reindex(g["id"]).fillna("")  # fmt: skip
    out = g.copy()
    out["origin"] = g[opt.origin_col].astype(str) if opt.origin_col in g else ""
    out["care"] = g[opt.care_col].astype(str) if opt.care_col in g else ""
    out["count"] = case.n
    out["action"] = np.where(stays, "stay", "move")
    out["to_homes"] = dest.to_numpy()
    out["dist_before_m"] = before
    out["dist_after_m"] = after
    with np.errstate(invalid="ignore"):  # unreachable before and after: inf - inf is NaN (unknown)
        out["change_m"] = after - before
    out["unplaced"] = unpl
    keepcols = ["id", opt.home_col, "origin", "care", "count", "action", "to_homes", "dist_before_m", "dist_after_m",
                "change_m", "unplaced", "geometry"]  # fmt: skip
    return gpd.GeoDataFrame(out[keepcols].rename(columns={opt.home_col: "home_id"}), geometry="geometry", crs="EPSG:4326")


def _village_table(groups: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per village of origin: residents, moved, mean distance before/after, farthest after."""
    vrows = []
    for origin, grp in groups.groupby("origin", sort=True):
        w = grp["count"].to_numpy(float)
        fin = np.isfinite(grp["dist_after_m"].to_numpy(float))
        vrows.append({
            "origin": origin, "residents": w.sum(), "moved": float(w[grp["action"].to_numpy() == "move"].sum()),
            "mean_before_m": float(np.average(grp["dist_before_m"], weights=w)) if w.sum() else math.nan,
            "mean_after_m": float(np.average(grp["dist_after_m"][fin], weights=w[fin])) if w[fin].sum() else math.nan,
            "max_after_m": float(grp["dist_after_m"][fin].max()) if fin.any() else math.nan,
        })  # fmt: skip
    villages = pd.DataFrame(vrows)
    villages["mean_change_m"] = villages["mean_after_m"] - villages["mean_before_m"]
    return villages


def _capacity_table(case: _Case, al: pd.DataFrame, staying: np.ndarray) -> pd.DataFrame:
    """Per home after the move: beds, residents, occupancy, over capacity, staff needed."""
    h, ids, keep, beds = case.h, case.ids, case.keep, case.beds
    incoming = np.bincount(al["site_pos"].to_numpy(int), weights=al["residents"].to_numpy(float), minlength=len(ids))
    before_n = np.bincount(case.home, weights=case.n, minlength=len(ids))
    after_n = np.where(keep, staying + incoming, 0.0)
    kind = h["kind"].astype(str) if "kind" in h else pd.Series("home", index=h.index)
    ratio = kind.map(STAFF_RATIO).fillna(10.0).to_numpy(float)
    return pd.DataFrame({
        "id": ids, "name": h["name"].astype(str), "kind": kind, "action": h["action"], "beds": beds,
        "residents_before": before_n, "staying": np.where(keep, staying, 0.0), "incoming": incoming,
        "residents_after": after_n, "spare_after": np.where(keep, beds - after_n, 0.0),
        "occupancy_after": np.where(keep & (beds > 0), after_n / np.where(beds > 0, beds, 1), np.nan),
        "over_capacity": keep & (after_n > beds + 1e-9),
        "staff_needed": np.where(keep, np.ceil(after_n / ratio - 1e-9), 0).astype(int),
    })  # fmt: skip


def _keep_sets(case: _Case, table: CostTable, dense: np.ndarray, allocation: pd.DataFrame, unplaced: float,
               opt: ConsolidationOptions) -> pd.DataFrame:  # fmt: skip
    """The plan as assigned (residents of kept homes stay), then every keep-set compared with
    everyone at the nearest kept home and within beds."""
    ids, keep, beds, n = case.ids, case.keep, case.beds, case.n
    pr = allocation[allocation["to_home"] != ""]
    pr = pr[np.isfinite(pr["dist_after_m"].to_numpy(float))]
    ptot = float((pr["residents"] * pr["dist_after_m"]).sum())
    mean = ptot / float(pr["residents"].sum()) if len(pr) else math.nan
    mx = float(pr["dist_after_m"].max()) if len(pr) else math.nan
    ks = [{"keep_set": "plan, residents of kept homes stay", "homes": ", ".join(ids[keep]),
           "beds": float(beds[keep].sum()), "residents": float(n.sum()), "total_m": ptot, "mean_m": mean, "max_m": mx,
           "beds_total_m": ptot, "beds_mean_m": mean, "beds_max_m": mx, "beds_unplaced": unplaced}]  # fmt: skip
    for label, mask in _compared_sets(case, table, opt).items():
        ks.append({"keep_set": label, "homes": ", ".join(ids[mask]), **_evaluate(table, dense, n, beds, mask, _penalty_m(opt), opt.time_limit_s)})
    keep_sets = pd.DataFrame(ks)
    keep_sets.insert(2, "n_kept", keep_sets["homes"].str.split(", ").str.len())
    return keep_sets


def _compared_sets(case: _Case, table: CostTable, opt: ConsolidationOptions) -> dict[str, np.ndarray]:
    """The plan, the alternatives and (``compare_optimum``) the p-median optima, by label."""
    ids = case.ids
    sets: dict[str, np.ndarray] = {"plan": case.keep}
    for label, members in (opt.alternatives or {}).items():
        sets[str(label)] = _resolve_sets(ids, list(members), None, None, source=case.source, what=f"alternative {label!r} (--alternative)")
    if opt.compare_optimum:
        must = np.isin(ids, list(opt.must_keep))
        k = int(case.keep.sum())
        w_all = case.n.astype(float)
        penalty = _penalty_m(opt)
        opt_u = solve_consolidation(table, keep=k, existing=must, weights=w_all, unreachable_penalty_m=penalty,
                                    time_limit_s=opt.time_limit_s)  # fmt: skip
        sets["p-median optimum"] = np.isin(ids, opt_u.selected_ids)
        opt_c = solve_consolidation(table, keep=k, existing=must, weights=w_all, capacity=case.beds, single_source=False,
                                    unreachable_penalty_m=penalty, method="exact", time_limit_s=opt.time_limit_s)  # fmt: skip
        sets["p-median optimum within beds"] = np.isin(ids, opt_c.selected_ids)
    return sets



def move_routes(r: ConsolidationResult) -> gpd.GeoDataFrame:
    """The moves along the roads (EPSG:4326): one line per village of origin and new home
    (``origin, to_home, residents, groups, dist_m``), the shortest road path from the
    village to the home (:meth:`coverage.engine.engine.Engine.paths`; the access walks off
    the road are not drawn)."""
    import shapely

    a = r.allocation
    mv = a[(a["to_home"] != "") & (a["from_home"] != a["to_home"])]
    grp = r.groups.set_index("id")
    mv = mv.assign(origin=mv["group_id"].map(grp["origin"]).astype(str))
    agg = mv.groupby(["origin", "to_home"], sort=True).agg(
        residents=("residents", "sum"), groups=("group_id", lambda g: ", ".join(map(str, g))),
        first=("group_id", "first"), dist_m=("dist_after_m", "first")).reset_index()  # fmt: skip
    crs = r.groups.crs or "EPSG:4326"
    if not len(agg):
        return gpd.GeoDataFrame(agg.drop(columns="first"), geometry=[], crs="EPSG:4326")
    eng = Engine.build(r.network)
    start = eng.layer(gpd.GeoDataFrame(geometry=grp.loc[agg["first"]].geometry.to_numpy(), crs=crs))
    homes = r.homes.set_index("id")
    end = eng.layer(gpd.GeoDataFrame(geometry=homes.loc[agg["to_home"]].geometry.to_numpy(), crs=r.homes.crs or crs))
    lines = [shapely.LineString(xy) if len(xy) > 1 else None for xy in eng.paths(start, end)]
    out = gpd.GeoDataFrame(agg.drop(columns="first"), geometry=gpd.GeoSeries(lines, crs=eng.crs), crs=eng.crs)
    return out.to_crs("EPSG:4326")


def _home_popup(row: Any, cap: pd.DataFrame) -> dict[str, str]:
    c = cap.loc[row.id] if row.id in cap.index else None
    out = {"名称 Name": esc(row.name), "编号 ID": esc(row.id), "类型 Kind": esc(getattr(row, "kind", ""))}
    if c is not None:
        out |= {"床位 Beds": num(c.get("beds")), "撤并前入住 Residents before": num(c.get("residents_before")),
                "撤并后入住 Residents after": num(c.get("residents_after"))}  # fmt: skip
    return out


_MOVE_COLOURS = ("#e6550d", "#3182bd", "#8e44ad", "#31a354", "#d6616b", "#8c6d31", "#17becf", "#636363")


def _consolidation_maps(r: ConsolidationResult, names: dict[str, Path], *, overwrite: bool, basemap: str,
                        tianditu_key: str | None, lang: str = "both") -> None:  # fmt: skip
    """The interactive map and the print map: villages of origin, the moves along the roads
    to the new homes, homes kept and closed."""
    routes = move_routes(r)
    h = r.homes
    cap = r.capacity.set_index("id") if "id" in r.capacity else pd.DataFrame()
    origins = r.groups.assign(origin=r.groups["origin"].astype(str)).dissolve(by="origin", aggfunc={"count": "sum"}).reset_index()
    origins["geometry"] = origins.geometry.representative_point()
    kept, closed = h[h["action"] == "keep"], h[h["action"] == "close"]
    home_name = h.set_index("id")["name"].astype(str)
    moves = []  # one layer per new home, each its own colour: (name, routes, colour)
    for i, (to, sub) in enumerate(routes.groupby("to_home", sort=True)):
        name = home_name.get(to, to)
        moves.append((f"搬迁至{name}（沿路）Moves to {name}, along the roads", sub, _MOVE_COLOURS[i % len(_MOVE_COLOURS)]))
    overlays = [
        *[Overlay(name, sub, "line", colour, [f"{esc(o)} → {esc(home_name.get(t, t))}: {num(n)} 人 residents ({esc(g)}), "
                                              f"{num(d / 1000, 1)} km" for o, t, n, g, d in zip(
                      sub["origin"], sub["to_home"], sub["residents"], sub["groups"], sub["dist_m"], strict=True)], size=3.5)
          for name, sub, colour in moves],
        Overlay("老人的来源村 Residents' villages of origin", origins, "dot", "#6f6f6f",
                [f"{esc(o)}: {num(n)} 人 residents" for o, n in zip(origins["origin"], origins["count"], strict=True)], size=5),
        Overlay("保留的敬老院 Home kept", kept, "square", "#1b5e20", [esc(n) for n in kept["name"]],
                [_home_popup(x, cap) for x in kept.itertuples()], fill="#2ca02c", size=20),
        Overlay("撤并的敬老院 Home closed", closed, "cross", "#d62728", [esc(n) for n in closed["name"]],
                [_home_popup(x, cap) for x in closed.itertuples()], size=20),
    ]  # fmt: skip
    roads = r.network.edges_frame(to_wgs84=True)
    m = overlay_map(r.meta, roads=roads, overlays=overlays, basemap=basemap, tianditu_key=tianditu_key)
    save_map(m, names["map"], overwrite=overwrite)
    drawn = [*[Layer(sub, name, colour, size=26) for name, sub, colour in moves],
             Layer(origins, "老人的来源村 Residents' villages of origin", "#6f6f6f", size=22, labels="origin", edge="white"),
             Layer(kept, "保留的敬老院 Home kept", "#2ca02c", "s", 90, True, "name", edge="#1b5e20"),
             Layer(closed, "撤并的敬老院 Home closed", "#d62728", "X", 110, True, "name", edge="#7f1d1d")]  # fmt: skip
    keep_ids, close_ids = ", ".join(map(str, r.meta.get("keep", []))), ", ".join(map(str, r.meta.get("close", [])))
    spec = PrintMap(title=str(r.meta["title"]), network=r.network, layers=drawn, source=str(r.meta.get("source", "")),
                    date=str(r.meta["date"]), subtitle=tr(f"保留：{keep_ids}；撤并：{close_ids}", f"保留 Keep: {keep_ids} · 撤并 Close: {close_ids}", lang),
                    pad_m=300.0, lang=lang)  # fmt: skip
    print_map(names["png"], spec, overwrite=overwrite)


#: the files :func:`write_consolidation_outputs` writes (and ``<report>.pdf`` with ``pdf=True``)
CONSOLIDATION_FILES: dict[str, str] = {
    "gpkg": "consolidation.gpkg",
    "groups": "groups.csv",
    "allocation": "allocation.csv",
    "villages": "villages.csv",
    "capacity": "capacity.csv",
    "keep_sets": "keep_sets.csv",
    "json": "consolidation.json",
    "map": "consolidation_map.html",
    "png": "consolidation_map.png",
    "report": "consolidation_report.html",
    "xlsx": "consolidation.xlsx",
}


@writes_output_set("out_dir")
def write_consolidation_outputs(
    result: ConsolidationResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    pdf: bool = False,
    basemap: str = "none",
    tianditu_key: str | None = None,
    options: ReportOptions | None = None,
) -> dict[str, Path]:
    """Write ``consolidation.gpkg`` (homes, groups, moves as lines), ``groups.csv``,
    ``allocation.csv``, ``villages.csv``, ``capacity.csv``, ``keep_sets.csv``,
    ``consolidation.json``, the maps (``consolidation_map.html`` on ``basemap``: ``"none"``
    loads nothing from the internet, ``"osm"``, ``"tianditu"`` with ``tianditu_key``; and
    ``consolidation_map.png``; both draw the moves along the roads),
    ``consolidation_report.html`` (page 1: the findings, the kept homes' beds, the map and
    what to do; ``options``: title, organisation, author, language, planning basis) and
    ``consolidation.xlsx``, each atomically."""
    import shapely

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: out / v for k, v in CONSOLIDATION_FILES.items()}
    r = result
    hg = r.homes.set_index("id").geometry
    gg = r.groups.set_index("id").geometry
    mv = r.allocation[(r.allocation["to_home"] != "") & (r.allocation["from_home"] != r.allocation["to_home"])]
    moves = gpd.GeoDataFrame(mv.copy(), geometry=[shapely.LineString([gg[a], hg[b]]) for a, b in zip(mv["group_id"], mv["to_home"], strict=True)],
                             crs="EPSG:4326")  # fmt: skip
    write_gpkg(names["gpkg"], {"homes": r.homes, "groups": r.groups, "moves": moves}, overwrite=overwrite, date=str(r.meta["date"]),
               skip_empty=True, bools_as_text=True)  # fmt: skip
    for key in ("groups", "allocation", "villages", "capacity", "keep_sets"):
        write_csv(names[key], getattr(r, key), overwrite=overwrite)
    write_json(names["json"], {**r.meta, "unplaced": r.unplaced}, overwrite=overwrite)
    opts = options or ReportOptions()
    _consolidation_maps(r, names, overwrite=overwrite, basemap=basemap, tianditu_key=tianditu_key, lang=opts.lang)
    lang = opts.lang
    report = consolidation_report(r, opts, map_html=names["map"], map_png=names["png"])
    rep = write_report_files(names["report"], names["xlsx"], report, overwrite=overwrite, pdf=pdf,
                             sheets={tr("汇总", "Summary", lang): consolidation_key_table(r, lang), tr("床位核查", "Capacity", lang): r.capacity,
                                     tr("人员组", "Groups", lang): r.groups, tr("安置", "Allocation", lang): r.allocation,
                                     tr("按村", "By village", lang): r.villages, tr("方案比较", "Keep-sets", lang): _shown_keep_sets(r, lang)})  # fmt: skip
    if "report_pdf" in rep:
        names["pdf"] = rep["report_pdf"]
    logger.info("wrote the consolidation outputs to %s", out)
    return names


def _moved_km(r: ConsolidationResult) -> tuple[float, float]:
    """The moving residents' mean road distance (km) from their village to the home, before and after."""
    g = r.groups[r.groups["action"] == "move"]
    w = g["count"].astype(float)
    if not len(g) or w.sum() <= 0:
        return math.nan, math.nan
    return (float((g["dist_before_m"] * w).sum() / w.sum()) / 1000, float((g["dist_after_m"] * w).sum() / w.sum()) / 1000)


def consolidation_lines(result: ConsolidationResult, *, lang: str = "en") -> list[str]:
    """The console's words: homes kept and closed, who moves, each kept home's beds after,
    the keep-sets compared (the report's page 1 says the same)."""
    r = result
    moved = float(r.groups.loc[r.groups["action"] == "move", "count"].sum())
    keep, close = ", ".join(map(str, r.meta["keep"])), ", ".join(map(str, r.meta["close"]))  # type: ignore[call-overload]
    out = [tr(f"敬老院撤并：保留 {keep}；撤并 {close}；{moved:g} 人迁移，{r.unplaced:g} 人无法安置",
              f"consolidation: keep {keep}; close {close}; {moved:g} residents move, {r.unplaced:g} unplaced", lang)]  # fmt: skip
    out += [f"  ! {note_text(m, lang)}" for m in r.messages]
    cap = r.capacity
    for c in cap[cap["action"] == "keep"].itertuples():
        out.append(tr(f"  {c.id} {c.name}：撤并后 {c.residents_after:g}/{c.beds:g} 床（转入 {c.incoming:g} 人）",
                      f"  {c.id} {c.name}: {c.residents_after:g}/{c.beds:g} beds after ({c.incoming:g} incoming)", lang))  # fmt: skip
    for k in r.keep_sets.itertuples():
        out.append(tr(f"  {keep_set_label(k.keep_set, 'zh')}：[{k.homes}] 去最近保留院：平均 {k.mean_m / 1000:.2f} km，最远 {k.max_m / 1000:.2f} km；"
                      f"按床位：平均 {k.beds_mean_m / 1000:.2f} km，无法安置 {k.beds_unplaced:g}",
                      f"  {keep_set_label(k.keep_set, 'en')}: [{k.homes}] nearest home: mean {k.mean_m / 1000:.2f} km, max {k.max_m / 1000:.2f} km; "
                      f"within beds: mean {k.beds_mean_m / 1000:.2f} km, unplaced {k.beds_unplaced:g}", lang))  # fmt: skip
    return out


def consolidation_key_table(result: ConsolidationResult, lang: str = "both") -> pd.DataFrame:
    """Page 1's key figures (and the workbook's summary): every kept home's beds after the move."""
    cap = result.capacity
    rows = [(f"{c.id} {c.name}", f"{c.residents_after:g}/{c.beds:g}", f"{c.incoming:g}",
             pct(c.occupancy_after) if np.isfinite(float(c.occupancy_after)) else "—", f"{int(c.staff_needed)}")
            for c in cap[cap["action"] == "keep"].itertuples()]  # fmt: skip
    return pd.DataFrame(rows, columns=[tr("保留院", "Home kept", lang), tr("撤并后入住/床位", "Residents after / beds", lang),
                                       tr("转入", "Incoming", lang), tr("入住率", "Occupancy", lang),
                                       tr("所需护理人员", "Care staff needed", lang)])  # fmt: skip


def _consolidation_todo(r: ConsolidationResult, lang: str) -> list[str]:
    """What to do: the homes over capacity or unplaced residents, the better keep-sets."""
    out = [note_text(m, lang) for m in r.messages]
    if r.unplaced > 0:
        out.append(tr(f"{r.unplaced:g} 人无法安置：增加保留院床位或少撤并一处。",
                      f"{r.unplaced:g} residents cannot be placed: add beds in the kept homes or close one home fewer.", lang))  # fmt: skip
    ks = r.keep_sets
    plan = ks[ks["keep_set"] == "plan"]
    if len(plan):
        p = plan.iloc[0]
        for k in ks[ks["beds_mean_m"] < p["beds_mean_m"] - 1.0].itertuples():
            out.append(tr(f"比较：{keep_set_label(k.keep_set, 'zh')}（保留 {k.homes}）按床位平均距离 {k.beds_mean_m / 1000:.2f} km，计划为 {p.beds_mean_m / 1000:.2f} km。",
                          f"Compare: {keep_set_label(k.keep_set, 'en')} (keep {k.homes}) gives a mean {k.beds_mean_m / 1000:.2f} km within beds against "
                          f"{p.beds_mean_m / 1000:.2f} km for the plan.", lang))  # fmt: skip
    out.append(tr("核对各保留院护理人员配备（县失能中心 1:3，乡镇院 1:10）。",
                  "Check the care staff of each kept home (1:3 in the county disabled-care centre, 1:10 in township homes).", lang))
    return out


def consolidation_report(result: ConsolidationResult, options: ReportOptions, *, map_html: Path | None = None,
                         map_png: Path | None = None) -> Report:  # fmt: skip
    """The consolidation report: page 1 (findings, the kept homes' beds, the map, what to
    do), then distances, the keep-sets compared, parameters and sources."""
    r, lang = result, options.lang
    before, after = _moved_km(r)
    paras = consolidation_lines(r, lang="zh" if lang == "zh" else "both")[:1]
    if np.isfinite(before):
        paras.append(tr(f"迁移人员到其家庭所在村的平均路网距离由 {before:.2f} km 变为 {after:.2f} km。",
                        f"For the residents who move, the mean road distance from their home village rises from {before:.2f} km to {after:.2f} km."
                        if after >= before else
                        f"For the residents who move, the mean road distance from their home village falls from {before:.2f} km to {after:.2f} km.", lang))  # fmt: skip
    findings = ReportSection(tr("结论", "Findings", lang), paras, [(tr("保留院床位", "Beds of the kept homes", lang), consolidation_key_table(r, lang))],
                             bullets=_consolidation_todo(r, lang))  # fmt: skip
    sections = [ReportSection(tr("床位核查", "Capacity check", lang), [], [(tr("各院", "Every home", lang), r.capacity)]),
                ReportSection(tr("撤并前后距离", "Distance before and after", lang), [tr("距离为家庭所在村到院的路网距离。",
                              "Distances are by road from the family's village to the home.", lang)],
                              [(tr("按来源村", "By village of origin", lang), r.villages),
                               (tr("按人员组", "By resident group", lang), r.groups.drop(columns="geometry"))]),
                ReportSection(tr("方案比较", "Keep-sets compared", lang), [tr(
                    "总/平均/最远距离：每人去最近的保留院；按床位：在床位限制下安置。",
                    "Total, mean and farthest: everyone to the nearest kept home; within beds: placed within the beds.", lang)],
                    [(tr("方案", "Keep-sets", lang), _shown_keep_sets(r, lang))])]  # fmt: skip
    meta = {k: v for k, v in r.meta.items() if k != "messages"}
    basis = report_basis(meta, plan_basis=options.plan_basis, lang=lang, topics=("township_centre",), applicable_only=True)
    return Report(str(r.meta["title"]), sections, meta, basis=basis, map_html=map_html, map_png=map_png, findings=findings, options=options)
