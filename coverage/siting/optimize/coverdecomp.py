"""A stronger MCLP bound at city scale: Lagrangian decomposition into blocks of sites.

At 100,000 homes × 10,000 candidate sites (issue 13) the LP relaxation of the MCLP is
0.1 % above the best solution known, HiGHS needs half a minute for its root LP on what the
Lagrangian fixing leaves, and the LP-dual reduced costs are far too small to fix sites
*open* (measured: of the incumbent's 100 sites, forcing any one out lowers the Lagrangian
value by at most 32, and re-solving the LP with the site out fixes 2 of them, while the
gap is 1,277). This module tightens the bound instead, by solving many small integer
problems exactly where the LP mixes sites fractionally.

The bound
---------
Maximise ``sum_i w_i z_i`` s.t. ``z_i <= sum_{j in N_i} x_j``, ``z_i <= 1``,
``sum_j x_j <= k``, ``x`` binary, required sites ``x_j = 1`` (zone rules are dropped: a
relaxation). Split the sites into blocks ``B_1 .. B_r``. A row whose sites all lie in block
``b`` is *inside* ``b`` (the set ``I_b``); the other rows are *cross* rows ``C``. For any
multipliers ``0 <= lambda_i <= w_i`` (``i`` in ``C``) and ``mu >= 0``, and any feasible
``(x, z)``:

* ``w_i z_i <= (w_i - lambda_i) + lambda_i sum_{j in N_i} x_j`` for ``i`` in ``C``
  (``z_i <= 1`` and ``z_i <= sum x``),
* ``0 <= mu (k - sum_j x_j)``,

so, with ``rho^C_j = sum_{i in C, j in N_i} lambda_i``,

.. math::

    \\sum_i w_i z_i \\le k\\mu + \\sum_{i \\in C} (w_i - \\lambda_i)
    + \\sum_b g_b, \\qquad
    g_b = \\max_{x_b \\in \\{0,1\\}^{B_b}} \\sum_{i \\in I_b} w_i \\min(1, \\sum_{j \\in N_i} x_j)
    + \\sum_{j \\in B_b} (\\rho^C_j - \\mu) x_j .

Each ``g_b`` is a small MILP (HiGHS, with the required sites at 1); any upper bound on it
keeps the bound valid: HiGHS' dual bound when it stops at a limit, or the LP-dual value
``sum_{I_b} (w_i - lambda_i) + sum_{j in B_b} max(0, rho_j - mu)`` (``rho_j`` over every
row; required sites count ``rho_j - mu``) when the time is up, whichever is smaller. With
``lambda`` the LP duals and one block per site the bound is the Lagrangian (LP) value; with
larger blocks the integrality inside each block is enforced, so the bound can only drop
below the LP bound (Guignard & Kim 1987, Lagrangean decomposition; here the decomposition
is spatial, by the rows that link the blocks). Blocks are communities of the site graph
weighted by the multipliers of the rows two sites share (Louvain; Blondel et al. 2008, as
``networkx.community.louvain_communities``), so that the cross rows carry little of the LP's
value.

Restricting to the sites not fixed closed (:func:`closed_by_duals`) keeps every solution
at least as good as the incumbent, so ``max(incumbent, bound on the restricted model)``
bounds the optimum.

Probing
-------
The same bound with a single block closes sites. Force a site ``j`` open and take as the
block the sites sharing a row with it; the block's LP with ``x_j = 1`` re-optimises the
multipliers of its inside rows (the reduced-cost test of :func:`closed_by_duals` keeps
them fixed), and when the bound drops below the incumbent no better solution opens ``j``
(:func:`closed_by_probing`; LP probing in the sense of Savelsbergh 1994, here on the
Lagrangian decomposition, one small LP per site). Measured (issue 13, 100 k homes × 10 k
sites, k = 100, the optimum as incumbent): of the 2,546 sites the smoothed LP duals leave,
a pass over all (4.3 s) closes 1,030 more; the block's MILP instead of its LP closed the
same on a sample of 150 sites at five times the cost, and a block of two rings of
neighbours closed 65 % of the sample instead of 40 %, at 1.4 s a site.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from ...errors import SolverError
from .highs import MilpModel, new_highs, solve_milp
from .reduce import merge_identical_rows

__all__ = [
    "BlockBound",
    "Probing",
    "block_bound",
    "closed_by_duals",
    "closed_by_probing",
    "partition_sites",
    "restrict_rows",
]

logger = logging.getLogger(__name__)

#: Louvain resolution of the first partition; communities with more than
#: :data:`BLOCK_MAX_SITES` sites are split again at twice the resolution. Measured on
#: 100 k homes × 10 k sites (issue 13, 2,852 sites left after fixing): resolution 0.3
#: (blocks up to 370 sites) gave the bound 1,268,007 in 17 s, 1.0 (up to 240) 1,268,392 in
#: 8 s, 2.0 (up to 175) 1,268,676 in 3 s, against the LP bound 1,268,771.
BLOCK_RESOLUTION = 0.3
BLOCK_MAX_SITES = 400

#: Largest site graph (pairs of sites sharing a row) handed to Louvain, which runs in pure
#: Python: measured 5.0 s for the 318,814 edges of all 7,196 sites of that instance.
BLOCK_MAX_EDGES = 1_500_000

#: Relative margin under the incumbent before :func:`closed_by_probing` closes a site: the
#: local LPs are solved to HiGHS' tolerances (1e-7), so a bound that equals the incumbent
#: up to them closes nothing.
PROBE_TOL = 1e-6
#: A pass of :func:`closed_by_probing` stops once it has probed :data:`PROBE_CHECK` sites
#: and closed fewer than ``min_rate`` (default :data:`PROBE_MIN_RATE`) of those it probed:
#: the likeliest come first, so the rest would close fewer still. Measured (issue 13,
#: 100 k homes × 10 k sites): at k = 100 a pass closes 42 % of the sites it probes; at
#: k = 250, where the LP bound is 0.4 % above the incumbent, probing took 7.6 s of a 60 s
#: limit and left the blocks' bound where it was.
PROBE_CHECK = 200
PROBE_MIN_RATE = 0.05


@dataclass
class BlockBound:
    """The decomposition bound and how it was reached.

    Attributes
    ----------
    bound
        Upper bound on the covered weight of the model it was computed on.
    lagrangian
        The LP-dual Lagrangian value of the same multipliers (the bound with one block per
        site): the decomposition never exceeds it.
    blocks, cross_rows
        Number of blocks and of rows linking two or more blocks.
    solved, fallback
        Blocks proven by HiGHS; blocks that used a weaker bound (time limit).
    """

    bound: float
    lagrangian: float
    blocks: int
    cross_rows: int
    solved: int
    fallback: int


def _rho(cov: sp.csr_matrix, lam: np.ndarray) -> np.ndarray:
    return np.asarray(sp.csc_matrix(cov, dtype=np.float64).T @ lam).ravel()


def _lagrangian(
    w: np.ndarray, lam: np.ndarray, rho: np.ndarray, mu: float, k: int, required: np.ndarray
) -> float:
    """``k mu + sum_i (w_i - lambda_i) + sum_free max(0, rho_j - mu) + sum_req (rho_j - mu)``:
    the Lagrangian value with the cardinality priced at ``mu`` (valid for ``mu >= 0``)."""
    site = np.where(required, rho - mu, np.maximum(rho - mu, 0.0))
    return float(k * mu + (w - lam).sum() + site.sum())


def closed_by_duals(
    cov: sp.csr_matrix,
    w: np.ndarray,
    lam: np.ndarray,
    k: int,
    required: np.ndarray,
    incumbent: float,
) -> tuple[np.ndarray, float]:
    """Sites closed in every solution covering at least ``incumbent``, and ``mu``.

    With ``rho_j = sum_{i in N_j} lambda_i`` (``0 <= lambda <= w``) the Lagrangian value
    ``L = sum_i (w_i - lambda_i) + sum_req rho_j + (the k - |req| largest other rho_j,
    negative ones skipped)`` bounds every solution. Forcing an unchosen site ``j`` open
    replaces the smallest chosen value ``rho_(k)`` (0 when fewer than ``k`` are positive)
    by ``rho_j``: when ``L - rho_(k) + rho_j < incumbent`` no solution with ``j`` open
    covers ``incumbent``, and ``j`` is closed. ``mu`` is the best unchosen ``rho`` (at least
    0), the price of a site in :func:`block_bound`.
    """
    lam = np.clip(lam, 0.0, w)
    rho = _rho(cov, lam)
    free = np.flatnonzero(~required)
    kf = max(k - int(required.sum()), 0)
    order = free[np.argsort(-rho[free], kind="stable")]
    top = order[:kf]
    top = top[rho[top] > 0]
    lval = float((w - lam).sum() + rho[required].sum() + rho[top].sum())
    last = float(rho[top].min()) if len(top) == kf and kf > 0 else 0.0
    chosen = np.zeros(len(rho), dtype=bool)
    chosen[top] = True
    closed = ~chosen & ~required & (lval - last + rho < incumbent)
    mu = float(max(rho[order[kf]], 0.0)) if len(order) > kf else 0.0
    return closed, mu


@dataclass
class Probing:
    """Sites closed by probing (:func:`closed_by_probing`) and what it took.

    Attributes
    ----------
    closed
        Boolean mask over the model's sites: closed in every solution covering at least
        the incumbent.
    probed
        Local LPs solved, over all rounds.
    candidates
        Sites that could be probed (neither required nor closed by the duals already).
    rounds
        Passes over the sites still open (a pass is repeated while it closes sites: each
        closing lets later probes drop that site).
    seconds
        Wall time.
    """

    closed: np.ndarray
    probed: int
    candidates: int
    rounds: int
    seconds: float


def _gather(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``indices`` of the compressed rows ``rows``, concatenated in order."""
    lens = indptr[rows + 1] - indptr[rows]
    tot = int(lens.sum())
    if tot == 0:
        return np.zeros(0, dtype=indices.dtype)
    offs = np.repeat(indptr[rows] - (np.cumsum(lens) - lens), lens) + np.arange(tot)
    return indices[offs]


def closed_by_probing(  # noqa: PLR0913  (the model, its multipliers and the clock)
    cov: sp.csr_matrix,
    w: np.ndarray,
    lam: np.ndarray,
    k: int,
    required: np.ndarray,
    incumbent: float,
    *,
    deadline: float,
    max_rounds: int = 2,
    min_rate: float = PROBE_MIN_RATE,
    tol: float = PROBE_TOL,
) -> Probing:
    """Sites closed in every solution covering at least ``incumbent``, by probing each
    site's neighbourhood with its LP re-solved (stronger than :func:`closed_by_duals`).

    With the multipliers ``lambda`` (clipped to ``[0, w]``), ``rho = A^T lambda``, the
    site price ``mu`` and the Lagrangian value ``L`` of :func:`closed_by_duals`, force a
    site ``j`` open and let ``B`` be the sites sharing a row with it and ``I`` the rows
    whose sites all lie in ``B`` (among them every row of ``j``). Relaxing only the rows
    outside ``I`` and the count (the bound of the module notes, with ``B`` the one block
    and every other site a block of its own) bounds every solution with ``j`` open by

    ``L - sum_I (w_i - lambda_i) - sum_B s_b + LP_j``, where ``s_b`` is the site's term
    of ``L`` (``max(0, rho_b - mu)``, ``rho_b - mu`` when required) and ``LP_j`` the LP
    value of ``max sum_I w_i z_i + sum_B (rho_b - sum_{i in I, b in N_i} lambda_i - mu)
    x_b`` subject to ``z_i <= sum_{b in N_i} x_b``, ``0 <= x, z <= 1``, ``x_j = 1`` and
    the required sites of ``B`` at 1. The LP re-optimises the multipliers of ``I`` for
    ``j`` open: the reduced cost of :func:`closed_by_duals` keeps them fixed. When the
    bound is below ``incumbent`` (less ``tol`` of it, for the LP's tolerances) ``j`` is
    closed. Tested by brute force in ``tests/test_optimize_coverdecomp.py``.

    Only solutions covering ``incumbent`` matter, and none opens a closed site: so a row's
    open sites decide whether it lies inside ``B``, and ``L`` loses the terms of closed
    sites and the slack ``w_i - lambda_i`` of rows with no open site left (``z_i = 0``).

    Sites are probed in increasing order of ``rho_j`` (the largest reduced cost
    ``mu - rho_j``, the sites nearest to closing, first), each LP solved by HiGHS, until
    ``deadline``, in at most ``max_rounds`` passes; a pass ends early when, after
    :data:`PROBE_CHECK` probes, fewer than ``min_rate`` of them closed their site. Every
    closing is valid on its own, so stopping early only closes fewer; and a closed site is
    left out of later probes (no solution covering ``incumbent`` opens it), which makes
    them stronger.
    """
    t0 = time.perf_counter()
    cov = sp.csr_matrix(cov, dtype=bool)
    cov.sort_indices()
    lam = np.clip(np.asarray(lam, dtype=np.float64), 0.0, w)
    closed, mu = closed_by_duals(cov, w, lam, k, required, incumbent)
    pb = _Prober(cov, w, lam, mu, required, closed)
    # the bound of solutions with the closed sites shut: their site terms and the slack of
    # rows left with no open site (z_i = 0 there) drop out of L
    rlen = np.diff(cov.indptr)
    lval = _lagrangian(w, lam, pb.rho, mu, k, required)
    lval -= float(pb.site[closed].sum()) + float(pb.slack[(pb.alen == 0) & (rlen > 0)].sum())
    cand = np.flatnonzero(~required & ~closed)
    cand = cand[np.argsort(pb.rho[cand], kind="stable")]  # the farthest below mu first
    cut = incumbent - tol * max(1.0, abs(incumbent))
    probed, rounds, todo = 0, 0, cand
    while len(todo) and rounds < max_rounds and time.perf_counter() < deadline:
        rounds += 1
        before, starved = int(closed.sum()), False
        for t, j in enumerate(todo):
            if time.perf_counter() >= deadline:
                break
            if t >= PROBE_CHECK and int(closed.sum()) - before < min_rate * t:
                starved = True  # sites come likeliest first: the rest would close fewer
                break
            probed += 1
            bound = pb.bound(int(j), lval)
            if bound is not None and bound < cut:
                lval -= pb.close(int(j))
        todo = todo[~closed[todo]]
        if starved or int(closed.sum()) == before:
            break
    out = Probing(closed, probed, len(cand), rounds, time.perf_counter() - t0)
    logger.info(
        "MCLP probing: %d probes in %d rounds over %d sites, %d closed (%d by the duals), %.1f s",
        probed, rounds, len(cand), int(closed.sum()), int(closed.sum()) - int(closed[cand].sum()),
        out.seconds,
    )  # fmt: skip
    return out


class _Prober:
    """What :func:`closed_by_probing` probes with: the model, the multipliers, the site
    price, the sites closed (updated in place) and, per row, how many open sites it has."""

    def __init__(
        self,
        cov: sp.csr_matrix,
        w: np.ndarray,
        lam: np.ndarray,
        mu: float,
        required: np.ndarray,
        closed: np.ndarray,
    ) -> None:
        self.cov, self.w, self.lam, self.mu = cov, w, lam, mu
        self.required, self.closed = required, closed
        self.csc = cov.tocsc()
        self.csc.sort_indices()
        self.rho = _rho(cov, lam)
        self.site = np.where(required, self.rho - mu, np.maximum(self.rho - mu, 0.0))
        self.slack = w - lam
        # a row is inside a block when its open sites all lie there (no solution covering
        # the incumbent opens a closed site)
        self.alen = (
            np.diff(cov.indptr) - np.asarray(cov.astype(np.int64) @ closed.astype(np.int64)).ravel()
        )
        self.pos = np.full(cov.shape[1], -1, dtype=np.int64)
        self.h = new_highs(1)
        self.h.setOptionValue("presolve", "off")

    def _rows(self, j: int) -> np.ndarray:
        return self.csc.indices[self.csc.indptr[j] : self.csc.indptr[j + 1]]

    def bound(self, j: int, lval: float) -> float | None:
        """The bound on every solution with ``j`` open, from the Lagrangian value ``lval``
        (``None`` if HiGHS did not solve the block's LP)."""
        cov, csc, pos = self.cov, self.csc, self.pos
        blk = np.unique(_gather(cov.indptr, cov.indices, self._rows(j)))
        blk = blk[~self.closed[blk]]
        ur, cnt = np.unique(_gather(csc.indptr, csc.indices, blk), return_counts=True)
        inside = ur[cnt == self.alen[ur]]
        pos[blk] = np.arange(len(blk))
        loc = pos[_gather(cov.indptr, cov.indices, inside)]
        loc = loc[loc >= 0]
        lens = self.alen[inside]
        ni, mb, nl = len(inside), len(blk), len(loc)
        rho_in = np.bincount(loc, weights=np.repeat(self.lam[inside], lens), minlength=mb)
        base = lval - float(self.slack[inside].sum()) - float(self.site[blk].sum())
        # rows z_i - sum_{b in N_i} x_b <= 0, row-wise: each row's sites, then its z
        starts = np.concatenate([[0], np.cumsum(lens + 1)])
        at = np.repeat(starts[:-1] - (np.cumsum(lens) - lens), lens) + np.arange(nl)
        idx = np.empty(nl + ni, dtype=np.int32)
        val = np.empty(nl + ni, dtype=np.float64)
        idx[at], val[at] = loc, -1.0
        idx[starts[1:] - 1], val[starts[1:] - 1] = mb + np.arange(ni), 1.0
        lb = np.concatenate([self.required[blk].astype(np.float64), np.zeros(ni)])
        lb[pos[j]] = 1.0
        pos[blk] = -1
        h = self.h
        h.clearModel()
        h.passModel(
            mb + ni, ni, nl + ni, int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMaximize), 0.0,
            np.concatenate([self.rho[blk] - rho_in - self.mu, self.w[inside]]), lb,
            np.ones(mb + ni), np.full(ni, -np.inf), np.zeros(ni), starts[:-1].astype(np.int32),
            idx, val, np.zeros(mb + ni, dtype=np.int32),
        )  # fmt: skip
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return base + float(h.getInfo().objective_function_value)

    def close(self, j: int) -> float:
        """Close ``j``; returns what the Lagrangian value loses: its site term and the
        slack of the rows it leaves with no open site."""
        rows = self._rows(j)
        self.closed[j] = True
        self.alen[rows] -= 1
        return float(self.site[j]) + float(self.slack[rows[self.alen[rows] == 0]].sum())


def restrict_rows(
    cov: sp.csr_matrix, w: np.ndarray, lam: np.ndarray, keep: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The model over the sites ``keep``: rows none of them covers are dropped and rows
    identical on them merge, their weights and multipliers summed (a sum of multipliers
    in ``[0, w_i]`` lies in ``[0, sum w_i]``, and the merged row's ``rho`` is unchanged)."""
    sub = sp.csr_matrix(cov[:, keep])
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    kp, grp, mw = merge_identical_rows(sub[rows], w[rows])
    ml = np.bincount(grp, weights=np.clip(lam, 0.0, w)[rows], minlength=len(kp))
    return sp.csr_matrix(sub[rows][kp]), mw, ml


def partition_sites(
    cov: sp.csr_matrix,
    lam: np.ndarray,
    *,
    resolution: float = BLOCK_RESOLUTION,
    max_sites: int = BLOCK_MAX_SITES,
    max_edges: int | None = None,
    seed: int = 0,
) -> np.ndarray | None:
    """Block label per site: Louvain communities of the graph linking two sites by the
    multipliers (plus a small share of the weight) of the rows they share; communities
    above ``max_sites`` are split again at twice the resolution. ``None`` when the graph
    has more than ``max_edges`` (default :data:`BLOCK_MAX_EDGES`) edges: too slow to
    partition in the time of a solve."""
    max_edges = BLOCK_MAX_EDGES if max_edges is None else max_edges
    import networkx as nx
    from networkx.algorithms.community import louvain_communities

    cs = sp.csc_matrix(cov, dtype=np.float64)
    m = cov.shape[1]
    eps = 1e-3 * float(lam.max()) if len(lam) and lam.max() > 0 else 1e-3
    adj = sp.triu(cs.T @ sp.diags(lam + eps) @ cs, k=1).tocoo()
    if adj.nnz > max_edges:
        logger.info(
            "MCLP blocks: site graph of %d edges > %d, no decomposition", adj.nnz, max_edges
        )
        return None
    labels = np.zeros(m, dtype=np.int64)
    todo = [(np.arange(m), resolution)]
    nxt = 0
    while todo:
        sites, res = todo.pop()
        g = nx.Graph()
        g.add_nodes_from(range(len(sites)))
        sub = sp.csr_matrix(adj)[sites][:, sites].tocoo()
        g.add_weighted_edges_from(zip(sub.row.tolist(), sub.col.tolist(), sub.data.tolist()))
        comms = louvain_communities(g, weight="weight", resolution=res, seed=seed)
        for c in sorted(comms, key=min):
            members = sites[np.fromiter(c, dtype=np.int64)]
            if len(members) > max_sites and len(comms) > 1:
                todo.append((members, res * 2.0))
            else:
                labels[members] = nxt
                nxt += 1
    return labels


def _block_model(
    cov_b: sp.csr_matrix, w_b: np.ndarray, prof: np.ndarray, req: np.ndarray
) -> MilpModel:
    n, m = cov_b.shape
    a = sp.hstack([-cov_b.astype(np.float64), sp.identity(n, format="csr")], format="csc")
    return MilpModel(
        np.concatenate([prof, w_b]),
        a,
        np.full(n, -np.inf),
        np.zeros(n),
        lb=np.concatenate([req.astype(np.float64), np.zeros(n)]),
        ub=np.ones(m + n),
        integer=np.r_[np.ones(m, dtype=bool), np.zeros(n, dtype=bool)],
        maximize=True,
    )


def block_bound(  # noqa: PLR0913  (the model, its multipliers and the clock)
    cov: sp.csr_matrix,
    w: np.ndarray,
    lam: np.ndarray,
    mu: float,
    k: int,
    required: np.ndarray,
    labels: np.ndarray,
    *,
    deadline: float,
    threads: int = 1,
    stop: threading.Event | None = None,
) -> BlockBound:
    """The decomposition bound of the module notes for the blocks ``labels``, multipliers
    ``lam`` (clipped to ``[0, w]``) and site price ``mu`` (clipped to ``>= 0``). Blocks are
    solved smallest first until ``deadline`` (or until ``stop`` is set); every later block,
    and every block whose HiGHS bound is weaker, uses the LP-dual value instead; a block
    being solved when ``stop`` is set keeps the bound HiGHS had reached."""
    cov = sp.csr_matrix(cov, dtype=bool)
    lam = np.clip(np.asarray(lam, dtype=np.float64), 0.0, w)
    mu = max(float(mu), 0.0)
    first = labels[cov.indices]
    lo = np.minimum.reduceat(first, cov.indptr[:-1]) if cov.nnz else np.zeros(0, np.int64)
    hi = np.maximum.reduceat(first, cov.indptr[:-1]) if cov.nnz else np.zeros(0, np.int64)
    empty = np.diff(cov.indptr) == 0
    lo, hi = np.where(empty, -1, lo), np.where(empty, -1, hi)
    cross = (lo != hi) & ~empty
    rho = _rho(cov, lam)
    lamc = np.where(cross, lam, 0.0)
    rho_c = _rho(cov, lamc)
    lagr = _lagrangian(w, lam, rho, mu, k, required)
    total = k * mu + float((w - lam)[cross].sum())
    nb = int(labels.max()) + 1 if len(labels) else 0
    inside = np.where(cross | empty, -1, lo)
    sizes = np.bincount(labels, minlength=nb)
    solved = fallback = 0
    for b in np.argsort(sizes, kind="stable"):
        s = np.flatnonzero(labels == b)
        r = np.flatnonzero(inside == b)
        site = np.where(required[s], rho[s] - mu, np.maximum(rho[s] - mu, 0.0))
        ub = float((w[r] - lam[r]).sum() + site.sum())
        left = 0.0 if stop is not None and stop.is_set() else deadline - time.perf_counter()
        if left > 0.05:
            try:
                sol = solve_milp(
                    _block_model(cov[r][:, s], w[r], rho_c[s] - mu, required[s]),
                    time_limit_s=left, threads=threads, label=f"MCLP block {b}", stop=stop,
                )  # fmt: skip
                if sol.status == "optimal":
                    solved += 1
                ub = min(ub, float(sol.bound))
            except SolverError:
                pass
        else:
            fallback += 1
        total += ub
    info = BlockBound(min(total, lagr), lagr, nb, int(cross.sum()), solved, fallback)
    logger.info(
        "MCLP block decomposition: %d blocks, %d cross rows, bound %.6g (LP-dual value %.6g), "
        "%d proven, %d without time", nb, info.cross_rows, info.bound, lagr, solved, fallback,
    )  # fmt: skip
    return info
