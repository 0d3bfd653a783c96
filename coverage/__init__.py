"""yanglao-coverage: elderly-care (养老服务) service-coverage planning over road networks.

The Python API (the CLI ``coverage ...`` calls the same functions). Site-selection models
live in :mod:`coverage.siting.optimize`, candidate sources in :mod:`coverage.siting.candidates`, the
planner workflows in :mod:`coverage.workflows`, the committee package in
:mod:`coverage.publish.audit_package` (its report page: :mod:`coverage.publish.report`).

>>> from coverage import AuditConfig, model_county, run_audit
>>> mc = model_county()
>>> result = run_audit(mc.network, mc.facilities, mc.demand, zones=mc.zones, run_date="2026-01-01")
>>> int(result.summary.loc[0, "n_points"])
124
"""

from __future__ import annotations

__version__ = "0.1.0"  # first: the modules below read it

from .audit.run import AuditResult, audit_cost_table, run_audit
from .batch import BatchResult, regions_from_column, regions_from_polygons, run_batch
from .config import AuditConfig
from .datasets.model_county import model_county
from .engine.costs import CostTable
from .engine.network import RoadNetwork, compact
from .errors import CoverageError
from .inputs.osm import read_network, read_network_tables
from .inputs.points import read_points, read_zones
from .publish.audit_package import committee_package, write_outputs
from .publish.siting_package import write_siting_outputs
from .siting.propose import SitingResult, propose_sites

__all__ = [
    "AuditConfig",
    "AuditResult",
    "BatchResult",
    "CostTable",
    "CoverageError",
    "RoadNetwork",
    "SitingResult",
    "audit_cost_table",
    "committee_package",
    "compact",
    "model_county",
    "propose_sites",
    "read_network",
    "read_network_tables",
    "read_points",
    "read_zones",
    "regions_from_column",
    "regions_from_polygons",
    "run_audit",
    "run_batch",
    "write_outputs",
    "write_siting_outputs",
]
