"""Greedy and interchange with sums kept between moves (``fastswap``, Resende & Werneck
2007), checked against brute force (every swap's profit is the drop of ``f`` recomputed
from the pairs) and against the interchange that rebuilds its sums at every move."""

from __future__ import annotations

import numpy as np
import pytest

from coverage.siting.optimize import heuristics as H
from coverage.siting.optimize.fastswap import RowRuns, SwapState, sort_pairs


def _instance(seed: int, n: int = 120, m: int = 30, dens: float = 0.3, pen: float = 45.0, ties: bool = False) -> H.SparseCost:
    rng = np.random.default_rng(seed)
    r, c = np.nonzero(rng.random((n, m)) < dens)
    d = rng.random(len(r)) * 40
    if ties:  # whole metres: many equal distances within a row
        d = np.floor(d / 8) * 8
    w = rng.integers(1, 10, n).astype(float)
    return H.SparseCost.build(r, c, d, w, pen, m)


def _rules(m: int, kmin: int, kmax: int, **kw: object) -> H.SiteRules:
    base: dict[str, object] = {
        "required": np.zeros(m, bool), "zone": np.full(m, -1), "zmin": np.zeros(0, int),
        "zmax": np.zeros(0, int), "cost": np.zeros(m), "kmin": kmin, "kmax": kmax,
    }  # fmt: skip
    base.update(kw)
    return H.SiteRules(**base)  # type: ignore[arg-type]


def _both(monkeypatch: pytest.MonkeyPatch, fn):  # type: ignore[no-untyped-def]
    """``fn()`` with the sums rebuilt at every move, then kept between moves."""
    monkeypatch.setattr(H, "FAST_SWAP_MIN_PAIRS", 10**12)
    dense = fn()
    monkeypatch.setattr(H, "FAST_SWAP_MIN_PAIRS", 0)
    kept = fn()
    return dense, kept


@pytest.mark.parametrize("seed", range(12))
def test_sort_pairs_is_lexsort_by_row_distance_site(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4000))
    rows = rng.integers(0, int(rng.integers(1, 300)), n)
    cols = rng.integers(0, 60, n)
    dist = np.round(rng.random(n) * float(rng.choice([1.0, 3000.0, 1e7])), int(rng.integers(0, 3)))
    if seed % 3 == 0:  # differences far below what the combined key can resolve
        dist = dist + 1e-9 * rng.integers(0, 3, n)
    if seed % 4 == 0:
        rows = rows * 7 + 100_000
    got, want = sort_pairs(rows, cols, dist), np.lexsort((cols, dist, rows))
    for a in (rows, dist, cols):
        assert np.array_equal(a[got], a[want])
    assert np.array_equal(np.sort(got), np.arange(n))


def _brute_profits(sc: H.SparseCost, open_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open sites, ``f(S) - f(S - r + a)`` for every pair and ``f(S) - f(S + a)``."""
    f = sc.value(open_mask)
    olist = np.flatnonzero(open_mask)
    prof = np.full((len(olist), sc.m), np.nan)
    add = np.full(sc.m, np.nan)
    for a in np.flatnonzero(~open_mask):
        t = open_mask.copy()
        t[a] = True
        add[a] = f - sc.value(t)
        for r, o in enumerate(olist):
            t2 = t.copy()
            t2[o] = False
            prof[r, a] = f - sc.value(t2)
    return olist, prof, add


@pytest.mark.parametrize("seed", range(8))
def test_kept_sums_equal_brute_force_after_every_move(seed: int) -> None:
    sc = _instance(seed, dens=0.12 if seed % 2 else 0.35, ties=seed % 3 == 0)
    rng = np.random.default_rng(100 + seed)
    k = 4 + seed % 3
    start = np.zeros(sc.m, bool)
    start[rng.choice(sc.m, k - 1, replace=False)] = True
    st = SwapState(sc, sc.row_runs(), start, k)
    for step in range(12):
        olist, prof, add = _brute_profits(sc, st.open)
        o2, kept = st.profits()
        closed = ~st.open
        assert np.array_equal(olist, o2)
        np.testing.assert_allclose(kept[:, closed], prof[:, closed], atol=1e-7)
        np.testing.assert_allclose(st.gain[closed], add[closed], atol=1e-7)
        assert st.value == pytest.approx(sc.value(st.open), abs=1e-7)
        d1 = sc.d1(st.open)
        assert np.allclose(st.d1, d1)
        served = st.c1 >= 0  # c1 is a nearest open site, c2 the second
        assert np.all(st.open[st.c1[served]])
        # a move: the first is an addition (one slot is free), then random swaps
        out = -1 if step == 0 else int(rng.choice(np.flatnonzero(st.open)))
        a = int(rng.choice(np.flatnonzero(~st.open)))
        before = sc.value(st.open)
        delta = st.apply(out, a)
        assert delta == pytest.approx(sc.value(st.open) - before, abs=1e-7)


@pytest.mark.parametrize("seed", range(16))
def test_interchange_kept_between_moves_equals_rebuilt_each_move(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _instance(seed, n=250, m=50, dens=0.08 if seed % 2 else 0.4)
    rng = np.random.default_rng(seed)
    p = 3 + seed % 7
    start = np.zeros(sc.m, bool)
    start[rng.choice(sc.m, p, replace=False)] = True
    req = np.zeros(sc.m, bool)
    if seed % 4 == 1:  # a required site never leaves
        req[np.flatnonzero(start)[0]] = True
    rules = _rules(sc.m, 0, p + seed % 2, required=req)  # kmax > p: free additions too
    dense, kept = _both(monkeypatch, lambda: H.local_search(sc, rules, start))
    assert np.array_equal(dense[0], kept[0]) and dense[1] == kept[1]
    # a local optimum: no addition or swap improves, by brute force
    _olist, prof, add = _brute_profits(sc, kept[0])
    tol = 1e-9 * sc.value(kept[0])
    movable = ~req[_olist]
    assert np.nanmax(prof[movable], initial=-np.inf) <= tol
    if kept[0].sum() < rules.kmax:
        assert np.nanmax(add, initial=-np.inf) <= tol
    assert not kept[0][req].size or kept[0][req].all()


@pytest.mark.parametrize("seed", range(6))
def test_greedy_kept_equals_rebuilt_with_zones_budget_and_ties(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _instance(seed, ties=True)
    if seed % 2:  # MCLP shape: d = 0 within the radius, penalty 1 (f = uncovered weight)
        sc = H.SparseCost.build(sc.rows, sc.cols, np.zeros(len(sc.rows)), sc.w, 1.0, sc.m)
    zone = np.arange(sc.m) % 5 if seed % 3 == 0 else np.full(sc.m, -1)
    kw: dict[str, object] = {"zone": zone}
    if seed % 3 == 0:
        kw |= {"zmin": np.zeros(5, int), "zmax": np.ones(5, int)}
    if seed % 3 == 2:
        kw |= {"cost": np.random.default_rng(seed).integers(1, 4, sc.m).astype(float), "budget": 9.0}
    rules = _rules(sc.m, 0, 6, **kw)
    dense, kept = _both(monkeypatch, lambda: H.greedy(sc, rules))
    assert np.array_equal(dense, kept)
    d2, k2 = _both(monkeypatch, lambda: H.interchange_solve(sc, rules, n_starts=3, seed=seed)[:2])
    assert np.array_equal(d2[0], k2[0]) and d2[1] == pytest.approx(k2[1])


def test_a_move_that_does_not_really_improve_is_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Corrupted sums propose a bad move: its real change of ``f`` is measured, the
    state rebuilt, and the search still ends at the dense local optimum."""
    sc = _instance(3, n=200, m=40, dens=0.2)
    rules = _rules(sc.m, 5, 5)
    start = np.zeros(sc.m, bool)
    start[:5] = True
    monkeypatch.setattr(H, "FAST_SWAP_MIN_PAIRS", 10**12)
    want, _ = H.local_search(sc, rules, start)
    st = SwapState(sc, sc.row_runs(), start, 5)
    st.moves_since_build = 1  # as if moves had been made since the last build
    st.gain[:] = 0.0
    st.gain[np.flatnonzero(~start)[-1]] = 1e9  # a huge phantom gain for one closed site
    got, _moves = H._local_search_incremental(sc, rules, start, deadline=np.inf, max_iter=10_000, state=st)
    assert np.array_equal(got, want)


def test_row_runs_hold_each_row_sorted() -> None:
    sc = _instance(5, ties=True)
    runs = RowRuns.of(sc.rows, sc.cols, sc.dist, sc.n)
    for i in range(sc.n):
        sl = slice(runs.ptr[i], runs.ptr[i + 1])
        mine = sc.rows == i
        want = sorted(zip(sc.dist[mine], sc.cols[mine], strict=True))
        assert list(zip(runs.dist[sl], runs.col[sl], strict=True)) == want
        assert np.array_equal(sc.rows[runs.perm[sl]], np.full(sl.stop - sl.start, i))
