"""Audit parameters: one frozen, validated object passed to every function that uses them.

The defaults follow the policy digest (``policy-rules.md``):

* ``radius_m = 1000`` -- coverage radius of community elderly-care facilities
  (养老服务设施覆盖半径 ≤ 1000 m; Pingyin 2021 plan §三(一)).
* ``time_min = 15`` -- the 15-minute elderly-care service circle (15分钟养老服务圈;
  Huichang 2021 opinions §(八), Pingyin §三(一)), measured as walking time.
* ``speed_mps = 0.8`` -- walking speed of older people. Asher et al. (2012), "Most older
  pedestrians are unable to cross the road in time", *Age and Ageing* 41(5):690-694, report
  mean walking speeds of about 0.9 m/s (men) and 0.8 m/s (women) for people over 65; 0.8 m/s
  is the conservative end and gives a 720 m 15-minute walk. Frail older people walk about
  0.64 m/s; pass that for a stricter check.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .errors import ParameterError

__all__ = ["DEFAULT_SEARCH_LIMIT_M", "DEFAULT_SPEED_MPS", "SLOPE_MODELS", "SPEED_SOURCE", "AuditConfig", "TerrainConfig"]

DEFAULT_SPEED_MPS = 0.8
#: the least default search limit for network distances, metres (see ``AuditConfig.cutoff_m``)
DEFAULT_SEARCH_LIMIT_M = 10_000.0
SPEED_SOURCE = (
    "Asher L. et al. (2012) Most older pedestrians are unable to cross the road in time. "
    "Age and Ageing 41(5):690-694 (over-65 mean ~0.9 m/s men, ~0.8 m/s women)"
)


#: the command-line flag of each setting, named in messages next to the Python name
_FLAGS = {"radius_m": "--radius", "time_min": "--minutes", "speed_mps": "--speed", "snap_tolerance_m": "--snap-tolerance",
          "cutoff_m": "--search-limit"}


@dataclass(frozen=True)
class AuditConfig:
    """Parameters of a coverage audit.

    Parameters
    ----------
    radius_m
        Coverage-radius rule, network metres (default 1000).
    time_min
        Service-circle rule, walking minutes (default 15).
    speed_mps
        Walking speed of older people in metres per second (default 0.8, see module doc).
    snap_tolerance_m
        Points farther than this from any road are reported unreachable instead of being
        snapped (default 500 m).
    access_counts
        Whether the straight off-road walk from a point to its nearest road (and from the
        road to a facility) is added to the network distance (default True).
    cutoff_m
        Search limit for network distances (``--search-limit``): every reachable home gets
        its road distance to the nearest facility up to this far, also beyond the rules, so
        reports can say how far the uncovered homes are. ``None`` (the default) means
        :data:`DEFAULT_SEARCH_LIMIT_M` (10 km: farther than anyone walks to a daily
        service, yet bounded) or three times the farther rule distance, whichever is larger. Demand farther than the limit from every facility gets an
        infinite distance (reported as "no facility within the search limit"). The rules
        decide coverage; the limit only decides how far distances are measured. It must
        be at least the farther rule distance.
    crs
        The metric CRS to work in (``"EPSG:32650"``...); ``None`` picks the UTM zone of the
        network's centre. Recorded in every output.
    """

    radius_m: float = 1000.0
    time_min: float = 15.0
    speed_mps: float = DEFAULT_SPEED_MPS
    snap_tolerance_m: float = 500.0
    access_counts: bool = True
    cutoff_m: float | None = None
    crs: str | None = None

    def __post_init__(self) -> None:
        problems = []
        for name in ("radius_m", "time_min", "speed_mps", "snap_tolerance_m"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                problems.append(f"{name}={value!r} ({_FLAGS[name]}) must be a positive finite number")
        if self.speed_mps and isinstance(self.speed_mps, (int, float)) and self.speed_mps > 3:
            problems.append(
                f"speed_mps={self.speed_mps} (--speed) is not a walking speed (older people walk 0.6-1.2 m/s);"
                " did you pass km/h? divide by 3.6"
            )
        if self.cutoff_m is not None and not problems and (
            not isinstance(self.cutoff_m, (int, float)) or not math.isfinite(self.cutoff_m)
            or self.cutoff_m < max(self.radius_m, self.walk_limit_m) - 1e-9
        ):
            problems.append(
                f"cutoff_m={self.cutoff_m!r} (--search-limit) must be a finite distance of at least the farther rule "
                f"distance ({max(self.radius_m, self.walk_limit_m):g} m: radius {self.radius_m:g} m, "
                f"{self.time_min:g} min at {self.speed_mps:g} m/s = {self.walk_limit_m:g} m)"
            )
        if problems:
            raise ParameterError("AuditConfig: " + "; ".join(problems))

    @property
    def walk_limit_m(self) -> float:
        """Distance walked in ``time_min`` at ``speed_mps`` (720 m at the defaults)."""
        return self.time_min * 60.0 * self.speed_mps

    @property
    def rule_limit_m(self) -> float:
        """The farther of the two rule distances (the radius, the walk limit), metres."""
        return float(max(self.radius_m, self.walk_limit_m))

    @property
    def search_cutoff_m(self) -> float:
        """Distance to which network searches run: ``cutoff_m``, else the larger of
        :data:`DEFAULT_SEARCH_LIMIT_M` and three times :attr:`rule_limit_m` (10,000 m at the
        defaults). Bounded, so that a search never sweeps a whole province's roads."""
        if self.cutoff_m is not None:
            return float(self.cutoff_m)
        return float(max(DEFAULT_SEARCH_LIMIT_M, 3.0 * self.rule_limit_m))

    def as_record(self) -> dict[str, object]:
        """The parameters as a flat dict for output metadata."""
        rec = asdict(self)
        rec["walk_limit_m"] = self.walk_limit_m
        rec["search_cutoff_m"] = self.search_cutoff_m
        rec["speed_source"] = SPEED_SOURCE
        return rec

    def rule_label(self, rule: str, *, lang: str = "both") -> str:
        """The one name of a coverage figure, used by every output (console, map legend,
        report, Excel, CSV headers' descriptions): ``rule`` is ``"radius"``, ``"time"`` or
        ``"both"``; ``lang`` is ``"zh"``, ``"en"`` or ``"both"`` (Chinese first).

        Examples
        --------
        >>> cfg = AuditConfig()
        >>> cfg.rule_label("radius", lang="en")
        '1000 m by road'
        >>> cfg.rule_label("time")
        '步行15分钟（0.8 m/s） 15 min walk at 0.8 m/s'
        >>> cfg.rule_label("both", lang="zh")
        '1000米且15分钟'
        """
        r, t, v = f"{self.radius_m:g}", f"{self.time_min:g}", f"{self.speed_mps:g}"
        labels = {
            "radius": (f"路网{r}米内", f"{r} m by road"),
            "time": (f"步行{t}分钟（{v} m/s）", f"{t} min walk at {v} m/s"),
            "both": (f"{r}米且{t}分钟", f"{r} m by road and {t} min walk"),
        }
        if rule not in labels:
            raise ParameterError(f"rule={rule!r}: must be 'radius', 'time' or 'both'")
        zh, en = labels[rule]
        return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")



#: slope–speed functions of terrain-aware walking times (see :mod:`coverage.engine.terrain`)
SLOPE_MODELS = ("tobler", "din33466")
_SLOPE_NAMES = {"tobler": "Tobler 1993", "din33466": "DIN 33466 / Valhalla"}


@dataclass(frozen=True)
class TerrainConfig:
    """How walking time on terrain is measured (``--dem``, ``--slope-model``,
    ``--steps-seconds``); the flat rules stay in :class:`AuditConfig`.

    Parameters
    ----------
    slope_model
        ``"tobler"`` (Tobler's hiking function normalised to the flat elderly speed, the
        default) or ``"din33466"`` (the DIN 33466 grade factors of Valhalla's pedestrian
        costing); sources in :mod:`coverage.engine.terrain`.
    steps_seconds
        Extra time per flight of stairs (an OSM ``highway=steps`` edge), seconds (default 30,
        Valhalla's step penalty for walking).
    sample_m
        Largest distance between elevation samples along a road, metres (default 15).
    crossing_seconds
        Delay of crossing a major road (trunk, primary, secondary), seconds, charged where a
        walk on a minor road arrives at a junction with one (default 0: off).
    """

    slope_model: str = "tobler"
    steps_seconds: float = 30.0
    sample_m: float = 15.0
    crossing_seconds: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.slope_model not in SLOPE_MODELS:
            problems.append(f"slope_model={self.slope_model!r} (--slope-model) must be one of {', '.join(SLOPE_MODELS)}")
        for name, flag in (("steps_seconds", "--steps-seconds"), ("crossing_seconds", "--crossing-seconds")):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                problems.append(f"{name}={v!r} ({flag}) must be a time of 0 s or more")
        if not isinstance(self.sample_m, (int, float)) or not math.isfinite(self.sample_m) or not 1 <= self.sample_m <= 100:
            problems.append(f"sample_m={self.sample_m!r} must be between 1 and 100 m")
        if problems:
            raise ParameterError("TerrainConfig: " + "; ".join(problems))

    @property
    def model_name(self) -> str:
        """The slope model's short name (``"Tobler 1993"``)."""
        return _SLOPE_NAMES[self.slope_model]

    def rule_label(self, config: AuditConfig, *, lang: str = "both") -> str:
        """The name of the terrain-aware service-circle figure, e.g. ``"15 min walk at 0.8
        m/s on terrain (Tobler 1993)"``."""
        t, v, m = f"{config.time_min:g}", f"{config.speed_mps:g}", self.model_name
        zh, en = f"地形步行{t}分钟（{v} m/s，{m}）", f"{t} min walk at {v} m/s on terrain ({m})"
        return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")
