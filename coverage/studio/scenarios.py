"""Scenarios of the planning studio: named facility sets, saved from the live plan or
proposed by a site model (MCLP, LSCP), compared side by side and exported as the
committee package exactly as ``coverage audit --report`` writes it.

A scenario keeps its stations (id, name, metric place, studio key) and its figures (a
:class:`~coverage.audit.summary.CoverageSummary` and the zone rows), so a comparison needs
no new search. The candidate ranking (top sites by marginal gain) reads a sparse
demand × candidate cost table (:meth:`Engine.cost_table
<coverage.engine.engine.Engine.cost_table>`) built once, from the candidates' road points:
the gain it promises is exactly what adding the station there gives.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from ..audit.run import AuditOptions, run_audit
from ..audit.summary import CoverageSummary
from ..engine.costs import CostTable
from ..engine.whatif import AuditState
from ..errors import ParameterError
from ..publish.atomic import output_set
from ..publish.audit_package import committee_package, write_outputs
from ..publish.report import ReportOptions
from ..siting.propose import propose_sites
from .session import Studio, _clean, facility_frame

__all__ = ["Scenario", "ScenarioBook", "rank_candidates"]

logger = logging.getLogger(__name__)

#: the figures compared between two scenarios, in reading order
COMPARED = ("radius", "time", "both", "partial", "none", "beyond", "unreachable", "false")
MAX_SCENARIOS = 50


@dataclass(frozen=True)
class Scenario:
    """A named plan: its stations ``(id, name, (x, y), key or None)`` and its figures."""

    sid: int
    name: str
    source: str
    stations: tuple[tuple[str, str, tuple[float, float], str | None], ...]
    summary: CoverageSummary
    zones: tuple[tuple[Any, ...], ...]


class ScenarioBook:
    """The scenarios of one studio session (at most :data:`MAX_SCENARIOS`)."""

    def __init__(self, studio: Studio, out_dir: Path | None, *, report: ReportOptions | None = None, pdf: bool = False,
                 basemap: str = "none", overwrite: bool = False) -> None:  # fmt: skip
        self.studio = studio
        self.overwrite = overwrite
        self.out_dir = out_dir
        self.report = report
        self.pdf = pdf
        self.basemap = basemap
        self.items: dict[int, Scenario] = {}
        self._next = 0
        self._lock = threading.RLock()  # scenario numbers, exports and model runs: one at a time

    def _add(self, name: str, source: str, stations: list[tuple[str, str, tuple[float, float], str | None]],
             summary: CoverageSummary, zones: list[tuple[Any, ...]]) -> Scenario:  # fmt: skip
        with self._lock:
            if len(self.items) >= MAX_SCENARIOS:
                raise ParameterError(f"at most {MAX_SCENARIOS} scenarios per session: delete one first")
            self._next += 1
            sc = Scenario(self._next, _clean(name) or f"方案 Scenario {self._next}", source, tuple(stations), summary, tuple(zones))
            self.items[sc.sid] = sc
            return sc

    def get(self, sid: int) -> Scenario:
        if sid not in self.items:
            raise KeyError(sid)
        return self.items[sid]

    def save(self, name: str) -> Scenario:
        """Save the live plan as a scenario."""
        s = self.studio
        with s.lock:
            stations = [(st.id, st.name, st.xy, st.key) for st in s.open_stations()]
            return self._add(name, "saved", stations, s.summary(), s.zone_rows())

    def delete(self, sid: int) -> None:
        self.get(sid)
        del self.items[sid]

    def open(self, sid: int) -> dict[str, Any]:
        """Make a scenario the live plan (one undoable edit)."""
        sc = self.get(sid)
        return self.studio.apply_plan(list(sc.stations), f"open scenario {sc.sid}")

    # ------------------------------------------------------------------ site models
    def propose(self, model: str, k: int | None, *, name: str = "", time_limit_s: float = 30.0) -> tuple[Scenario, list[dict[str, Any]]]:
        """Run MCLP (``k`` new sites) or LSCP on the live plan's facilities and the
        candidates; save the plan with the proposed sites as a scenario (the live plan is
        left as it is: open the scenario to edit it)."""
        s = self.studio
        if model not in ("mclp", "lscp"):
            raise ParameterError(f"model={model!r}: choose 'mclp' or 'lscp'")
        if s.candidates is None or len(s.candidates) == 0:
            raise ParameterError("no candidate sites: start the studio with --candidates (the model county has its own)")
        with self._lock, s.lock:
            fac = facility_frame(s)
            stations = [(st.id, st.name, st.xy, st.key) for st in s.open_stations()]
        cand = s.candidates
        if "id" in cand and "id" in fac:  # candidates already opened (a proposal taken up) are facilities now
            cand = cand[~cand["id"].astype(str).isin(set(fac["id"].astype(str)))]
        res = propose_sites(s.network, fac, s.demand_in, cand, engine=s.engine, model=model,
                            k_new=k if model == "mclp" else None, weight_col=s.options.weight_col, zones=s.zones_in,
                            time_limit_s=time_limit_s, with_service_areas=False)  # fmt: skip
        proposed = res.proposed
        xy = s.engine.xy(proposed) if len(proposed) else np.zeros((0, 2))
        new = [(str(r.id), str(r.name), (float(xy[i, 0]), float(xy[i, 1])), None) for i, r in enumerate(proposed.itertuples())]
        plan = stations + new
        st = AuditState.build(s.engine, np.array([p[2] for p in plan]).reshape(-1, 2), s.engine.layer(s.state.demand_xy), warn_far=False)
        label = f"MCLP k={k}" if model == "mclp" else "LSCP"
        sc = self._add(name or f"{label} ({len(new)} 新站点 new sites)", model, plan, s.summary(st.result), s.zone_rows(st.result))
        ll = s.to_lonlat(xy) if len(new) else np.zeros((0, 2))
        sites = [{"id": p[0], "name": p[1], "lon": float(ll[i, 0]), "lat": float(ll[i, 1]),
                  "gain": _num(getattr(r, "marginal_gain", math.nan))}
                 for i, (p, r) in enumerate(zip(new, proposed.itertuples(), strict=True))]  # fmt: skip
        return sc, sites

    # ------------------------------------------------------------------ compare, export
    def compare(self, a: int, b: int, lang: str = "both") -> dict[str, Any]:
        """The differences between scenarios ``a`` and ``b``: every figure (points and
        weighted share) and every zone's share, A, B and B − A; the facilities in one only."""
        sa, sb = self.get(a), self.get(b)
        figures = []
        for key in COMPARED:
            fa, fb = sa.summary.figure(key), sb.summary.figure(key)
            figures.append({"key": key, "label": fa.label(lang), "a": fa.count, "b": fb.count, "diff": fb.count - fa.count,
                            "wshare_a": _num(fa.wshare), "wshare_b": _num(fb.wshare), "wshare_diff": _num(fb.wshare - fa.wshare)})  # fmt: skip
        zones = []
        for za, zb in zip(sa.zones, sb.zones, strict=True):
            zones.append({"zone_id": za[0], "name": za[1], "share_a": _num(za[6]), "share_b": _num(zb[6]),
                          "diff": _num(zb[6] - za[6]), "meets_a": za[10], "meets_b": zb[10]})  # fmt: skip
        ka = {(p[0], p[2]) for p in sa.stations}
        kb = {(p[0], p[2]) for p in sb.stations}
        only_a = [{"id": p[0], "name": p[1]} for p in sa.stations if (p[0], p[2]) not in kb]
        only_b = [{"id": p[0], "name": p[1]} for p in sb.stations if (p[0], p[2]) not in ka]
        return {"a": sa.sid, "b": sb.sid, "figures": figures, "zones": [z for z in zones if z["diff"] != 0],
                "only_a": only_a, "only_b": only_b}  # fmt: skip

    def export(self, sid: int) -> dict[str, str]:
        """Write scenario ``sid`` as ``coverage audit --report`` writes an audit (the data
        files, the map and the committee package) into a new folder under the launch's
        ``--out``; returns the files written (relative to ``--out``)."""
        if self.out_dir is None:
            raise ParameterError("exports are off: start the studio with --out FOLDER")
        sc = self.get(sid)
        s = self.studio
        with self._lock:
            with s.lock:
                keys = {p[3] for p in sc.stations if p[3] is not None}
                stations = [st for st in s.stations.values() if st.key in keys and _same_place(st, sc)]
            fac = _plan_frame(s, sc, stations)
            folder = self._folder(sc)
            o = s.options
            res = run_audit(s.network, fac, s.demand_in, zones=s.zones_in, engine=s.engine,
                            options=AuditOptions(weight_col=o.weight_col, zone_col=o.zone_col, target=o.target,
                                                 target_rule=o.target_rule, title=o.title, run_date=o.run_date))  # fmt: skip
            map_path = folder / "audit_map.html"
            ow = self.overwrite
            with output_set([folder, map_path], overwrite=ow) as stage:
                paths = write_outputs(res, stage.path(folder), map_path=stage.path(map_path), overwrite=ow, basemap=self.basemap)
                extra = {"options": self.report} if self.report is not None else {}
                package = committee_package(res, stage.path(folder), map_html=paths["map"], overwrite=ow, pdf=self.pdf, **extra)
            files = {**paths, **package}
            return {k: str(stage.final(v).relative_to(self.out_dir)) for k, v in files.items()}

    def _folder(self, sc: Scenario) -> Path:
        """The folder of an export: ``scenario-<n>`` (never a name from the client); when it
        exists, ``scenario-<n>-2`` ... unless exports overwrite (``--overwrite``)."""
        assert self.out_dir is not None
        base = self.out_dir / f"scenario-{sc.sid}"
        if self.overwrite:
            return base
        folder, i = base, 1
        while folder.exists():
            i += 1
            folder = self.out_dir / f"scenario-{sc.sid}-{i}"
        return folder


def _same_place(st: Any, sc: Scenario) -> bool:
    return any(p[3] == st.key and p[2] == st.xy for p in sc.stations)


def _plan_frame(s: Studio, sc: Scenario, stations: list[Any]) -> gpd.GeoDataFrame:
    """The facility layer of a scenario: the studio's stations still where the scenario
    has them (input rows kept as read), then its other stations (proposed sites, stations
    moved or closed since it was saved) as new rows."""
    from .session import Station

    have = {st.key for st in stations}
    plan = []
    for sid_, name, xy, key in sc.stations:
        if key is not None and key in have:
            st = s.stations[key]
            plan.append(Station(st.key, st.id, st.name, xy, st.position, row=st.row, moved=st.moved))
        else:
            plan.append(Station(key or f"p{len(plan)}", sid_, name, xy, -1, row=None))
    plan.sort(key=lambda st: (st.row is None, st.row if st.row is not None else 0))
    return facility_frame(s, plan)


def rank_candidates(studio: Studio, *, top: int = 10, rule: str = "radius") -> list[dict[str, Any]]:
    """The candidate sites by marginal gain on the live plan: the weight (and points) of
    demand not yet covered under ``rule`` that a station at the candidate's road point
    would cover; best first, ``top`` of them, sites with no gain left out."""
    s = studio
    if s.candidates is None or len(s.candidates) == 0:
        raise ParameterError("no candidate sites: start the studio with --candidates (the model county has its own)")
    if rule not in ("radius", "time"):
        raise ParameterError(f"rule={rule!r}: choose 'radius' or 'time'")
    table, road_xy = _candidate_table(s, rule)
    with s.lock:
        r = s.state.result
        covered = r.covered_radius if rule == "radius" else r.covered_time
        open_xy = {st.xy for st in s.open_stations()}
    miss = ~covered[table.demand_idx]
    gain = np.bincount(table.site_idx, weights=s.weight[table.demand_idx] * miss, minlength=table.n_sites)
    npts = np.bincount(table.site_idx, weights=miss.astype(float), minlength=table.n_sites)
    order = [i for i in np.argsort(-gain, kind="stable") if gain[i] > 0 and tuple(road_xy[i]) not in open_xy][:top]
    c = s.candidates
    ids = c["id"].astype(str).to_numpy() if "id" in c else np.arange(len(c)).astype(str)
    names = c["name"].astype(str).to_numpy() if "name" in c else ids
    ll = s.to_lonlat(road_xy[order]) if order else np.zeros((0, 2))
    return [{"rank": n + 1, "index": int(i), "id": str(ids[i]), "name": str(names[i]), "lon": float(ll[n, 0]), "lat": float(ll[n, 1]),
             "gain": float(gain[i]), "points": int(npts[i])} for n, i in enumerate(order)]  # fmt: skip


def _candidate_table(s: Studio, rule: str) -> tuple[CostTable, np.ndarray]:
    """The demand × candidate table within the rule's limit, from the candidates' road
    points (built once per rule)."""
    cache = s.__dict__.setdefault("_candidate_tables", {})
    if rule not in cache:
        eng = s.engine
        snap = eng.snap(eng.xy(s.candidates))
        road_xy = np.asarray(snap.proj_xy, dtype=float)
        limit = s.config.radius_m if rule == "radius" else s.config.walk_limit_m
        table = eng.cost_table(eng.layer(s.state.demand_xy), eng.layer(road_xy), cutoff_m=limit)
        cache[rule] = (table, road_xy)
    return cache[rule]


def _num(x: Any) -> float | None:
    """A JSON number (None for NaN/inf)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
