"""Assessing many descriptors: JSON Lines out, one line per input in input order, bad inputs as
error records, optionally spread over processes, resumable after an interruption.

Input is streamed: JSON Lines a line at a time and JSON arrays an element at a time, with the
per-descriptor and total limits checked while reading, so memory stays bounded however long
the input. Resuming is by position: the n complete lines of an earlier output are the answers
to the first n inputs, so a resumed run writes exactly the bytes an uninterrupted one would.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from .errors import EngineError, FileReadError, InputError
from .process import MEMORY
from .source import batch_limit, descriptor_limit, kind_of, parse_json, read_text

CHUNK = 1 << 16


@dataclass
class Item:
    """One descriptor to assess, or the reason it cannot be read."""

    source: str
    raw: Any = None
    error: str | None = None
    line: int | None = None
    default_id: str = "threat"
    text: str | None = None  # a JSON Lines line not parsed yet: parsed where it is assessed (a worker)

    def parsed(self) -> Item:
        """The item with its text parsed, or the reason it cannot be (as an error item)."""
        if self.text is None:
            return self
        try:
            raw = parse_json(self.text, f"{self.source}:{self.line}")
        except FileReadError as exc:
            return Item(self.source, error=exc.message, line=self.line)
        return Item(self.source, raw=raw, line=self.line, default_id=self.default_id)


class Peeked:
    """A binary stream with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = head, stream

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.stream.read(n)

    def readline(self, limit: int) -> bytes:
        if self.head:
            cut = self.head.find(b"\n", 0, limit)
            end = cut + 1 if cut >= 0 else min(limit, len(self.head))
            out, self.head = self.head[:end], self.head[end:]
            if out.endswith(b"\n") or len(out) >= limit:
                return out
            return out + self.stream.readline(limit - len(out))
        return self.stream.readline(limit)


def _over(shown: str, line: int | None, limit: int) -> Item:
    return Item(
        shown,
        error=f"input is over the limit of {limit:,} bytes in all (ADVISOR_MAX_BATCH_BYTES); the rest was not read",
        line=line,
    )


def stream_lines(stream, shown: str, stem: str) -> Iterator[Item]:
    """JSON Lines from a binary stream: one object a line, blank lines skipped, each line bounded."""
    line_limit, total_limit = descriptor_limit(), batch_limit()
    total = number = 0
    while True:
        line = stream.readline(line_limit + 2)
        if not line:
            return
        number += 1
        total += len(line)
        if total > total_limit:
            yield _over(shown, number, total_limit)
            return
        content = len(line) - (2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0)
        if content > line_limit:  # refused at once; the rest of the line is skipped, none of it kept
            yield Item(shown, error=f"line is over the limit of {line_limit:,} bytes", line=number)
            while line and not line.endswith(b"\n"):
                line = stream.readline(CHUNK)
                total += len(line)
                if total > total_limit:
                    yield _over(shown, number, total_limit)
                    return
            continue
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield Item(shown, error=f"not UTF-8 text (byte {exc.start})", line=number)
            continue
        yield Item(shown, line=number, default_id=f"{stem}-{number}", text=text)


def stream_array(stream, shown: str, stem: str) -> Iterator[Item]:
    """The elements of one JSON array from a binary stream, one at a time, each bounded."""
    element_limit, total_limit = descriptor_limit(), batch_limit()
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    buf, pos, total, eof, index = "", 0, 0, False, 0

    def more() -> bool:
        nonlocal buf, pos, total, eof
        if eof:
            return False
        chunk = stream.read(CHUNK)
        total += len(chunk)
        eof = not chunk
        buf = buf[pos:] + decoder.decode(chunk, final=eof)
        pos = 0
        return True

    def skip_space() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or not more():
                return buf[pos] if pos < len(buf) else ""

    def fail(message: str) -> Item:
        return Item(f"{shown}[{index}]", error=message)

    try:
        if skip_space() != "[":
            yield fail("not a JSON array")
            return
        pos += 1
        if skip_space() == "]":
            pos += 1
            if skip_space():
                yield Item(
                    shown, error="more than one JSON value: something follows the array; give one array, or JSON Lines"
                )
            return
        while True:
            if total > total_limit:
                yield _over(f"{shown}[{index}]", None, total_limit)
                return
            start = pos
            while True:  # an element ends where the text after it says so: read until it parses
                end = _element_end(buf, pos)
                if end is not None and (end < len(buf) or eof):
                    break
                if len(buf) - start > element_limit or not more():
                    break
                start = pos
            if end is None or end - start > element_limit:
                too_long = len(buf) - start > element_limit
                yield fail(
                    f"element is over the limit of {element_limit:,} bytes"
                    if too_long
                    else "not valid JSON: the array is cut short or malformed; the rest was not read"
                )
                return
            try:
                raw = parse_json(buf[start:end], f"{shown}[{index}]")
                yield Item(f"{shown}[{index}]", raw=raw, default_id=f"{stem}-{index}")
            except FileReadError as exc:
                yield fail(exc.message)
            pos = end
            index += 1
            sep = skip_space()
            if sep == "]":
                pos += 1
                if skip_space():
                    yield Item(
                        shown,
                        error="more than one JSON value: something follows the array; give one array, or JSON Lines",
                    )
                return
            if sep != ",":
                yield fail("not valid JSON: expected ',' or ']' between the elements; the rest was not read")
                return
            pos += 1
            skip_space()
    except UnicodeDecodeError as exc:
        yield fail(f"not UTF-8 text (byte {exc.start})")


_SCANNER = json.JSONDecoder()


def _element_end(buf: str, pos: int) -> int | None:
    """Where the JSON value starting at `pos` ends, or None when the text so far does not hold one."""
    try:
        _, end = _SCANNER.raw_decode(buf, pos)
    except (ValueError, RecursionError):
        return None
    return end


def _open_regular(path: Path, limit: int):
    """A regular file opened for reading (a pipe or device refused, unread), checked against `limit`."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileReadError("no such file", path=shown) from None
    except OSError as exc:
        raise FileReadError(f"cannot be read: {exc.strerror or exc}", path=shown) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise FileReadError(f"is {kind_of(st.st_mode)}, not a regular file", path=shown)
    if st.st_size > limit:
        os.close(fd)
        raise FileReadError(f"file is {st.st_size:,} bytes, over the limit of {limit:,}", path=shown)
    return os.fdopen(fd, "rb")


def read_stdin(stream, head: bytes = b"") -> Iterator[Item]:
    """Standard input in batch mode: a JSON array, or JSON Lines."""
    data = Peeked(head, stream)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[":
        yield from stream_array(data, "<stdin>", "stdin")
    else:
        yield from stream_lines(data, "<stdin>", "stdin")


def read_inputs(paths: Iterable[str], stdin, head: bytes = b"") -> Iterator[Item]:
    """Every descriptor named by the arguments: files, directories (their *.json and *.jsonl), or `-`."""
    for given in paths:
        if given == "-":
            yield from read_stdin(stdin, head)
            continue
        path = Path(given)
        files = (
            sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and not p.is_dir())
            if path.is_dir()
            else [path]
        )  # a pipe or device named *.json is refused below, not skipped
        for f in files:
            if f.suffix == ".jsonl":
                try:
                    fh = _open_regular(f, batch_limit())
                except FileReadError as exc:
                    yield Item(str(f), error=exc.message)
                    continue
                with fh:
                    try:
                        yield from stream_lines(fh, str(f), f.stem)
                    except OSError as exc:
                        yield Item(str(f), error=f"cannot be read: {exc.strerror or exc}")
                continue
            try:
                data = parse_json(read_text(f, limit=descriptor_limit()), str(f))
            except FileReadError as exc:
                yield Item(str(f), error=exc.message)
                continue
            yield Item(str(f), raw=data, default_id=f.stem)


def error_line(item: Item, message: str) -> str:
    from .render.safe import json_safe

    record = {"error": {"source": item.source, "line": item.line, "message": message}}
    return json_safe(json.dumps(record, ensure_ascii=False, separators=(",", ":")))


def assess_line(item: Item, rulebase, as_of: str = "2002") -> tuple[str, bool]:
    """One output line for one input, and whether the input was good.

    A bad input is an error record; a fault of the engine is not the input's doing and
    stops the run (EngineError), in one process or several alike.
    """
    from .assessment import build_json
    from .models import parse_descriptor
    from .stages import assess_threat

    item = item.parsed()
    if item.error is not None:
        return error_line(item, item.error), False
    where = f"{item.source}:{item.line}" if item.line else item.source
    try:
        threat = parse_descriptor(item.raw, rulebase.catalog, path=where, default_id=item.default_id)
        if not threat.injects and as_of == "2002":  # the common case: the line straight from the engine
            return build_json(threat, rulebase), True
        a = assess_threat(threat, rulebase, as_of)
    except InputError as exc:
        message = "; ".join(p.render() for p in exc.problems) if exc.problems else exc.render()
        return error_line(item, message), False
    from .render.safe import json_safe

    skip = {k for k in ("stages", "since_2002") if getattr(a, k) is None}
    return json_safe(a.model_dump_json(exclude=skip)), True


# --- resuming ---------------------------------------------------------------------------------


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def done_keys(path: Path) -> list[tuple]:
    """What each complete line of an earlier output answers, in order; a half-written last line is ignored.

    An assessment is kept as a digest of its normalised descriptor, with the rule base that
    made it and whether it carries `since_2002`; an error record as a digest of itself.
    Read only: the file is never changed here.
    """
    keys: list[tuple] = []
    try:
        fh = _open_regular(path, 1 << 62)
    except FileReadError as exc:
        if exc.message == "no such file":
            return keys
        raise FileReadError(exc.message, path=str(path), loc="--skip-done") from None
    with fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                break
            try:
                record = json.loads(line)
                if "threat" in record:
                    keys.append(
                        (
                            "threat",
                            record["threat"]["id"],
                            _digest(record["threat"]),
                            record["advisor"]["rulebase"],
                            "since_2002" in record,
                        )
                    )
                else:
                    keys.append(("error", record["error"]["source"], _digest(record)))
            except (ValueError, TypeError, KeyError):
                raise InputError(
                    f"line {number} is not a line advisor wrote (an assessment or an error record)",
                    path=str(path),
                    loc="--skip-done",
                ) from None
    return keys


def _mismatch(item: Item, key: tuple, rulebase, as_of: str) -> str | None:
    """Why an earlier output's line is not the answer to this input (None when it is)."""
    from .models import parse_descriptor

    item = item.parsed()
    error = item.error
    threat = None
    if error is None:
        where = f"{item.source}:{item.line}" if item.line else item.source
        try:
            threat = parse_descriptor(item.raw, rulebase.catalog, path=where, default_id=item.default_id)
        except InputError as exc:
            error = "; ".join(p.render() for p in exc.problems) if exc.problems else exc.render()
    if key[0] == "error":
        if error is not None and _digest(json.loads(error_line(item, error))) == key[2]:
            return None
        return f"an error record for {key[1]}"
    if threat is None:
        return f"the assessment of '{key[1]}'"
    if _digest(json.loads(json.dumps(threat.to_output(), ensure_ascii=False))) != key[2]:
        return f"the assessment of another descriptor (id '{key[1]}')"
    if key[3] != rulebase.digest[:16]:
        return f"the assessment of '{key[1]}' by another rule base ({key[3]}, not {rulebase.digest[:16]})"
    if key[4] != (as_of == "today"):
        return f"the assessment of '{key[1]}' " + ("with" if key[4] else "without") + " --as-of today"
    return None


def skip_done(
    items: Iterator[Item], keys: list[tuple], shown: str, rulebase, as_of: str = "2002", tally: dict | None = None
) -> Iterator[Item]:
    """The inputs after the first len(keys), once each of those is checked against its line: the same
    descriptor (or the same error), the same rule base, the same options. `tally["bad"]` counts the
    earlier error records, so that a resumed run exits as the uninterrupted one would."""
    for position, key in enumerate(keys, start=1):
        item = next(items, None)
        if item is None:
            raise InputError(
                f"has {len(keys)} lines but the inputs give only {position - 1}: not an output of these inputs",
                path=shown,
                loc="--skip-done",
            )
        why = _mismatch(item, key, rulebase, as_of)
        if why:
            here = item.source + (f":{item.line}" if item.line else "")
            raise InputError(
                f"line {position} is {why}, but input {position} is {here}: "
                "not an output of these inputs (same inputs, order, rule base and options)",
                path=shown,
                loc="--skip-done",
            )
        if tally is not None:
            tally["bad" if key[0] == "error" else "good"] = tally.get("bad" if key[0] == "error" else "good", 0) + 1
    yield from items


# --- running, in this process or in several ------------------------------------------------


def _init_worker(rules_dir: str | None, as_of: str) -> None:
    import signal

    from .loading import load_rulebase

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles an interruption, once
    _die_with_parent()
    MEMORY.worker["as_of"] = as_of
    if "rulebase" not in MEMORY.worker:  # a forked worker has the parent's, prepared and settled
        MEMORY.worker["rulebase"] = load_rulebase(rules_dir)
        _settle(MEMORY.worker["rulebase"])


def _settle(rulebase) -> None:
    """Make what every assessment uses (the rule base, its prepared parts, pydantic's validators, built
    by a first assessment), then move it out of the garbage collector's sight: it lives as long as
    the process. Scanning it at every collection costs a batch ~5%; freezing before it is all made
    costs 3x (the collector then runs full collections far more often)."""
    import gc

    from .assessment import build_json
    from .models import parse_descriptor

    first = {"type": next(iter(rulebase.catalog.vocabulary.types))}
    build_json(parse_descriptor(first, rulebase.catalog, path="<settle>", default_id="threat"), rulebase)
    gc.collect()
    gc.freeze()


def _die_with_parent() -> None:
    """On Linux, ask the kernel to end this worker when the parent dies (a kill -9 leaves no orphans)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the request took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _work(chunk: list[Item]) -> tuple[list[tuple[str, bool]], EngineError | None]:
    """A chunk's lines, up to a fault of the engine if one stops it (with the fault, so that the
    lines before it are written as in one process)."""
    lines = []
    for item in chunk:
        try:
            lines.append(assess_line(item, MEMORY.worker["rulebase"], MEMORY.worker["as_of"]))
        except EngineError as exc:
            return lines, exc
    return lines, None


CHUNK_ITEMS = 32  # items a worker takes at a time: few enough to keep the output moving, enough to
#                   make a round trip's cost small beside the assessments'


def assess_stream(
    items: Iterable[Item], rulebase, rules_dir: str | None, out, *, jobs: int = 1, as_of: str = "2002", progress=None
) -> tuple[int, int]:
    """Assess every item, writing one complete line each (out.write(line)), in input order.

    Returns (good, bad). With jobs > 1 the items go to worker processes a chunk at a time,
    at most two chunks a worker in flight (memory stays bounded), and the lines come back in
    input order; the output is the same, byte for byte, and a fault stops the run the same
    way. JSON Lines are parsed in the workers: the parent only reads, hands out and writes.
    """
    good = bad = 0
    items = iter(items)
    _settle(rulebase)
    if jobs > 1:
        import multiprocessing
        from collections import deque
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        ctx = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
        if ctx.get_start_method() == "fork":
            MEMORY.worker["rulebase"] = rulebase
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(rules_dir, as_of)) as pool:
            pending: deque = deque()
            try:
                while True:
                    while len(pending) < 2 * jobs:
                        chunk = list(islice(items, CHUNK_ITEMS))
                        if not chunk:
                            break
                        pending.append(pool.submit(_work, chunk))
                    if not pending:
                        break
                    lines, fault = pending.popleft().result()
                    for line, ok in lines:
                        good, bad = _emit(out, line, ok, good, bad, progress)
                    if fault is not None:
                        raise fault
            except BrokenProcessPool:
                raise EngineError(
                    "a worker process died (the rule engine crashed); the lines before the failing input are complete"
                ) from None
            finally:
                for future in pending:
                    future.cancel()
                MEMORY.worker.pop("rulebase", None)
    else:
        for item in items:
            line, ok = assess_line(item, rulebase, as_of)
            good, bad = _emit(out, line, ok, good, bad, progress)
    return good, bad


def _emit(out, line: str, ok: bool, good: int, bad: int, progress) -> tuple[int, int]:
    out.write(line)
    good, bad = good + ok, bad + (not ok)
    if progress:
        progress(good + bad)
    return good, bad
