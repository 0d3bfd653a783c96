"""Running the studio: uvicorn on a socket bound before start (so the URL, with its port and
token, is known before the first request), in the foreground (``coverage serve``) or in a
thread (tests, benchmarks)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["RunningServer", "bind", "serve_forever", "start_in_thread", "url_of"]

logger = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn writes the headers and the body separately: without this, Nagle's algorithm and the
    # client's delayed ACK hold every answer back ~40 ms (accepted sockets inherit the option)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, host: str, token: str) -> str:
    """The page's URL: ``http://host:port/?token=...`` (an IPv6 host in brackets)."""
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/?token={token}"


def _config(app: Any, sock: socket.socket, log_level: str) -> uvicorn.Config:
    host, port = sock.getsockname()[:2]
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off",
                          server_header=False, date_header=False)  # fmt: skip


def serve_forever(app: Any, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve ``app`` on ``sock`` until interrupted (Ctrl+C)."""
    uvicorn.Server(_config(app, sock, log_level)).run(sockets=[sock])


@dataclass
class RunningServer:
    """A server running in a thread: its base URL (no token) and how to stop it."""

    server: uvicorn.Server
    thread: threading.Thread
    base: str

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning",
                    timeout: float = 20.0) -> RunningServer:  # fmt: skip
    """Start ``app`` on ``host:port`` in a daemon thread; returns once it accepts connections."""
    sock = bind(host, port)
    server = uvicorn.Server(_config(app, sock, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="studio-server")
    thread.start()
    t0 = time.monotonic()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - t0 > timeout:
            raise RuntimeError("the studio server did not start")
        time.sleep(0.01)
    return RunningServer(server, thread, f"http://{host}:{sock.getsockname()[1]}")
