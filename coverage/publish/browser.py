"""Headless Chromium helpers: PNG pictures and PDFs of the HTML outputs, and page checks.

Planners attach static pictures of the audit map to printed submissions: :func:`screenshot`
writes one, :func:`pdf_from_html` prints a page to PDF, and :func:`page_check` loads a page
and reports what a person would see (console errors, the Leaflet map, layer names, drawn
features, popup texts, requests to the internet).

Every run starts a fresh Chromium with a temporary profile (deleted afterwards) and these
flags: ``--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync``. With
``block_network=True`` no host name resolves (``--host-resolver-rules="MAP * ~NOTFOUND"``)
and :func:`page_check` also blocks every ``http(s)``/``ws(s)`` request, so a page that needs
the internet shows it. :func:`page_check` talks to Chromium over the DevTools protocol on a
pair of pipes (``--remote-debugging-pipe``; POSIX only), so it needs no extra package and
opens no network port.

The Chromium binary is ``$YANGLAO_CHROMIUM`` if set, else the first of ``chromium``,
``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` on ``PATH``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import BrowserError, ParameterError
from .atomic import atomic_write_bytes, check_writable

__all__ = [
    "BASE_FLAGS",
    "BLOCK_NETWORK_FLAGS",
    "BrowserError",
    "find_chromium",
    "fix_pdf_dates",
    "page_check",
    "pdf_from_html",
    "relative_pdf_links",
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
_REMOTE_SCHEMES = ("http:", "https:", "ws:", "wss:", "ftp:")
_BLOCKED_URLS = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]
# Runs in a tiny Python process: puts the DevTools pipe ends on fds 3 and 4, then execs
# Chromium (thread-safe, unlike preexec_fn; /bin/sh cannot redirect fds above 9).
_TRAMPOLINE = (
    "import os,sys;a,b=int(sys.argv[1]),int(sys.argv[2]);os.dup2(a,3);os.dup2(b,4);"
    "os.close(a);os.close(b);os.execv(sys.argv[3],sys.argv[3:])"
)


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


def _capture(html_path: str | os.PathLike[str], out_path: str | os.PathLike[str], kind: str,
             extra: list[str], *, wait_ms: int, block_network: bool, overwrite: bool,
             timeout: float, post: Callable[[bytes], bytes] | None = None) -> Path:  # fmt: skip
    """Run ``chromium --screenshot`` / ``--print-to-pdf`` on a page; move the file to ``out_path``."""
    uri = _page_uri(html_path)
    check_writable(out_path, overwrite=overwrite)
    exe = _require_chromium()
    flag, magic = _OUTPUT[kind]
    with _workdir() as tmp:
        made = tmp / f"out.{kind}"
        args = [*_flags(tmp / "profile", block_network=block_network), *extra,
                f"--virtual-time-budget={wait_ms}", f"{flag}={made}", uri]  # fmt: skip
        _run_cli(exe, args, tmp / "profile", timeout=timeout)
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
    out = _capture(html_path, png_path, "png", size, wait_ms=wait_ms,
                   block_network=block_network, overwrite=overwrite, timeout=timeout)  # fmt: skip
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
        page's folder (:func:`relative_pdf_links`), the same page and date give the same
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
        return fix_pdf_dates(relative_pdf_links(data, page_dir), when)

    out = _capture(html_path, pdf_path, "pdf", ["--no-pdf-header-footer"], wait_ms=wait_ms,
                   block_network=block_network, overwrite=overwrite, timeout=timeout, post=post)  # fmt: skip
    logger.info("wrote PDF %s", out)
    return out


# --------------------------------------------------------------------------- DevTools over pipes
class _DevTools:
    """Minimal DevTools-protocol client of a Chromium started with ``--remote-debugging-pipe``."""

    def __init__(self, exe: str, flags: list[str], log: Path) -> None:
        if os.name != "posix":
            raise BrowserError("page_check needs a POSIX system (DevTools over pipes).")
        import fcntl  # POSIX only

        to_r, to_w = os.pipe()  # we write commands, Chromium reads them on fd 3
        from_r, from_w = os.pipe()  # Chromium writes replies on fd 4, we read them
        child = []
        try:
            # above 9 so that the dup2 onto 3 and 4 cannot clobber one another
            child = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_r, from_w)]
        finally:
            os.close(to_r)
            os.close(from_w)
        cmd = [sys.executable, "-I", "-c", _TRAMPOLINE, str(child[0]), str(child[1]), exe,
               *flags, "--remote-debugging-pipe"]  # fmt: skip
        self._w, self._r = to_w, from_r
        self._buf = bytearray()
        self._id = 0
        self._closed = False
        self.events: list[dict[str, Any]] = []
        self._log = open(log, "wb")  # closed in close()
        try:
            self.proc = subprocess.Popen(
                cmd, pass_fds=child, stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=self._log, start_new_session=True,
            )  # fmt: skip
        except OSError:
            self._log.close()
            os.close(to_w)
            os.close(from_r)
            raise
        finally:
            for fd in child:
                os.close(fd)

    def _recv(self, deadline: float) -> dict[str, Any]:
        while True:
            end = self._buf.find(b"\0")
            if end >= 0:
                msg = bytes(self._buf[:end])
                del self._buf[: end + 1]
                return json.loads(msg)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._r], [], [], remaining)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the DevTools pipe (did it crash?).")
                self._buf += chunk

    def call(
        self, method: str, params: dict | None = None, *, session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:  # fmt: skip
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode("utf-8") + b"\0"
        try:
            while data:
                data = data[os.write(self._w, data) :]
        except OSError as exc:  # the browser is gone
            raise BrowserError(
                f"DevTools {method}: cannot send ({exc}); did Chromium crash?"
            ) from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._recv(deadline)
            except TimeoutError:
                raise BrowserError(f"DevTools {method}: no answer within {timeout:g} s.") from None
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"DevTools {method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, *, timeout: float) -> dict[str, Any]:
        """Wait for an event (one that arrived already counts)."""
        for ev in self.events:
            if ev.get("method") == method:
                return ev
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self._recv(deadline)
            except TimeoutError:
                raise BrowserError(f"DevTools: no {method} within {timeout:g} s.") from None
            self.events.append(ev)
            if ev.get("method") == method:
                return ev

    def pump(self, seconds: float) -> None:
        """Collect the events of the next ``seconds``."""
        deadline = time.monotonic() + seconds
        with contextlib.suppress(TimeoutError):
            while True:
                self.events.append(self._recv(deadline))

    def close(self) -> None:
        """Close the browser (killed if it does not exit) and the pipes; idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", timeout=5.0)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
        for fd in (self._w, self._r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log.close()


def _arg_text(arg: dict[str, Any]) -> str:
    if "value" in arg:
        return str(arg["value"])
    return str(arg.get("description") or arg.get("unserializableValue") or arg.get("type", ""))


def _collect(events: list[dict[str, Any]], session: str) -> dict[str, list[str]]:
    """Console errors and warnings, uncaught exceptions and remote requests from events."""
    out: dict[str, list[str]] = {
        "console_errors": [],
        "console_warnings": [],
        "remote_requests": [],
    }
    for ev in events:
        if ev.get("sessionId") != session:
            continue
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            text = " ".join(_arg_text(a) for a in p.get("args", []))
            key = "console_warnings" if p["type"] == "warning" else "console_errors"
            out[key].append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            desc = d.get("exception", {}).get("description") or d.get("text", "")
            out["console_errors"].append(f"uncaught: {desc} (line {d.get('lineNumber')})")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out["console_errors"].append(
                f"{e.get('source')}: {e.get('text')} {e.get('url', '')}".strip()
            )
        elif method == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if url.lower().startswith(_REMOTE_SCHEMES):
                out["remote_requests"].append(url)
    return out


_PROBE_FILE = Path(__file__).with_name("static") / "page_probe.js"


def _check(
    dt: _DevTools,
    uri: str,
    expr: str,
    *,
    size: tuple[int, int],
    wait_ms: int,
    block_network: bool,
    screenshot_path: str | os.PathLike[str] | None,
    deadline: float,
) -> dict[str, Any]:
    """Open ``uri`` in a new tab of ``dt``'s browser, run the probe ``expr``, collect events."""

    def left() -> float:
        return max(deadline - time.monotonic(), 1.0)

    target = dt.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    attached = dt.call("Target.attachToTarget", {"targetId": target, "flatten": True})
    sid = attached["sessionId"]
    for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
        dt.call(method, session=sid)
    if block_network:
        try:
            dt.call("Network.setBlockedURLs", {"urls": _BLOCKED_URLS}, session=sid)
        except BrowserError as exc:  # experimental; host names resolve nowhere anyway
            logger.debug("Network.setBlockedURLs unavailable: %s", exc)
    metrics = {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False}
    dt.call("Emulation.setDeviceMetricsOverride", metrics, session=sid)
    dt.events = [ev for ev in dt.events if ev.get("method") != "Page.loadEventFired"]
    nav = dt.call("Page.navigate", {"url": uri}, session=sid)
    if nav.get("errorText"):
        raise BrowserError(f"could not load the page ({nav['errorText']}).")
    dt.wait_event("Page.loadEventFired", timeout=left())
    dt.pump(wait_ms / 1000)
    if screenshot_path is not None:
        shot = dt.call("Page.captureScreenshot", {"format": "png"}, session=sid)
        atomic_write_bytes(screenshot_path, base64.b64decode(shot["data"]), overwrite=True)
    params = {"expression": expr, "awaitPromise": True, "returnByValue": True}
    res = dt.call("Runtime.evaluate", params, session=sid, timeout=left())
    if "exceptionDetails" in res:
        d = res["exceptionDetails"]
        text = d.get("exception", {}).get("description") or d.get("text")
        raise BrowserError(f"the page check script failed: {text}")
    dt.pump(0.2)
    report: dict[str, Any] = dict(res["result"]["value"])
    return report | _collect(dt.events, sid)


def page_check(
    html_path: str | os.PathLike[str],
    *,
    width: int = 1400,
    height: int = 900,
    wait_ms: int = 500,
    open_popups: bool = True,
    max_popups: int = 2000,
    block_network: bool = True,
    screenshot_path: str | os.PathLike[str] | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Load a page in headless Chromium and report what a person would see.

    Parameters
    ----------
    html_path
        The page, e.g. an offline audit map.
    width, height
        Viewport size in pixels.
    wait_ms
        Milliseconds to wait after the load event before checking.
    open_popups
        Click every map feature (opening its popup) and hover it (opening its tooltip),
        recording their texts and the HTML element types inside them.
    max_popups
        At most this many features are clicked and hovered.
    block_network
        Resolve no host names and block every ``http(s)``/``ws(s)`` request; any attempt is
        still listed in ``remote_requests``.
    screenshot_path
        If given, a PNG of the viewport is written there (before any popup is opened;
        replaced if it exists).
    timeout
        Seconds for the whole check.

    Returns
    -------
    dict
        ``console_errors`` (console.error/assert, uncaught exceptions, failed loads),
        ``console_warnings``, ``remote_requests`` (URLs the page tried to fetch from the
        network), ``leaflet_version`` (None without Leaflet), ``n_maps`` (Leaflet maps
        found), ``layer_names`` (layer-control entries), ``n_circle_markers``, ``n_markers``,
        ``n_paths`` (vector layers), ``n_tile_layers``, ``n_svg_paths`` and
        ``canvas_pixels`` (drawn SVG paths / non-transparent canvas pixels), ``popup_texts``,
        ``tooltip_texts``, ``popup_tags`` (element types found inside popups and tooltips),
        ``n_clicked``, ``probe_errors``, ``title_before`` / ``title`` (document title before
        and after opening the popups) and ``body_text`` (visible text, first 20,000
        characters).

    Raises
    ------
    BrowserError
        No Chromium, it failed, the page did not load or the check timed out.
    """
    _check_size(width, height, wait_ms)
    uri = _page_uri(html_path)
    exe = _require_chromium()
    options = {"openPopups": bool(open_popups), "maxPopups": int(max_popups)}
    expr = f"({_PROBE_FILE.read_text(encoding='utf-8')})({json.dumps(options)})"
    started = time.monotonic()
    with _workdir() as tmp:
        log = tmp / "chromium.log"
        dt = _DevTools(exe, _flags(tmp / "profile", block_network=block_network), log)
        try:
            report = _check(
                dt, uri, expr, size=(width, height), wait_ms=wait_ms,
                block_network=block_network, screenshot_path=screenshot_path,
                deadline=started + timeout,
            )  # fmt: skip
        except BrowserError as exc:
            dt.close()
            raise BrowserError(f"{html_path}: {exc} Chromium said: {_tail(log) or '-'}") from None
        finally:
            dt.close()
    logger.info(
        "page check %s: %d console error(s), %d remote request(s), %.1f s", html_path,
        len(report["console_errors"]), len(report["remote_requests"]), time.monotonic() - started,
    )  # fmt: skip
    return report
