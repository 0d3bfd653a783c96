"""The studio's state: one finished audit kept live for what-if edits, with undo/redo.

:class:`Studio` wraps the :class:`~coverage.engine.whatif.AuditState` of an audit
(:func:`coverage.audit.run.run_audit` on the inputs given to ``coverage serve``) and answers
the edits a planner makes on the map: add a station (snapped to the nearest road), move one,
close one, undo, redo. Each edit updates only what the change touches (the what-if engine
searches the network around the station) and returns only what changed: the demand points
whose colour changed, the facilities whose catchment changed, the zones whose shares
changed, the service areas added or removed, and the figures (named by their rule, from
:class:`~coverage.audit.summary.CoverageSummary`).

Every edit and every read holds one lock, so edits from concurrent clients are applied one
at a time, in the order they arrive, and none is lost (:attr:`Studio.log` records them).
Scenarios (named facility sets, proposals of the site models) live in
:mod:`coverage.studio.scenarios`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from ..audit.run import AuditOptions, AuditResult, run_audit
from ..audit.summary import CoverageSummary
from ..config import AuditConfig
from ..engine.network import RoadNetwork
from ..engine.whatif import AuditArrays
from ..errors import ParameterError

__all__ = ["CATEGORIES", "Edit", "Station", "Studio", "categories", "facility_frame", "summary_of"]

logger = logging.getLogger(__name__)

#: the demand colours of the committee map, by category code (0..3)
CATEGORIES = ("both", "partial", "none", "unreachable")
#: how many edits undo remembers
UNDO_DEPTH = 500


@dataclass
class Station:
    """One facility of the live plan.

    ``key`` is the studio's own handle (``e<row>`` for a facility of the input layer,
    ``n<k>`` for a station added in the studio): the API names facilities by it, never by
    their (hostile, possibly repeated) ids. ``position`` is its place in the
    :class:`~coverage.engine.whatif.AuditState` (a move or a reopening gives a new one).
    """

    key: str
    id: str
    name: str
    xy: tuple[float, float]
    position: int
    row: int | None = None
    open: bool = True
    moved: bool = False


@dataclass(frozen=True)
class Edit:
    """One step of the history: primitive operations ``(op, key, xy)`` applied in order
    (``op`` ``"open"`` or ``"close"``; a move is a close and an open at the new place)."""

    label: str
    ops: tuple[tuple[str, str, tuple[float, float] | None], ...]


def categories(result: AuditArrays, unreachable: np.ndarray) -> np.ndarray:
    """The map colour of every demand point as a code into :data:`CATEGORIES`: covered by
    both rules, by one, by neither, unreachable (off-road)."""
    r, t = result.covered_radius, result.covered_time
    cat = np.where(r & t, 0, np.where(r | t, 1, 2)).astype(np.int8)
    cat[unreachable] = 3
    return cat


def summary_of(result: AuditArrays, config: AuditConfig, weight: np.ndarray, unreachable: np.ndarray, *,
               weight_column: str, target: float | None, target_rule: str) -> CoverageSummary:  # fmt: skip
    """The :class:`~coverage.audit.summary.CoverageSummary` of a live result: the masks of
    :meth:`CoverageSummary.from_demand <coverage.audit.summary.CoverageSummary.from_demand>`
    on the arrays (no data frame: this runs on every edit)."""
    r, t = result.covered_radius, result.covered_time
    beyond = np.isinf(result.dist_m) & ~unreachable
    masks = {
        "radius": r, "time": t, "both": r & t, "partial": (r ^ t) & ~unreachable, "none": ~(r | t) & ~unreachable,
        "beyond": beyond, "unreachable": unreachable, "false": result.false_coverage,
    }  # fmt: skip
    counts = {k: int(m.sum()) for k, m in masks.items()}
    weights = {k: float(weight[m].sum()) for k, m in masks.items()}
    n, wt = len(weight), float(weight.sum())
    meets = None
    if target is not None:
        meets = bool((counts[target_rule] / n if n else 0.0) >= target - 1e-12)
    return CoverageSummary(config, counts, weights, n, wt, weight_column, target, target_rule, meets)


@dataclass
class _Snapshot:
    """What the client last saw: the demand colours, false-coverage rings, facility
    catchments and zone rows (to send only what changed)."""

    cat: np.ndarray
    false: np.ndarray
    facilities: dict[str, tuple[int, float, int, float]] = field(default_factory=dict)
    zones: list[tuple[Any, ...]] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)


class Studio:
    """A live audit for the planning studio.

    Parameters
    ----------
    network, facilities, demand, zones, config, options
        As for :func:`coverage.audit.run.run_audit` (the baseline is that audit, without
        service areas: the studio draws its own per station).
    candidates
        Candidate sites for the ranking and the site models (optional).
    """

    def __init__(self, network: RoadNetwork, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
                 zones: gpd.GeoDataFrame | None = None, candidates: gpd.GeoDataFrame | None = None,
                 config: AuditConfig | None = None, options: AuditOptions | None = None) -> None:  # fmt: skip
        opts = options or AuditOptions()
        self.options = opts
        self.network, self.facilities_in, self.demand_in, self.zones_in = network, facilities, demand, zones
        self.candidates = candidates
        self.base: AuditResult = run_audit(network, facilities, demand, zones=zones, config=config,
                                           options=AuditOptions(**{**opts.__dict__, "with_service_areas": False}))  # fmt: skip
        self.state = self.base.state  # edited in place: the baseline's tables stay as they were
        self.engine = self.state.engine
        self.config = self.engine.config
        self.lock = threading.RLock()
        self._to_metric = pyproj.Transformer.from_crs("EPSG:4326", self.engine.crs, always_xy=True)
        self._to_wgs = pyproj.Transformer.from_crs(self.engine.crs, "EPSG:4326", always_xy=True)
        self.weight = self.base.demand["weight"].to_numpy(dtype=float)
        self.unreachable = ~self.engine.reachable(self.state.demand)
        self._zone_setup()
        self._station_setup()
        self.undo_stack: list[tuple[Edit, Edit]] = []
        self.redo_stack: list[tuple[Edit, Edit]] = []
        #: every primitive operation applied, in order: ``(op, key, x, y)`` (the load test replays it)
        self.log: list[tuple[str, str, float | None, float | None]] = []
        self.version = 0
        self._new = 0
        self._snap = _Snapshot(categories(self.state.result, self.unreachable), self.state.result.false_coverage.copy())
        self._snap.facilities = self.facility_stats()
        self._snap.zones = self.zone_rows()
        self._snap.positions = {s.key: s.position for s in self.open_stations()}

    # ------------------------------------------------------------------ setup
    def _zone_setup(self) -> None:
        d = self.base.demand
        if self.base.by_zone is None or "zone_id" not in d:
            self.zone_ids: np.ndarray = np.array([], dtype=object)
            self.zone_code = np.zeros(len(d), dtype=np.int64)
            self.zone_names: np.ndarray = np.array([], dtype=object)
            return
        self.zone_ids, self.zone_code = np.unique(d["zone_id"].astype(str).to_numpy(), return_inverse=True)
        names = dict(zip(self.base.by_zone["zone_id"].astype(str), self.base.by_zone.get("zone_name", self.base.by_zone["zone_id"]).astype(str),
                         strict=True))  # fmt: skip
        self.zone_names = np.array([names.get(z, z) for z in self.zone_ids], dtype=object)

    def _station_setup(self) -> None:
        f = self.facilities_in
        ids = f["id"].astype(str).to_numpy() if "id" in f else np.arange(len(f)).astype(str)
        names = f["name"].astype(str).to_numpy() if "name" in f else ids
        xy = self.state.facility_xy
        self.stations: dict[str, Station] = {}
        for i in range(len(f)):
            key = f"e{i}"
            self.stations[key] = Station(key, str(ids[i]), str(names[i]), (float(xy[i, 0]), float(xy[i, 1])), i, row=i)
        self.position_key: list[str] = [f"e{i}" for i in range(len(f))]

    # ------------------------------------------------------------------ coordinates
    def to_metric(self, lon: float, lat: float) -> tuple[float, float]:
        """Longitude/latitude (WGS-84) to the engine's metric CRS."""
        x, y = self._to_metric.transform(lon, lat)
        return float(x), float(y)

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        """Metric coordinates (n × 2) to longitude/latitude (n × 2)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        lon, lat = self._to_wgs.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def snap_lonlat(self, lon: float, lat: float) -> tuple[float, float]:
        """The nearest road point of a clicked place (metric); refused beyond the snap tolerance."""
        if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise ParameterError(f"lon={lon}, lat={lat}: not a longitude/latitude")
        s = self.engine.snap(np.array([self.to_metric(lon, lat)]))
        tol = self.config.snap_tolerance_m
        if not s.access_m[0] <= tol:
            raise ParameterError(f"no road within {tol:g} m of ({lon:.6f}, {lat:.6f}): a station must be on the road network")
        return float(s.proj_xy[0, 0]), float(s.proj_xy[0, 1])

    # ------------------------------------------------------------------ reading
    def open_stations(self) -> list[Station]:
        """The open facilities, input rows first (in input order), then the added stations."""
        return [s for s in self.stations.values() if s.open]

    def station(self, key: str) -> Station:
        s = self.stations.get(key)
        if s is None or not s.open:
            raise KeyError(key)
        return s

    def summary(self, result: AuditArrays | None = None) -> CoverageSummary:
        """The figures of the live plan (or of ``result``, a plan's arrays)."""
        o = self.options
        return summary_of(self.state.result if result is None else result, self.config, self.weight, self.unreachable, weight_column=self.base.coverage.weight_column,
                          target=o.target, target_rule=o.target_rule)  # fmt: skip

    def facility_stats(self) -> dict[str, tuple[int, float, int, float]]:
        """Per open station: points and weight covered by it (its nearest) under each rule."""
        r = self.state.result
        n = len(self.state.facility_xy)
        out = []
        for flag in (r.covered_radius, r.covered_time):
            idx = r.facility[flag]
            out += [np.bincount(idx, minlength=n), np.bincount(idx, weights=self.weight[flag], minlength=n)]
        return {s.key: (int(out[0][s.position]), float(out[1][s.position]), int(out[2][s.position]), float(out[3][s.position]))
                for s in self.open_stations()}  # fmt: skip

    def zone_rows(self, result: AuditArrays | None = None) -> list[tuple[Any, ...]]:
        """Per zone: ``(zone_id, name, n_points, n_radius, n_time, n_both, share_radius,
        share_time, wshare_radius, wshare_time, meets_target)`` (the columns of
        :func:`~coverage.audit.summary.summary_table`) of the live plan (or of ``result``)."""
        nz = len(self.zone_ids)
        if nz == 0:
            return []
        r = self.state.result if result is None else result
        code, w = self.zone_code, self.weight
        n = np.bincount(code, minlength=nz)
        wt = np.bincount(code, weights=w, minlength=nz)
        flags = {"radius": r.covered_radius, "time": r.covered_time, "both": r.covered_radius & r.covered_time}
        cnt = {k: np.bincount(code[m], minlength=nz) for k, m in flags.items()}
        wgt = {k: np.bincount(code[m], weights=w[m], minlength=nz) for k, m in flags.items()}
        target, rule = self.options.target, self.options.target_rule
        rows = []
        for i in range(nz):
            share = {k: float(cnt[k][i] / n[i]) if n[i] else float("nan") for k in flags}
            wshare = {k: float(wgt[k][i] / wt[i]) if wt[i] > 0 else float("nan") for k in flags}
            meets = None if target is None else bool(share[rule] >= target - 1e-12)
            rows.append((str(self.zone_ids[i]), str(self.zone_names[i]), int(n[i]), int(cnt["radius"][i]), int(cnt["time"][i]),
                         int(cnt["both"][i]), share["radius"], share["time"], wshare["radius"], wshare["time"], meets))  # fmt: skip
        return rows

    # ------------------------------------------------------------------ primitive operations
    def _open(self, key: str, xy: tuple[float, float]) -> None:
        s = self.stations[key]
        self.state.add_facility(xy)
        s.position = len(self.state.facility_xy) - 1
        self.position_key.append(key)
        s.moved = s.row is not None and tuple(xy) != self._original_xy(s)
        s.xy, s.open = (float(xy[0]), float(xy[1])), True
        self.log.append(("open", key, s.xy[0], s.xy[1]))

    def _close(self, key: str) -> None:
        s = self.stations[key]
        self.state.remove_facility(s.position)
        s.open = False
        self.log.append(("close", key, None, None))

    def _original_xy(self, s: Station) -> tuple[float, float]:
        assert s.row is not None
        xy = self.state.facility_xy[s.row]
        return float(xy[0]), float(xy[1])

    def _apply(self, ops: tuple[tuple[str, str, tuple[float, float] | None], ...]) -> None:
        for op, key, xy in ops:
            if op == "open":
                assert xy is not None
                self._open(key, xy)
            else:
                self._close(key)

    @staticmethod
    def _inverse(edit: Edit, before: dict[str, tuple[float, float]]) -> Edit:
        """The operations that undo ``edit`` (``before``: where each closed station stood)."""
        inv = []
        for op, key, _xy in reversed(edit.ops):
            inv.append(("close", key, None) if op == "open" else ("open", key, before[key]))
        return Edit(edit.label, tuple(inv))

    def _run(self, edit: Edit, *, record: bool = True) -> tuple[dict[str, Any], Edit]:
        """Apply ``edit`` (under the lock); return what changed and the edit that undoes it."""
        with self.lock:
            before = {key: self.stations[key].xy for op, key, _ in edit.ops if op == "close"}
            self._apply(edit.ops)
            inverse = self._inverse(edit, before)
            if record:
                self.undo_stack.append((edit, inverse))
                del self.undo_stack[:-UNDO_DEPTH]
                self.redo_stack.clear()
            self.version += 1
            return self.changes(edit.label), inverse

    # ------------------------------------------------------------------ edits (the API)
    def add(self, lon: float, lat: float, *, name: str | None = None) -> dict[str, Any]:
        """Add a station at the road point nearest ``(lon, lat)``; returns the changes."""
        with self.lock:
            xy = self.snap_lonlat(lon, lat)
            self._new += 1
            key = f"n{self._new}"
            sid = self._new_id()
            self.stations[key] = Station(key, sid, _clean(name) or f"新站点 New station {self._new}", xy, -1, open=False)
            return self._run(Edit("add", (("open", key, xy),)))[0]

    def _new_id(self) -> str:
        taken = {s.id for s in self.stations.values()}
        sid = f"N{self._new:03d}"
        while sid in taken:
            sid += "+"
        return sid

    def move(self, key: str, lon: float, lat: float) -> dict[str, Any]:
        """Move station ``key`` to the road point nearest ``(lon, lat)``."""
        with self.lock:
            self.station(key)
            xy = self.snap_lonlat(lon, lat)
            return self._run(Edit("move", (("close", key, None), ("open", key, xy))))[0]

    def close(self, key: str) -> dict[str, Any]:
        """Close station ``key``."""
        with self.lock:
            self.station(key)
            return self._run(Edit("close", (("close", key, None),)))[0]

    def apply_plan(self, stations: list[tuple[str, str, tuple[float, float], str | None]], label: str) -> dict[str, Any]:
        """Make the open set exactly ``stations`` (``(id, name, xy, key or None)``) as one
        undoable edit (opening a scenario)."""
        with self.lock:
            want = {k for *_, k in stations if k is not None}
            ops: list[tuple[str, str, tuple[float, float] | None]] = []
            for s in self.open_stations():
                if s.key not in want:
                    ops.append(("close", s.key, None))
            for sid, name, xy, key in stations:
                if key is not None and key in self.stations:
                    s = self.stations[key]
                    if s.open and s.xy == xy:
                        continue
                    if s.open:
                        ops.append(("close", key, None))
                    ops.append(("open", key, xy))
                    continue
                self._new += 1
                key = f"n{self._new}"
                self.stations[key] = Station(key, sid, name, xy, -1, open=False)
                ops.append(("open", key, xy))
            return self._run(Edit(label, tuple(ops)))[0]

    def undo(self) -> dict[str, Any]:
        """Undo the last edit (``ParameterError`` when there is none)."""
        with self.lock:
            if not self.undo_stack:
                raise ParameterError("nothing to undo")
            edit, inverse = self.undo_stack.pop()
            out, _ = self._run(Edit("undo " + edit.label, inverse.ops), record=False)
            self.redo_stack.append((edit, inverse))
            return out

    def redo(self) -> dict[str, Any]:
        """Redo the last undone edit."""
        with self.lock:
            if not self.redo_stack:
                raise ParameterError("nothing to redo")
            edit, _ = self.redo_stack.pop()
            out, inverse = self._run(Edit("redo " + edit.label, edit.ops), record=False)
            self.undo_stack.append((edit, inverse))
            return out

    # ------------------------------------------------------------------ changes
    def changes(self, label: str) -> dict[str, Any]:
        """What changed since the last answer: demand colours, facilities, zones (rows as
        :meth:`zone_rows`), and the stations opened and closed (by key)."""
        r = self.state.result
        cat = categories(r, self.unreachable)
        false = r.false_coverage
        moved = np.flatnonzero((cat != self._snap.cat) | (false != self._snap.false))
        fac = self.facility_stats()
        old = self._snap.facilities
        zones = self.zone_rows()
        out = {
            "op": label,
            "version": self.version,
            "demand": {"index": moved.tolist(), "category": cat[moved].tolist(), "false": false[moved].tolist()},
            "opened": [k for k in fac if k not in old or self._reopened(k)],
            "closed": [k for k in old if k not in fac or self._reopened(k)],
            "facilities": {k: v for k, v in fac.items() if old.get(k) != v},
            "zones": [z for z, o in zip(zones, self._snap.zones, strict=True) if z != o] if self._snap.zones else zones,
        }
        self._snap = _Snapshot(cat, false.copy(), fac, zones, {k: self.stations[k].position for k in fac})
        return out

    def _reopened(self, key: str) -> bool:
        """Whether an open station got a new place since the last answer (moved)."""
        seen = self._snap.positions
        return key in seen and seen[key] != self.stations[key].position


def _clean(text: str | None, limit: int = 80) -> str:
    """A name typed by a client: control characters out, at most ``limit`` characters."""
    if text is None:
        return ""
    return "".join(ch if ch.isprintable() else " " for ch in str(text)).strip()[:limit]


def facility_frame(studio: Studio, stations: list[Station] | None = None) -> gpd.GeoDataFrame:
    """The facility layer of a plan (EPSG:4326): the input rows of its open facilities in
    input order (a moved one at its new place), then the added stations (``id``, ``name``)."""
    st = studio.open_stations() if stations is None else stations
    f = studio.facilities_in
    rows = [s for s in st if s.row is not None]
    new = [s for s in st if s.row is None]
    keep = f.iloc[[s.row for s in rows]].copy()  # type: ignore[misc]
    moved = [i for i, s in enumerate(rows) if s.moved]
    if moved:
        ll = studio.to_lonlat(np.array([rows[i].xy for i in moved]))
        pts = gpd.GeoSeries(gpd.points_from_xy(ll[:, 0], ll[:, 1]), crs="EPSG:4326").to_crs(f.crs)
        geom = keep.geometry.to_numpy().copy()
        geom[moved] = pts.to_numpy()
        keep = keep.set_geometry(gpd.GeoSeries(geom, index=keep.index, crs=f.crs))
    if not new:
        return keep
    ll = studio.to_lonlat(np.array([s.xy for s in new]))
    add = gpd.GeoDataFrame({"id": [s.id for s in new], "name": [s.name for s in new]},
                           geometry=gpd.points_from_xy(ll[:, 0], ll[:, 1]), crs="EPSG:4326").to_crs(f.crs)  # fmt: skip
    out = pd.concat([keep, add], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=keep.geometry.name, crs=f.crs)

