"""Validated input shared by every site-selection model.

A :class:`Problem` bundles the :class:`~coverage.engine.costs.CostTable` (the only geometric
input) with the decision data every model understands: demand weights, site costs,
sites that must stay open (``existing``), sites that may not be opened (``forbidden`` /
``candidates``), zone rules and site capacities. It is built once by
:func:`build_problem` from the problem fields of a
:class:`~coverage.siting.optimize.options.SolveOptions`, which checks lengths, ranges and obvious contradictions and
raises :class:`~coverage.errors.ParameterError` (bad input) or
:class:`~coverage.errors.InfeasibleError` (input that can never be satisfied) with a
message naming the offending site, zone or parameter.

Sites can be given in three ways wherever a set of sites is expected: a boolean mask
of length ``n_sites``, an array of integer site *positions*, or an array of site *ids*
(strings, matched against ``costs.site_ids``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...engine.costs import CostTable
from ...errors import InfeasibleError, ParameterError
from .options import SiteSpec, SolveOptions, ZoneRule

__all__ = ["ZONE_RULES", "Problem", "build_problem", "site_mask"]

logger = logging.getLogger(__name__)

#: Named zone rules and the (min, max) number of open sites per zone they mean.
ZONE_RULES: dict[str, tuple[int, float]] = {
    "at_most_one": (0, 1),
    "at_least_one": (1, np.inf),
    "exactly_one": (1, 1),
}


@dataclass(frozen=True, eq=False)
class Problem:
    """A validated site-selection input.

    Attributes
    ----------
    costs
        The demand × site cost table.
    weights
        ``float64`` demand weights (people, beds needed...), ``>= 0``.
    site_cost
        ``float64`` cost of opening each site, ``>= 0`` (default 1 per site).
    required
        Boolean mask of sites that must be open (existing facilities).
    allowed
        Boolean mask of sites that may be open (candidates, not forbidden); contains
        ``required``.
    zone
        ``int64`` zone position of each site, ``-1`` for sites in no zone.
    zone_labels
        Label of each zone position (sorted).
    zone_min, zone_max
        Minimum and maximum number of open sites per zone (``zone_max`` may be ``inf``).
    capacity
        ``float64`` capacity of each site in units of demand weight (``inf`` =
        uncapacitated), or ``None`` when no capacities are given.
    """

    costs: CostTable
    weights: np.ndarray
    site_cost: np.ndarray
    required: np.ndarray
    allowed: np.ndarray
    zone: np.ndarray
    zone_labels: np.ndarray
    zone_min: np.ndarray
    zone_max: np.ndarray
    capacity: np.ndarray | None = None

    @property
    def n_demand(self) -> int:
        """Number of demand rows."""
        return self.costs.n_demand

    @property
    def n_sites(self) -> int:
        """Number of candidate columns."""
        return self.costs.n_sites

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return len(self.zone_labels)

    def mask_of(self, positions: np.ndarray) -> np.ndarray:
        """Boolean site mask that is True at the given site positions."""
        mask = np.zeros(self.n_sites, dtype=bool)
        mask[positions] = True
        return mask

    def check_count(self, lo: int, hi: float, *, what: str) -> None:
        """Check that between ``lo`` and ``hi`` open sites can satisfy every rule.

        Raises
        ------
        ParameterError
            ``lo`` exceeds the number of allowed sites.
        InfeasibleError
            The existing sites or the zone minimums already exceed ``hi``, or the zone
            maximums cannot reach ``lo``.
        """
        n_allowed = int(self.allowed.sum())
        n_req = int(self.required.sum())
        if lo > n_allowed:
            raise ParameterError(
                f"{what} asks for {lo} sites but only {n_allowed} candidate sites are "
                f"allowed (of {self.n_sites}; forbidden/non-candidate sites excluded). "
                f"Lower {what} or allow more candidates."
            )
        if n_req > hi:
            raise InfeasibleError(
                f"{n_req} existing (required) sites already exceed {what}={hi:g}; "
                "raise it or pass fewer existing sites"
            )
        if self.n_zones:
            need = int(self.zone_min.sum()) + int(np.sum(self.required & (self.zone < 0)))
            if need > hi:
                raise InfeasibleError(
                    f"the zone minimums and the existing sites need at least {need} open "
                    f"sites but {what}={hi:g}"
                )
            cap_zone = np.minimum(
                self.zone_max,
                np.bincount(self.zone[self.allowed & (self.zone >= 0)], minlength=self.n_zones),
            )
            reach = float(cap_zone.sum()) + int(np.sum(self.allowed & (self.zone < 0)))
            if reach < lo:
                raise InfeasibleError(
                    f"the zone maximums allow at most {reach:g} open sites but {what}={lo}"
                )

    def site_rows(
        self,
        cols: np.ndarray,
        *,
        card: tuple[float, float] | None = None,
        budget: float | None = None,
        extra: int = 0,
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Constraint rows on the site variables ``x[cols]`` (zones, cardinality, budget).

        Parameters
        ----------
        cols
            Original site positions of the model's site variables, in variable order.
        card
            ``(lo, hi)`` bounds on the number of open sites, or ``None``.
        budget
            Upper bound on ``sum(site_cost * x)``, or ``None``.
        extra
            Number of further model variables after the site variables (zero columns
            appended, so the rows stack under the rest of the model).

        Returns
        -------
        A, lo, hi
            CSR matrix with ``len(cols) + extra`` columns and the row bounds.
        """
        cols = np.asarray(cols, dtype=np.int64)
        m = len(cols)
        blocks: list[sp.csr_matrix] = []
        lo: list[np.ndarray] = []
        hi: list[np.ndarray] = []
        if self.n_zones:
            z = self.zone[cols]
            inz = z >= 0
            zm = sp.csr_matrix(
                (np.ones(int(inz.sum())), (z[inz], np.flatnonzero(inz))),
                shape=(self.n_zones, m),
            )
            binding = (self.zone_min > 0) | np.isfinite(self.zone_max)
            blocks.append(zm[np.flatnonzero(binding)])
            lo.append(self.zone_min[binding].astype(float))
            hi.append(self.zone_max[binding].astype(float))
        if card is not None:
            blocks.append(sp.csr_matrix(np.ones((1, m))))
            lo.append(np.array([float(card[0])]))
            hi.append(np.array([float(card[1])]))
        if budget is not None:
            blocks.append(sp.csr_matrix(self.site_cost[cols][None, :]))
            lo.append(np.array([-np.inf]))
            hi.append(np.array([float(budget)]))
        if not blocks:
            return sp.csr_matrix((0, m + extra)), np.zeros(0), np.zeros(0)
        a = sp.vstack(blocks, format="csr")
        if extra:
            a = sp.hstack([a, sp.csr_matrix((a.shape[0], extra))], format="csr")
        return a, np.concatenate(lo), np.concatenate(hi)

    def zone_feasible_set(self, open_mask: np.ndarray) -> list[str]:
        """Zone rules violated by the open sites in ``open_mask`` (empty list = none)."""
        if not self.n_zones:
            return []
        cnt = np.bincount(self.zone[open_mask & (self.zone >= 0)], minlength=self.n_zones)
        bad = np.flatnonzero((cnt < self.zone_min) | (cnt > self.zone_max))
        return [
            f"zone {self.zone_labels[z]!r} has {cnt[z]} open sites "
            f"(allowed {self.zone_min[z]}..{self.zone_max[z]:g})"
            for z in bad
        ]


def site_mask(costs: CostTable, value: SiteSpec | None, name: str) -> np.ndarray:
    """Turn a site specification (mask, positions or ids) into a boolean mask.

    Raises
    ------
    ParameterError
        Wrong mask length, a position out of range, or an unknown site id.
    """
    n = costs.n_sites
    mask = np.zeros(n, dtype=bool)
    if value is None:
        return mask
    arr = np.asarray(value)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        return mask
    if arr.dtype == bool:
        if len(arr) != n:
            raise ParameterError(
                f"{name}: boolean mask has length {len(arr)} but there are {n} sites"
            )
        return arr.copy()
    if arr.dtype.kind in "iu":
        bad = arr[(arr < 0) | (arr >= n)]
        if len(bad):
            raise ParameterError(
                f"{name}: site positions {bad[:5].tolist()} are outside 0..{n - 1}; "
                "pass site positions (integers) or site ids (strings)"
            )
        mask[arr.astype(np.int64)] = True
        return mask
    ids = pd.Index(costs.site_ids.astype(str))
    pos = ids.get_indexer(arr.astype(str))
    if np.any(pos < 0):
        unknown = arr[pos < 0][:5].tolist()
        raise ParameterError(f"{name}: unknown site ids {unknown}; use ids from costs.site_ids")
    mask[pos] = True
    return mask


def _vector(
    value: Any, n: int, name: str, *, default: float, allow_inf: bool = False
) -> np.ndarray:
    if value is None:
        return np.full(n, float(default))
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if np.isscalar(value):
        arr = np.full(n, arr[0])
    if len(arr) != n:
        raise ParameterError(f"{name}: got {len(arr)} values for {n} rows/columns")
    bad = np.isnan(arr) | (arr < 0) | (~np.isfinite(arr) if not allow_inf else False)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(
            f"{name}: value {arr[i]!r} at position {i} is not a finite number >= 0"
        )
    return arr


def _named_rule(rule: str, nz: int) -> tuple[np.ndarray, np.ndarray]:
    if rule not in ZONE_RULES:
        raise ParameterError(
            f"zone_rule {rule!r} unknown; use one of {sorted(ZONE_RULES)}, "
            "{zone: (min, max)} or (mins, maxs)"
        )
    lo, hi = ZONE_RULES[rule]
    return np.full(nz, lo, dtype=np.int64), np.full(nz, hi, dtype=np.float64)


def _mapping_rule(rule: Mapping[Any, Any], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zmin = np.zeros(len(labels), dtype=np.int64)
    zmax = np.full(len(labels), np.inf)
    pos = {lab: i for i, lab in enumerate(labels)}
    for lab, bounds in rule.items():
        if lab not in pos:
            raise ParameterError(f"zone_rule: zone {lab!r} does not occur in zone_of_site")
        if not (isinstance(bounds, tuple | list) and len(bounds) == 2):
            raise ParameterError(f"zone_rule[{lab!r}] must be a (min, max) pair")
        zmin[pos[lab]] = 0 if bounds[0] is None else int(bounds[0])
        zmax[pos[lab]] = np.inf if bounds[1] is None else float(bounds[1])
    return zmin, zmax


def _array_rule(rule: tuple[Any, Any], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nz = len(labels)
    zmin = np.asarray(
        [0 if v is None else v for v in np.asarray(rule[0], dtype=object)], dtype=float
    )
    zmax = np.asarray(
        [np.inf if v is None else v for v in np.asarray(rule[1], dtype=object)], dtype=float
    )
    if len(zmin) != nz or len(zmax) != nz:
        raise ParameterError(
            f"zone_rule (mins, maxs): need {nz} values each, aligned to the sorted zone "
            f"labels {labels[:5].tolist()}..."
        )
    if np.any(np.isnan(zmin)) or np.any(zmin != np.floor(zmin)):
        raise ParameterError("zone_rule mins must be whole numbers")
    return zmin.astype(np.int64), zmax


def _rule_bounds(zone_rule: ZoneRule | None, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-zone (min, max) open sites of a rule given in any of its three forms."""
    if zone_rule is None:
        raise ParameterError(
            "zone_of_site given without zone_rule; pass 'at_most_one', 'at_least_one', "
            "'exactly_one', {zone: (min, max)} or (mins, maxs)"
        )
    if isinstance(zone_rule, str):
        zmin, zmax = _named_rule(zone_rule, len(labels))
    elif isinstance(zone_rule, Mapping):
        zmin, zmax = _mapping_rule(zone_rule, labels)
    elif isinstance(zone_rule, tuple) and len(zone_rule) == 2:
        zmin, zmax = _array_rule(zone_rule, labels)
    else:
        raise ParameterError(
            "zone_rule must be a rule name, a {zone: (min, max)} mapping or a (mins, maxs) pair"
        )
    if np.any(zmin < 0) or np.any(zmax < zmin):
        z = int(np.flatnonzero((zmin < 0) | (zmax < zmin))[0])
        raise ParameterError(
            f"zone_rule: zone {labels[z]!r} has min {zmin[z]} > max {zmax[z]:g} or min < 0"
        )
    return zmin, zmax


def _zones(
    costs: CostTable, zone_of_site: Any, zone_rule: ZoneRule | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = costs.n_sites
    if zone_of_site is None:
        if zone_rule is not None:
            raise ParameterError("zone_rule given without zone_of_site; pass both")
        return (
            np.full(n, -1, dtype=np.int64),
            np.array([], dtype=object),
            np.zeros(0, np.int64),
            np.zeros(0),
        )
    labels_in = pd.Series(np.asarray(zone_of_site, dtype=object).reshape(-1))
    if len(labels_in) != n:
        raise ParameterError(f"zone_of_site: got {len(labels_in)} labels for {n} sites")
    codes, uniques = pd.factorize(labels_in, sort=True, use_na_sentinel=True)
    labels = np.asarray(uniques, dtype=object)
    zmin, zmax = _rule_bounds(zone_rule, labels)
    return codes.astype(np.int64), labels, zmin, zmax


def _check_zones_reachable(prob: Problem) -> None:
    """Every zone minimum has enough allowed sites and no zone has too many existing ones."""
    labels, zone = prob.zone_labels, prob.zone
    n_allowed = np.bincount(zone[prob.allowed & (zone >= 0)], minlength=len(labels))
    n_req = np.bincount(zone[prob.required & (zone >= 0)], minlength=len(labels))
    short = np.flatnonzero(n_allowed < prob.zone_min)
    if len(short):
        z = int(short[0])
        raise InfeasibleError(
            f"zone {labels[z]!r} has {n_allowed[z]} allowed candidate sites but its "
            f"rule needs at least {prob.zone_min[z]} open; add candidates to the zone or relax "
            f"zone_rule ({len(short)} zone(s) affected: "
            f"{[str(labels[i]) for i in short[:5]]})"
        )
    over = np.flatnonzero(n_req > prob.zone_max)
    if len(over):
        z = int(over[0])
        raise InfeasibleError(
            f"zone {labels[z]!r} has {n_req[z]} existing (required) sites but its "
            f"rule allows at most {prob.zone_max[z]:g}. Fix: relax zone_rule for that zone, or "
            "do not count all of its existing sites"
        )


def build_problem(
    costs: CostTable, options: SolveOptions | None = None, **option_overrides: Any
) -> Problem:
    """Validate the shared inputs of the site-selection models.

    Parameters
    ----------
    costs
        Demand × site cost table.
    options
        The problem fields of a :class:`~coverage.siting.optimize.options.SolveOptions`
        are used (its solver settings are not):

        ``weights``
            Demand weights (default 1 each), finite and ``>= 0``.
        ``site_cost``
            Cost of opening each site (default 1 each), finite and ``>= 0``.
        ``existing``
            Sites that must be open (mask, positions or ids).
        ``forbidden``
            Sites that may not be opened.
        ``candidates``
            If given, only these sites (plus ``existing``) may be opened.
        ``zone_of_site``
            Zone label of each site (``None``/NaN = no zone).
        ``zone_rule``
            ``"at_most_one"``, ``"at_least_one"``, ``"exactly_one"`` (for every zone),
            a mapping ``{zone: (min, max)}`` (``None`` = unbounded; zones not listed are
            free) or a pair ``(mins, maxs)`` aligned with the sorted zone labels.
        ``capacity``
            Site capacities in demand-weight units (``inf`` allowed), or ``None``.
    **option_overrides
        Any field of ``options`` by name (e.g. ``weights=w, existing=[0]``).

    Returns
    -------
    Problem

    Raises
    ------
    ParameterError
        Malformed input, or a site both existing and forbidden.
    InfeasibleError
        A zone cannot meet its rule (e.g. ``exactly_one`` in a zone with no allowed
        candidate, or more existing sites in a zone than its maximum).
    """
    opts = SolveOptions.resolve(options, option_overrides, caller="build_problem")
    if not isinstance(costs, CostTable):
        raise ParameterError(f"costs must be a CostTable, got {type(costs).__name__}")
    w = _vector(opts.weights, costs.n_demand, "weights", default=1.0)
    c = _vector(opts.site_cost, costs.n_sites, "site_cost", default=1.0)
    req = site_mask(costs, opts.existing, "existing")
    forb = site_mask(costs, opts.forbidden, "forbidden")
    clash = req & forb
    if clash.any():
        ids = costs.site_ids[clash][:5].tolist()
        raise ParameterError(f"sites {ids} are both existing (required) and forbidden")
    allowed = ~forb
    if opts.candidates is not None:
        allowed &= site_mask(costs, opts.candidates, "candidates") | req
    cap = (
        None
        if opts.capacity is None
        else _vector(opts.capacity, costs.n_sites, "capacity", default=np.inf, allow_inf=True)
    )
    zone, labels, zmin, zmax = _zones(costs, opts.zone_of_site, opts.zone_rule)
    prob = Problem(
        costs=costs,
        weights=w,
        site_cost=c,
        required=req,
        allowed=allowed,
        zone=zone,
        zone_labels=labels,
        zone_min=zmin,
        zone_max=zmax,
        capacity=cap,
    )
    if len(labels):
        _check_zones_reachable(prob)
    logger.debug(
        "problem: %d demand, %d sites (%d allowed, %d required), %d zones",
        prob.n_demand,
        prob.n_sites,
        int(allowed.sum()),
        int(req.sum()),
        len(labels),
    )
    return prob
