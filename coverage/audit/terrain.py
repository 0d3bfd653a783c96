"""The terrain-aware 15-minute service circle, beside the flat one.

:func:`terrain_audit` takes a finished flat audit (an
:class:`~coverage.engine.whatif.AuditState`) and an elevation function (a DEM read by
:func:`coverage.inputs.terrain.read_dem`), and measures every home's walking time to its
nearest facility *on the ground*: grades along every road in the direction walked, home →
facility, through the slope model of the :class:`~coverage.config.TerrainConfig`
(:mod:`coverage.engine.terrain`). The off-road walks get their slope too (from the home's
height to its road's, from the road's to the facility's). The 1000 m rule and the flat
15-minute figure are unchanged; the terrain figure stands beside them, and the homes the
terrain takes out of the 15-minute circle are listed.

The what-if engine (:class:`~coverage.engine.whatif.AuditState` ``add_facility`` /
``remove_facility``) stays flat-only: a what-if answer carries the flat figures, and a
terrain figure for a changed set of facilities needs :func:`terrain_audit` again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..config import TerrainConfig
from ..engine.snapping import SnapResult
from ..engine.terrain import TerrainCosts, terrain_costs, terrain_nearest, time_factor
from ..engine.whatif import AuditState

__all__ = ["TerrainAudit", "terrain_audit"]

logger = logging.getLogger(__name__)

Elevation = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class TerrainAudit:
    """Every home's walking time on the terrain (arrays aligned with the demand).

    Attributes
    ----------
    config
        The slope model, stairs time and sampling.
    costs
        The network's direction-dependent walking costs (:class:`~coverage.engine.terrain.TerrainCosts`).
    facility
        Nearest facility by walking time on the terrain (position, ``-1`` for none).
    time_min
        Walking time home → facility on the terrain, minutes (``inf`` beyond the search limit
        or off-road).
    covered_time
        Within the service circle's minutes on the terrain.
    source
        Where the heights came from (the DEM's file, CRS, pixel size and label).
    """

    config: TerrainConfig
    costs: TerrainCosts
    facility: np.ndarray
    time_min: np.ndarray
    covered_time: np.ndarray
    source: dict[str, object] = field(default_factory=dict)

    def record(self) -> dict[str, object]:
        """The terrain parameters and their sources, for ``parameters.json`` and reports."""
        return {**self.costs.record(), "slope_model_name": self.config.model_name,
                "sample_m": self.config.sample_m, **self.source}  # fmt: skip


def _access_costs(elevation: Elevation, xy: np.ndarray, snap: SnapResult, model: str, *, to_road: bool) -> np.ndarray:
    """Flat-equivalent metres of the straight off-road walks: home → road (``to_road``) or
    road → facility, each at the slope between the two ends' heights."""
    if len(xy) == 0:
        return np.zeros(0)
    z_pt = elevation(np.asarray(xy, dtype=np.float64).reshape(-1, 2))
    z_road = elevation(snap.proj_xy)
    rise = (z_road - z_pt) if to_road else (z_pt - z_road)
    acc = snap.access_m
    grade = np.where(np.isfinite(rise) & (acc > 0), rise / np.where(acc > 0, acc, 1.0), 0.0)
    return np.asarray(acc * time_factor(grade, model), dtype=np.float64)


def terrain_audit(
    st: AuditState, elevation: Elevation, config: TerrainConfig | None = None, *, source: dict[str, object] | None = None
) -> TerrainAudit:
    """Walking times on the terrain for the flat audit ``st`` (see the module docstring).

    ``elevation`` maps metric coordinates in the audit's CRS (n × 2) to heights in metres
    (NaN where unknown: those pieces count as flat); ``source`` describes it for the outputs.
    """
    tcfg = config or TerrainConfig()
    cfg = st.config
    tc = terrain_costs(st.net, elevation, model=tcfg.slope_model, speed_mps=cfg.speed_mps, steps_s=tcfg.steps_seconds,
                       sample_m=tcfg.sample_m, crossing_s=tcfg.crossing_seconds)  # fmt: skip
    use = np.flatnonzero(st.usable)
    fac = st.facilities.take(use)
    if cfg.access_counts:
        facc = _access_costs(elevation, st.facility_xy[use], fac, tcfg.slope_model, to_road=False)
        dacc = _access_costs(elevation, st.demand_xy, st.demand, tcfg.slope_model, to_road=True)
    else:
        facc, dacc = np.zeros(len(use)), np.zeros(len(st.demand))
    local, cost = terrain_nearest(tc, fac, st.demand, limit_m=cfg.search_cutoff_m, facility_access_m=facc, demand_access_m=dacc)
    facility = np.where(local >= 0, use[np.maximum(local, 0)], -1)
    off_road = ~st.engine.reachable(st.demand)
    cost = np.where(off_road, np.inf, cost)
    facility = np.where(off_road, -1, facility)
    time_min = cost / cfg.speed_mps / 60.0
    covered = cost <= cfg.walk_limit_m + 1e-6
    logger.info("terrain (%s): %d of %d homes within %g min (flat: %d)", tcfg.model_name, int(covered.sum()), len(covered),
                cfg.time_min, int(st.result.covered_time.sum()))  # fmt: skip
    return TerrainAudit(tcfg, tc, facility.astype(np.int64), time_min, covered, dict(source or {}))
