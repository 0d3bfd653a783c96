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

__all__ = ["DEFAULT_SPEED_MPS", "SPEED_SOURCE", "AuditConfig"]

DEFAULT_SPEED_MPS = 0.8
SPEED_SOURCE = (
    "Asher L. et al. (2012) Most older pedestrians are unable to cross the road in time. "
    "Age and Ageing 41(5):690-694 (over-65 mean ~0.9 m/s men, ~0.8 m/s women)"
)


#: the command-line flag of each setting, named in messages next to the Python name
_FLAGS = {"radius_m": "--radius", "time_min": "--minutes", "speed_mps": "--speed", "snap_tolerance_m": "--snap-tolerance"}


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
        Search cutoff for network distances; ``None`` means the larger of ``radius_m`` and
        the 15-minute walking distance. Demand farther than the cutoff from every facility
        gets an infinite distance (reported as "beyond cutoff").
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
        if self.cutoff_m is not None and (
            not math.isfinite(self.cutoff_m) or self.cutoff_m < self.radius_m
        ):
            problems.append(f"cutoff_m={self.cutoff_m} must be finite and >= radius_m")
        if problems:
            raise ParameterError("AuditConfig: " + "; ".join(problems))

    @property
    def walk_limit_m(self) -> float:
        """Distance walked in ``time_min`` at ``speed_mps`` (720 m at the defaults)."""
        return self.time_min * 60.0 * self.speed_mps

    @property
    def search_cutoff_m(self) -> float:
        """Distance to which network searches run."""
        if self.cutoff_m is not None:
            return float(self.cutoff_m)
        return float(max(self.radius_m, self.walk_limit_m))

    def as_record(self) -> dict[str, object]:
        """The parameters as a flat dict for output metadata."""
        rec = asdict(self)
        rec["walk_limit_m"] = self.walk_limit_m
        rec["search_cutoff_m"] = self.search_cutoff_m
        rec["speed_source"] = SPEED_SOURCE
        return rec
