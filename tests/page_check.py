"""Test helper: load a page in headless Chromium and report what a person would see.

:func:`page_check` talks to Chromium over the DevTools protocol on a pair of pipes
(``--remote-debugging-pipe``; POSIX only), so it needs no extra package and opens no
network port; with ``block_network=True`` no host name resolves and every
``http(s)``/``ws(s)`` request is blocked, so a page that needs the internet shows it. It
runs ``page_probe.js`` (beside this file) inside the page: console errors, the Leaflet map,
layer names, drawn features, popup texts, requests to the internet. The tests use it on
the maps and reports the package writes; the package itself only takes pictures and PDFs
(:mod:`coverage.publish.browser`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from coverage.errors import BrowserError
from coverage.publish.atomic import atomic_write_bytes
from coverage.publish.browser import (
    _check_size,
    _flags,
    _kill,
    _page_uri,
    _require_chromium,
    _tail,
    _workdir,
)

logger = logging.getLogger(__name__)

_REMOTE_SCHEMES = ("http:", "https:", "ws:", "wss:", "ftp:")
_BLOCKED_URLS = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]
# Runs in a tiny Python process: puts the DevTools pipe ends on fds 3 and 4, then execs
# Chromium (thread-safe, unlike preexec_fn; /bin/sh cannot redirect fds above 9).
_TRAMPOLINE = (
    "import os,sys;a,b=int(sys.argv[1]),int(sys.argv[2]);os.dup2(a,3);os.dup2(b,4);"
    "os.close(a);os.close(b);os.execv(sys.argv[3],sys.argv[3:])"
)


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


_PROBE_FILE = Path(__file__).with_name("page_probe.js")


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
    size: tuple[int, int] = (1400, 900),
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
    size
        Viewport width and height in pixels.
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
    _check_size(*size, wait_ms)
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
                dt, uri, expr, size=size, wait_ms=wait_ms,
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
