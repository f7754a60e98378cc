"""The HTTP API and the workbench: one FastAPI application per worker process (`advisor serve`).

Every endpoint is a thin layer over the same library calls as the CLI command of its name, so an
answer over HTTP is the CLI's answer. A plain assessment (about a millisecond) runs on the event
loop; longer work (scenarios, explain, documents, batches) on one engine thread per process
(`Engine`), within the time limit. durable-rules runs one assessment at a time anyway, and a
reload puts the new rule base in use on the event loop, between two requests, never under one.
Bad input is a 4xx with the CLI's error (file, field, message, nearest valid value); only
faults are 5xx.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from . import __version__
from .catalog import LISTS
from .errors import AdvisorError, DescriptorError, EngineError, FileReadError, InputError, clip, nearest, suggest
from .models import Assessment
from .rules import Rulebase

log = logging.getLogger("advisor.access")

BODY = "body"  # how an error names the request's body, where the CLI names a file
TIMEOUT = 30.0  # seconds a request may take (ADVISOR_SERVE_TIMEOUT)
BATCH_CHUNK = 32  # descriptors of a batch assessed per turn of the engine's thread


# --- the API's own models (the OpenAPI document is generated from these and the library's) -------


class Problem(BaseModel):
    """One problem of the input, as the CLI reports it: where, what, and the nearest valid value."""

    field: str | None = Field(None, description="The field (or query parameter) at fault, e.g. 'region'.")
    message: str = Field(description="What is wrong, without the location.")
    nearest: list[str] = Field(default_factory=list, description="The nearest valid values, best first, if any.")
    line: int | None = Field(None, description="The line of the body, for JSON Lines.")
    text: str = Field(description="The whole message as the CLI prints it.")


class ErrorBody(BaseModel):
    status: int
    message: str = Field(description="The error as the CLI prints it (several problems: one per line).")
    problems: list[Problem]


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer."""

    error: ErrorBody


class ExplainOut(BaseModel):
    """`advisor explain --format json`: the parts asked for."""

    why: dict[str, Any] | None = Field(None, description="The chains of rules and facts that produced the target.")
    why_not: dict[str, Any] | None = Field(None, description="Each rule that could conclude it, nearest miss first.")
    what_if: list[dict[str, Any]] | None = Field(None, description="Each one-value change and what it changes.")


class QueryOut(BaseModel):
    """`advisor query --format json`."""

    kind: str
    id: str
    rules: list[dict[str, Any]]
    summary: dict[str, list[str]]


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    rulebase: str = Field(description="The digest of the rule base in use.")
    rules: int


class ReloadOut(BaseModel):
    reloaded: bool = Field(description="Whether the rule base changed.")
    rulebase: str = Field(description="The digest of the rule base now in use.")
    previous: str
    rules: int


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "Not JSON, not UTF-8, or an option that cannot be used"),
        (401, "A bearer token is needed, or the one given is wrong"),
        (403, "Reloading over HTTP needs the server to have a token"),
        (413, "The body is over the limit"),
        (422, "The descriptor or an option is invalid: each problem with its field and nearest valid value"),
        (500, "A fault of advisor or its engine"),
        (503, "The request took longer than the time limit"),
    )
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entries of these error statuses."""
    return {code: ERRORS[code] for code in codes}


# --- settings and the rule base in use -------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What `advisor serve` was started with."""

    rules_dir: str | None = None
    token: str | None = None
    cors: tuple[str, ...] = ()
    timeout: float = TIMEOUT
    supervisor: int | None = None  # the pid of the process that forked the workers, told of reloads
    local: bool = False  # bound to loopback: only Host names of this machine are answered (DNS rebinding)
    check_first: bool = False  # a replacement worker: `rules check` before serving what is on disk


class Fault(AdvisorError):
    """A request advisor could not finish through no fault of the input (a 5xx)."""


class Gone(InputError):
    """The client closed the connection before its request was read: logged as 499, answered to no one."""


@dataclass
class Engine:
    """The rule base in use and the one thread that drives the engine with it.

    Work runs on that thread in order, so a reload (`reload`) happens between two pieces of work.
    A batch that started under the old rule base finishes under it: a rule base is released from
    the engine only when no request holds it any longer.
    """

    settings: Settings
    rulebase: Rulebase
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="advisor-engine"))
    holders: dict[str, int] = field(default_factory=dict)
    reloads: dict[str, int] = field(default_factory=lambda: {"ok": 0, "unchanged": 0, "refused": 0})
    reloading: asyncio.Lock = field(default_factory=asyncio.Lock)
    guard: threading.Lock = field(default_factory=threading.Lock)  # the rule base in use and its holders

    async def run(self, work: Callable[..., Any], *args: Any, limited: bool = True) -> Any:
        """Run `work(*args)` on the engine's thread within the time limit (503 past it)."""
        loop = asyncio.get_running_loop()
        timeout = self.settings.timeout if limited else None
        try:
            return await asyncio.wait_for(loop.run_in_executor(self.pool, work, *args), timeout)
        except asyncio.TimeoutError:
            raise Fault(
                f"the request took longer than the limit of {self.settings.timeout:g} s (ADVISOR_SERVE_TIMEOUT)"
            ) from None

    def hold(self) -> Rulebase:
        """The rule base in use, held until `let_go`."""
        with self.guard:
            rb = self.rulebase
            self.holders[rb.digest] = self.holders.get(rb.digest, 0) + 1
            return rb

    def let_go(self, rb: Rulebase) -> None:
        """Done with `rb`; the last to let go of a rule base no longer in use releases it."""
        with self.guard:
            self.holders[rb.digest] -= 1
            if self.holders[rb.digest]:
                return
            del self.holders[rb.digest]
            stale = rb.digest != self.rulebase.digest
        if stale:
            from .chaining import release

            release(rb.digest)

    async def reload(self) -> ReloadOut:
        """The rule base again from its directory; if it changed, `rules check` first, then it takes
        the old one's place between two requests. A rule base that fails to load or to pass the check
        is refused (InputError, with the findings) and the old one serves on.

        The check (seconds of static analysis) runs in a child process, so that serving goes on at
        full speed meanwhile; only registering the new rule base and the swap use the engine's thread.
        """
        from .chaining import prepare
        from .loading import load_rulebase

        async with self.reloading:
            old = self.rulebase
            try:
                new = await asyncio.to_thread(load_rulebase, self.settings.rules_dir)
                if new.digest != old.digest:
                    await self._check(new.digest)
                    await self.run(prepare, new, limited=False)  # registered on the engine's thread
                    self._swap(new)
            except AdvisorError as exc:
                self.reloads["refused"] += 1
                log.warning(_line({"event": "reload", "result": "refused", "message": exc.render()}))
                if "old one serves on" in exc.message:
                    raise
                raise InputError(
                    f"the rule base was not reloaded; the old one serves on: {exc.message if exc.problems else exc.render()}",
                    problems=exc.problems,
                ) from None
            changed = new.digest != old.digest
            self.reloads["ok" if changed else "unchanged"] += 1
            log.warning(_line({"event": "reload", "result": "ok" if changed else "unchanged", "rulebase": new.digest}))
            return ReloadOut(reloaded=changed, rulebase=new.digest, previous=old.digest, rules=len(new.rules))

    async def _check(self, digest: str) -> None:
        """`advisor rules check DIR --format json` in a child process; its errors refuse the reload, and
        so does a check of other files than those loaded (`digest`: they changed in between)."""
        import sys

        where = [self.settings.rules_dir] if self.settings.rules_dir else []
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "advisor",
            "rules",
            "check",
            *where,
            "--format",
            "json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await child.communicate()
        try:
            report = json.loads(out)
            findings = [f for f in report["findings"] if f["level"] == "error"]
        except (ValueError, KeyError, TypeError):  # it could not load the rule base: its message says why
            text = err.decode("utf-8", "replace").strip().removeprefix("error: ")
            raise InputError(text or f"`advisor rules check` ended with exit code {child.returncode}") from None
        if findings:
            raise InputError(
                "the rule base was not reloaded: `advisor rules check` found errors; the old one serves on",
                problems=[InputError(_finding(f)) for f in findings],
            )
        if report.get("rulebase") != digest:  # the files changed between loading them and checking them
            raise InputError(
                "the rule base was not reloaded: its files changed while they were being checked; "
                "the old one serves on (reload again once they are saved)"
            )

    def _swap(self, new: Rulebase) -> None:
        """Put a registered rule base in use, on the event loop's thread, so never in the middle of an
        assessment made there; release the old one unless a request on the engine's thread holds it."""
        from .chaining import release

        with self.guard:
            old, self.rulebase = self.rulebase, new
            held = bool(self.holders.get(old.digest))
        if not held:
            release(old.digest)


def _finding(f: dict[str, Any]) -> str:
    """One finding of `rules check --format json` as its text line prints it."""
    from .analysis import Finding

    return Finding(**f).render()


def _line(record: dict[str, Any]) -> str:
    """One structured log line (JSON: user text in it is escaped)."""
    return orjson.dumps({"ts": round(time.time(), 3), **record}).decode()


# --- errors: the CLI's, as JSON --------------------------------------------------------------------


_HINT = re.compile(r" \((?:did you mean|e\.g\.) (.+?)\??\)$")


def _problem(exc: AdvisorError) -> Problem:
    """One problem in parts; the nearest valid value, which messages carry as `(did you mean X?)` or
    `(e.g. X)`, taken out of the message into `nearest`."""
    message, hint = exc.message, exc.suggestion
    found = _HINT.search(message)
    if found and hint is None:
        message, hint = message[: found.start()], found.group(1)
    values = re.findall(r"'([^']*)'", hint) if hint else []
    return Problem(
        field=exc.loc, message=message, nearest=values or ([hint] if hint else []), line=exc.line, text=exc.render()
    )


def _status(exc: AdvisorError) -> int:
    if isinstance(exc, Gone):
        return 499
    if isinstance(exc, Fault):
        return 503
    if isinstance(exc, EngineError) and exc.exit_code != 2:
        return 500
    if isinstance(exc, FileReadError) and "over the limit" in exc.message:
        return 413
    if isinstance(exc, (DescriptorError,)) or exc.loc or exc.problems:
        return 422
    return 400 if isinstance(exc, InputError) else 500


def error_response(exc: AdvisorError, status: int | None = None) -> Response:
    """An advisor error as the API's error answer."""
    status = status or _status(exc)
    problems = [_problem(p) for p in (exc.problems or [exc])]
    message = exc.render()
    if exc.problems and exc.message not in message:  # the headline too, where the problems do not say it
        message = f"{exc.message}:\n{message}"
    body = ErrorOut(error=ErrorBody(status=status, message=message, problems=problems))
    return Response(orjson.dumps(body.model_dump()), status_code=status, media_type="application/json")


def _invalid(exc: RequestValidationError) -> Response:
    """FastAPI's validation of query parameters, in the CLI's words (with the nearest valid value)."""
    problems = []
    for e in exc.errors():
        name = str(e["loc"][-1]) if e.get("loc") else None
        expected = (e.get("ctx") or {}).get("expected")
        choices = re.findall(r"'([^']*)'", expected) if isinstance(expected, str) else []
        value = e.get("input")
        hint = nearest(value, choices) if choices and isinstance(value, str) else None
        message = f"'{clip(value)}' is not valid: {e['msg'].lower()}" if value is not None else e["msg"].lower()
        problems.append(InputError(message, loc=name, suggestion=hint))
    return error_response(InputError("invalid request", problems=problems), 422)


async def _known_parameters(request: Request) -> None:
    """An unknown or repeated query parameter of the API is an error naming the nearest one, as the
    CLI refuses an unknown option: `facilitatr=true` must not quietly give the participants' manual."""
    if not request.url.path.startswith("/v1/"):
        return
    dependant = getattr(request.scope.get("route"), "dependant", None)
    known = sorted({p.alias for p in getattr(dependant, "query_params", [])})
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name not in known:
            hint = suggest(name, known)
            listed = ", ".join(known) if known else "none"
            raise InputError(f"unknown parameter (this endpoint takes: {listed})", loc=name, suggestion=hint)
        if name in seen:
            raise InputError("given more than once: give it once", loc=name)
        seen.add(name)


# --- reading bodies, bounded --------------------------------------------------------------------------


async def _read(
    request: Request, limit: int, timeout: float, sink=None, batch: bool = False, head: Body | None = None
) -> bytes:
    """The body, up to `limit` bytes (413 past it, before more is read) within the time limit.

    With `sink` (a file), the body is written there instead of kept in memory; `head` is what
    `_head` already read of it.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FileReadError(_over(limit, batch), path=BODY)
    chunks: list[bytes] = []
    size = 0
    first = [head.first] if head is not None else []
    rest = head.rest if head is not None else request.stream()

    async def collect() -> None:
        nonlocal size
        for chunk in first:
            size += len(chunk)
            if size > limit:
                raise FileReadError(_over(limit, batch), path=BODY)
            (sink.write if sink is not None else chunks.append)(chunk)
        async for chunk in rest:
            size += len(chunk)
            if size > limit:
                raise FileReadError(_over(limit, batch), path=BODY)
            if sink is not None:
                sink.write(chunk)
            else:
                chunks.append(chunk)

    try:
        await asyncio.wait_for(collect(), timeout)
    except asyncio.TimeoutError:
        raise InputError(f"the body did not arrive within {timeout:g} s", path=BODY) from None
    except ClientDisconnect:
        raise Gone("the client went away before its body arrived", path=BODY) from None
    return b"".join(chunks)


@dataclass
class Body:
    """The start of a body, read to its first character that is not white space, and the rest to come."""

    first: bytes
    rest: AsyncIterator[bytes]

    def starts_with(self, char: bytes) -> bool:
        return self.first.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == char


async def _head(request: Request, timeout: float) -> Body:
    """Enough of the body to see how it starts (a JSON array or an object), within the time limit."""
    rest = request.stream()
    first = b""

    async def peek() -> None:
        nonlocal first
        async for chunk in rest:
            first += chunk
            if first.lstrip(b"\xef\xbb\xbf \t\r\n") or len(first) > 65536:
                return

    try:
        await asyncio.wait_for(peek(), timeout)
    except asyncio.TimeoutError:
        raise InputError(f"the body did not arrive within {timeout:g} s", path=BODY) from None
    except ClientDisconnect:
        raise Gone("the client went away before its body arrived", path=BODY) from None
    return Body(first, rest)


def _over(limit: int, batch: bool = False) -> str:
    if batch:
        return f"input is over the limit of {limit:,} bytes in all (ADVISOR_MAX_BATCH_BYTES)"
    return f"input is over the limit of {limit:,} bytes for one descriptor (ADVISOR_MAX_DESCRIPTOR_BYTES)"


def _descriptor(body: bytes, rulebase: Rulebase):
    """One descriptor from a body, normalised as `advisor assess` does a file."""
    from .models import parse_descriptor
    from .source import decode, parse_json

    raw = parse_json(decode(body, BODY), BODY)
    return parse_descriptor(raw, rulebase.catalog, path=BODY, default_id="threat")


# --- the application ---------------------------------------------------------------------------------

Lang = Annotated[Literal["en", "ja"], Query(description="'ja': names in Japanese where the catalog has them.")]
AsOf = Annotated[Literal["2002", "today"], Query(description="'today' adds what became of each body since 2002.")]


def create_app(settings: Settings | None = None, rulebase: Rulebase | None = None) -> FastAPI:
    """The application: the API under /v1, health and metrics, the workbench at /."""
    from .loading import load_rulebase
    from .metrics import Metrics
    from .source import batch_limit, descriptor_limit

    settings = settings or Settings()
    engine = Engine(settings, rulebase if rulebase is not None else load_rulebase(settings.rules_dir))
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.check_first:  # a replacement worker never serves a rule base that fails the check
            try:
                await engine._check(engine.rulebase.digest)
            except AdvisorError as exc:
                print(f"advisor serve: worker {os.getpid()} cannot serve: {exc.render()}", file=sys.stderr, flush=True)
                os._exit(2)
        await engine.run(_warm, engine.rulebase, limited=False)  # registered and warmed before the first request
        gc.collect()
        gc.freeze()  # what start-up built is never collected again: shorter pauses under load (p99)
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(_hangup()))
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread (tests): no signal
            pass
        yield
        engine.pool.shutdown(wait=False, cancel_futures=True)

    async def _hangup() -> None:
        try:
            await engine.reload()
        except AdvisorError:
            pass  # logged by reload; the old rule base serves on

    app = FastAPI(
        dependencies=[Depends(_known_parameters)],
        title="advisor",
        version=__version__,
        summary="Rule-based decision support for East Asian security policy, traced to the JFIR 2002 recommendations.",
        description=(
            "The CLI's commands over HTTP. A threat descriptor is the body of the POST endpoints; options are "
            "query parameters named as the CLI's. Every 4xx and 5xx answer has the shape `ErrorOut`: the "
            "field at fault, the message and the nearest valid value, as `advisor` prints them."
        ),
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; the workbench makes no outside request
        redoc_url=None,
        lifespan=lifespan,
        responses=_errors(400, 401, 500),
    )
    app.state.engine = engine
    app.state.metrics = metrics

    @app.exception_handler(AdvisorError)
    async def _advisor_error(request: Request, exc: AdvisorError) -> Response:
        return error_response(exc)

    @app.exception_handler(Exception)
    async def _fault(request: Request, exc: Exception) -> Response:
        """A bug: a 500 in the usual shape, and its traceback in the server's log, never to the client."""
        logging.getLogger("advisor.server").exception("internal error on %s %s", request.method, request.url.path)
        return error_response(
            EngineError(
                f"internal error: {type(exc).__name__}; this is a bug in advisor (the server's log has the traceback)"
            ),
            500,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """A path or method the API does not have, in the usual shape."""
        what = {
            404: f"there is no {request.url.path} (see /openapi.json)",
            405: f"{request.method} is not allowed here",
        }
        error = InputError(what.get(exc.status_code, str(exc.detail)), loc="path")
        response = error_response(error, exc.status_code)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _invalid(exc)

    async def held(work: Callable[..., Any], *args: Any) -> Any:
        """`work(rulebase, *args)` on the engine's thread with the rule base in use."""

        def call() -> Any:
            rb = engine.hold()
            try:
                return work(rb, *args)
            finally:
                engine.let_go(rb)

        return await engine.run(call)

    async def one(request: Request) -> bytes:
        return await _read(request, descriptor_limit(), settings.timeout)

    # --- assess ----------------------------------------------------------------------------------

    @app.post(
        "/v1/assess",
        tags=["assess"],
        summary="Assess one descriptor, or a batch (a JSON array or JSON Lines) streamed back as JSON Lines",
        response_model=Assessment,
        responses={
            200: {
                "description": "One assessment (application/json); for a batch, one line per input in input order "
                '(application/x-ndjson), a bad input as an error record `{"error": {...}}`.',
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            **_errors(413, 422, 503),
        },
        openapi_extra=_body_doc(batch=True),
    )
    async def assess(request: Request, as_of: AsOf = "2002", lang: Lang = "en") -> Response:
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if kind in ("application/x-ndjson", "application/jsonl", "application/json-lines"):
            return await _batch(request, lines=True, as_of=as_of)
        head = await _head(request, settings.timeout)
        if head.starts_with(b"["):  # a batch: spooled to disk while it arrives, up to the batch limit
            return await _batch(request, lines=False, as_of=as_of, head=head)
        body = await _read(request, descriptor_limit(), settings.timeout, head=head)
        if as_of == "2002" and lang == "en":  # the common case, on the event loop: see `_assess_plain`
            plain = _assess_plain(engine.rulebase, body)
            if plain is not None:
                return Response(plain, media_type="application/json")
        return Response(await held(_assess_one, body, as_of, lang), media_type="application/json")

    async def _batch(request: Request, *, lines: bool, as_of: str, head: Body | None = None) -> Response:
        from . import batch

        spool = tempfile.TemporaryFile()  # a batch may be large: on disk, not in memory, while it is read
        try:
            await _read(request, batch_limit(), settings.timeout, sink=spool, batch=True, head=head)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        read = batch.stream_lines if lines else batch.stream_array
        items: Iterator[batch.Item] = read(spool, BODY, "body")
        rb_box: list[Rulebase] = []

        def start() -> None:
            rb_box.append(engine.hold())

        def chunk() -> list[str]:
            out = []
            for item in items:
                line, _ok = batch.assess_line(item, rb_box[0], as_of)
                out.append(line + "\n")
                if len(out) >= BATCH_CHUNK:
                    break
            return out

        def finish() -> None:
            spool.close()
            if rb_box:
                engine.let_go(rb_box.pop())

        await engine.run(start)

        async def stream() -> AsyncIterator[bytes]:
            try:
                while True:
                    out = await engine.run(chunk)
                    if not out:
                        return
                    yield "".join(out).encode()
            finally:
                await engine.run(finish)

        return StreamingResponse(stream(), media_type="application/x-ndjson")

    # --- explain, query ------------------------------------------------------------------------------

    @app.post(
        "/v1/explain",
        tags=["explain"],
        summary="Why, why not, and what if, for one descriptor (`advisor explain`)",
        response_model=ExplainOut,
        response_model_exclude_none=True,
        responses=_errors(413, 422, 503),
        openapi_extra=_body_doc(),
    )
    async def explain(
        request: Request,
        why: Annotated[str | None, Query(description="The chain of rules and facts that produced X.")] = None,
        why_not: Annotated[
            str | None, Query(description="Every rule that could produce X, nearest miss first.")
        ] = None,
        what_if: Annotated[bool, Query(description="Every one-value change that changes the answer.")] = False,
    ) -> Response:
        if not (why or why_not or what_if):
            raise InputError("give why=X, why_not=X or what_if=true", loc="query")
        body = await one(request)
        data = await held(_explain, body, why, why_not, what_if)
        return Response(orjson.dumps(data), media_type="application/json")

    @app.get(
        "/v1/query",
        tags=["explain"],
        summary="From the rules alone: which types, regions and conditions lead to a conclusion (`advisor query`)",
        response_model=QueryOut,
        responses=_errors(422),
    )
    async def query(
        framework: str | None = None,
        agency: str | None = None,
        recommendation: str | None = None,
        derived: str | None = None,
    ) -> Response:
        given = [
            (k, v)
            for k, v in (
                ("framework", framework),
                ("agency", agency),
                ("recommendation", recommendation),
                ("derived", derived),
            )
            if v
        ]
        if len(given) != 1:
            raise InputError("give exactly one of framework, agency, recommendation, derived", loc="query")
        data = await held(_query, *given[0])
        return Response(orjson.dumps(data), media_type="application/json")

    # --- catalog and schemas -----------------------------------------------------------------------

    @app.get(
        "/v1/catalog/{kind}",
        tags=["catalog"],
        summary="One list of the knowledge base (`advisor catalog`); with lang=ja, the Japanese beside "
        "(name_ja, title_ja, label_ja, meaning_ja) where the catalog has it",
        response_model=list[dict[str, Any]],
        responses=_errors(422),
    )
    async def catalog(kind: Literal[LISTS], lang: Lang = "en") -> Response:  # type: ignore[valid-type]
        data = _catalog(engine.rulebase, kind, lang)
        return Response(orjson.dumps(data), media_type="application/json")

    @app.get(
        "/v1/schema/{what}",
        tags=["catalog"],
        summary="A JSON Schema 2020-12 (`advisor schema --what`): vocabularies are enums",
        response_model=dict[str, Any],
        responses=_errors(422),
    )
    async def schema(what: Literal["descriptor", "rules", "cases", "assessment"]) -> Response:
        from .schema import schema_of

        return Response(orjson.dumps(schema_of(what, engine.rulebase.catalog)), media_type="application/schema+json")

    # --- documents ------------------------------------------------------------------------------------

    @app.post(
        "/v1/brief",
        tags=["exercise"],
        summary="The tabletop-exercise packet (`advisor brief`): the Participant Situation Manual, the "
        "Facilitator/Controller guide or the handout, in HTML, Markdown or DOCX",
        response_class=Response,
        responses={
            200: {
                "description": "The document, as an attachment",
                "content": {m: {} for m in _MEDIA.values()},
            },
            **_errors(413, 422, 503),
        },
        openapi_extra=_body_doc(),
    )
    async def brief(
        request: Request,
        format: Literal["html", "markdown", "docx"] = "html",
        facilitator: bool = False,
        handout: bool = False,
        paper: Literal["a4", "letter"] = "a4",
        as_of: AsOf = "2002",
        lang: Lang = "en",
    ) -> Response:
        if facilitator and handout:
            raise InputError("facilitator and handout are different documents: choose one", loc="handout")
        body = await one(request)
        content, name = await held(_brief, body, format, facilitator, handout, paper, as_of, lang)
        return _download(content, name, format)

    @app.post(
        "/v1/msel",
        tags=["exercise"],
        summary="The master scenario events list (`advisor msel`): Markdown, CSV or XLSX",
        response_class=Response,
        responses={
            200: {"description": "The MSEL, as an attachment", "content": {m: {} for m in _MEDIA.values()}},
            **_errors(413, 422, 503),
        },
        openapi_extra=_body_doc(),
    )
    async def msel(
        request: Request, format: Literal["markdown", "csv", "xlsx"] = "markdown", lang: Lang = "en"
    ) -> Response:
        body = await one(request)
        content, name = await held(_msel, body, format, lang)
        return _download(content, name, format)

    @app.post(
        "/v1/graph",
        tags=["exercise"],
        summary="The network picture (`advisor graph`): SVG, DOT, Mermaid or a membership matrix",
        response_class=Response,
        responses={
            200: {"description": "The picture, as an attachment", "content": {m: {} for m in _MEDIA.values()}},
            **_errors(413, 422, 503),
        },
        openapi_extra=_body_doc(),
    )
    async def graph(
        request: Request,
        format: Literal["svg", "dot", "mermaid", "matrix"] = "svg",
        stage: Annotated[int | None, Query(ge=0)] = None,
        stages: bool = False,
        lang: Lang = "en",
    ) -> Response:
        if stage is not None and stages:
            raise InputError("give stage=N or stages=true, not both", loc="stage")
        body = await one(request)
        content, name = await held(_graph, body, format, stage, stages, lang)
        return _download(content, name, format)

    # --- operations ----------------------------------------------------------------------------------

    @app.post(
        "/v1/reload",
        tags=["operations"],
        summary="Reload the rule base after `rules check` passes; the old one serves on if it fails "
        "(needs the bearer token)",
        response_model=ReloadOut,
        responses=_errors(401, 403, 422),
    )
    async def reload(request: Request) -> Response:
        if settings.token is None:
            refused = InputError(
                "reloading over HTTP needs a bearer token: start advisor serve with ADVISOR_TOKEN set "
                "(or send the process SIGHUP)",
                loc="authorization",
            )
            return error_response(refused, 403)
        out = await engine.reload()
        if out.reloaded and settings.supervisor:
            os.kill(settings.supervisor, signal.SIGHUP)  # the other workers reload too
        return Response(out.model_dump_json().encode(), media_type="application/json")

    @app.get("/healthz", tags=["operations"], summary="Liveness and the rule base in use", response_model=HealthOut)
    async def healthz() -> Response:
        rb = engine.rulebase
        out = HealthOut(status="ok", version=__version__, rulebase=rb.digest, rules=len(rb.rules))
        return Response(out.model_dump_json().encode(), media_type="application/json")

    app.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)  # for monitors that HEAD

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics of this worker (text format 0.0.4)",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}},
    )
    async def prometheus() -> Response:
        text, media = metrics.exposition(engine)
        return Response(text, media_type=media)

    # --- the workbench -------------------------------------------------------------------------------

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> Response:
        return _static("index.html")

    @app.api_route("/workbench/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    async def workbench_file(name: str) -> Response:
        return _static(name)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=[{"name": t} for t in ("assess", "explain", "catalog", "exercise", "operations")],
            )
            _add_descriptor(doc, engine.rulebase)
            if settings.token is not None:
                doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                doc["security"] = [{"bearer": []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    from .middleware import edge

    return edge(app, settings, metrics)


# --- the work each endpoint does on the engine's thread ------------------------------------------------


def _warm(rb: Rulebase) -> None:
    """Register the rule base and assess one threat of each type, so that the first requests do not
    pay for what an assessment builds once (tens of milliseconds)."""
    from .assessment import build_json
    from .chaining import prepare
    from .models import parse_descriptor

    prepare(rb)
    for kind in rb.catalog.vocabulary.types:
        build_json(parse_descriptor({"type": kind}, rb.catalog, path="warm-up", default_id="warm-up"), rb)


def _assess_plain(rb: Rulebase, body: bytes) -> bytes | None:
    """One descriptor without injects assessed right here, on the event loop's thread; None for one with
    injects (each stage an assessment: the engine's thread, within the time limit).

    Handing a plain assessment (about a millisecond, bounded by the descriptor's size and the
    engine's step limit) to the engine's thread cost a fifth more CPU a request and doubled p99
    under 50 clients (the two threads passing the GIL back and forth), measured with
    benchmarks/serve.py. A reload puts the new rule base in use on this thread too, so never
    under an assessment made here.
    """
    from .assessment import build_json

    threat = _descriptor(body, rb)
    return None if threat.injects else build_json(threat, rb).encode()


def _assess_one(rb: Rulebase, body: bytes, as_of: str, lang: str) -> bytes:
    from .assessment import build_json
    from .render.names import localise
    from .stages import assess_threat

    threat = _descriptor(body, rb)
    if not threat.injects and as_of == "2002" and lang == "en":
        return build_json(threat, rb).encode()  # the common case: the line batch mode writes
    a = assess_threat(threat, rb, as_of)
    data = a.to_data()
    if lang == "ja":
        data = localise(data, rb.catalog, as_of)
    return _json_bytes(data)


def _json_bytes(data: Any) -> bytes:
    from .render.safe import json_safe

    try:
        text = orjson.dumps(data).decode()
    except orjson.JSONEncodeError:  # an integer past 64 bits in an x_ field
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json_safe(text).encode()


def _explain(rb: Rulebase, body: bytes, why: str | None, why_not: str | None, what_if: bool) -> dict[str, Any]:
    from . import explain as ex
    from .render.json import what_if_data, why_data, why_not_data

    threat = _descriptor(body, rb)
    data: dict[str, Any] = {}
    targets = [(n, ex.resolve(rb, x, n)) for n, x in (("why", why), ("why_not", why_not)) if x]
    for name, target in targets:
        if name == "why":
            answer, _ = ex.why(threat, rb)
            data["why"] = why_data(target, answer(target))
        else:
            present, misses = ex.why_not(threat, rb, target)
            data["why_not"] = why_not_data(target, present, misses)
    if what_if:
        data["what_if"] = what_if_data(ex.what_if(threat, rb))
    return data


def _query(rb: Rulebase, kind: str, ref: str) -> dict[str, Any]:
    from .analysis import query
    from .explain import resolve
    from .render.json import query_data

    target = resolve(rb, ref, kind, kind=kind)
    answers, summary = query(rb, target)
    return query_data(target, answers, summary)


def _catalog(rb: Rulebase, kind: str, lang: str) -> list[dict[str, Any]]:
    from .render.json import catalog_data

    data = catalog_data(rb.catalog, kind)
    if lang != "ja":
        return data
    cat = rb.catalog
    words = cat.text_ja.vocabulary.get(kind, {})
    for entry in data:
        if kind in ("frameworks", "agencies", "states"):
            ja = cat.name_ja(kind, entry["id"])
            if ja:
                entry["name_ja"] = ja
        elif kind == "recommendations" and entry.get("number") in cat.text_ja.recommendations:
            entry["title_ja"] = cat.text_ja.recommendations[entry["number"]]
        elif kind == "derived" and cat.vocabulary.derived[entry["id"]].text_ja:
            entry["meaning_ja"] = cat.vocabulary.derived[entry["id"]].text_ja
        elif entry["id"] in words:
            entry["label_ja"] = words[entry["id"]]
    return data


_MEDIA = {
    "html": "text/html; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "svg": "image/svg+xml",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "mermaid": "text/plain; charset=utf-8",
    "matrix": "text/markdown; charset=utf-8",
}
_SUFFIX = {"markdown": "md", "mermaid": "mmd", "matrix": "md"}


def _download(content: str | bytes, name: str, fmt: str) -> Response:
    """A document as an attachment: saved, never shown in the workbench's origin."""
    data = content.encode() if isinstance(content, str) else content
    filename = f"{name}.{_SUFFIX.get(fmt, fmt)}"
    return Response(
        data,
        media_type=_MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        },
    )


def _file_stem(threat_id: str, what: str) -> str:
    """A safe file name from a descriptor's id: letters, digits, '-' and '_' only."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", threat_id)[:60].strip("_") or "threat"
    return f"{stem}-{what}"


def _brief(rb: Rulebase, body: bytes, fmt: str, facilitator: bool, handout: bool, paper: str, as_of: str, lang: str):
    from .render import render_brief
    from .stages import assess_threat

    threat = _descriptor(body, rb)
    a = assess_threat(threat, rb, as_of)
    out = render_brief(a, rb, fmt, facilitator=facilitator, handout=handout, paper=paper, lang=lang, as_of=as_of)
    what = "handout" if handout else "facilitator-guide" if facilitator else "situation-manual"
    return out, _file_stem(threat.id, what)


def _msel(rb: Rulebase, body: bytes, fmt: str, lang: str):
    from .render import render_msel
    from .stages import assess_threat

    threat = _descriptor(body, rb)
    return render_msel(assess_threat(threat, rb), rb, fmt, lang), _file_stem(threat.id, "msel")


def _graph(rb: Rulebase, body: bytes, fmt: str, stage: int | None, every: bool, lang: str):
    from .graph import draw
    from .render.names import Names
    from .stages import assess_threat

    threat = _descriptor(body, rb)
    text, _ = draw(assess_threat(threat, rb), rb.catalog, Names(rb.catalog, lang), fmt, stage=stage, every=every)
    if text is None:
        raise EngineError(
            "SVG needs Graphviz's dot program, which is not installed on the server (apt-get install graphviz); "
            "format=dot or mermaid work without it"
        )
    return text, _file_stem(threat.id, "network")


# --- the OpenAPI document: the descriptor's schema, from the catalog in use ----------------------------


def _body_doc(batch: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {
        "application/json": {
            "schema": (
                {
                    "oneOf": [
                        {"$ref": "#/components/schemas/Descriptor"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/Descriptor"}},
                    ]
                }
                if batch
                else {"$ref": "#/components/schemas/Descriptor"}
            )
        }
    }
    if batch:
        content["application/x-ndjson"] = {"schema": {"type": "string", "description": "One descriptor per line"}}
    return {"requestBody": {"required": True, "description": "A threat descriptor", "content": content}}


def _add_descriptor(doc: dict[str, Any], rb: Rulebase) -> None:
    """Put the descriptor's JSON Schema (its vocabularies as enums) among the document's components."""
    from .schema import schema_of

    schema = schema_of("descriptor", rb.catalog)
    defs = schema.pop("$defs", {})
    text = json.dumps(schema)
    defs_text = json.dumps(defs)
    for name in defs:
        for_ref = f'"#/$defs/{name}"'
        text = text.replace(for_ref, f'"#/components/schemas/Descriptor_{name}"')
        defs_text = defs_text.replace(for_ref, f'"#/components/schemas/Descriptor_{name}"')
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for key in ("$schema", "$id"):
        schema = json.loads(text)
        schema.pop(key, None)
        text = json.dumps(schema)
    schemas["Descriptor"] = json.loads(text)
    for name, sub in json.loads(defs_text).items():
        schemas[f"Descriptor_{name}"] = sub


# --- static files of the workbench -----------------------------------------------------------------------


_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}


def _static(name: str) -> Response:
    """A file of the workbench (package data), by its plain name only: no paths, no dot files."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,60}", name) or ".." in name:
        return JSONResponse({"error": {"status": 404, "message": "not found", "problems": []}}, status_code=404)
    suffix = name[name.rfind(".") :]
    root = resources.files("advisor") / "workbench"
    target = root / name
    if suffix not in _TYPES or not target.is_file():
        return JSONResponse({"error": {"status": 404, "message": "not found", "problems": []}}, status_code=404)
    return Response(target.read_bytes(), media_type=_TYPES[suffix], headers={"Cache-Control": "no-cache"})
