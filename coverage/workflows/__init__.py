"""Planning workflows: the jobs the policy documents give a county planner.

Each workflow is one function returning a frozen result, one ``write_*_outputs`` function
(tables, GeoPackage, map, report, Excel) and one CLI subcommand
(:mod:`coverage.cli.workflows`):

* development review (新建小区配建, 四同步): :func:`review_development`,
  :func:`write_review_outputs`, ``coverage review``;
* existing-area make-up (老旧小区补建): :func:`plan_makeup`, :func:`write_makeup_outputs`,
  ``coverage makeup``;
* village mutual-aid points (村级互助养老点, 中心带点): :func:`plan_village_points`,
  :func:`write_village_outputs`, ``coverage villages``;
* nursing-home consolidation (敬老院撤并, "1+3"): :func:`consolidate_homes`,
  :func:`write_consolidation_outputs`, ``coverage consolidate``;
* coverage targets (覆盖率目标): :func:`check_targets`, :func:`write_targets_outputs`,
  ``coverage targets``.

Each planning function takes its input layers, its options (:class:`ReviewOptions`,
:class:`MakeupOptions`, :class:`VillagePlanOptions`, :class:`ConsolidationOptions`: the
choices and the run date, as the object or as keywords) and the audit rules (``config``,
:class:`~coverage.config.AuditConfig`).

The embedded defaults are the generated scenarios of
:mod:`coverage.datasets.scenarios` on the model county (not a real place).
"""

from .consolidation import (
    ConsolidationOptions,
    ConsolidationResult,
    consolidate_homes,
    write_consolidation_outputs,
)
from .makeup import MakeupOptions, MakeupResult, plan_makeup, write_makeup_outputs
from .review import (
    RATES_M2_PER_100_HOUSEHOLDS,
    ReviewOptions,
    ReviewResult,
    required_floor_area_m2,
    review_development,
    write_review_outputs,
)
from .targets import TargetsResult, check_targets, target_table, write_targets_outputs
from .villages import (
    VillagePlanOptions,
    VillageResult,
    assign_to_centres,
    plan_village_points,
    village_candidates,
    write_village_outputs,
)

__all__ = [
    "RATES_M2_PER_100_HOUSEHOLDS",
    "ConsolidationOptions",
    "ConsolidationResult",
    "MakeupOptions",
    "MakeupResult",
    "ReviewOptions",
    "ReviewResult",
    "TargetsResult",
    "VillagePlanOptions",
    "VillageResult",
    "assign_to_centres",
    "check_targets",
    "consolidate_homes",
    "plan_makeup",
    "plan_village_points",
    "required_floor_area_m2",
    "review_development",
    "target_table",
    "village_candidates",
    "write_consolidation_outputs",
    "write_makeup_outputs",
    "write_review_outputs",
    "write_targets_outputs",
    "write_village_outputs",
]
