"""The seam between networks and decisions: a sparse demand × site cost table.

Network analysis produces a :class:`CostTable`; coverage checks, catchments and every
optimisation model read it, and nothing downstream touches the road graph again.
Entries exist only for pairs within ``cutoff_m`` (network metres); a missing pair means
"farther than the cutoff", never "zero".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..config import DEFAULT_SPEED_MPS
from ..errors import ParameterError

__all__ = ["CostTable"]



def min_over_duplicates(d: np.ndarray, s: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries sorted by (demand, site), one per pair: the smallest cost of its duplicates
    (a point is reached through both ends of its edge). Applying it to parts of the entries
    first, then to all of them, gives the same result."""
    order = np.lexsort((c, s, d))
    d, s, c = d[order], s[order], c[order]
    if len(d):
        first = np.ones(len(d), dtype=bool)
        first[1:] = (d[1:] != d[:-1]) | (s[1:] != s[:-1])
        d, s, c = d[first], s[first], c[first]
    return d, s, c


@dataclass(frozen=True, eq=False)
class CostTable:
    """Network distances between demand points and sites, kept only within a cutoff.

    Attributes
    ----------
    demand_idx, site_idx
        ``int64`` row (demand) and column (site) positions of each entry, sorted by
        demand then site, each pair at most once.
    dist_m
        ``float64`` network distance of each entry, metres (including the off-road
        access walk at both ends when the audit counts it).
    n_demand, n_sites
        Table shape.
    cutoff_m
        Entries exist exactly for pairs with ``dist_m <= cutoff_m``.
    demand_ids, site_ids
        Labels of rows and columns (strings).
    speed_mps
        Walking speed used for :attr:`time_min`.
    """

    demand_idx: np.ndarray
    site_idx: np.ndarray
    dist_m: np.ndarray
    n_demand: int
    n_sites: int
    cutoff_m: float
    demand_ids: np.ndarray
    site_ids: np.ndarray
    speed_mps: float = DEFAULT_SPEED_MPS

    units = "metres (network distance); time_min at speed_mps"

    def __post_init__(self) -> None:
        if not (len(self.demand_idx) == len(self.site_idx) == len(self.dist_m)):
            raise ParameterError("CostTable: demand_idx, site_idx and dist_m differ in length")
        if len(self.demand_ids) != self.n_demand or len(self.site_ids) != self.n_sites:
            raise ParameterError("CostTable: ids do not match the table shape")

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_entries(
        cls,
        demand_idx: np.ndarray,
        site_idx: np.ndarray,
        dist_m: np.ndarray,
        *,
        n_demand: int,
        n_sites: int,
        cutoff_m: float,
        demand_ids: Sequence[str] | np.ndarray | None = None,
        site_ids: Sequence[str] | np.ndarray | None = None,
    ) -> CostTable:
        """Build a table from unsorted entries: keep ``dist <= cutoff``, min over duplicates
        (walking times at :data:`~coverage.config.DEFAULT_SPEED_MPS`; see :meth:`labelled`)."""
        d = np.asarray(demand_idx, dtype=np.int64)
        s = np.asarray(site_idx, dtype=np.int64)
        c = np.asarray(dist_m, dtype=np.float64)
        keep = np.isfinite(c) & (c <= cutoff_m)
        if not keep.all():  # (no copies when every entry is within the cutoff)
            d, s, c = d[keep], s[keep], c[keep]
        if len(d) and (d.min() < 0 or d.max() >= n_demand or s.min() < 0 or s.max() >= n_sites):
            raise ParameterError("CostTable: an index is outside the table shape")
        d, s, c = min_over_duplicates(d, s, c)
        return cls(
            demand_idx=d,
            site_idx=s,
            dist_m=c,
            n_demand=int(n_demand),
            n_sites=int(n_sites),
            cutoff_m=float(cutoff_m),
            demand_ids=_ids(demand_ids, n_demand, "d"),
            site_ids=_ids(site_ids, n_sites, "s"),
        )

    @classmethod
    def from_dense(
        cls,
        matrix: np.ndarray,
        *,
        cutoff_m: float = np.inf,
        demand_ids: Sequence[str] | None = None,
        site_ids: Sequence[str] | None = None,
        speed_mps: float = DEFAULT_SPEED_MPS,
    ) -> CostTable:
        """Build a table from a dense demand × site matrix (``inf`` = unreachable)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2:
            raise ParameterError("CostTable.from_dense: matrix must be 2-D")
        rows, cols = np.nonzero(np.isfinite(m) & (m <= cutoff_m))
        return cls.from_entries(
            rows,
            cols,
            m[rows, cols],
            n_demand=m.shape[0],
            n_sites=m.shape[1],
            cutoff_m=cutoff_m,
            demand_ids=demand_ids,
            site_ids=site_ids,
        ).labelled(speed_mps=speed_mps)

    def labelled(
        self,
        *,
        demand_ids: Sequence[str] | np.ndarray | None = None,
        site_ids: Sequence[str] | np.ndarray | None = None,
        speed_mps: float | None = None,
    ) -> CostTable:
        """The same entries with the rows and/or columns named and/or another walking
        speed for :attr:`time_min` (what is not given stays)."""
        return replace(
            self,
            demand_ids=self.demand_ids if demand_ids is None else _ids(demand_ids, self.n_demand, "d"),
            site_ids=self.site_ids if site_ids is None else _ids(site_ids, self.n_sites, "s"),
            speed_mps=self.speed_mps if speed_mps is None else float(speed_mps),
        )

    # ------------------------------------------------------------------ views
    @property
    def nnz(self) -> int:
        """Number of stored pairs."""
        return len(self.dist_m)

    @property
    def time_min(self) -> np.ndarray:
        """Walking time of each entry, minutes."""
        return self.dist_m / self.speed_mps / 60.0

    def within(self, limit_m: float) -> CostTable:
        """The sub-table of pairs with ``dist_m <= limit_m`` (``limit_m <= cutoff_m``)."""
        if limit_m > self.cutoff_m + 1e-9:
            raise ParameterError(
                f"CostTable.within: limit {limit_m} m exceeds the table cutoff "
                f"{self.cutoff_m} m; rebuild the table with a larger cutoff"
            )
        return replace(self._pairs(self.dist_m <= limit_m), cutoff_m=float(limit_m))

    def without(self, *, demand: np.ndarray | None = None, sites: np.ndarray | None = None) -> CostTable:
        """The table with every pair of the masked demand rows / sites removed (the rows and
        columns stay, with no entries: e.g. points too far from any road to be served)."""
        keep = np.ones(self.nnz, dtype=bool)
        if demand is not None:
            keep &= ~np.asarray(demand, dtype=bool)[self.demand_idx]
        if sites is not None:
            keep &= ~np.asarray(sites, dtype=bool)[self.site_idx]
        return self if keep.all() else self._pairs(keep)

    def _pairs(self, keep: np.ndarray) -> CostTable:
        """The same table with only the entries where ``keep`` is True."""
        return replace(self, demand_idx=self.demand_idx[keep], site_idx=self.site_idx[keep], dist_m=self.dist_m[keep])

    def coverage_matrix(self, limit_m: float | None = None) -> sp.csr_matrix:
        """Boolean demand × site CSR matrix: True where ``dist_m <= limit_m``."""
        t = self if limit_m is None else self.within(limit_m)
        data = np.ones(t.nnz, dtype=bool)
        return sp.csr_matrix(
            (data, (t.demand_idx, t.site_idx)), shape=(t.n_demand, t.n_sites), dtype=bool
        )

    def distance_matrix(self) -> sp.csr_matrix:
        """Distances as a CSR matrix. Zero distances are stored explicitly; use
        ``coverage_matrix`` for the pattern, never the sparsity of this one."""
        m = sp.csr_matrix(
            (self.dist_m, (self.demand_idx, self.site_idx)), shape=(self.n_demand, self.n_sites)
        )
        return m

    def nearest(self) -> tuple[np.ndarray, np.ndarray]:
        """Per demand row: the nearest site position (-1 if none) and its distance (inf)."""
        site = np.full(self.n_demand, -1, dtype=np.int64)
        dist = np.full(self.n_demand, np.inf)
        if self.nnz:
            order = np.lexsort((self.site_idx, self.dist_m, self.demand_idx))
            d = self.demand_idx[order]
            first = np.ones(len(d), dtype=bool)
            first[1:] = d[1:] != d[:-1]
            sel = order[first]
            site[self.demand_idx[sel]] = self.site_idx[sel]
            dist[self.demand_idx[sel]] = self.dist_m[sel]
        return site, dist

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``demand_id, site_id, dist_m, time_min``."""
        return pd.DataFrame(
            {
                "demand_id": self.demand_ids[self.demand_idx],
                "site_id": self.site_ids[self.site_idx],
                "dist_m": self.dist_m,
                "time_min": self.time_min,
            }
        )


def _ids(ids: Sequence[str] | np.ndarray | None, n: int, prefix: str) -> np.ndarray:
    if ids is None:
        return np.array([f"{prefix}{i}" for i in range(n)], dtype=object)
    arr = np.asarray(ids, dtype=object)
    if len(arr) != n:
        raise ParameterError(f"CostTable: got {len(arr)} ids for {n} rows/columns")
    return arr.astype(str).astype(object)
