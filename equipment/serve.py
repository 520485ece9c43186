"""`equipment serve` (all in one process) and `equipment web` (the web process alone)."""
from __future__ import annotations

import logging
import os
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from equipment import jobs_runtime
from equipment.core.domain import background_starters
from equipment.core.logs import configure as configure_logs
from equipment.core.process import freeze_startup_heap

log = logging.getLogger("equipment.serve")

def serve_commands():
    return [serve, web]


def start_background(app) -> list:
    """Each domain's background work (Domain.background: the telemetry consumer and its embedded broker),
    then the jobs runner; returns their stop callables in start order."""
    return [start(app) for start in (*background_starters(app), jobs_runtime.start)]


def default_public_url(app, host: str, port: int) -> None:
    """QR codes and notification links point at EQUIPMENT_PUBLIC_BASE_URL; on the embedded default without
    one, they point at where this process serves (not at a fixed :5000 whatever the port)."""
    if not os.environ.get("EQUIPMENT_PUBLIC_BASE_URL"):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        app.config["PUBLIC_BASE_URL"] = f"http://{shown}:{port}"


def run_web(app, host: str, port: int) -> None:
    """Werkzeug's threaded server for the embedded default (app.run() refuses to block inside the CLI)."""
    from werkzeug.serving import run_simple

    if threading.current_thread() is threading.main_thread():
        # SIGTERM (systemd, docker stop, a test) would end Python without running the callers' `finally`:
        # the embedded Mosquitto (its own session) would live on, holding the port and the persistence file.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    freeze_startup_heap()
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def _exit_on_sigterm(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: a second would cut the shutdown short
    raise SystemExit(0)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host, port):
    """Web + telemetry consumer + jobs in one process (the embedded default)."""
    configure_logs()
    app = current_app._get_current_object()
    default_public_url(app, host, port)
    stoppers = start_background(app)
    try:
        run_web(app, host, port)
    finally:
        stop_background(stoppers)


def stop_background(stoppers: list) -> None:
    """Stop in reverse order, every one of them: a second SIGTERM or Ctrl-C (an impatient operator, `timeout`
    forwarding its own) must not cut the sequence and leave the embedded broker running; nor may one stopper's
    error skip the rest."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
    for stop in reversed(stoppers):
        try:
            stop()
        except Exception:
            log.exception("stopping %s failed", getattr(stop, "__qualname__", stop))


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=16, show_default=True, type=int,
              help="threads per gthread worker: each open dispatcher console holds one for its live stream")
@click.option("--worker-class", type=click.Choice(["gthread", "sync"]), default="gthread", show_default=True,
              help="sync for a scan/API tier without live streams: no GIL hand-offs between threads, so a "
                   "lower tail latency (docs/operations.md)")
def web(host, port, workers, threads, worker_class):
    """The web process alone, under gunicorn (threaded workers, so live streams don't starve requests)."""
    import os
    import sys
    threading = ["--threads", str(threads)] if worker_class == "gthread" else []
    # A live stream holds a gthread thread for its whole life: leave a few for pages and the API, so open
    # consoles (or clients that stopped reading) never starve them. Sync workers serve no streams at all.
    os.environ.setdefault("EQUIPMENT_STREAM_MAX", str(max(1, threads - 4) if worker_class == "gthread" else 0))
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-k", worker_class, "-w", str(workers), *threading,
                              "-b", f"{host}:{port}", "--access-logfile", "-", "wsgi:app"])
