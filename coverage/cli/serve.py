"""``coverage serve``: the planning studio (live what-if in the browser) on the audit's inputs."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import webbrowser
from pathlib import Path
from typing import Any

from ._args import add_common_flags, add_coord_system_flags, config_from_args, read_input

__all__ = ["add_serve_command"]

logger = logging.getLogger(__name__)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_serve_command(sub: Any) -> dict[str, Any]:
    """Register ``coverage serve``; returns its handler by command name."""
    from .commands import _add_inputs, _add_rules

    s = sub.add_parser("serve", help="planning studio: the audit map in the browser, live what-if (add, move, close stations)")
    _add_inputs(s)
    g = s.add_argument_group("candidate sites (ranking and site models)")
    g.add_argument("--candidates", help="candidate sites file (default: the model county's candidates; none for other inputs)")
    add_coord_system_flags(g, ["candidates"], default=False)
    _add_rules(s)
    w = s.add_argument_group("studio")
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    w.add_argument("--port", type=int, default=0, help="port (default 0: a free one; the URL is printed)")
    w.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also accept this host name in requests (with --host 0.0.0.0: the name others use)")  # fmt: skip
    w.add_argument("--no-browser", action="store_true", help="do not open the browser (print the URL only)")
    w.add_argument("--lang", choices=["zh", "en", "both"], default="both", help="labels of the page: zh, en or both (default)")
    w.add_argument("--out", default="out/studio", help="folder exports are written into (default out/studio); "
                   "each export is a new folder scenario-<n>")  # fmt: skip
    w.add_argument("--date", help="date recorded in exports, YYYY-MM-DD (default today)")
    w.add_argument("--overwrite", action="store_true", help="an export replaces an existing scenario-<n> folder "
                   "(without it the export goes to scenario-<n>-2, -3 ...)")  # fmt: skip
    w.add_argument("--pdf", action="store_true", help="exports also print the report as PDF (needs Chromium)")
    w.add_argument("--rate", type=float, default=200.0, help="requests per second allowed (default 200)")
    add_common_flags(s)
    return {"serve": _cmd_serve}


def _cmd_serve(args: argparse.Namespace) -> int:
    from ..audit.run import AuditOptions
    from ..publish.report import ReportOptions
    from ..studio import ScenarioBook, Studio, create_app, new_token
    from ..studio.server import bind, serve_forever, url_of
    from .commands import _load

    cfg = config_from_args(args)
    if args.host not in _LOOPBACK:
        logger.warning("listening on %s: other computers on the network can reach the studio (they still need the token)", args.host)
    net, fac, dem, zones, mc = _load(args)
    cand = read_input(args, "candidates", "candidates") if args.candidates else (mc.candidates if mc is not None else None)
    logger.info("auditing %d demand points against %d facilities ...", len(dem), len(fac))
    opts = AuditOptions(target=args.target, target_rule=args.target_rule, run_date=args.date)
    studio = Studio(net, fac, dem, zones=zones, candidates=cand, config=cfg, options=opts)
    token = new_token()
    sock = bind(args.host, args.port)
    url = url_of(sock, args.host, token)
    out = Path(args.out).resolve()
    book = ScenarioBook(studio, out, report=ReportOptions(lang="zh") if args.lang == "zh" else None, pdf=args.pdf,
                        overwrite=args.overwrite)  # fmt: skip
    hosts = {args.host, *_LOOPBACK, *args.allow_host} - {"0.0.0.0", "::", ""}
    app = create_app(studio, token=token, hosts=hosts, out_dir=out, lang=args.lang, rate=args.rate, book=book)
    print(f"planning studio: {url}\n  exports go to {out}/scenario-<n>; API: {url.split('?')[0]}api/openapi.json "
          "(header X-Studio-Token); Ctrl+C stops", flush=True)  # fmt: skip
    if not args.no_browser:
        threading.Timer(0.3, webbrowser.open, [url]).start()
    try:
        serve_forever(app, sock, log_level="debug" if args.debug else "warning")
    finally:
        sock.close()
    print("studio stopped", file=sys.stderr)
    return 0
