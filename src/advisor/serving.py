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
import json
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from .errors import AdvisorError, InputError, SettingError
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
    settings = Settings(
        rules_dir=rules_dir, token=token, cors=tuple(cors), timeout=timeout_setting(), local=loopback(host)
    )
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
    _supervise(sockets, settings, host, bound)


def _bind(host: str, port: int, shared: bool = False, listen: bool = True) -> socket.socket:
    """A listening socket; `shared`: with SO_REUSEPORT, so that several may listen on one port;
    `listen=False`: bound only, listening once uvicorn serves on it (no connection waits on it meanwhile)."""
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
    if listen:
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
        http=_protocol(),
        proxy_headers=False,  # the client is the peer: no X-Forwarded-For taken on trust
        access_log=False,  # advisor writes its own, structured (advisor.access)
        log_level="warning",
        server_header=False,
        date_header=False,
        timeout_keep_alive=5,
        limit_concurrency=1000,  # beyond: 503 at once rather than an ever longer queue
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
        timeout_graceful_shutdown=10,
    )


HEAD_BYTES = 16 * 1024  # the request line and headers
HEAD_SECONDS = 10.0  # from the connection (or a request's first byte) to the end of its headers


def _protocol() -> Any:
    """uvicorn's httptools protocol with the request's head bounded in size and time: idle or
    trickling connections would otherwise hold uvicorn's connection slots for ever, and httptools
    knows no limit on headers. Where httptools is missing, h11 (whose head limit is set in
    `_config`), without the time bound."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "auto"

    class Bounded(HttpToolsProtocol):
        _head_timer: Any = None
        _head_bytes = 0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._head_begins()

        def _head_begins(self) -> None:
            if self._head_timer is None:
                self._head_bytes = 0
                self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_too_slow)

        def _head_ends(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def data_received(self, data: bytes) -> None:
            waiting = self._head_timer is not None
            super().data_received(data)
            if waiting and self._head_timer is not None:
                self._head_bytes += len(data)
                if self._head_bytes > HEAD_BYTES:
                    self._refuse(431, f"the request line and headers are over {HEAD_BYTES // 1024} KB")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_begins()

        def on_headers_complete(self) -> None:
            self._head_ends()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_ends()
            super().connection_lost(exc)

        def _head_too_slow(self) -> None:
            self._head_timer = None
            self._refuse(408, f"the request line and headers did not arrive within {HEAD_SECONDS:g} s")

        def _refuse(self, status: int, message: str) -> None:
            self._head_ends()
            if self.transport.is_closing():
                return
            body = json.dumps(
                {
                    "error": {
                        "status": status,
                        "message": message,
                        "problems": [
                            {"field": "request", "message": message, "nearest": [], "line": None, "text": message}
                        ],
                    }
                }
            ).encode()
            reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
            )
            self.transport.close()

    return Bounded


def _run(sock: socket.socket, settings: Settings) -> None:
    import uvicorn

    server = uvicorn.Server(_config(settings))
    server.run(sockets=[sock])


def _supervise(sockets: list[socket.socket], settings: Settings, host: str, port: int) -> None:
    """Fork one worker per socket; pass SIGHUP on; replace the dead; stop on TERM/INT.

    A worker that dies takes its socket with it (connections waiting there are refused, new ones
    go to the other workers); its replacement listens on a new one, and first checks the rule
    base (`rules check`), never serving one that fails. One that cannot start is retried after
    a wait that doubles, up to a minute, and its reason is on stderr.
    """
    from dataclasses import replace

    parent = os.getpid()
    first = replace(settings, supervisor=parent)
    later = replace(first, check_first=True)
    children: dict[int, tuple[int, float]] = {}  # pid -> (slot, when it started)
    waits = [0.5] * len(sockets)
    stopping = False

    def spawn(slot: int, replacement: bool) -> None:
        if replacement and sockets[slot].fileno() == -1:
            try:
                sockets[slot] = _bind(host, port, True, listen=False)  # uvicorn listens once it is ready
            except InputError as exc:
                print(f"advisor serve: no replacement for a worker: {exc.render()}", file=sys.stderr)
                return
        pid = os.fork()
        if pid == 0:
            for signum, handler in original.items():  # the handlers the process had before supervising
                signal.signal(signum, handler)
            _die_with(parent)
            for other in {id(x): x for x in sockets if x is not sockets[slot]}.values():
                other.close()  # only its own: a socket left open here would queue connections no one takes
            code = 0
            try:
                _run(sockets[slot], later if replacement else first)
            except AdvisorError as exc:
                print(f"advisor serve: worker {os.getpid()} cannot serve: {exc.render()}", file=sys.stderr)
                code = exc.exit_code
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 3
            finally:
                os._exit(code)
        children[pid] = (slot, time.monotonic())

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
        spawn(number, False)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid in children and not stopping:
            slot, started = children.pop(pid)
            if len({id(x) for x in sockets}) == len(sockets):  # its own socket: close it, the others serve
                sockets[slot].close()
            lived = time.monotonic() - started
            waits[slot] = 0.5 if lived > 60 else min(waits[slot] * 2, 60.0)
            print(
                f"advisor serve: worker {pid} ended ({_ended(status)}) after {lived:.0f} s; "
                f"starting another in {waits[slot]:g} s",
                file=sys.stderr,
            )
            _sleep(waits[slot], lambda: stopping)
            if not stopping:
                spawn(slot, True)
        children.pop(pid, None)
    for sock in set(sockets):
        sock.close()


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _sleep(seconds: float, stop) -> None:
    """Wait, but not past a request to stop."""
    end = time.monotonic() + seconds
    while not stop() and time.monotonic() < end:
        time.sleep(min(0.1, end - time.monotonic()))


def _die_with(parent: int) -> None:
    """A worker ends with its supervisor, even one killed outright (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
