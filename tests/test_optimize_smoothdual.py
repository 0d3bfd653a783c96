"""The smoothed MCLP LP dual (:mod:`coverage.siting.optimize.smoothdual`), against HiGHS'
LP relaxation as the oracle, and the sites its multipliers close, against brute force."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import check_grad

from coverage.siting.optimize import coverdecomp
from coverage.siting.optimize.highs import MilpModel, lp_relaxation
from coverage.siting.optimize.smoothdual import smoothed_dual, smoothed_value


def _lagrangian(cov: np.ndarray, w: np.ndarray, lam: np.ndarray, k: int, req: np.ndarray) -> float:
    """The exact Lagrangian value (the bound the callers use), written out by hand."""
    rho = cov.T.astype(float) @ lam
    free = np.sort(rho[~req])[::-1][: k - int(req.sum())]
    return float((w - lam).sum() + rho[req].sum() + np.maximum(free, 0).sum())


def _lp(cov: np.ndarray, w: np.ndarray, k: int, req: np.ndarray) -> float:
    """The LP relaxation's optimum by HiGHS: max w.z, z_i <= sum_{N_i} x, sum x <= k,
    required x = 1, 0 <= x, z <= 1."""
    n, m = cov.shape
    a = sp.vstack([
        sp.hstack([-sp.csr_matrix(cov, dtype=float), sp.identity(n)]),
        sp.hstack([sp.csr_matrix(np.ones((1, m))), sp.csr_matrix((1, n))]),
    ]).tocsc()  # fmt: skip
    model = MilpModel(
        np.concatenate([np.zeros(m), w]), a, np.full(n + 1, -np.inf),
        np.concatenate([np.zeros(n), [k]]), lb=np.concatenate([req.astype(float), np.zeros(n)]),
        ub=np.ones(m + n), maximize=True,
    )  # fmt: skip
    lp = lp_relaxation(model, time_limit_s=30)
    assert lp is not None
    return float(w @ lp[0][m:])


def _instance(seed: int, n: int = 160, m: int = 40) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    rng = np.random.default_rng(seed)
    cov = rng.random((n, m)) < rng.uniform(0.05, 0.2)
    cov[rng.integers(0, n, 5)] = False  # a few rows no site covers
    w = rng.integers(1, 50, n).astype(float)
    k = int(rng.integers(2, 9))
    req = np.zeros(m, dtype=bool)
    if seed % 3 == 0:
        req[rng.choice(m, 2, replace=False)] = True
        k = max(k, 3)
    return cov, w, k, req


def test_gradient_matches_finite_differences() -> None:
    cov, w, k, req = _instance(1, n=30, m=8)
    req[:2] = True
    a = sp.csr_matrix(cov, dtype=float)
    at = sp.csr_matrix(a.T)
    rng = np.random.default_rng(0)
    for tau in (5.0, 0.7):
        v = np.concatenate([rng.uniform(0, 1, 30) * w, [rng.uniform(0, 20)]])
        args = (tau, a, at, w, req, k - 2)
        err = check_grad(lambda x, *p: smoothed_value(x, *p)[0], lambda x, *p: smoothed_value(x, *p)[1], v, *args)
        assert err < 1e-4 * max(1.0, float(np.abs(smoothed_value(v, *args)[1]).max()))


def test_smoothed_value_by_hand() -> None:
    # two rows of weight 4 and 6; site 0 covers both, site 1 the second; k = 1, no required
    cov = np.array([[1, 0], [1, 1]], dtype=bool)
    a = sp.csr_matrix(cov, dtype=float)
    lam, mu, tau = np.array([1.0, 2.0]), 0.5, 0.1
    f, g = smoothed_value(np.r_[lam, mu], tau, a, sp.csr_matrix(a.T), np.array([4.0, 6.0]), np.zeros(2, bool), 1)
    # rho = (3, 2); f = mu + (3 + 4) + tau*log(1+e^{25}) + tau*log(1+e^{15})
    expect = 0.5 + 7.0 + 0.1 * np.logaddexp(0, 25.0) + 0.1 * np.logaddexp(0, 15.0)
    assert f == pytest.approx(expect)
    s = 1 / (1 + np.exp(-np.array([25.0, 15.0])))
    assert g[0] == pytest.approx(s[0] - 1) and g[1] == pytest.approx(s[0] + s[1] - 1)
    assert g[2] == pytest.approx(1 - s.sum())


@pytest.mark.parametrize("seed", range(12))
def test_multipliers_bound_the_lp_and_come_close_to_it(seed: int) -> None:
    """Every stage's multipliers lie in [0, w] and bound the LP optimum (weak duality, the
    oracle HiGHS); the last comes within 0.05 % of it; the smoothed primal is a fractional
    choice of about the right number of sites (it only seeds the rounding)."""
    cov, w, k, req = _instance(seed)
    sd = smoothed_dual(sp.csr_matrix(cov), w, k, req, deadline=time.perf_counter() + 30)
    assert sd is not None and not sd.stopped and len(sd.stages) == 4
    lp = _lp(cov, w, k, req)
    for lam in sd.stages:
        assert np.all(lam >= 0) and np.all(lam <= w)
        assert _lagrangian(cov, w, lam, k, req) >= lp - 1e-6 * lp
    assert _lagrangian(cov, w, sd.lam, k, req) <= lp * 1.0005
    assert np.all(sd.x[req] == 1.0) and np.all((sd.x >= 0) & (sd.x <= 1))
    assert sd.x[~req].sum() == pytest.approx(k - req.sum(), abs=1.0)


def test_sites_its_multipliers_close_are_closed_in_every_good_solution() -> None:
    """Brute force: every choice of k sites covering at least the optimum avoids each site
    the smoothed multipliers close (any stage), and the test does close sites."""
    closed_any = 0
    for seed in range(10):
        rng = np.random.default_rng(900 + seed)
        n, m, k = 60, 11, int(rng.integers(2, 4))
        cov = rng.random((n, m)) < 0.15
        w = rng.integers(1, 9, n).astype(float)
        req = np.zeros(m, dtype=bool)
        sd = smoothed_dual(sp.csr_matrix(cov), w, k, req, deadline=time.perf_counter() + 30)
        assert sd is not None
        value = {s: float(w[cov[:, list(s)].any(1)].sum()) for s in itertools.combinations(range(m), k)}
        best = max(value.values())
        for lam in sd.stages:
            closed, _mu = coverdecomp.closed_by_duals(sp.csr_matrix(cov), w, lam, k, req, best)
            closed_any += int(closed.sum())
            for s, v in value.items():
                if v >= best:
                    assert not closed[list(s)].any()
    assert closed_any >= 150  # 281 when written


def test_nothing_to_price_and_the_deadline() -> None:
    cov, w, k, _req = _instance(4, n=3000, m=400)
    none = np.zeros(400, dtype=bool)
    assert smoothed_dual(sp.csr_matrix(cov), w, k, none, deadline=time.perf_counter() - 1) is None
    req = np.zeros(400, dtype=bool)
    req[:k] = True
    assert smoothed_dual(sp.csr_matrix(cov), w, k, req, deadline=time.perf_counter() + 5) is None
    assert smoothed_dual(sp.csr_matrix((0, 4), dtype=bool), np.zeros(0), 2, np.zeros(4, bool), deadline=time.perf_counter() + 5) is None
    assert smoothed_dual(sp.csr_matrix(cov), np.zeros(3000), k, none, deadline=time.perf_counter() + 5) is None
    t = time.perf_counter()
    sd = smoothed_dual(sp.csr_matrix(cov), w, k, none, deadline=t + 0.05, iterations=100_000)
    assert sd is not None and sd.stopped and len(sd.stages) < 4
    assert time.perf_counter() - t < 1.0
