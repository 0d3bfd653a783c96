"""Excel workbooks for planners (.xlsx beside the CSV files), written reproducibly.

:func:`write_excel` writes one sheet per table with a bold, frozen header row, column widths
fitted to the content (Chinese characters count double), shares shown as percentages,
infinite or missing numbers as blank cells, and text that starts with ``=`` kept as text
(never a formula: a hostile name cannot run anything in Excel). The file is written
atomically and is byte-for-byte reproducible: the document timestamps and the ZIP entry
times are set from the run date instead of the clock.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .atomic import atomic_write_bytes, check_writable

__all__ = ["EXCEL_CELL_LIMIT", "sheet_names", "write_excel"]

logger = logging.getLogger(__name__)

EXCEL_CELL_LIMIT = 32_767  # characters in one cell
_MAX_ROWS = 1_048_575  # data rows below the header
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PERCENT = re.compile(r"(?:^|\s)w?share(?:_|$)|_share$|占比|覆盖率|比例|(?i:\bshare\b)")
_MIN_WIDTH, _MAX_WIDTH = 6, 60


def sheet_names(names: Iterable[str]) -> list[str]:
    """Valid, unique Excel sheet names for ``names`` (in order).

    Characters Excel forbids (``[ ] : * ? / \\``) become ``_``, names are cut to 31
    characters, leading/trailing apostrophes are removed, and repeats (compared without
    case, as Excel does) get a ``~2``, ``~3`` ... suffix.

    Parameters
    ----------
    names
        The wanted names.

    Returns
    -------
    list of str
        One valid name per input name.

    Examples
    --------
    >>> sheet_names(["汇总 Summary", "a/b", "A/B", "x" * 40])
    ['汇总 Summary', 'a_b', 'A_B~2', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
    """
    out: list[str] = []
    seen: set[str] = set()
    for raw in names:
        base = _BAD_SHEET_CHARS.sub("_", _CONTROL.sub(" ", str(raw))).strip().strip("'")
        base = (base or "Sheet")[:31]
        name, k = base, 1
        while name.casefold() in seen or name.casefold() == "history":
            k += 1
            suffix = f"~{k}"
            name = base[: 31 - len(suffix)] + suffix
        seen.add(name.casefold())
        out.append(name)
    return out


def _fixed_datetime(run_date: str | _dt.date | None) -> _dt.datetime:
    if run_date is None:
        return _dt.datetime.combine(_dt.date.today(), _dt.time())
    if isinstance(run_date, _dt.datetime):
        return run_date.replace(tzinfo=None, microsecond=0)
    if isinstance(run_date, _dt.date):
        return _dt.datetime.combine(run_date, _dt.time())
    try:
        return _dt.datetime.fromisoformat(str(run_date)).replace(tzinfo=None, microsecond=0)
    except ValueError:
        raise ParameterError(
            f"run_date={run_date!r} is not an ISO date. Fix: pass e.g. '2026-01-01'."
        ) from None


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell_value(value: Any) -> Any:
    """A value openpyxl can store: numpy scalars unwrapped, inf/NaN/None blank, text cleaned."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        ts = pd.Timestamp(value)
        return (ts.tz_localize(None) if ts.tzinfo is not None else ts).to_pydatetime()
    if isinstance(value, _dt.date):
        return value
    if hasattr(value, "wkt") and hasattr(value, "geom_type"):  # shapely geometry
        value = value.wkt
    text = _CONTROL.sub(" ", str(value))
    if len(text) > EXCEL_CELL_LIMIT:
        logger.warning("a cell of %d characters was cut to Excel's limit of %d", len(text), EXCEL_CELL_LIMIT)
        text = text[: EXCEL_CELL_LIMIT - 1] + "…"
    return text


def _fill_sheet(ws: Any, frame: pd.DataFrame, *, percent: re.Pattern[str]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    if len(frame) > _MAX_ROWS:
        raise ParameterError(
            f"sheet {ws.title!r}: {len(frame):,} rows exceed Excel's {_MAX_ROWS:,}. "
            "Fix: use the CSV file, or split the table."
        )
    bold = Font(bold=True)
    headers = [_cell_value(c) for c in frame.columns]
    widths = [_display_width(str(h or "")) for h in headers]
    for j, head in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=head)
        cell.data_type = "s"
        cell.font = bold
        cell.alignment = Alignment(vertical="top", wrap_text=False)
    for j, col in enumerate(frame.columns, start=1):
        values = frame.iloc[:, j - 1].tolist()
        is_pct = bool(percent.search(str(col))) and pd.api.types.is_numeric_dtype(frame.iloc[:, j - 1])
        for i, raw in enumerate(values, start=2):
            value = _cell_value(raw)
            cell = ws.cell(row=i, column=j, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # "=..." stays text, never a formula
                widths[j - 1] = max(widths[j - 1], _display_width(value))
            elif isinstance(value, float):
                if is_pct:
                    cell.number_format = "0.0%"
                    widths[j - 1] = max(widths[j - 1], 7)
                else:
                    widths[j - 1] = max(widths[j - 1], min(len(f"{value:.6g}"), 14))
            elif value is not None:
                widths[j - 1] = max(widths[j - 1], len(str(value)))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = float(min(max(w + 2, _MIN_WIDTH), _MAX_WIDTH))
    ws.freeze_panes = "A2"
    if len(frame.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"


def _normalise_zip(data: bytes, when: _dt.datetime) -> bytes:
    """Rewrite the ``.xlsx`` ZIP with fixed entry times and fixed document timestamps."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    zip_time = max(when, _dt.datetime(1980, 1, 1)).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                for tag in ("created", "modified"):
                    text = re.sub(
                        rf"(<dcterms:{tag}\b[^>]*>)[^<]*(</dcterms:{tag}>)", rf"\g<1>{stamp}\g<2>", text
                    )
                body = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=zip_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body, compresslevel=6)
    return out.getvalue()


def write_excel(
    path: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    *,
    overwrite: bool = False,
    run_date: str | _dt.date | None = None,
    percent_columns: str | None = None,
) -> Path:
    """Write tables to one ``.xlsx`` workbook, one sheet each, atomically and reproducibly.

    Parameters
    ----------
    path
        The ``.xlsx`` file.
    sheets
        Sheet name → table, in order. Names are made valid for Excel (see
        :func:`sheet_names`); Chinese names and headers are fine. Geometry columns are
        written as WKT text; GeoDataFrames are accepted.
    overwrite
        Whether an existing file may be replaced.
    run_date
        The document's created/modified time and the ZIP entry times (ISO date or datetime;
        default today at midnight), so the same tables on the same date give the same bytes.
    percent_columns
        Regular expression for the numeric columns shown as percentages (default: names
        with a word starting ``share_``/``wshare_``, ending in ``_share``, the word "share" or
        containing ``占比``, ``覆盖率`` or ``比例``).
        Only the display changes; the stored values stay shares between 0 and 1.

    Returns
    -------
    pathlib.Path
        The written workbook.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    ParameterError
        No sheets, a sheet is not a DataFrame, it has too many rows, or a bad ``run_date``.
    """
    from openpyxl import Workbook

    target = check_writable(path, overwrite=overwrite)
    if not sheets:
        raise ParameterError("write_excel: no sheets given. Fix: pass at least one table.")
    when = _fixed_datetime(run_date)
    pattern = re.compile(percent_columns) if percent_columns is not None else _PERCENT
    wb = Workbook()
    wb.remove(wb.active)
    names = sheet_names(sheets.keys())
    for name, (key, frame) in zip(names, sheets.items()):
        if not isinstance(frame, pd.DataFrame):
            raise ParameterError(f"write_excel: sheet {key!r} is a {type(frame).__name__}, not a DataFrame.")
        if name != key:
            logger.info("sheet %r written as %r (Excel limits)", key, name)
        _fill_sheet(wb.create_sheet(title=name), pd.DataFrame(frame), percent=pattern)
    wb.properties.creator = "yanglao-coverage"
    wb.properties.created = when
    wb.properties.modified = when
    buf = io.BytesIO()
    wb.save(buf)
    out = atomic_write_bytes(target, _normalise_zip(buf.getvalue(), when), overwrite=overwrite)
    logger.info("wrote %s (%d sheets)", out, len(names))
    return out
