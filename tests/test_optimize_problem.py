"""Side constraints every model shares (zone rules), validated by build_problem."""

from __future__ import annotations

import numpy as np
import pytest
from optimize_cases import zone_case

from coverage.errors import InfeasibleError, ParameterError
from coverage.siting.optimize import solve_lscp, solve_mclp, solve_pmedian


def test_zone_at_most_one() -> None:
    ct, zones = zone_case()
    free = solve_mclp(ct, k=2, radius_m=100)
    assert sorted(free.selected.tolist()) == [0, 1] and free.objective == 4
    res = solve_mclp(ct, k=2, radius_m=100, zone_of_site=zones, zone_rule="at_most_one")
    assert np.sum(np.isin(res.selected, [0, 1])) == 1 and res.objective == 2


def test_zone_at_least_one_and_exactly_one() -> None:
    ct, zones = zone_case()
    res = solve_mclp(ct, k=2, radius_m=100, zone_of_site=zones, zone_rule="at_least_one")
    assert 2 in res.selected and res.objective == 2
    res = solve_pmedian(ct, p=2, zone_of_site=zones, zone_rule="exactly_one")
    assert 2 in res.selected and len(res.selected) == 2
    res = solve_lscp(ct, radius_m=100, zone_of_site=zones, zone_rule="at_least_one")
    assert sorted(res.selected.tolist()) == [0, 1, 2]


def test_zone_min_max_mapping_and_arrays() -> None:
    ct, zones = zone_case()
    res = solve_mclp(ct, k=3, radius_m=100, zone_of_site=zones, zone_rule={"A": (None, 1)})
    assert res.objective == 2
    res = solve_mclp(ct, k=3, radius_m=100, zone_of_site=zones, zone_rule=([0, 1], [2, 1]))
    assert 2 in res.selected and res.objective == 4
    with pytest.raises(ParameterError, match="does not occur"):
        solve_mclp(ct, k=1, radius_m=100, zone_of_site=zones, zone_rule={"Z": (0, 1)})
    with pytest.raises(ParameterError, match="without zone_rule"):
        solve_mclp(ct, k=1, radius_m=100, zone_of_site=zones)


def test_zone_without_candidate_under_exactly_one_names_the_zone() -> None:
    ct, _ = zone_case()
    zones = ["A", "A", "B"]
    with pytest.raises(InfeasibleError, match="zone 'B'"):
        solve_mclp(
            ct, k=2, radius_m=100, zone_of_site=zones, zone_rule="exactly_one", forbidden=[2]
        )
    with pytest.raises(InfeasibleError, match="zone 'A'"):
        solve_lscp(ct, radius_m=100, zone_of_site=zones, zone_rule="at_most_one", existing=[0, 1])
