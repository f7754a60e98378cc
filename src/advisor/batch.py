"""Assessing many descriptors: JSON Lines out, one line per input in input order, bad inputs as
error records, optionally spread over processes, resumable after an interruption."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .errors import AdvisorError, FileReadError
from .source import MAX_DESCRIPTOR_BYTES, decode, parse_json, read_text

MAX_BATCH_BYTES = int(os.environ.get("ADVISOR_MAX_BATCH_BYTES", 200_000_000))


@dataclass
class Item:
    """One descriptor to assess, or the reason it cannot be read."""

    source: str
    raw: Any = None
    error: str | None = None
    line: int | None = None
    default_id: str = "threat"


def _lines(text: str, shown: str) -> Iterator[Item]:
    """JSON Lines: one object a line; blank lines are skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line.encode()) > MAX_DESCRIPTOR_BYTES:
            yield Item(shown, error=f"line is over the limit of {MAX_DESCRIPTOR_BYTES:,} bytes", line=number)
            continue
        try:
            raw = parse_json(line, f"{shown}:{number}")
        except FileReadError as exc:
            yield Item(shown, error=exc.message, line=number)
            continue
        stem = "stdin" if shown == "<stdin>" else Path(shown).stem
        yield Item(shown, raw=raw, line=number, default_id=f"{stem}-{number}")


def _document(text: str, shown: str, stem: str) -> Iterator[Item]:
    """One JSON document: an object, or an array of objects; else JSON Lines."""
    try:
        data = parse_json(text, shown)
    except FileReadError as exc:
        if "more than one JSON value" in exc.message:
            yield from _lines(text, shown)
            return
        yield Item(shown, error=exc.message)
        return
    if isinstance(data, list):
        for i, raw in enumerate(data):
            yield Item(f"{shown}[{i}]", raw=raw, default_id=f"{stem}-{i}")
    else:
        yield Item(shown, raw=data, default_id=stem)


def read_inputs(paths: Iterable[str], stdin) -> Iterator[Item]:
    """Every descriptor named by the arguments: files, directories (their *.json and *.jsonl), or `-`."""
    for given in paths:
        if given == "-":
            raw = stdin.read(MAX_BATCH_BYTES + 1)
            if len(raw) > MAX_BATCH_BYTES:
                yield Item("<stdin>", error=f"input is over the limit of {MAX_BATCH_BYTES:,} bytes")
                continue
            try:
                text = decode(raw, "<stdin>")
            except FileReadError as exc:
                yield Item("<stdin>", error=exc.message)
                continue
            yield from _document(text, "<stdin>", "stdin")
            continue
        path = Path(given)
        files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file()) \
            if path.is_dir() else [path]
        for f in files:
            limit = MAX_BATCH_BYTES if f.suffix == ".jsonl" else MAX_DESCRIPTOR_BYTES
            try:
                text = read_text(f, limit=limit)
            except FileReadError as exc:
                yield Item(str(f), error=exc.message)
                continue
            if f.suffix == ".jsonl":
                yield from _lines(text, str(f))
            else:
                try:
                    data = parse_json(text, str(f))
                except FileReadError as exc:
                    yield Item(str(f), error=exc.message)
                    continue
                yield Item(str(f), raw=data, default_id=f.stem)


def error_line(item: Item, message: str) -> str:
    record = {"error": {"source": item.source, "line": item.line, "message": message}}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def assess_line(item: Item, rulebase, as_of: str = "2002") -> tuple[str, bool]:
    """One output line for one input, and whether the input was good."""
    from .api import assess, parse_threat

    if item.error is not None:
        return error_line(item, item.error), False
    where = f"{item.source}:{item.line}" if item.line else item.source
    try:
        threat = parse_threat(item.raw, rulebase, path=where, default_id=item.default_id)
        a = assess(threat, rulebase, as_of=as_of)
    except AdvisorError as exc:
        message = "; ".join(p.render() for p in exc.problems) if exc.problems else exc.render()
        return error_line(item, message), False
    skip = {k for k in ("stages", "since_2002") if getattr(a, k) is None}
    return a.model_dump_json(exclude=skip), True


def threat_id(item: Item) -> str | None:
    """The id an input will have once assessed (for --skip-done), without assessing it."""
    if isinstance(item.raw, dict):
        given = item.raw.get("id")
        return given if isinstance(given, str) else item.default_id
    return None


def done_ids(path: Path) -> set[str]:
    """Ids already assessed in an earlier, perhaps interrupted, run's output; a partial last line is dropped."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):  # an interrupted write: keep only complete lines
        with path.open("r+b") as fh:
            fh.truncate(len(complete))
    ids = set()
    for line in complete.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("threat"), dict):
            ids.add(record["threat"].get("id"))
    return ids


# --- running, in this process or in several ------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(rules_dir: str | None, as_of: str) -> None:
    from .api import load_rulebase

    _WORKER["rulebase"] = load_rulebase(rules_dir)
    _WORKER["as_of"] = as_of


def _work(item: Item) -> tuple[str, bool]:
    return assess_line(item, _WORKER["rulebase"], _WORKER["as_of"])


def run(items: list[Item], rulebase, rules_dir: str | None, out: TextIO, *, jobs: int = 1, as_of: str = "2002",
        progress=None) -> tuple[int, int]:
    """Assess every item, writing one complete, flushed line each, in input order.

    Returns (good, bad). With jobs > 1 the items are spread over worker processes; the
    output is the same, byte for byte.
    """
    good = bad = 0
    if jobs > 1 and len(items) > 1:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(rules_dir, as_of)) as pool:
            results = pool.imap(_work, items, chunksize=max(1, min(64, len(items) // (jobs * 8) or 1)))
            good, bad = _write(results, out, progress, len(items))
    else:
        results = (assess_line(item, rulebase, as_of) for item in items)
        good, bad = _write(results, out, progress, len(items))
    return good, bad


def _write(results, out: TextIO, progress, total: int) -> tuple[int, int]:
    good = bad = 0
    for done, (line, ok) in enumerate(results, start=1):
        out.write(line + "\n")  # one write of one whole line, then flush: an interruption leaves whole lines
        out.flush()
        good, bad = good + ok, bad + (not ok)
        if progress:
            progress(done, total)
    return good, bad
