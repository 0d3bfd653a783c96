"""The options every site-selection model shares, and the words for methods and statuses.

:class:`SolveOptions` is one frozen, validated record of what the models have in common:
the problem data beyond the cost table (demand weights, site costs, existing / forbidden /
candidate sites, zone rules, capacities) and the solver settings (method, time limit, MIP
gap, threads, seed, heuristic starts, reductions). Every ``solve_*`` function takes it as
``options=`` next to its own arguments, and still accepts the same names as keywords::

    opts = SolveOptions(weights=w, existing=["s0"], method="exact", time_limit_s=30)
    solve_mclp(table, k=5, radius_m=800, options=opts)
    solve_pmedian(table, p=5, options=opts)
    solve_pmedian(table, p=5, options=opts, seed=7)   # keyword overrides the record
    solve_pmedian(table, p=5, weights=w, method="exact")   # keywords alone

The table-dependent fields (weights, sites, zones, capacities) are checked against the
table by :func:`~coverage.siting.optimize.problem.build_problem`; the scalars are checked
here, when the record is made.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ParameterError

__all__ = [
    "METHODS",
    "METHOD_AUTO",
    "METHOD_EXACT",
    "METHOD_HEURISTIC",
    "METHOD_MILP",
    "METHOD_SEARCH",
    "STATUSES",
    "STATUS_GAP_LIMIT",
    "STATUS_HEURISTIC",
    "STATUS_OPTIMAL",
    "STATUS_TIME_LIMIT",
    "SiteSpec",
    "SolveOptions",
    "UnknownOptionError",
    "ZoneRule",
]

#: A set of sites: boolean mask, integer positions or string ids.
SiteSpec = np.ndarray | Sequence[int] | Sequence[str] | Sequence[bool]
#: A zone rule: a named rule, ``{zone: (min, max)}`` or ``(mins, maxs)`` arrays.
ZoneRule = str | Mapping[Any, tuple[Any, Any]] | tuple[Sequence[Any], Sequence[Any]]

#: Optimality was proven (solver proof, or a bound equal to the heuristic value).
STATUS_OPTIMAL = "optimal"
#: The exact solver stopped at its time (or other work) limit with an incumbent.
STATUS_TIME_LIMIT = "time_limit"
#: HiGHS stopped at the user's positive ``mip_rel_gap``: a good answer, not a proof.
STATUS_GAP_LIMIT = "gap_limit"
#: A heuristic answer whose bound does not meet it.
STATUS_HEURISTIC = "heuristic"
STATUSES = (STATUS_OPTIMAL, STATUS_TIME_LIMIT, STATUS_GAP_LIMIT, STATUS_HEURISTIC)

METHOD_AUTO = "auto"
METHOD_EXACT = "exact"
METHOD_HEURISTIC = "heuristic"
#: p-center only: binary search over the table distances with exact covering tests.
METHOD_SEARCH = "search"
#: p-center only: the assignment MILP.
METHOD_MILP = "milp"
METHODS = (METHOD_AUTO, METHOD_EXACT, METHOD_HEURISTIC, METHOD_SEARCH, METHOD_MILP)



class UnknownOptionError(ParameterError, TypeError):
    """A keyword that is neither a model argument nor a :class:`SolveOptions` field."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


@dataclass(frozen=True, eq=False)
class SolveOptions:
    """What every site-selection model shares: problem data and solver settings.

    Attributes
    ----------
    weights
        Demand weights (default 1 each), finite and ``>= 0``; rows of weight 0 are ignored.
    site_cost
        Cost of opening each site (default 1 each): the LSCP objective and the MCLP
        budget. p-median and p-center have no use for it and refuse it.
    existing
        Sites that must be open (mask, positions or ids).
    forbidden
        Sites that may not be opened.
    candidates
        If given, only these sites (plus ``existing``) may be opened.
    zone_of_site, zone_rule
        Zone label of each site and the rule per zone (see
        :func:`~coverage.siting.optimize.problem.build_problem`).
    capacity
        Site capacities in demand-weight units (LSCP, MCLP, p-median; solved exactly).
    single_source
        With capacities: each demand served by one site (default) or split.
    method
        ``"auto"``, ``"exact"`` or ``"heuristic"`` (every model); p-center also takes
        ``"search"`` and ``"milp"``.
    time_limit_s
        Time limit of the whole call, seconds (``> 0``; ``inf`` = none).
    mip_rel_gap
        HiGHS ``mip_rel_gap`` (``>= 0``); 0 asks for a proof of optimality.
    threads
        HiGHS threads (``>= 1``).
    seed
        HiGHS ``random_seed`` and the heuristics' seed (``>= 0``).
    n_starts
        Heuristic starts of MCLP and p-median (``>= 1``).
    reduce
        Apply the covering-model reductions of LSCP and MCLP (default True).
    """

    weights: Any = None
    site_cost: Any = None
    existing: SiteSpec | None = None
    forbidden: SiteSpec | None = None
    candidates: SiteSpec | None = None
    zone_of_site: Any = None
    zone_rule: ZoneRule | None = None
    capacity: Any = None
    single_source: bool = True
    method: str = METHOD_AUTO
    time_limit_s: float = 60.0
    mip_rel_gap: float = 0.0
    threads: int = 1
    seed: int = 0
    n_starts: int = 16
    reduce: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ParameterError(
                f"method (--method) must be 'auto', 'exact' or 'heuristic' (p-center also "
                f"'search' or 'milp'), got {self.method!r}"
            )
        t = self.time_limit_s
        if not _is_number(t) or math.isnan(t) or t <= 0:
            raise ParameterError(f"time_limit_s (--time-limit) must be a number > 0, got {t!r}")
        g = self.mip_rel_gap
        if not _is_number(g) or not math.isfinite(g) or g < 0:
            raise ParameterError(f"mip_rel_gap must be a finite number >= 0, got {g!r}")
        for name, low in (("threads", 1), ("seed", 0), ("n_starts", 1)):
            v = getattr(self, name)
            if not _is_int(v) or v < low:
                raise ParameterError(f"{name} must be an integer >= {low}, got {v!r}")
        for name in ("single_source", "reduce"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ParameterError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @classmethod
    def resolve(
        cls, options: SolveOptions | None, overrides: Mapping[str, Any], *, caller: str
    ) -> SolveOptions:
        """``options`` (default: all defaults) with the keyword ``overrides`` applied.

        Raises
        ------
        UnknownOptionError
            A keyword that is no field (a :class:`ParameterError` and a ``TypeError``).
        ParameterError
            ``options`` of the wrong type, or a value out of range.
        """
        if options is not None and not isinstance(options, SolveOptions):
            raise ParameterError(
                f"{caller}: options must be a SolveOptions, got {type(options).__name__}"
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            hints = {u: difflib.get_close_matches(u, names, n=1) for u in unknown}
            said = ", ".join(f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for u, h in hints.items())
            raise UnknownOptionError(
                f"{caller}() got unknown option(s) {said}; the shared options are {names}"
            )
        base = options if options is not None else cls()
        return dataclasses.replace(base, **overrides) if overrides else base

    def is_set(self, name: str) -> bool:
        """Whether field ``name`` differs from its default."""
        default = next(f.default for f in dataclasses.fields(self) if f.name == name)
        value = getattr(self, name)
        return value is not None if default is None else bool(value != default)
