"""The server's edge, around every request: the bearer token, security headers, CORS when
configured, an access log line and the metrics. Plain ASGI (no per-request task), so that it
adds microseconds, not milliseconds, to an assessment.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .metrics import Metrics
    from .server import Settings

log = logging.getLogger("advisor.access")

# The workbench loads only its own files and talks only to its own origin (no CDN, no inline script).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_ids = itertools.count(1)
_prefix = f"{os.getpid():x}-"


def protected(path: str) -> bool:
    """What the bearer token guards: the API and the metrics (not the workbench's files, nor /healthz)."""
    return path.startswith("/v1/") or path == "/metrics" or path == "/openapi.json"


class Edge:
    """ASGI middleware: token, headers, access log, metrics."""

    def __init__(self, app: Any, settings: Settings, metrics: Metrics) -> None:
        self.app, self.settings, self.metrics = app, settings, metrics
        self.expected = settings.token.encode() if settings.token else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = f"{_prefix}{next(_ids)}"
        seen: dict[str, Any] = {"status": 500, "bytes": 0}

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in HEADERS if h[0] not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        self.metrics.in_flight.inc()
        try:
            headers = dict(scope["headers"])
            if self.settings.local and not _this_machine(headers.get(b"host", b"")):
                await _refuse(
                    sending, 421, "host", "a server on loopback answers only to localhost, 127.0.0.1 or [::1]"
                )
                return
            if self.expected is not None and scope["method"] != "OPTIONS" and protected(scope["path"]):
                given = headers.get(b"authorization", b"")
                scheme, _, value = given.strip().partition(b" ")
                if scheme.lower() != b"bearer" or not hmac.compare_digest(value.strip(), self.expected):
                    await _unauthorised(sending, bool(given))
                    return
            await self.app(scope, receive, sending)
        finally:
            self.metrics.in_flight.dec()
            seconds = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "other"
            self.metrics.observe(template, scope["method"], seen["status"], seconds)
            if log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("", 0)
                log.info(
                    orjson.dumps(
                        {
                            "ts": round(time.time(), 3),
                            "event": "request",
                            "id": rid,
                            "client": client[0],
                            "method": scope["method"],
                            "path": scope["path"][:200],
                            "query": scope.get("query_string", b"")[:200].decode("latin-1"),
                            "route": template,
                            "status": seen["status"],
                            "bytes": seen["bytes"],
                            "ms": round(seconds * 1000, 3),
                        }
                    ).decode()
                )


def _this_machine(host: bytes) -> bool:
    """Whether a Host header names this machine (a loopback name or address, any port)."""
    name = host.decode("latin-1").strip().lower()
    name = name[1 : name.find("]")] if name.startswith("[") else name.rsplit(":", 1)[0]
    return name in ("localhost", "::1") or name.startswith("127.")


async def _unauthorised(send: Any, given: bool) -> None:
    message = (
        "the bearer token is wrong"
        if given
        else "a bearer token is needed: send the header 'Authorization: Bearer TOKEN'"
    )
    await _refuse(send, 401, "authorization", message, [(b"www-authenticate", b'Bearer realm="advisor"')])


async def _refuse(send: Any, status: int, field: str, message: str, extra: list | None = None) -> None:
    """An answer in the API's error shape, before the request reaches the application."""
    body = orjson.dumps(
        {
            "error": {
                "status": status,
                "message": f"{field}: {message}",
                "problems": [{"field": field, "message": message, "nearest": [], "line": None, "text": message}],
            }
        }
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def edge(app: FastAPI, settings: Settings, metrics: Metrics) -> FastAPI:
    """Wrap the application: CORS (only for the origins configured) outside, then the edge."""
    app.add_middleware(Edge, settings=settings, metrics=metrics)
    if settings.cors:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Content-Disposition", "X-Request-Id"],
        )
    return app
