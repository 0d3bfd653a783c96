"""Site-selection optimisation on a :class:`~coverage.engine.costs.CostTable`.

Models (all take the cost table first, keyword-only options after):

* :func:`solve_lscp` -- cover every coverable demand within a radius at least cost;
* :func:`solve_mclp` -- cover the most demand with ``k`` sites and/or a budget;
* :func:`solve_pmedian` -- minimise total weighted distance with ``p`` sites;
* :func:`solve_consolidation` -- which ``keep`` of the existing homes to keep;
* :func:`solve_pcenter` -- minimise the worst distance with ``p`` sites.

Each returns a :class:`SiteSelection` whose ``status`` is ``"optimal"`` only when
optimality was proven (HiGHS proof, or a bound matching a heuristic value), with the
proven ``best_bound`` and relative ``gap`` otherwise. Side constraints common to all
models (existing/forbidden/candidate sites, zone rules, capacities) are validated by
:func:`build_problem`.
"""

from .lscp import solve_lscp
from .mclp import solve_mclp
from .pcenter import solve_pcenter
from .pmedian import solve_consolidation, solve_pmedian
from .problem import ZONE_RULES, Problem, build_problem
from .result import SiteSelection

__all__ = [
    "ZONE_RULES",
    "Problem",
    "SiteSelection",
    "build_problem",
    "solve_consolidation",
    "solve_lscp",
    "solve_mclp",
    "solve_pcenter",
    "solve_pmedian",
]
