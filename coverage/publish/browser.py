"""Headless Chromium helpers: PNG pictures and PDFs of the HTML outputs.

Planners attach static pictures of the audit map to printed submissions: :func:`screenshot`
writes one, :func:`pdf_from_html` prints a page to PDF (with its timestamps set from the run
date and its links to local files made relative, so the same page gives the same bytes).

Every run starts a fresh Chromium with a temporary profile (deleted afterwards) and these
flags: ``--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync``. With
``block_network=True`` no host name resolves (``--host-resolver-rules="MAP * ~NOTFOUND"``),
so nothing loads from the internet.

The Chromium binary is ``$YANGLAO_CHROMIUM`` if set, else the first of ``chromium``,
``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` on ``PATH``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import BrowserError, ParameterError
from .atomic import atomic_write_bytes, check_writable

__all__ = [
    "BASE_FLAGS",
    "BLOCK_NETWORK_FLAGS",
    "BrowserError",
    "find_chromium",
    "fix_pdf_dates",
    "pdf_from_html",
    "relative_pdf_links",
    "renumber_pdf_node_ids",
    "screenshot",
]

logger = logging.getLogger(__name__)

CHROMIUM_ENV = "YANGLAO_CHROMIUM"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BASE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--disable-dev-shm-usage",
    "--hide-scrollbars", "--mute-audio", "--force-device-scale-factor=1",
    "--no-default-browser-check", "--password-store=basic",
)  # fmt: skip
BLOCK_NETWORK_FLAGS = ("--host-resolver-rules=MAP * ~NOTFOUND",)


# --------------------------------------------------------------------------- launching
def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None when there is none.

    Returns
    -------
    str or None
        ``$YANGLAO_CHROMIUM`` if it names an executable, else the first of ``chromium``,
        ``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` found on ``PATH``.
    """
    env = os.environ.get(CHROMIUM_ENV, "").strip()
    if env:
        found = shutil.which(env)
        if found:
            return found
        logger.warning("%s=%r is not an executable; searching PATH", CHROMIUM_ENV, env)
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _require_chromium() -> str:
    exe = find_chromium()
    if exe is None:
        raise BrowserError(
            "no Chromium found. Fix: install it (Debian/Ubuntu: apt-get install chromium) "
            f"or set {CHROMIUM_ENV} to the browser executable."
        )
    return exe


def _page_uri(html_path: str | os.PathLike[str]) -> str:
    path = Path(html_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such HTML file. Fix: write the page first.")
    return path.resolve().as_uri()


def _check_size(width: int, height: int, wait_ms: int) -> None:
    for name, value, low in (("width", width, 1), ("height", height, 1), ("wait_ms", wait_ms, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ParameterError(f"{name}={value!r} must be an integer >= {low}.")


def _flags(profile: Path, *, block_network: bool) -> list[str]:
    flags = [*BASE_FLAGS, f"--user-data-dir={profile}"]
    if block_network:
        flags += BLOCK_NETWORK_FLAGS
    return flags


def _kill(proc: subprocess.Popen) -> None:
    """End ``proc`` and its children (its own process group, started by us)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, signal.SIGKILL)
            else:  # Windows: no process groups
                proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [ln for ln in text.splitlines() if "dbus" not in ln.lower()]
    return "\n".join(lines)[-limit:]


def _run_cli(exe: str, args: list[str], profile: Path, *, timeout: float) -> None:
    """Run Chromium once with ``args`` and wait for it (killed after ``timeout`` s)."""
    log = profile.parent / "chromium.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [exe, *args], stdin=subprocess.DEVNULL, stdout=err, stderr=err,
            start_new_session=True,
        )  # fmt: skip
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise BrowserError(f"Chromium did not finish within {timeout:g} s.") from None
        except BaseException:  # e.g. KeyboardInterrupt: leave no browser behind
            _kill(proc)
            raise
    if code != 0:
        raise BrowserError(f"Chromium exited with status {code}: {_tail(log)}")


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    """A fresh temporary directory with an empty Chromium profile in ``profile/``."""
    tmp = Path(tempfile.mkdtemp(prefix="yanglao-chromium-"))
    try:
        (tmp / "profile").mkdir()
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_OUTPUT = {"png": ("--screenshot", b"\x89PNG"), "pdf": ("--print-to-pdf", b"%PDF")}


@dataclass(frozen=True)
class _Load:
    """How Chromium loads a page: virtual time it may run (ms), internet blocked, timeout (s)."""

    wait_ms: int
    block_network: bool
    timeout: float


def _capture(html_path: str | os.PathLike[str], out_path: str | os.PathLike[str], kind: str, extra: list[str],
             load: _Load, *, overwrite: bool, post: Callable[[bytes], bytes] | None = None) -> Path:  # fmt: skip
    """Run ``chromium --screenshot`` / ``--print-to-pdf`` on a page; move the file to ``out_path``."""
    uri = _page_uri(html_path)
    check_writable(out_path, overwrite=overwrite)
    exe = _require_chromium()
    flag, magic = _OUTPUT[kind]
    with _workdir() as tmp:
        made = tmp / f"out.{kind}"
        args = [*_flags(tmp / "profile", block_network=load.block_network), *extra,
                f"--virtual-time-budget={load.wait_ms}", f"{flag}={made}", uri]  # fmt: skip
        _run_cli(exe, args, tmp / "profile", timeout=load.timeout)
        data = made.read_bytes() if made.is_file() else b""
        if not data.startswith(magic):
            log = _tail(tmp / "chromium.log")
            raise BrowserError(f"Chromium wrote no {kind.upper()} of {html_path}: {log}")
        if post is not None:
            data = post(data)
        return atomic_write_bytes(out_path, data, overwrite=overwrite)


# --------------------------------------------------------------------------- PDF timestamps
# "/CreationDate (D:20260101120000+00'00')" in the document information dictionary
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate)(\s*)\(([^()\\]*)\)")
# "/ID [<hex> <hex>]" in the trailer
_PDF_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]*)>\s*<([0-9A-Fa-f]*)>\s*\]")
# a link annotation's target: "/URI (file:///abs/path/map.html)"
_PDF_FILE_URI = re.compile(rb"/URI(\s*)\((file://[^()\\]*)\)")


def relative_pdf_links(data: bytes, base_dir: str | os.PathLike[str]) -> bytes:
    """Make the ``file://`` links of a PDF relative to ``base_dir`` (the PDF's folder).

    Chromium resolves a page's relative links (the report's link to the interactive map)
    to absolute ``file://`` URIs, which tie the PDF to the folder it was printed in (a
    temporary one while the outputs are staged) and make its bytes depend on it. Relative
    URIs are resolved by PDF viewers against the PDF's own location, so the link keeps
    working when the folder is moved. Lengths are kept (spaces after the string).
    """
    from urllib.parse import quote, unquote, urlsplit

    base = Path(base_dir).resolve()

    def link(m: re.Match[bytes]) -> bytes:
        uri = m.group(2).decode("latin-1")
        parts = urlsplit(uri)
        try:
            rel = os.path.relpath(unquote(parts.path), base).replace(os.sep, "/")
        except ValueError:  # another drive (Windows)
            return m.group(0)
        new = quote(rel) + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
        raw = new.encode("latin-1")
        if len(raw) > len(m.group(2)):
            return m.group(0)
        return b"/URI" + m.group(1) + b"(" + raw + b")" + b" " * (len(m.group(2)) - len(raw))

    return _PDF_FILE_URI.sub(link, data)


# a tagged PDF's structure element id: "/ID (node00000025)", also a key of the /IDTree
_PDF_NODE_ID = re.compile(rb"\(node(\d{8})\)")


def renumber_pdf_node_ids(data: bytes) -> bytes:
    """Number the structure elements' ids of a tagged PDF 1, 2, 3, … in their order.

    Chromium names each structure element of a tagged PDF after its renderer's DOM node id
    (``/ID (node00000025)``). Those ids count every node the renderer ever made, including
    ones that come and go while the page loads, so the same page printed twice can get ids
    shifted by a few, which changes the bytes but nothing a reader sees. Each distinct id
    is replaced by its rank among all of them: the mapping keeps their order (the id tree's
    keys stay sorted) and their length (eight digits), so the cross-reference offsets stay
    valid. A PDF without such ids is returned unchanged.
    """
    found = sorted({int(m.group(1)) for m in _PDF_NODE_ID.finditer(data)})
    if not found:
        return data
    rank = {old: i for i, old in enumerate(found, start=1)}
    out = _PDF_NODE_ID.sub(lambda m: b"(node%08d)" % rank[int(m.group(1))], data)
    if len(out) != len(data):  # pragma: no cover - ranks never exceed the ids
        raise BrowserError("renumbering the PDF's structure ids changed its length")
    return out


def fix_pdf_dates(data: bytes, run_date: str | _dt.date | None = None) -> bytes:
    """Replace the clock time Chromium stamps into a PDF by the run date.

    ``/CreationDate`` and ``/ModDate`` become the run date at midnight (UTC) and a file
    identifier ``/ID``, if any, becomes a digest of the rest of the file, so the same page
    printed on the same run date gives the same bytes. Every replacement keeps the byte
    length (a shorter date form is padded with spaces after the string, which PDF allows
    between tokens), so the cross-reference offsets stay valid.

    Parameters
    ----------
    data
        The PDF bytes.
    run_date
        ISO date or datetime (default today at midnight).

    Returns
    -------
    bytes
        The PDF with fixed timestamps (unchanged if it holds none, e.g. compressed metadata).
    """
    from .excel import _fixed_datetime

    when = _fixed_datetime(run_date)
    forms = [when.strftime(f).encode("ascii") for f in
             ("D:%Y%m%d%H%M%S+00'00'", "D:%Y%m%d%H%M%SZ", "D:%Y%m%d%H%M%S", "D:%Y%m%d")]  # fmt: skip

    def date(m: re.Match[bytes]) -> bytes:
        old = m.group(3)
        for new in forms:
            if len(new) <= len(old):
                pad = b" " * (len(old) - len(new))
                return b"/" + m.group(1) + m.group(2) + b"(" + new + b")" + pad
        return m.group(0)

    out, n = _PDF_DATE.subn(date, data)
    if not n:
        logger.warning("the PDF holds no readable /CreationDate or /ModDate: its timestamps were not fixed")

    def ident(m: re.Match[bytes]) -> bytes:
        blank = out[: m.start()] + b"0" * (m.end() - m.start()) + out[m.end() :]
        digest = hashlib.sha256(blank).hexdigest().encode("ascii") * 4
        a, b = m.group(1), m.group(2)
        head = out[m.start() : m.start(1)]
        mid = out[m.end(1) : m.start(2)]
        tail = out[m.end(2) : m.end()]
        return head + digest[: len(a)] + mid + digest[: len(b)] + tail

    out = _PDF_ID.sub(ident, out)
    if len(out) != len(data):  # pragma: no cover - every replacement keeps the length
        raise BrowserError("fixing the PDF timestamps changed its length")
    return out


# --------------------------------------------------------------------------- pictures, PDF
def screenshot(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width: int = 1400,
    height: int = 900,
    wait_ms: int = 3000,
    block_network: bool = False,
    overwrite: bool = False,
    timeout: float = 120.0,
) -> Path:
    """Write a PNG picture of an HTML page (for printed submissions).

    Parameters
    ----------
    html_path
        The page, e.g. the audit map.
    png_path
        The PNG file to write (atomically).
    width, height
        Size of the browser window and the picture, in pixels.
    wait_ms
        Virtual time the page may run before the picture is taken
        (``--virtual-time-budget``: scripts and animations finish, the clock does not wait).
    block_network
        Resolve no host names, so nothing loads from the internet (basemap tiles neither).
    overwrite
        Whether an existing ``png_path`` may be replaced.
    timeout
        Seconds after which Chromium is stopped.

    Returns
    -------
    pathlib.Path
        The written PNG.

    Raises
    ------
    BrowserError
        No Chromium, it failed or timed out, or it wrote no picture.
    OutputExistsError
        ``png_path`` exists and ``overwrite`` is False.
    """
    _check_size(width, height, wait_ms)
    size = [f"--window-size={width},{height}"]
    out = _capture(html_path, png_path, "png", size, _Load(wait_ms, block_network, timeout), overwrite=overwrite)
    logger.info("wrote screenshot %s (%dx%d)", out, width, height)
    return out


def pdf_from_html(
    html_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str],
    *,
    wait_ms: int = 3000,
    block_network: bool = False,
    overwrite: bool = False,
    timeout: float = 120.0,
    run_date: str | _dt.date | None = None,
) -> Path:
    """Print an HTML page to PDF (``chromium --print-to-pdf``, no header or footer).

    Parameters
    ----------
    html_path
        The page, e.g. an audit report.
    pdf_path
        The PDF file to write (atomically).
    wait_ms
        Virtual time the page may run before printing (``--virtual-time-budget``).
    block_network
        Resolve no host names, so nothing loads from the internet.
    overwrite
        Whether an existing ``pdf_path`` may be replaced.
    timeout
        Seconds after which Chromium is stopped.
    run_date
        The PDF's creation and modification time (ISO date or datetime; default today at
        midnight) instead of the clock's; with links to local files made relative to the
        page's folder (:func:`relative_pdf_links`) and Chromium's structure ids numbered
        in order (:func:`renumber_pdf_node_ids`), the same page and date give the same
        bytes (:func:`fix_pdf_dates`).

    Returns
    -------
    pathlib.Path
        The written PDF.

    Raises
    ------
    BrowserError
        No Chromium, it failed or timed out, or it wrote no PDF.
    OutputExistsError
        ``pdf_path`` exists and ``overwrite`` is False.
    """
    from .excel import _fixed_datetime

    _check_size(1, 1, wait_ms)
    when = _fixed_datetime(run_date)  # a bad date fails before Chromium starts
    page_dir = Path(html_path).resolve().parent

    def post(data: bytes) -> bytes:
        return fix_pdf_dates(renumber_pdf_node_ids(relative_pdf_links(data, page_dir)), when)

    out = _capture(html_path, pdf_path, "pdf", ["--no-pdf-header-footer"], _Load(wait_ms, block_network, timeout),
                   overwrite=overwrite, post=post)  # fmt: skip
    logger.info("wrote PDF %s", out)
    return out
