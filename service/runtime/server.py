"""Running the service under uvicorn: the multi-worker factory and an in-thread server."""

from __future__ import annotations

import gc
import socket
import threading
import time

import uvicorn
from litestar import Litestar

from service.app import create_app, with_lean_route
from service.assignment.lean_route import LeanAssignments
from service.runtime.logs import configure_json_logging
from service.runtime.memory import limit_malloc_arenas
from service.settings import Settings, is_loopback

__all__ = ["ThreadedServer", "asgi_factory", "is_loopback"]


def asgi_factory() -> LeanAssignments:
    """Entry point of each uvicorn worker process; settings come from the environment."""
    configure_json_logging()
    limit_malloc_arenas()
    app = with_lean_route(create_app(Settings.from_env()))
    # Everything imported and built so far lives as long as the process. Moving it out of the
    # collector's reach keeps each full collection from walking a few hundred thousand objects
    # (tens of milliseconds): measured on /health at 16 connections, p99 59 ms -> 8 ms.
    gc.collect()
    gc.freeze()
    return app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """A real uvicorn server on a background thread (the demo, the examples): the app as
    served, with the lean assignment route in front (or ``app`` as given when it already is)."""

    def __init__(self, app: Litestar | LeanAssignments, host: str, port: int) -> None:
        served = with_lean_route(app) if isinstance(app, Litestar) else app
        config = uvicorn.Config(served, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
