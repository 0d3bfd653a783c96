"""yanglao-coverage: elderly-care (养老服务) service-coverage planning over road networks.

The Python API (the CLI ``coverage ...`` calls the same functions). Site-selection models
live in :mod:`coverage.optimize`, candidate sources in :mod:`coverage.candidates`, the
planner workflows in :mod:`coverage.workflows`, the committee report in
:mod:`coverage.report`.

>>> from coverage import AuditConfig, model_county, run_audit
>>> mc = model_county()
>>> result = run_audit(mc.network, mc.facilities, mc.demand, zones=mc.zones, run_date="2026-01-01")
>>> int(result.summary.loc[0, "n_points"])
124
"""

from __future__ import annotations

from .config import AuditConfig
from .costs import CostTable
from .datasets.model_county import model_county
from .errors import CoverageError
from .network import RoadNetwork, compact
from .osm import read_network, read_network_tables
from .points import read_points, read_zones
from .siting import SitingResult, propose_sites, write_siting_outputs
from .study import AuditResult, audit_cost_table, run_audit, write_outputs

__all__ = [
    "AuditConfig",
    "AuditResult",
    "CostTable",
    "CoverageError",
    "RoadNetwork",
    "SitingResult",
    "audit_cost_table",
    "compact",
    "model_county",
    "propose_sites",
    "read_network",
    "read_network_tables",
    "read_points",
    "read_zones",
    "run_audit",
    "write_outputs",
    "write_siting_outputs",
]

__version__ = "0.1.0"
