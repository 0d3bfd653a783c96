"""Coverage summaries of an audit: counts and (population-)weighted shares, overall or
per zone, against a target; and the weight of every demand point."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..engine.whatif import STATUS_BEYOND, STATUS_UNREACHABLE
from ..errors import InputFileError, ParameterError

__all__ = ["TARGET_RULES", "WEIGHT_COLUMNS", "demand_weights", "summary_table"]

#: population columns used for weights when none is named, first found wins
WEIGHT_COLUMNS = ("elderly", "population", "households")
#: the rules a coverage target can apply to
TARGET_RULES = ("radius", "time", "both")


def demand_weights(demand: gpd.GeoDataFrame, weight_col: str | None, source: str = "demand") -> tuple[np.ndarray, str]:
    """The weight of every demand point and where it came from: ``weight_col`` (raising
    :class:`~coverage.errors.InputFileError` naming ``source`` when it is missing), else the
    first of :data:`WEIGHT_COLUMNS` with values, else 1 per point (``"count (no population
    column)"``). Missing or non-numeric weights count 0."""
    if weight_col is not None:
        if weight_col not in demand.columns:
            raise InputFileError(
                f"{source}: weight column {weight_col!r} not found; columns are {list(demand.columns)}. "
                "Fix: pass one of them as weight_col"
            )
        col = weight_col
    else:
        col = next((c for c in WEIGHT_COLUMNS if c in demand.columns and demand[c].notna().any()), "")
    if not col:
        return np.ones(len(demand)), "count (no population column)"
    w = pd.to_numeric(demand[col], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(w), w, 0.0), col


def summary_table(
    frame: pd.DataFrame,
    *,
    by: str | None = None,
    weight: str = "weight",
    target: float | None = None,
    target_rule: str = "radius",
) -> pd.DataFrame:
    """Coverage counts and shares, overall (``by=None``) or per group.

    Columns: ``n_points, n_covered_radius, share_radius, n_covered_time, share_time,
    weight_total, weight_covered_radius, wshare_radius, weight_covered_time, wshare_time,
    n_false_coverage, n_unreachable, n_beyond_cutoff`` and, with a target, ``target`` and
    ``meets_target`` (share of points covered under ``target_rule`` ≥ target).
    """
    if target_rule not in TARGET_RULES:
        raise ParameterError(f"target_rule={target_rule!r}; choose 'radius', 'time' or 'both'")
    f = frame.copy()
    f["_w"] = f[weight].astype(float).fillna(0.0)
    f["_cr"] = f["covered_radius"].astype(bool)
    f["_ct"] = f["covered_time"].astype(bool)
    f["_wr"] = f["_w"] * f["_cr"]
    f["_wt"] = f["_w"] * f["_ct"]
    f["_fc"] = f["false_coverage"].astype(bool)
    f["_un"] = f["status"] == STATUS_UNREACHABLE
    f["_bc"] = f["status"] == STATUS_BEYOND
    f["_all"] = "all"
    key = by if by is not None else "_all"
    g = f.groupby(key, sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "n_points": g.size(),
            "n_covered_radius": g["_cr"].sum(),
            "n_covered_time": g["_ct"].sum(),
            "weight_total": g["_w"].sum(),
            "weight_covered_radius": g["_wr"].sum(),
            "weight_covered_time": g["_wt"].sum(),
            "n_false_coverage": g["_fc"].sum(),
            "n_unreachable": g["_un"].sum(),
            "n_beyond_cutoff": g["_bc"].sum(),
        }
    )
    out["share_radius"] = out["n_covered_radius"] / out["n_points"]
    out["share_time"] = out["n_covered_time"] / out["n_points"]
    wt = out["weight_total"].where(out["weight_total"] > 0)
    out["wshare_radius"] = out["weight_covered_radius"] / wt
    out["wshare_time"] = out["weight_covered_time"] / wt
    if target is not None:
        share = {"radius": out["share_radius"], "time": out["share_time"]}.get(
            target_rule, np.minimum(out["share_radius"], out["share_time"])
        )
        out["target"] = target
        out["meets_target"] = share >= target - 1e-12
    out.index.name = by or "scope"
    return out.reset_index()
