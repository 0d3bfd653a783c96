"""The studio's web application: a FastAPI app serving the page and its JSON API.

Security model (the studio runs on a planner's laptop, next to their browser):

* it listens on 127.0.0.1 unless told otherwise (``coverage serve --host``, with a warning);
* every request must name an allowed ``Host`` (the bound address, ``localhost``,
  ``127.0.0.1``, and hosts given with ``--allow-host``): a page elsewhere that rebinds its
  own domain name to 127.0.0.1 (DNS rebinding) is refused;
* the page and every API call need the session token (a random 192-bit value made at
  launch, in the URL the studio opens; compared in constant time), so other pages open in
  the same browser cannot drive it; a request whose ``Origin`` is not an allowed host is
  refused too;
* the client never names a file: exports go to a new folder under ``--out`` chosen at
  launch, named by the scenario's number;
* request bodies are at most :data:`MAX_BODY` bytes and requests are rate-limited (a token
  bucket: ``rate`` per second, bursts of ``burst``);
* every name sent is escaped (:func:`coverage.publish._html.esc`); the page is served with
  a Content-Security-Policy allowing only its own scripts (no inline script, no CDN).

Edits are serialised by the :class:`~coverage.studio.session.Studio`'s lock.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from ..errors import CoverageError
from ..publish._html import esc
from .payload import AREA_BATCH, LANGS, edit_payload, initial_state, service_areas, summary_payload
from .scenarios import ScenarioBook, rank_candidates
from .session import Studio

__all__ = ["MAX_BODY", "StudioGuard", "create_app", "new_token"]

logger = logging.getLogger(__name__)

#: the largest request body accepted (bytes)
MAX_BODY = 16_384
TOKEN_HEADER = "x-studio-token"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_STATIC = {
    "leaflet.js": ("coverage.publish", "static/leaflet/1.9.3/leaflet.js", "text/javascript"),
    "leaflet.css": ("coverage.publish", "static/leaflet/1.9.3/leaflet.css", "text/css"),
    "images/layers.png": ("coverage.publish", "static/leaflet/1.9.3/images/layers.png", "image/png"),
    "images/layers-2x.png": ("coverage.publish", "static/leaflet/1.9.3/images/layers-2x.png", "image/png"),
    "images/marker-icon.png": ("coverage.publish", "static/leaflet/1.9.3/images/marker-icon.png", "image/png"),
    "studio.js": ("coverage.studio", "static/studio.js", "text/javascript"),
    "studio.css": ("coverage.studio", "static/studio.css", "text/css"),
}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")  # fmt: skip


def new_token() -> str:
    """A fresh session token (32 URL-safe characters, 192 random bits)."""
    return secrets.token_urlsafe(24)


class StudioGuard:
    """ASGI middleware: Host and Origin checks, the session token, body size and rate.

    Parameters
    ----------
    app
        The application behind it.
    token
        The session token: required on ``/`` and every ``/api`` path, as the header
        ``X-Studio-Token`` or the query parameter ``token``.
    hosts
        Host names accepted in the ``Host`` header and in ``Origin``.
    max_body
        Largest request body, bytes (413 above).
    rate, burst
        Requests per second allowed on average, and in a burst (429 above).
    """

    def __init__(self, app: Any, *, token: str, hosts: set[str], max_body: int = MAX_BODY, rate: float = 200.0,
                 burst: int = 400) -> None:  # fmt: skip
        self.app, self.token, self.hosts = app, token.encode(), {h.lower() for h in hosts}
        self.max_body, self.rate, self.burst = max_body, rate, burst
        self._tokens, self._t = float(burst), time.monotonic()
        self._lock = threading.Lock()

    def _allow_rate(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._t) * self.rate)
            self._t = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def _host_ok(self, value: str) -> bool:
        host = value.strip().lower()
        if host.startswith("["):  # [::1]:8000
            host = host[1:].split("]", 1)[0]
        elif host.count(":") == 1:
            host = host.split(":", 1)[0]
        return host in self.hosts

    def _token_ok(self, headers: dict[str, str], query: bytes) -> bool:
        given = headers.get(TOKEN_HEADER)
        if given is None:
            given = (parse_qs(query.decode("latin-1")).get("token") or [""])[0]
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token)

    def _refusal(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not self._host_ok(headers.get("host", "")):
            return 421, "host not allowed (the studio answers only to the address it was started on)"
        origin = headers.get("origin")
        if origin is not None and (origin == "null" or not self._host_ok(urlsplit(origin).netloc)):
            return 403, "cross-origin request refused"
        path = scope.get("path", "")
        if (path == "/" or path.startswith("/api")) and not self._token_ok(headers, scope.get("query_string", b"")):
            return 403, "missing or wrong session token (open the URL the studio printed)"
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return 413, f"request body larger than {self.max_body} bytes"
        if not self._allow_rate():
            return 429, "too many requests: slow down"
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._refusal(scope)
        if refused is None and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            body, refused = await self._read_body(receive)
            if refused is None:
                receive = _replay(body)
        if refused is not None:
            status, detail = refused
            await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _read_body(self, receive: Any) -> tuple[bytes, tuple[int, str] | None]:
        """The whole body (chunked bodies too), refused past :attr:`max_body`."""
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return b"", (400, "client went away")
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"", (413, f"request body larger than {self.max_body} bytes")
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(chunks), None


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


# ---------------------------------------------------------------------- request bodies
class AddStation(BaseModel):
    """A station to add: where the planner clicked (WGS-84); it goes to the nearest road point."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    name: str | None = Field(default=None, max_length=80)


class MoveStation(BaseModel):
    """Where to move a station (WGS-84; snapped to the nearest road point)."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class SaveScenario(BaseModel):
    name: str = Field(default="", max_length=80)


class Propose(BaseModel):
    """A site model run: MCLP with ``k`` new sites, or LSCP (``k`` ignored)."""

    model: Literal["mclp", "lscp"] = "mclp"
    k: int = Field(default=3, ge=0, le=200)
    name: str = Field(default="", max_length=80)


def _page(token: str, lang: str, title: str) -> str:
    config = json.dumps({"token": token, "lang": lang}).replace("<", "\\u003c")
    return (f'<!doctype html><html lang="{"en" if lang == "en" else "zh"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            '<link rel="stylesheet" href="/static/leaflet.css"><link rel="stylesheet" href="/static/studio.css"></head>'
            f'<body><script type="application/json" id="studio-config">{config}</script>'
            '<div id="map"></div><aside id="panel"></aside><div id="legend" class="yl-legend"></div>'
            '<script src="/static/leaflet.js"></script><script src="/static/studio.js"></script></body></html>')  # fmt: skip


def create_app(studio: Studio, *, token: str, hosts: set[str] | None = None, out_dir: Path | None = None, lang: str = "both",
               rate: float = 200.0, burst: int = 400, book: ScenarioBook | None = None) -> Any:  # fmt: skip
    """The studio's ASGI application (FastAPI behind :class:`StudioGuard`).

    ``hosts`` default the loopback names; ``out_dir`` is where exports go (None: off);
    ``lang`` is ``"zh"``, ``"en"`` or ``"both"``. The OpenAPI description is at
    ``/api/openapi.json`` (token required).
    """
    if lang not in LANGS:
        raise CoverageError(f"lang={lang!r}: choose zh, en or both")
    book = book or ScenarioBook(studio, out_dir)
    app = FastAPI(title="yanglao-coverage planning studio", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="Live what-if on a coverage audit. Every /api call needs the session token "
                  "(header X-Studio-Token). Names in responses are HTML-escaped.")  # fmt: skip
    _routes(app, studio, book, token, lang)
    return StudioGuard(app, token=token, hosts=set(hosts or _LOOPBACK), rate=rate, burst=burst)


def _json(payload: Any) -> Response:
    """A JSON response written directly (the big layers skip FastAPI's generic encoder)."""
    return Response(json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")), media_type="application/json")


def _errors(fn: Any) -> Any:
    """Run ``fn``; input problems become 422, unknown keys 404 (no traceback leaves)."""
    try:
        return fn()
    except KeyError as exc:
        raise HTTPException(404, f"not found: {esc(exc.args[0] if exc.args else '')}") from None
    except CoverageError as exc:
        raise HTTPException(422, " ".join(str(exc).split())) from None


def _routes(app: FastAPI, studio: Studio, book: ScenarioBook, token: str, lang: str) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> Response:
        return HTMLResponse(_page(token, lang, esc(studio.options.title)), headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in _STATIC:
            raise HTTPException(404, "not found")
        pkg, rel, mime = _STATIC[name]
        data = resources.files(pkg).joinpath(rel).read_bytes()
        return Response(data, media_type=mime, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    @app.get("/api/state", summary="Everything the page draws: layers, figures, zones, facilities, labels")
    def state() -> Response:
        return _json(initial_state(studio, lang))

    @app.get("/api/service_areas", summary=f"Service areas of open stations, by key (at most {AREA_BATCH} keys, comma-separated)")
    def areas(keys: str = Query(..., max_length=AREA_BATCH * 12)) -> Response:
        names = [k for k in keys.split(",") if k][:AREA_BATCH]
        with studio.lock:
            stations = [studio.stations[k] for k in names if k in studio.stations and studio.stations[k].open]
            return _json(service_areas(studio, stations))

    @app.get("/api/summary", summary="The figures of the live plan, named by their rule")
    def summary() -> dict[str, Any]:
        with studio.lock:
            return {"version": studio.version, "figures": summary_payload(studio.summary(), lang)}

    _edit_routes(app, studio, lang)

    @app.get("/api/history", summary="Every primitive operation applied, in order (open/close, key, metric x, y)")
    def history() -> dict[str, Any]:
        with studio.lock:
            return {"version": studio.version, "log": [list(x) for x in studio.log]}

    @app.get("/api/demand/{index}", summary="One demand point's audit result (names escaped)")
    def demand(index: int) -> dict[str, Any]:
        return _errors(lambda: _demand_detail(studio, index, lang))

    @app.get("/api/candidates", summary="Candidate sites ranked by marginal gain on the live plan")
    def candidates(top: int = Query(10, ge=1, le=100), rule: Literal["radius", "time"] = "radius") -> dict[str, Any]:
        rows = _errors(lambda: rank_candidates(studio, top=top, rule=rule))
        return {"rule": rule, "candidates": [{**r, "id": esc(r["id"]), "name": esc(r["name"])} for r in rows]}

    _scenario_routes(app, studio, book, lang)


def _edit_routes(app: FastAPI, studio: Studio, lang: str) -> None:
    def edit(fn: Any) -> Response:
        with studio.lock:  # the edit and its answer together: no other edit in between
            return _json(edit_payload(studio, _errors(fn), lang))

    @app.post("/api/stations", summary="Add a station at the road point nearest (lon, lat)")
    def add(body: AddStation) -> Response:
        return edit(lambda: studio.add(body.lon, body.lat, name=body.name))

    @app.put("/api/stations/{key}", summary="Move a station to the road point nearest (lon, lat)")
    def move(key: str, body: MoveStation) -> Response:
        return edit(lambda: studio.move(key, body.lon, body.lat))

    @app.delete("/api/stations/{key}", summary="Close a station")
    def close(key: str) -> Response:
        return edit(lambda: studio.close(key))

    @app.post("/api/undo", summary="Undo the last edit")
    def undo() -> Response:
        return edit(studio.undo)

    @app.post("/api/redo", summary="Redo the last undone edit")
    def redo() -> Response:
        return edit(studio.redo)


def _scenario_out(sc: Any, lang: str) -> dict[str, Any]:
    return {"sid": sc.sid, "name": esc(sc.name), "source": sc.source, "n_stations": len(sc.stations),
            "figures": summary_payload(sc.summary, lang)}  # fmt: skip


def _scenario_routes(app: FastAPI, studio: Studio, book: ScenarioBook, lang: str) -> None:
    @app.get("/api/scenarios", summary="The saved scenarios")
    def scenarios() -> dict[str, Any]:
        return {"scenarios": [_scenario_out(sc, lang) for sc in list(book.items.values())]}

    @app.post("/api/scenarios", summary="Save the live plan as a named scenario")
    def save(body: SaveScenario) -> dict[str, Any]:
        return _scenario_out(_errors(lambda: book.save(body.name)), lang)

    @app.post("/api/scenarios/propose", summary="Run MCLP (k new sites) or LSCP; the proposal becomes a scenario")
    def propose(body: Propose) -> dict[str, Any]:
        sc, sites = _errors(lambda: book.propose(body.model, body.k, name=body.name))
        return {**_scenario_out(sc, lang), "proposed": [{**s, "id": esc(s["id"]), "name": esc(s["name"])} for s in sites]}

    @app.get("/api/scenarios/compare", summary="Two scenarios side by side: figures, zones and facilities that differ")
    def compare(a: int, b: int) -> dict[str, Any]:
        out = _errors(lambda: book.compare(a, b, lang))
        for key in ("only_a", "only_b"):
            out[key] = [{"id": esc(r["id"]), "name": esc(r["name"])} for r in out[key]]
        out["figures"] = [{**f, "label": esc(f["label"])} for f in out["figures"]]
        out["zones"] = [{**z, "zone_id": esc(z["zone_id"]), "name": esc(z["name"])} for z in out["zones"]]
        return out

    @app.post("/api/scenarios/{sid}/open", summary="Make a scenario the live plan (one undoable edit)")
    def open_(sid: int) -> Response:
        with studio.lock:
            return _json(edit_payload(studio, _errors(lambda: book.open(sid)), lang))

    @app.delete("/api/scenarios/{sid}", summary="Delete a scenario")
    def delete(sid: int) -> dict[str, Any]:
        _errors(lambda: book.delete(sid))
        return {"deleted": sid}

    @app.post("/api/scenarios/{sid}/export", summary="Write a scenario as `coverage audit --report` would, under --out")
    def export(sid: int) -> dict[str, Any]:
        files = _errors(lambda: book.export(sid))
        return {"sid": sid, "files": {k: esc(v) for k, v in files.items()}}


def _demand_detail(studio: Studio, i: int, lang: str) -> dict[str, Any]:
    with studio.lock:
        r = studio.state.result
        if not 0 <= i < len(r.dist_m):
            raise KeyError(i)
        d = studio.base.demand.iloc[i]
        fac = int(r.facility[i])
        key = studio.position_key[fac] if fac >= 0 else None
        st = studio.stations.get(key) if key else None
        dist = float(r.dist_m[i])
        return {"index": i, "id": esc(d.get("id", i)), "name": esc(d.get("name", i)),
                "facility": esc(st.name) if st else None, "dist_m": dist if dist < float("inf") else None,
                "time_min": float(r.time_min[i]) if dist < float("inf") else None,
                "covered_radius": bool(r.covered_radius[i]), "covered_time": bool(r.covered_time[i]),
                "false_coverage": bool(r.false_coverage[i]), "weight": float(studio.weight[i])}  # fmt: skip
