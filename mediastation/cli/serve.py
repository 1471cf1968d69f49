"""`serve`: the desk (docs/desk.md) in the foreground on uvicorn, with a worker beside it."""

from __future__ import annotations

import ipaddress
import json
import signal
import socket
import subprocess
import sys
from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station, stderr
from mediastation.cli.jobs import audited, stop_audited

WORKER_STOP_SECONDS = 30  # a worker finishes the stage at hand after SIGTERM; then it is killed (the job resumes)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is printed (so the URL printed is the real one,
    also for --port 0: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                               "choose another --port (or [desk] port)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    """In the worker child: SIGTERM when the desk process ends however it ends (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start_worker(station: Station) -> subprocess.Popen[bytes]:
    """`mediastation worker` for the desk's exports and imports; its output goes to our stderr."""
    command = [sys.executable, "-m", "mediastation", "--home", str(station.home)]
    if station.config_given:
        command += ["--config", str(station.config_file)]
    return subprocess.Popen(command + ["worker"], stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno(),
                            preexec_fn=_die_with_parent)


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        stderr(f"desk: the worker did not stop within {WORKER_STOP_SECONDS} s; stopping it (its job resumes later)")
        worker.kill()
        worker.wait()


def _after_graceful_stop(signum: int, _frame: Any) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second Ctrl-C or SIGTERM while stopping stops at once


@click.command()
@click.option("--host", help="Address to listen on (default: [desk] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: [desk] port, 8420; 0 = a free port).")
@click.option("--no-worker", is_flag=True, help="Do not start a worker beside the desk (one runs elsewhere).")
@json_option
@pass_station
def serve(station: Station, host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the desk, the station's web application, until Ctrl-C. Prints its URL (with --json the
    first line on stdout is {"url": ...}; logs go to stderr)."""
    import uvicorn

    from mediastation.desk.app import create_app
    from mediastation.desk.context import DeskContext

    settings = station.settings.desk
    host = host or settings.host
    port = settings.port if port is None else port
    tls: dict[str, Any] = {}
    if settings.tls_cert:
        tls = {"ssl_certfile": str(station.path(settings.tls_cert)), "ssl_keyfile": str(station.path(settings.tls_key))}
        for path in tls.values():
            open(path, "rb").close()  # a missing certificate or key is an OSError naming it (exit 3)
    elif not _loopback(host):
        stderr(f"warning: the desk listens on {host} without TLS: passwords and session cookies cross the network "
               "unencrypted; set [desk] tls_cert and tls_key (or put it behind an HTTPS proxy)")
    database = station.database()
    context = DeskContext(home=station.home, settings=station.settings, database=database, tls=bool(tls))
    app = create_app(context)
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = settings.public_url or f"{'https' if tls else 'http'}://{shown}:{bound}/"
    if station.json:
        click.echo(json.dumps({"url": url}))
    else:
        click.echo(f"desk: {url}  (Ctrl-C stops it)")
    sys.stdout.flush()
    worker = None if no_worker or not settings.worker else _start_worker(station)
    sender = audited(station, None, "desk")  # the desk's start and stop as audit events; its outbox sent meanwhile
    for signum in (signal.SIGINT, signal.SIGTERM):
        # uvicorn stops gracefully on these, then restores the handler it found and raises the signal
        # again: with the default one the process died there, before the worker's stop and the
        # desk's Application Stop below; with this one the command ends its own way.
        signal.signal(signum, _after_graceful_stop)
    try:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                               timeout_graceful_shutdown=5, **tls))
        server.run(sockets=[sock])
    finally:
        sock.close()
        if worker is not None:
            _stop_worker(worker)
        stop_audited(station, sender, "desk")
