"""Columns the planning workflows need from their input layers.

:func:`coverage.inputs.points.read_points` and :func:`~coverage.inputs.points.read_zones` rename the
columns they recognise to standard names (类型 -> ``kind``, 乡镇 -> ``township``, 床位 ->
``capacity`` ...; the tables are :data:`coverage.inputs.points.TEXT_COLUMNS` and the numeric
fields). :func:`require_columns` raises :class:`~coverage.errors.InputFileError` naming
the file, each missing column with the names accepted for it, and the fix;
:func:`standard_kinds` reads Chinese ``kind`` values (村, 社区, 互助养老点, 卫生室 ...) as
the English ones the workflows match.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from ..engine.diagnostics import layer_source
from ..errors import InputFileError, format_problems
from ..inputs.points import _FIELDS, TEXT_COLUMNS

__all__ = ["KIND_SYNONYMS", "accepted_names", "require_columns", "standard_kinds"]

#: Chinese (and other) ``kind`` values read as the English value the workflows match.
KIND_SYNONYMS: dict[str, tuple[str, ...]] = {
    "village": ("村", "行政村", "村庄", "村委会"),
    "community": ("社区", "居委会", "城市社区"),
    "village_point": ("互助养老点", "村级互助养老点", "农村互助养老点", "互助点"),
    "community_station": ("社区养老服务站", "养老服务站", "日间照料中心", "社区日间照料中心"),
    "township_centre": ("乡镇养老服务中心", "乡镇中心", "街道养老服务中心"),
    "nursing_home": ("养老院", "敬老院", "福利院", "社会福利中心", "养老机构"),
    "village_service_centre": ("便民服务中心", "村便民服务中心", "党群服务中心", "村级综合服务中心"),
    "clinic": ("卫生室", "村卫生室", "卫生院", "诊所"),
    "idle_school": ("闲置学校", "闲置校舍"),
    "vacant_building": ("闲置房屋", "空置房屋", "闲置用房"),
}
_KIND_OF = {alias: std for std, aliases in KIND_SYNONYMS.items() for alias in aliases}


def standard_kinds(values: pd.Series) -> pd.Series:
    """``kind`` values as text, Chinese synonyms (:data:`KIND_SYNONYMS`) read as English."""
    return values.map(lambda v: v if pd.isna(v) else _KIND_OF.get(str(v).strip(), str(v).strip()))


def accepted_names(column: str, limit: int = 4) -> str:
    """``"'kind' (类型/类别/设施类型/机构类型)"``: a standard column and the Chinese names read as it."""
    aliases = TEXT_COLUMNS.get(column) or _FIELDS.get(column) or []
    chinese = [a for a in aliases if not a.isascii()][:limit]
    return f"'{column}'" + (f" ({'/'.join(chinese)})" if chinese else "")


def _columns(frame: pd.DataFrame) -> list[str]:
    """The columns as the file names them (编号 for ``id`` ...), from the readers' ``attrs``."""
    a = frame.attrs
    original = {"id": a.get("id_column"), "name": a.get("name_column"), **(a.get("field_columns") or {})}
    skip = {"geometry", "source_row", frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None}
    return [str(original.get(c) or c) for c in frame.columns if c not in skip]


def require_columns(frame: pd.DataFrame, needed: Mapping[str, str], *, label: str, fix: str) -> None:
    """Raise :class:`~coverage.errors.InputFileError` when ``frame`` lacks a column of ``needed``.

    Parameters
    ----------
    frame
        The layer (its ``attrs["source"]``, set by the readers, names the file).
    needed
        Column -> what it is needed for (``"to find the existing points"``).
    label
        The layer's role, used when it was not read from a file (``"facilities"``).
    fix
        What to do (the message adds the accepted names and the columns the file has).
    """
    missing = [c for c in needed if c not in frame]
    if not missing:
        return
    problems = [f"no column {accepted_names(c)} {needed[c]}" for c in missing]
    raise InputFileError(
        format_problems(
            layer_source(frame, label),
            problems,
            f"{fix} (English or Chinese column names are read; the file's columns are {_columns(frame)})",
        )
    )
