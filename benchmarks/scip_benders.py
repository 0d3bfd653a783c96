"""The MCLP by Benders branch-and-cut in SCIP: an experiment for issue 13, on demand only.

Cordeau, Furini & Ljubić (2019, *Benders decomposition for very large scale partial set
covering and maximal covering location problems*, EJOR 275) project the coverage
variables out of the MCLP and add their Benders cuts lazily inside branch-and-bound.
HiGHS has no lazy-constraint callback, so ``coverage`` cannot do this; SCIP can, through a
constraint handler. This module measures whether that route would prove the 100 k × 10 k
instances that the HiGHS path leaves with a gap (``bench_optimize.py --synthetic --scip``).

The master keeps the site variables ``x`` (``sum x = k``) and one variable ``theta_c``
per cluster ``c`` of demand rows (rows grouped by the Louvain block of their first
covering site). For a master point ``x*`` the cluster's covered weight is
``sum_{i in c} w_i min(1, s_i)`` with ``s = cov @ x*``; when ``theta_c`` exceeds it, the cut

    theta_c <= sum_{i in c, s_i < 1} w_i sum_{j in N_i} x_j + sum_{i in c, s_i >= 1} w_i

holds for every ``x`` in ``[0, 1]`` (each term bounds ``w_i min(1, s_i)``) and is tight at
``x*``. The master starts from cuts of the tool's smoothed LP dual
(:meth:`BendersCuts.dual_cuts`), so its root is at the LP bound at once. The answer is
checked afterwards: its coverage is recomputed from the table.

Measured (README, issue 13): on the draws the HiGHS path leaves open this does not prove
them in 60 s either; it is kept to make that figure repeatable, not used by the package.
``pyscipopt`` is in the test extra only (``pip install -e '.[test]'``, as ``bootstrap.sh``
does).
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.sparse as sp

from coverage.siting.optimize.coverdecomp import partition_sites
from coverage.siting.optimize.reduce import merge_identical_rows
from coverage.siting.optimize.smoothdual import smoothed_dual

#: Separation of fractional master points: least violation, as a share of the cluster's
#: weight, at the root and below it (integer points are always cut at 1e-6).
SEPA_TOL_ROOT = 1e-4
SEPA_TOL_NODE = 1e-2


class BendersCuts:
    """Cut separation for the projected MCLP on merged rows (numpy only, no SCIP)."""

    def __init__(self, cov: sp.csr_matrix, w: np.ndarray, cluster: np.ndarray) -> None:
        self.cov = sp.csr_matrix(cov, dtype=np.float64)
        self.w = np.asarray(w, dtype=np.float64)
        self.cluster = np.asarray(cluster, dtype=np.int64)
        self.n_clusters = int(self.cluster.max()) + 1 if len(self.cluster) else 0
        self.cap = np.bincount(self.cluster, weights=self.w, minlength=self.n_clusters)

    def value(self, x: np.ndarray) -> np.ndarray:
        """Covered weight of every cluster at the master point ``x``."""
        return self._covered(self.cov @ x)

    def _covered(self, s: np.ndarray) -> np.ndarray:
        return np.bincount(self.cluster, weights=self.w * np.minimum(s, 1.0), minlength=self.n_clusters)

    def cuts(
        self, x: np.ndarray, theta: np.ndarray, tol: float = 1e-6
    ) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
        """The cuts ``theta_c - a.x <= const`` that ``(x, theta)`` violates: one per
        cluster, as (cluster, site positions, coefficients, constant). The cut of the module
        notes is the dual cut (:meth:`dual_cuts`) of the multipliers ``w`` on the rows
        ``x`` leaves short of cover and 0 on the others."""
        s = self.cov @ x
        viol = np.flatnonzero(theta > self._covered(s) + tol * np.maximum(1.0, self.cap))
        if len(viol) == 0:
            return []
        return self._aggregate(np.where(s < 1.0 - 1e-9, self.w, 0.0), viol)

    def dual_cuts(self, lam: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
        """One cut per cluster from row multipliers ``0 <= lam <= w`` (a Lagrangian or LP
        dual): ``theta_c <= sum_{i in c} lam_i s_i + (w_i - lam_i)``, valid because
        ``w min(1, s) <= lam s + w - lam`` for ``s >= 0``. With LP-optimal multipliers the
        master starts at the LP bound instead of converging to it cut by cut."""
        lam = np.clip(np.asarray(lam, dtype=np.float64), 0.0, self.w)
        return self._aggregate(lam, np.arange(self.n_clusters))

    def _aggregate(
        self, lam: np.ndarray, clusters: np.ndarray
    ) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
        """The cut ``theta_c <= sum_{i in c} lam_i s_i + (w_i - lam_i)`` of each of
        ``clusters``, from their rows with a multiplier (the others add only to the
        constant)."""
        rows = np.flatnonzero(np.isin(self.cluster, clusters) & (lam > 0))
        agg = sp.csr_matrix(
            (lam[rows], (self.cluster[rows], np.arange(len(rows)))),
            shape=(self.n_clusters, len(rows)),
        )
        a = (agg @ self.cov[rows]).tocsr()
        const = np.bincount(self.cluster, weights=self.w - lam, minlength=self.n_clusters)
        return [
            (int(c), a.indices[a.indptr[c] : a.indptr[c + 1]], a.data[a.indptr[c] : a.indptr[c + 1]], float(const[c]))
            for c in clusters
        ]


def master_model(cov: sp.csr_matrix, w: np.ndarray, *, resolution: float, max_cluster_sites: int) -> tuple:
    """Merged rows, the sites that cover something, and the row clusters."""
    cov = sp.csr_matrix(cov, dtype=bool)
    rows = np.flatnonzero(np.diff(cov.indptr) > 0)
    cov, w = cov[rows], np.asarray(w, dtype=np.float64)[rows]
    keep, _group, wm = merge_identical_rows(cov, w)
    cov = cov[keep]
    sites = np.flatnonzero(np.bincount(cov.indices, minlength=cov.shape[1]) > 0)
    cov = cov[:, sites].tocsr()
    cov.sort_indices()
    label = partition_sites(cov, wm, resolution=resolution, max_sites=max_cluster_sites, max_edges=10**9)
    cluster = np.unique(label[cov.indices[cov.indptr[:-1]]], return_inverse=True)[1]
    return cov, wm, sites, cluster


def _handler(cuts: BendersCuts, x: list, theta: list, counter: dict[str, int]) -> Any:
    from pyscipopt import SCIP_RESULT, Conshdlr, quicksum

    class Handler(Conshdlr):
        def _point(self, sol: Any = None) -> tuple[np.ndarray, np.ndarray]:
            get = self.model.getSolVal
            return np.array([get(sol, v) for v in x]), np.array([get(sol, v) for v in theta])

        def _add(self, found: list, where: str = "start") -> None:
            counter[where] = counter.get(where, 0) + len(found)
            for c, idx, coef, const in found:
                expr = theta[c] - quicksum(float(a) * x[j] for j, a in zip(idx, coef, strict=True))
                self.model.addCons(
                    expr <= const, removable=True, initial=True, separate=False,
                    enforce=False, check=False, propagate=False,
                )  # fmt: skip

        def _enforce(self, tol: float, none: Any, where: str) -> dict:
            found = cuts.cuts(*self._point(), tol)
            if not found:
                return {"result": none}
            self._add(found, where)
            return {"result": SCIP_RESULT.CONSADDED}

        def conscheck(self, constraints, solution, checkintegrality, checklprows, printreason, completely):
            bad = cuts.cuts(*self._point(solution))
            return {"result": SCIP_RESULT.INFEASIBLE if bad else SCIP_RESULT.FEASIBLE}

        def consenfolp(self, constraints, nusefulconss, solinfeasible):
            return self._enforce(1e-6, SCIP_RESULT.FEASIBLE, "lp")

        def consenfops(self, constraints, nusefulconss, solinfeasible, objinfeasible):
            # a pseudo solution (no LP at this node): ask for the LP rather than cut every
            # cluster at a vertex of the box, which SCIP may revisit without end
            if cuts.cuts(*self._point()):
                return {"result": SCIP_RESULT.SOLVELP}
            return {"result": SCIP_RESULT.FEASIBLE}

        def conssepalp(self, constraints, nusefulconss):
            # fractional points: cuts that matter only (below the root, 1 % of a cluster's
            # weight), else SCIP tails off adding near-parallel cuts instead of branching
            root = self.model.getDepth() == 0
            tol = SEPA_TOL_ROOT if root else SEPA_TOL_NODE
            return self._enforce(tol, SCIP_RESULT.DIDNOTFIND, "root" if root else "node")

        def conslock(self, constraint, locktype, nlockspos, nlocksneg):
            return None

    return Handler()


def solve_mclp_benders(
    cov: sp.spmatrix,
    w: np.ndarray,
    k: int,
    time_limit_s: float,
    *,
    start: np.ndarray | None = None,
    resolution: float = 0.5,
    max_cluster_sites: int = 50,
    lp_duals: bool = True,
) -> SimpleNamespace:
    """MCLP ``max sum w_i min(1, sum_{j in N_i} x_j)``, ``sum x = k``, by Benders
    branch-and-cut in SCIP, within ``time_limit_s`` (model building included). ``start``:
    site positions of a known answer, given to SCIP as its first solution. ``lp_duals``:
    seed the master with cuts from the smoothed LP dual (:meth:`BendersCuts.dual_cuts`,
    at most 0.3 of the time). Returns
    ``objective`` (recomputed from ``cov``), ``best_bound``, ``status``, ``selected``."""
    from pyscipopt import SCIP_PARAMSETTING, Model, quicksum

    t0 = time.perf_counter()
    cm, wm, sites, cluster = master_model(cov, w, resolution=resolution, max_cluster_sites=max_cluster_sites)
    cuts = BendersCuts(cm, wm, cluster)
    n = cm.shape[1]
    m = Model()
    m.hideOutput()
    x = [m.addVar(vtype="B", name=f"x{j}") for j in range(n)]
    theta = [m.addVar(lb=0.0, ub=float(cuts.cap[c]), obj=1.0, name=f"t{c}") for c in range(cuts.n_clusters)]
    m.setMaximize()
    m.addCons(quicksum(x) == min(k, n))
    counter: dict[str, int] = {}
    handler = _handler(cuts, x, theta, counter)
    m.includeConshdlr(
        handler, "mclp_benders", "Benders cuts of the MCLP", sepapriority=1_000_000,
        enfopriority=-1, chckpriority=-1, sepafreq=1, needscons=False,
    )  # fmt: skip
    for v in x:  # closing a site can only lose coverage; raising theta can only violate
        m.addVarLocks(v, 1, 0)
    for v in theta:
        m.addVarLocks(v, 0, 1)
    handler._add(cuts.cuts(np.full(n, min(k, n) / max(n, 1)), cuts.cap.copy()))
    if lp_duals:  # the tool's smoothed LP dual: every stage's multipliers, and its primal
        sd = smoothed_dual(cm, wm, min(k, n), np.zeros(n, dtype=bool), deadline=t0 + 0.3 * time_limit_s)
        if sd is not None:
            for lam in sd.stages:
                handler._add(cuts.dual_cuts(lam))
            handler._add(cuts.cuts(np.clip(sd.x, 0.0, 1.0), cuts.cap + 1.0))
    if start is not None:
        xs = np.isin(sites, start).astype(np.float64)
        sol = m.createSol()
        for j in range(n):
            m.setSolVal(sol, x[j], xs[j])
        for c, v in enumerate(cuts.value(xs)):
            m.setSolVal(sol, theta[c], float(v))
        m.addSol(sol)
    m.setPresolve(SCIP_PARAMSETTING.OFF)  # no dual reductions on variables the cuts bind
    m.setParam("limits/time", max(1.0, time_limit_s - (time.perf_counter() - t0)))
    m.optimize()
    if m.getNSols() == 0:
        xs = np.zeros(n, dtype=bool)
    else:
        best = m.getBestSol()
        xs = np.array([m.getSolVal(best, v) for v in x]) > 0.5
    selected = sites[xs]
    covered = np.asarray(sp.csr_matrix(cov, dtype=bool)[:, selected].sum(axis=1)).ravel() > 0
    return SimpleNamespace(
        objective=float(np.asarray(w, dtype=np.float64)[covered].sum()),
        best_bound=float(m.getDualbound()),
        status=m.getStatus(),
        method=f"scip-benders ({cuts.n_clusters} clusters, cuts {counter}, {m.getNNodes()} nodes)",
        n_selected=int(xs.sum()),
        selected=selected,
    )
