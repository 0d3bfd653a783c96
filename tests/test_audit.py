"""Hand-checkable audits on a street grid, and what-if updates against a fresh audit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grid_geo_m, grid_network

from coverage.audit.summary import summary_table
from coverage.config import AuditConfig
from coverage.engine.engine import Engine
from coverage.engine.whatif import AuditState
from coverage.errors import ParameterError


def audit_arrays(net, facility_xy, demand_xy, *, config):
    """A fresh audit of metric coordinates on the network as given."""
    return AuditState.build(Engine.build(net, config=config, compact=False), facility_xy, demand_xy).result


def test_grid_covered_sets_exact():
    # 5 x 5 grid, 250 m blocks; one facility on the corner node (0, 0)
    net, to_xy = grid_network(5, 250.0)
    cfg = AuditConfig(radius_m=1000, time_min=15, speed_mps=0.8, cutoff_m=5000)  # 720 m in 15 min
    demand = [
        (1000, 0),  # road 1000 m: radius yes (<=), time no (20.8 min); circle yes
        (500, 250),  # 750 m: radius yes, time no (15.6 min)
        (250, 250),  # 500 m: both
        (750, 750),  # 1500 m, straight line 1061 m: nothing
        (500, 500),  # 1000 m, straight 707 m: radius yes
        (750, 500),  # 1250 m, straight 901 m: FALSE COVERAGE
        (0, 750),  # 750 m: radius yes, time no
        (125, 60),  # 60 m off the road at x = 125: 185 m
        (1000, 250),  # 1250 m, straight 1031 m: nothing
        (600, 600),  # 100 m off-road (tie x=500 / y=500): 100 + 1000 + 100; straight 849 m
    ]
    r = audit_arrays(net, to_xy([[0, 0]]), to_xy(demand), config=cfg)
    # roads as given; the off-road walks of (125, 60) and (600, 600) on the ellipsoid (pyproj)
    a60, a100 = grid_geo_m([[125, 60], [600, 600]], [[125, 0], [500, 600]])
    expect_dist = [1000, 750, 500, 1500, 1000, 1250, 750, 125 + a60, 1250, a100 + 1100]
    assert a60 == pytest.approx(60, rel=2e-4) and a100 == pytest.approx(100, rel=2e-4)
    # (600, 600) ties between its two roads in the projection: either foot, within 0.1 mm
    assert r.dist_m == pytest.approx(expect_dist, abs=1e-4)
    assert r.time_min == pytest.approx(np.array(expect_dist) / 0.8 / 60)
    assert np.flatnonzero(r.covered_radius).tolist() == [0, 1, 2, 4, 6, 7]
    assert np.flatnonzero(r.covered_time).tolist() == [2, 7]
    assert np.flatnonzero(r.within_circle).tolist() == [0, 1, 2, 4, 5, 6, 7, 9]
    assert np.flatnonzero(r.false_coverage).tolist() == [5, 9]


def test_what_if_add_and_remove_equal_fresh_audit(rng):
    net, to_xy = grid_network(8, 120.0, drop={((3, j), (4, j)) for j in range(1, 7)})
    fac = to_xy(rng.uniform(0, 840, (6, 2)))
    dem = to_xy(rng.uniform(-50, 890, (300, 2)))
    cfg = AuditConfig(radius_m=400, time_min=6, speed_mps=1.0)
    st = AuditState.build(Engine.build(net, config=cfg, compact=False), fac, dem)
    new = to_xy([[700.0, 130.0]])[0]
    added = st.add_facility(new)
    fresh = audit_arrays(net, np.vstack([fac, new]), dem, config=cfg)
    assert np.array_equal(added.dist_m, fresh.dist_m)
    assert np.array_equal(added.facility, fresh.facility)
    assert np.array_equal(added.false_coverage, fresh.false_coverage)
    for pos in (2, 6, 0):
        removed = st.remove_facility(pos)
    keep = [1, 3, 4, 5]
    fresh = audit_arrays(net, np.vstack([fac, new])[keep], dem, config=cfg)
    assert np.allclose(removed.dist_m, fresh.dist_m, equal_nan=True)
    assert np.array_equal(np.isfinite(removed.dist_m), np.isfinite(fresh.dist_m))
    mapped = np.where(fresh.facility >= 0, np.asarray(keep)[np.maximum(fresh.facility, 0)], -1)
    assert np.array_equal(removed.facility, mapped)
    assert np.array_equal(removed.within_circle, fresh.within_circle)
    with pytest.raises(ParameterError, match="no open facility"):
        st.remove_facility(2)


def test_snap_tolerance_marks_unreachable():
    net, to_xy = grid_network(3, 200.0)
    cfg = AuditConfig(snap_tolerance_m=50)
    r = audit_arrays(net, to_xy([[0, 0]]), to_xy([[100, 100], [100, 40]]), config=cfg)
    assert r.status.tolist() == ["unreachable", "ok"]
    assert np.isinf(r.dist_m[0]) and r.dist_m[1] == pytest.approx(100 + grid_geo_m([100, 40], [100, 0])[0], abs=1e-6)


def test_summary_table_by_zone_and_target():
    import pandas as pd

    f = pd.DataFrame(
        {
            "zone": ["a", "a", "a", "b"],
            "weight": [10, 30, 60, 5],
            "covered_radius": [True, True, False, True],
            "covered_time": [True, False, False, False],
            "false_coverage": [False, False, True, False],
            "status": ["ok", "ok", "beyond_cutoff", "ok"],
        }
    )
    t = summary_table(f, by="zone", target=0.6)
    a = t.set_index("zone").loc["a"]
    assert a.n_points == 3 and a.n_covered_radius == 2
    assert a.share_radius == pytest.approx(2 / 3)
    assert a.wshare_radius == pytest.approx(0.4)
    assert a.wshare_time == pytest.approx(0.1)
    assert bool(a.meets_target) is True
    assert a.n_false_coverage == 1 and a.n_beyond_cutoff == 1
    t = summary_table(f, by="zone", target=0.6, target_rule="both")
    assert t.set_index("zone").loc["a"].meets_target == False  # noqa: E712


def test_config_validation():
    assert AuditConfig().walk_limit_m == pytest.approx(720)
    with pytest.raises(ParameterError, match="speed_mps"):
        AuditConfig(speed_mps=4.0)
    with pytest.raises(ParameterError, match="radius_m"):
        AuditConfig(radius_m=-1)
