"""Running the server (`advisor serve`): checks before binding, uvicorn in one process or several.

With `--workers N` (N > 1) this process binds N sockets on the port (SO_REUSEPORT, so the kernel
spreads connections evenly), then forks N workers that each run uvicorn on one with their own
rule base, and stays to watch them: it passes SIGHUP on (each
worker reloads), restarts a worker that dies, and stops them all on SIGTERM or SIGINT.
uvicorn's own `--workers` is not used: its supervisor restarts every worker on SIGHUP, which
would leave no worker serving when the new rules do not load.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from .errors import InputError, SettingError
from .server import TIMEOUT, Settings

LOOPBACK_NAMES = ("localhost",)


def loopback(host: str) -> bool:
    """Whether only this machine can reach `host`."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_from(token_file: str | None) -> str | None:
    """The bearer token: from --token-file, else ADVISOR_TOKEN; None when neither is set."""
    if token_file:
        from pathlib import Path

        from .source import read_text

        text = read_text(Path(token_file), limit=4096).strip()
        where = dict(path=token_file)
    else:
        text = os.environ.get("ADVISOR_TOKEN", "").strip()
        where = dict(loc="ADVISOR_TOKEN")
        if not text:
            return None
    if len(text) < 16 or any(c.isspace() or not c.isprintable() for c in text):
        raise SettingError("a token is at least 16 printable characters, with no spaces", **where)  # type: ignore[arg-type]
    return text


def timeout_setting() -> float:
    """ADVISOR_SERVE_TIMEOUT: seconds a request may take (default 30)."""
    from .source import setting

    return float(setting("ADVISOR_SERVE_TIMEOUT", int(TIMEOUT), "seconds"))


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    rules_dir: str | None = None,
    workers: int = 1,
    token: str | None = None,
    cors: tuple[str, ...] = (),
    announce=print,
) -> None:
    """Check the settings and the rule base, bind, say where, and serve until stopped."""

    from .loading import load_rulebase

    if not loopback(host) and token is None:
        raise InputError(
            f"serving on {host} (not loopback) needs a bearer token: set ADVISOR_TOKEN or give --token-file",
            loc="--host",
        )
    settings = Settings(rules_dir=rules_dir, token=token, cors=tuple(cors), timeout=timeout_setting())
    load_rulebase(rules_dir)  # a bad rule base is refused here, before anything listens
    shared = workers > 1 and hasattr(socket, "SO_REUSEPORT")
    if shared:  # a port in use is refused, even by a group that would let these sockets join it
        probe = _bind(host, port)
        port = probe.getsockname()[1]
        probe.close()
    sock = _bind(host, port, shared)
    bound = sock.getsockname()[1]
    # each worker its own socket on the port, so that the kernel spreads connections evenly (one shared
    # socket left most keep-alive connections with whichever worker accepted first: 4:1 measured)
    sockets = [sock] + [_bind(host, bound, shared) for _ in range(workers - 1)] if shared else [sock] * workers
    shown = f"[{host}]" if ":" in host else host
    _logging()
    announce(f"advisor serve: the workbench is at http://{shown}:{bound}/ (API under /v1, OpenAPI at /openapi.json)")
    announce(f"advisor serve: {workers} worker{'s' if workers != 1 else ''}; Ctrl-C stops; SIGHUP reloads the rules")
    if hasattr(sys.stdout, "flush"):
        sys.stdout.flush()
    if workers == 1:
        _run(sock, settings)
        return
    _supervise(sockets, settings)


def _bind(host: str, port: int, shared: bool = False) -> socket.socket:
    """A listening socket; `shared`: with SO_REUSEPORT, so that several may listen on one port."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", loc="--port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _logging() -> None:
    """Access and reload lines as JSON on standard error, one per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("advisor.access")
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO)
    access.propagate = False


def _config(settings: Settings) -> Any:
    import uvicorn

    from .server import create_app

    return uvicorn.Config(
        create_app(settings),
        access_log=False,  # advisor writes its own, structured (advisor.access)
        log_level="warning",
        server_header=False,
        date_header=False,
        timeout_keep_alive=5,
        limit_concurrency=1000,  # beyond: 503 at once rather than an ever longer queue
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
        timeout_graceful_shutdown=10,
    )


def _run(sock: socket.socket, settings: Settings) -> None:
    import uvicorn

    server = uvicorn.Server(_config(settings))
    server.run(sockets=[sock])


def _supervise(sockets: list[socket.socket], settings: Settings) -> None:
    """Fork one worker per socket; pass SIGHUP on; restart the dead; stop on TERM/INT.

    The sockets stay open here, so a worker's replacement takes over its socket and the
    connections waiting on it."""
    from dataclasses import replace

    settings = replace(settings, supervisor=os.getpid())
    children: dict[int, int] = {}  # pid -> slot
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            for signum, handler in original.items():  # the handlers the process had before supervising
                signal.signal(signum, handler)
            try:
                _run(sockets[slot], settings)
            finally:
                os._exit(0)
        children[pid] = slot

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            _signal(pid, signal.SIGTERM)

    def hangup(signum: int, frame: Any) -> None:
        for pid in list(children):
            _signal(pid, signal.SIGHUP)

    original = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, hangup)
    for number in range(len(sockets)):
        spawn(number)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid in children and not stopping:
            slot = children.pop(pid)
            print(f"advisor serve: worker {pid} ended ({status}); starting another", file=sys.stderr)
            time.sleep(0.5)  # a worker that cannot start is not restarted in a tight loop
            spawn(slot)
        children.pop(pid, None)
    for sock in set(sockets):
        sock.close()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
