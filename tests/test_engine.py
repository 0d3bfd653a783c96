"""The study's engine: built once, asked by the audit, cost tables, what-if, service areas
and site selection, each giving what it gives on its own."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grid_network, nearest_facility

from coverage import audit_cost_table, model_county, propose_sites, run_audit
from coverage.config import AuditConfig
from coverage.engine import network as network_module
from coverage.engine.engine import Engine
from coverage.engine.snapping import EdgeIndex
from coverage.engine.whatif import AuditState
from coverage.errors import ParameterError


@pytest.fixture(scope="module")
def mc():
    return model_county()


def _count(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Count the calls of ``owner.name`` (still doing its work)."""
    calls = [0]
    real = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_one_graph_one_index_per_study(mc, monkeypatch):
    """A whole study on one engine builds the routing graph and the edge index once, and
    snaps the demand once."""
    graphs = _count(monkeypatch, network_module, "csr_graph")
    indexes = _count(monkeypatch, EdgeIndex, "__init__")
    snaps = _count(monkeypatch, Engine, "snap")  # layers (the coordinate-system check snaps on its own)
    cfg = AuditConfig()
    engine = Engine.build(mc.network, config=cfg)
    assert engine.net.n_nodes < mc.network.n_nodes  # compacted
    audit = run_audit(mc.network, mc.facilities, mc.demand, zones=mc.zones, engine=engine, run_date="2026-01-01")
    assert audit.engine is engine
    table = audit_cost_table(mc.network, mc.demand, mc.candidates, cutoff_m=2000.0, engine=engine)
    res = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, engine=engine, k_new=2)
    after = res.after_audit(zones=mc.zones)
    state = audit.state
    state.add_facility(engine.xy(mc.candidates)[0])
    state.remove_facility(0)
    engine.service_areas(engine.layer(mc.facilities), limits_m={"radius": 500.0})
    assert table.nnz > 0 and len(res.proposed) == 2 and len(after.demand) == len(mc.demand)
    assert graphs[0] == 1
    assert indexes[0] == 1
    # demand, facilities, candidates (audit_cost_table), the site list and one what-if point;
    # the demand of the cost table, the site selection and the after-audit is the kept layer
    assert snaps[0] == 5


def test_layers_are_snapped_once(mc):
    engine = Engine.build(mc.network)
    a = engine.layer(mc.demand)
    b = engine.layer(mc.demand.copy())
    assert a is b
    assert engine.layer(engine.xy(mc.demand)) is a
    assert engine.layer(mc.facilities) is not a
    sub = a.take(np.arange(3))
    assert len(sub) == 3 and np.array_equal(sub.snap.edge, a.snap.edge[:3])


def test_cost_table_equals_audit_cost_table(mc):
    cfg = AuditConfig(snap_tolerance_m=300.0)
    table = audit_cost_table(mc.network, mc.demand, mc.candidates, cutoff_m=1500.0, config=cfg)
    engine = Engine.build(mc.network, config=cfg)
    own = engine.cost_table(engine.layer(mc.demand), engine.layer(mc.candidates), cutoff_m=1500.0,
                            demand_ids=mc.demand["id"].astype(str).to_numpy(), site_ids=mc.candidates["id"].astype(str).to_numpy())  # fmt: skip
    for name in ("demand_idx", "site_idx", "dist_m", "demand_ids", "site_ids"):
        assert np.array_equal(getattr(own, name), getattr(table, name)), name
    assert own.speed_mps == table.speed_mps == cfg.speed_mps
    # the same table through an engine passed in
    again = audit_cost_table(mc.network, mc.demand, mc.candidates, cutoff_m=1500.0, engine=engine)
    assert np.array_equal(again.dist_m, table.dist_m)


def test_what_if_through_the_engine_equals_a_fresh_audit(rng):
    net, to_xy = grid_network(8, 120.0, drop={((3, j), (4, j)) for j in range(1, 7)})
    fac = to_xy(rng.uniform(0, 840, (6, 2)))
    dem = to_xy(rng.uniform(-50, 890, (300, 2)))
    engine = Engine.build(net, config=AuditConfig(radius_m=400, time_min=6, speed_mps=1.0))
    st = AuditState.build(engine, engine.layer(fac), engine.layer(dem))
    new = to_xy([[700.0, 130.0]])
    added = st.add_facility(new[0])
    fresh = AuditState.build(engine, np.vstack([fac, new]), dem).result
    assert np.array_equal(added.dist_m, fresh.dist_m)
    assert np.array_equal(added.facility, fresh.facility)
    removed = st.remove_facility(2)
    keep = [0, 1, 3, 4, 5, 6]
    fresh = AuditState.build(engine, np.vstack([fac, new])[keep], dem).result
    assert np.allclose(removed.dist_m, fresh.dist_m)
    assert np.array_equal(np.isfinite(removed.dist_m), np.isfinite(fresh.dist_m))
    mapped = np.where(fresh.facility >= 0, np.asarray(keep)[np.maximum(fresh.facility, 0)], -1)
    assert np.array_equal(removed.facility, mapped)
    # the engine's own nearest search agrees with the routing steps
    f, d = engine.layer(fac), engine.layer(dem)
    src, dist = engine.nearest(f, d)
    ref = nearest_facility(engine.net, f.snap, d.snap, limit_m=engine.config.search_cutoff_m)
    assert np.array_equal(src, ref.facility) and np.array_equal(dist, ref.dist_m)


def test_audit_on_the_network_as_given_by_default(mc):
    r = run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False)
    assert r.engine.net is mc.network  # the audit's distances are those of the original graph
    compacted = Engine.build(mc.network)
    s = run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False, engine=compacted)
    assert np.array_equal(r.demand["covered_radius"], s.demand["covered_radius"])
    assert np.allclose(r.demand["dist_m"], s.demand["dist_m"], atol=1e-6)


def test_site_map_audit_is_the_audit_of_the_open_sites(mc):
    """The after-audit of a site selection equals a fresh audit of existing + proposed."""
    import geopandas as gpd
    import pandas as pd

    res = propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, k_new=3, with_service_areas=False)
    after = res.after_audit(zones=mc.zones, run_date="2026-01-01")
    fac = pd.concat([mc.facilities.to_crs("EPSG:4326")[["id", "name", "geometry"]], res.proposed[["id", "name", "geometry"]]], ignore_index=True)
    fresh = run_audit(mc.network, gpd.GeoDataFrame(fac, crs="EPSG:4326"), mc.demand, zones=mc.zones, with_service_areas=False,
                      title="养老设施选址方案 Proposed elderly-care sites", run_date="2026-01-01")  # fmt: skip
    for col in ("facility_id", "covered_radius", "covered_time", "status", "zone_id"):
        assert after.demand[col].tolist() == fresh.demand[col].tolist(), col
    assert np.allclose(after.demand["dist_m"], fresh.demand["dist_m"], atol=1e-6)
    assert after.summary.equals(fresh.summary)
    assert after.meta["title"] == fresh.meta["title"]
    # covered after by the radius rule = the selection's own covered_after
    assert np.array_equal(after.demand["covered_radius"], res.demand["covered_after"])


def test_engine_must_match_the_network_and_config(mc):
    engine = Engine.build(mc.network)
    other, _ = grid_network(3, 100.0)
    with pytest.raises(ParameterError, match="another road network"):
        run_audit(other, mc.facilities, mc.demand, engine=engine)
    with pytest.raises(ParameterError, match="config= differs"):
        audit_cost_table(mc.network, mc.demand, mc.candidates, cutoff_m=500.0, engine=engine, config=AuditConfig(radius_m=800))
    with pytest.raises(TypeError, match="unexpected keyword argument 'k'"):
        propose_sites(mc.network, mc.facilities, mc.demand, mc.candidates, engine=engine, k=2)
