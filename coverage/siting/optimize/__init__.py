"""Site-selection optimisation on a :class:`~coverage.engine.costs.CostTable`.

Models (each takes the cost table first, its own arguments, then the shared
``options=`` :class:`SolveOptions` or the same names as keywords):

* :func:`solve_lscp` -- cover every coverable demand within a radius at least cost;
* :func:`solve_mclp` -- cover the most demand with ``k`` sites and/or a budget;
* :func:`solve_pmedian` -- minimise total weighted distance with ``p`` sites;
* :func:`solve_consolidation` -- which ``keep`` of the existing homes to keep;
* :func:`solve_pcenter` -- minimise the worst distance with ``p`` sites.

Each returns a :class:`SiteSelection` whose ``status`` is :data:`STATUS_OPTIMAL` only
when optimality was proven (HiGHS proof, or a bound matching a heuristic value), with the
proven ``best_bound`` and relative ``gap`` otherwise. Side constraints common to all
models (existing/forbidden/candidate sites, zone rules, capacities) are validated by
:func:`build_problem`.

Rooms: :mod:`~.options` (shared options, methods, statuses), :mod:`~.problem` (validated
input), :mod:`~.base` (the opening and closing every model shares), one module per model
(:mod:`~.lscp`, :mod:`~.mclp`, :mod:`~.pmedian`, :mod:`~.pcenter`,
:mod:`~.capacitated`), and their tools (:mod:`~.reduce`, :mod:`~.heuristics`,
:mod:`~.highs`, :mod:`~.result`, :mod:`~.instances`, and for city-scale proofs
:mod:`~.lagbranch`, :mod:`~.coverdecomp`, :mod:`~.smoothdual`).
"""

from .lscp import solve_lscp
from .mclp import solve_mclp
from .options import (
    STATUS_GAP_LIMIT,
    STATUS_HEURISTIC,
    STATUS_OPTIMAL,
    STATUS_TIME_LIMIT,
    STATUSES,
    SolveOptions,
)
from .pcenter import solve_pcenter
from .pmedian import solve_consolidation, solve_pmedian
from .problem import ZONE_RULES, Problem, build_problem
from .result import SiteSelection

__all__ = [
    "STATUSES",
    "STATUS_GAP_LIMIT",
    "STATUS_HEURISTIC",
    "STATUS_OPTIMAL",
    "STATUS_TIME_LIMIT",
    "ZONE_RULES",
    "Problem",
    "SiteSelection",
    "SolveOptions",
    "build_problem",
    "solve_consolidation",
    "solve_lscp",
    "solve_mclp",
    "solve_pcenter",
    "solve_pmedian",
]
