"""Several uvicorn worker processes on one port, each with its own listening socket.

uvicorn's own ``--workers`` binds one socket in the parent and shares it: every worker waits
on the same accept queue, and the kernel hands new connections to whichever worker woke last.
A campaign tool that opens its sixteen keep-alive connections at once then lands all of them on
one worker while the others idle — we measured one worker at 100 % CPU and the other at 0 %.

Here each worker binds its own socket with ``SO_REUSEPORT``; Linux then spreads connections
over the workers' sockets by a hash of the connection's addresses. This supervisor starts the
workers, restarts one that dies, and on SIGTERM or SIGINT passes the signal on and waits for
their graceful shutdown (in-flight requests finish). Elsewhere than Linux, where
``SO_REUSEPORT`` does not balance, uvicorn's own supervisor is used.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import socket
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from typing import Any

import uvicorn

__all__ = ["balances_connections", "run_workers"]

log = logging.getLogger("pilotlift.workers")


def balances_connections() -> bool:
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(config: dict[str, Any], ready: EventType) -> None:
    """One worker process: its own listener in the port's ``SO_REUSEPORT`` group."""
    server = uvicorn.Server(uvicorn.Config(**config))
    sock = _listener(config["host"], config["port"])

    def report_ready() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        ready.set()

    threading.Thread(target=report_ready, daemon=True).start()
    # Ctrl-C reaches the whole process group; uvicorn shuts down gracefully, the parent reports.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


def run_workers(workers: int, config: dict[str, Any], grace_seconds: float = 60) -> int:
    """Serve ``config`` (``uvicorn.Config`` arguments, the app as an import string) from
    ``workers`` processes until SIGTERM or SIGINT; returns the exit status."""
    _listener(config["host"], config["port"]).close()  # fail here, once, if the port is taken
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    readiness: list[EventType] = []

    def start() -> BaseProcess:
        ready = context.Event()
        readiness.append(ready)
        process = context.Process(target=_worker, args=(config, ready), name="pilotlift-worker")
        process.start()
        return process

    def stop(signum: int, _frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    processes = [start() for _ in range(workers)]
    try:
        # Until every worker listens, connections all land on the first ones: say when they do.
        if all(event.wait(120) for event in readiness):
            print(f"pilotlift: all {workers} workers are ready.", flush=True)
        while not stopping.wait(0.5):
            for i, process in enumerate(processes):
                if not process.is_alive():
                    log.warning("worker %s exited with %s; starting another", process.pid,
                                process.exitcode)  # fmt: skip
                    processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for process in processes:
            process.join(grace_seconds)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
