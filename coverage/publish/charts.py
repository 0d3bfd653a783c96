"""Charts for committee reports (matplotlib, Agg, reproducible PNG bytes).

* :func:`distance_histogram` -- network distance from every demand point to its nearest
  facility, with lines at the coverage radius and the 15-minute walking limit.
* :func:`coverage_by_zone_chart` -- share of points covered per zone, with the target.
* :func:`share_bars_chart` -- two shares per row (by road and by walk, before and after
  new sites ...), with a target line.

All text is drawn literally (no mathtext, no LaTeX: :func:`plain_text_rc`), so names such
as ``$x^2$`` show as typed. Labels are bilingual (中文 / English) and drawn with a
CJK-capable font found among the installed fonts (:data:`CJK_FONTS`); without one the labels
are English only and a warning is logged. Figures are drawn on their own
:class:`~matplotlib.figure.Figure` (no pyplot state) and saved with a fixed size and
resolution and without the "Software" entry, so the same data gives the same bytes; files
are written atomically.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine.whatif import STATUS_UNREACHABLE
from ..errors import ParameterError
from .atomic import atomic_write_bytes, check_writable

__all__ = [
    "CJK_FONTS",
    "DPI",
    "cjk_font",
    "coverage_by_zone_chart",
    "distance_histogram",
    "plain_text_rc",
    "share_bars_chart",
]

logger = logging.getLogger(__name__)

CJK_FONTS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Noto Sans SC", "Arial Unicode MS",
)  # fmt: skip
DPI = 120
_BLUE, _LIGHT, _RED, _GREEN = "#1f5fa8", "#8fb8e8", "#c0392b", "#2e7d32"


_FONT_FILE_HINTS = ("wqy", "noto", "sourcehan", "source-han", "simhei", "msyh", "pingfang", "heiti", "arialuni")


def _installed_names() -> set[str]:
    from matplotlib import font_manager

    return {f.name for f in font_manager.fontManager.ttflist}


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font of :data:`CJK_FONTS`, or None (a warning is logged once).

    Matplotlib caches its font list; a CJK font installed after the cache was built is
    found by looking at the system's font files and adding the likely ones.

    Returns
    -------
    str or None
        The font family name matplotlib knows.
    """
    from matplotlib import font_manager

    installed = _installed_names()
    if not installed.intersection(CJK_FONTS):
        for file in font_manager.findSystemFonts():
            if any(h in Path(file).name.lower() for h in _FONT_FILE_HINTS):
                with contextlib.suppress(Exception):  # unreadable font files are skipped
                    font_manager.fontManager.addfont(file)
        installed = _installed_names()
    for name in CJK_FONTS:
        if name in installed:
            logger.debug("charts use the font %s", name)
            return name
    logger.warning(
        "no CJK font found (tried %s): chart labels are English only and Chinese names may "
        "show as boxes. Fix: install one, e.g. apt-get install fonts-wqy-microhei",
        ", ".join(CJK_FONTS),
    )
    return None


def _label(zh: str, en: str) -> str:
    return f"{zh} {en}" if cjk_font() else en


def _text(text: str) -> str:
    """``text`` without its Chinese words when no CJK font is installed."""
    if cjk_font():
        return text
    kept = [w for w in text.split() if not any("\u3000" <= ch <= "\u9fff" for ch in w)]
    return " ".join(kept) or text


def plain_text_rc() -> dict[str, Any]:
    """Matplotlib settings under which every text is drawn literally.

    User text (facility, zone and village names, ids) reaches titles, labels, legends, tick
    labels and annotations. Matplotlib parses ``$...$`` as mathtext (``"$\\frac$"`` raises,
    ``"$x^2$"`` draws a superscript) and with ``text.usetex`` hands every text to LaTeX;
    with these settings neither happens, so no caller has to escape ``$`` itself.
    Use them in :func:`matplotlib.rc_context` around both drawing and saving: a text takes
    the setting when it is created, and tick labels are created while saving.
    """
    return {"text.parse_math": False, "text.usetex": False}


@contextlib.contextmanager
def _style() -> Iterator[None]:
    import matplotlib as mpl

    font = cjk_font()
    rc: dict[str, Any] = {
        "font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "font.size": 10,
        "svg.hashsalt": "yanglao",
        "path.simplify": True,
        # names and ids are user text: "$x^2$" is shown as typed, "$\\frac$" cannot crash
        # the mathtext parser, and no LaTeX runs (see plain_text_rc)
        **plain_text_rc(),
    }
    with mpl.rc_context(rc), warnings.catch_warnings():
        # names in scripts the font lacks draw as boxes; that is not an error
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        yield


def _figure(width_in: float, height_in: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path, *, overwrite: bool) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    out = atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)
    logger.info("wrote chart %s", out)
    return out


def _pct_axis(ax: Any, axis: str = "x") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def distance_histogram(
    demand: pd.DataFrame,
    *,
    radius_m: float,
    walk_limit_m: float,
    path: str | Path,
    time_min: float = 15.0,
    cutoff_m: float | None = None,
    bin_m: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Histogram of network distances to the nearest facility.

    Parameters
    ----------
    demand
        Audit demand results with ``dist_m`` (infinite when no facility is within the search
        cutoff) and optionally ``status`` (``"unreachable"`` for points off the roads).
    radius_m
        Coverage radius (vertical line, e.g. 1000 m).
    walk_limit_m
        Distance walked in ``time_min`` (vertical line, e.g. 720 m at 0.8 m/s).
    path
        The PNG file.
    time_min
        Minutes of the service circle (for the line's label).
    cutoff_m
        The search cutoff (named in the note), e.g. ``AuditConfig.search_cutoff_m``.
    bin_m
        Bar width in metres (default: 50 m, or wider for long distances).
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        The written PNG. Points with no finite distance are not drawn; a note under the
        chart counts them (unreachable = off the roads; the rest beyond the search cutoff).
    """
    check_writable(path, overwrite=overwrite)
    if "dist_m" not in demand:
        raise ParameterError("distance_histogram: demand has no dist_m column. Fix: pass AuditResult.demand.")
    dist = pd.to_numeric(demand["dist_m"], errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(dist)
    status = demand["status"].astype(str).to_numpy() if "status" in demand else np.full(len(dist), "")
    n_unreach = int(np.sum(~finite & (status == STATUS_UNREACHABLE)))
    n_beyond = int(np.sum(~finite)) - n_unreach
    top = max(float(dist[finite].max()) if finite.any() else 0.0, radius_m, walk_limit_m)
    step = bin_m or max(50.0, 50.0 * math.ceil(top / 40 / 50))
    bins = np.arange(0.0, top + step, step)
    n_walk = int(np.sum(finite & (dist <= walk_limit_m)))
    n_radius = int(np.sum(finite & (dist <= radius_m)))
    with _style():
        fig = _figure(8.0, 4.4)
        ax = fig.add_subplot()
        ax.hist(dist[finite], bins=bins, color=_LIGHT, edgecolor=_BLUE, linewidth=0.6)
        walk = _label(f"{time_min:g}分钟步行", f"{time_min:g}-min walk")
        ax.axvline(walk_limit_m, color=_GREEN, linestyle="--", linewidth=1.6,
                   label=f"{walk} ≤ {walk_limit_m:,.0f} m: {n_walk}")  # fmt: skip
        rad = _label("覆盖半径", "coverage radius")
        ax.axvline(radius_m, color=_RED, linestyle="-", linewidth=1.6,
                   label=f"{rad} ≤ {radius_m:,.0f} m: {n_radius}")  # fmt: skip
        ax.set_xlabel(_label("到最近设施的路网距离", "Network distance to the nearest facility") + " (m)")
        ax.set_ylabel(_label("需求点数", "Demand points"))
        ax.set_xlim(0, bins[-1] + step)
        ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
        beyond = f" {cutoff_m:,.0f} m" if cutoff_m else ""
        lines = [f"Not drawn: {n_beyond} point(s) with no facility within the{beyond} search limit; {n_unreach} unreachable (off-road)."]
        if cjk_font():
            lines.insert(0, f"未绘出：{n_beyond} 个点在{beyond} 测算范围内没有设施；{n_unreach} 个点离道路过远（无法到达）。")
        fig.text(0.01, 0.012, "\n".join(lines), fontsize=8.5, color="#444444", ha="left", va="bottom", linespacing=1.5)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.24 if len(lines) > 1 else 0.2)
        return _save(fig, path, overwrite=overwrite)


def _value_labels(ax: Any, y: np.ndarray, values: np.ndarray) -> None:
    for yy, v in zip(y, values):
        ax.text(min(v, 1.0) + 0.008, yy, f"{v:.0%}", va="center", ha="left", fontsize=7.5, color="#333333")


def _bar_labels(names: Sequence[str], max_len: int = 18) -> list[str]:
    return [n if len(n) <= max_len else n[: max_len - 1] + "…" for n in names]


def coverage_by_zone_chart(
    by_zone: pd.DataFrame,
    *,
    target: float | None,
    path: str | Path,
    radius_m: float = 1000.0,
    time_min: float = 15.0,
    overwrite: bool = False,
) -> Path:
    """Horizontal bars of the share of points covered in each zone, with the target line.

    Parameters
    ----------
    by_zone
        :attr:`AuditResult.by_zone`: ``zone_id``, optionally ``zone_name``, ``share_radius``,
        ``share_time`` and optionally ``meets_target``.
    target
        Coverage target as a share (a dashed line), or None.
    path
        The PNG file.
    radius_m, time_min
        The rules (for the legend).
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        The written PNG. Zones that miss the target have red labels.
    """
    check_writable(path, overwrite=overwrite)
    for col in ("zone_id", "share_radius", "share_time"):
        if col not in by_zone:
            raise ParameterError(f"coverage_by_zone_chart: by_zone has no {col} column. Fix: pass AuditResult.by_zone.")
    names = by_zone["zone_name"] if "zone_name" in by_zone else by_zone["zone_id"]
    shares = {
        _label("路网", "road") + f" ≤ {radius_m:,.0f} m": by_zone["share_radius"],
        _label(f"{time_min:g}分钟步行", f"{time_min:g}-min walk"): by_zone["share_time"],
    }
    xlabel = _label("覆盖的需求点比例", "Share of demand points covered")
    below = None
    if target is not None and "meets_target" in by_zone:
        below = ~by_zone["meets_target"].fillna(False).astype(bool).to_numpy()
        xlabel += "\n" + _label("红色名称：未达目标", "red names: below target")
    return share_bars_chart([str(n) for n in names], shares, path=path, target=target, xlabel=xlabel, red=below,
                            overwrite=overwrite)  # fmt: skip


def share_bars_chart(
    names: Sequence[str],
    shares: Mapping[str, Sequence[float] | pd.Series],
    *,
    path: str | Path,
    target: float | None = None,
    colors: tuple[str, str] = (_BLUE, _LIGHT),
    xlabel: str | None = None,
    red: Sequence[bool] | np.ndarray | None = None,
    overwrite: bool = False,
) -> Path:
    """Two horizontal bars of shares (0–1) per row, e.g. coverage by road and by walk per zone,
    or before and after new sites, with an optional target line.

    Parameters
    ----------
    names
        Row labels (long names are cut to 18 characters).
    shares
        Legend entry -> one share per row; exactly two, drawn top and bottom in each row
        (missing shares as 0).
    path
        The PNG file.
    target
        Target share (a dashed line), or None.
    colors
        Colours of the two bars.
    xlabel
        Axis label (default "share covered").
    red
        Per row: draw its label in red (e.g. below target).
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    check_writable(path, overwrite=overwrite)
    if len(shares) != 2:
        raise ParameterError(f"share_bars_chart: give two shares per row, not {len(shares)}.")
    labels = _bar_labels([str(n) for n in names])
    n = len(labels)
    y = np.arange(n)[::-1]
    with _style():
        fig = _figure(8.0, max(2.6, 0.32 * n + 1.3))
        ax = fig.add_subplot()
        h = 0.38
        bars = [(y + off, pd.Series(v).astype(float).fillna(0).to_numpy()) for v, off in zip(shares.values(), (h / 2, -h / 2))]
        for (yy, v), legend, color in zip(bars, shares, colors, strict=True):
            ax.barh(yy, v, height=h, color=color, label=_text(legend))
        if target is not None:
            ax.axvline(target, color=_RED, linestyle="--", linewidth=1.4, label=_label("目标", "target") + f" {target:.0%}")
        for yy, v in bars:
            _value_labels(ax, yy, v)
        ax.set_yticks(y, labels)
        if red is not None:
            for tick, is_red in zip(ax.get_yticklabels(), red):
                tick.set_color(_RED if is_red else "#222222")
        ax.set_xlim(0, 1.08)
        ax.set_xticks(np.linspace(0, 1, 6))
        ax.set_ylim(-0.7, n - 0.3)
        _pct_axis(ax, "x")
        ax.set_xlabel(xlabel or _label("覆盖比例", "Share covered"))
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
        fig.tight_layout()
        return _save(fig, path, overwrite=overwrite)
