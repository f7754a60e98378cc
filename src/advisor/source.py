"""Reading the files advisor is given: strict JSON for descriptors, safe line-aware YAML for rules."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import FileReadError, RuleFileError, SettingError, clip

MAX_DESCRIPTOR_BYTES = 1_000_000  # defaults; ADVISOR_MAX_DESCRIPTOR_BYTES and ADVISOR_MAX_BATCH_BYTES change them
MAX_BATCH_BYTES = 200_000_000
MAX_RULE_FILE_BYTES = 2_000_000
MAX_YAML_ALIASES = 100


def setting(name: str, default: int, unit: str = "bytes") -> int:
    """A limit from the environment, read when it is used: a positive whole number, else a clear error."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    number = int(value) if re.fullmatch(r"[1-9][0-9]{0,17}", value) else 0  # plain ASCII digits only
    if number <= 0:
        raise SettingError(
            f"not a positive whole number of {unit}: '{clip(value)}' (the default is {default})", loc=name
        )
    return number


def descriptor_limit() -> int:
    """Bytes one descriptor (a file, a JSON line, or standard input) may have."""
    return setting("ADVISOR_MAX_DESCRIPTOR_BYTES", MAX_DESCRIPTOR_BYTES)


def batch_limit() -> int:
    """Bytes a batch (standard input, a JSON Lines file, a JSON array) may have in all."""
    return setting("ADVISOR_MAX_BATCH_BYTES", MAX_BATCH_BYTES)


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bytes(path: Path, *, limit: int, error=FileReadError) -> bytes:
    """A regular file's bytes, at most `limit` of them, checked while reading (never after).

    Devices, pipes and sockets are refused before a byte is read (a named pipe is opened
    without waiting for a writer), so nothing can hang advisor or fill its memory.
    """
    shown = str(path)
    try:
        ahead = os.stat(path)
        if stat.S_ISSOCK(ahead.st_mode):  # opening one fails with an unhelpful "no such device"
            raise error(
                f"is {kind_of(ahead.st_mode)}, not a regular file (give '-' to read standard input)", path=shown
            )
    except OSError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error("no such file", path=shown) from None
    except IsADirectoryError:
        raise error("is a directory, not a file", path=shown) from None
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror or exc}", path=shown) from None
    st = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(st.st_mode):
        problem = "is a directory, not a file"
    elif not stat.S_ISREG(st.st_mode):
        problem = f"is {kind_of(st.st_mode)}, not a regular file (give '-' to read standard input)"
    elif st.st_size > limit:
        problem = f"file is {st.st_size:,} bytes, over the limit of {limit:,}"
    if problem:
        os.close(fd)
        raise error(problem, path=shown)
    with os.fdopen(fd, "rb", buffering=0) as fh:
        chunks, total = [], 0
        try:
            while total <= limit:
                chunk = fh.read(min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        except OSError as exc:
            raise error(f"cannot be read: {exc.strerror or exc}", path=shown) from None
    if total > limit:
        raise error(f"file is over the limit of {limit:,} bytes", path=shown)
    return b"".join(chunks)


def read_text(path: Path, *, limit: int, error=FileReadError) -> str:
    """The file's text, refusing what is missing, not a regular file, too large, empty or not UTF-8."""
    return decode(read_bytes(path, limit=limit, error=error), str(path), error=error)


def decode(raw: bytes, shown: str, *, error=FileReadError) -> str:
    """UTF-8 text (a byte-order mark is accepted and dropped); empty input is an error."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", path=shown) from None
    if not text.strip():
        raise error("the file is empty", path=shown)
    return text


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key '{key}'")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _whole(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise ValueError(f"the number {clip(text, 20)} has {len(text.lstrip('-'))} digits; at most 30")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{clip(text, 20)} is out of range for a number")
    return value


def _check(value: Any, shown: str, limit: int, where: str = "", level: int = 1) -> None:
    """Refuse data nested deeper than `limit`, and text that is not Unicode (lone surrogates from \\ud800 escapes)."""
    if level > limit:
        raise FileReadError(f"nested more than {limit} levels deep", path=shown)
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise FileReadError(
                "not valid text: a lone surrogate escape (\\ud800-\\udfff)", path=shown, loc=where or None
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _check(k, shown, limit, where, level)
            _check(v, shown, limit, f"{where}.{k}" if where else str(k), level + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check(v, shown, limit, f"{where}[{i}]", level + 1)


def parse_json(text: str, shown: str) -> Any:
    """Strict JSON: one document, no duplicate keys, no NaN, Infinity or numbers out of range,
    no lone surrogates, nested at most MAX_DEPTH deep."""
    try:
        data = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_float=_finite, parse_int=_whole
        )
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise FileReadError(
                f"more than one JSON value (line {exc.lineno}, column {exc.colno}); give one object per file",
                path=shown,
            ) from None
        raise FileReadError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=shown) from None
    except ValueError as exc:
        raise FileReadError(f"not valid JSON: {exc}", path=shown) from None
    except RecursionError:
        raise FileReadError(f"nested more than {MAX_DEPTH} levels deep", path=shown) from None
    # a lone surrogate comes from the text itself or a \ud800-\udfff escape, and nesting needs
    # brackets: text with none of them (nearly every descriptor) need not be walked
    if _SURROGATE.search(text) or _SURROGATE_ESCAPE.search(text) or text.count("{") + text.count("[") > MAX_DEPTH:
        _check(data, shown, MAX_DEPTH)
    return data


def read_json(path: Path) -> Any:
    """Parse one JSON file with the descriptor limits."""
    return parse_json(read_text(path, limit=descriptor_limit()), str(path))


def read_json_stream(stream, shown: str = "<stdin>") -> Any:
    """Parse JSON from a binary stream with the descriptor limits."""
    limit = descriptor_limit()
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise FileReadError(f"input is over the limit of {limit:,} bytes for one descriptor", path=shown)
    return parse_json(decode(raw, shown), shown)


# --- YAML with line numbers -------------------------------------------------------


class LineDict(dict):
    """A mapping from YAML that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict


class LineList(list):
    """A sequence from YAML that remembers its line and each item's line."""

    line: int = 0
    item_lines: list


_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: 10x faster


MAX_YAML_DEPTH = 100  # mappings and lists inside one another (a rule file needs under ten)


class _TooDeep(Exception):
    """Nesting past MAX_YAML_DEPTH: the same refusal on every Python (where the interpreter's own
    recursion limit lies differs from 3.11 to 3.12)."""


class _Loader(_Base):  # type: ignore[valid-type,misc]  # a base chosen at import
    """A safe loader (no object-building tags) that records lines, refuses duplicate keys and
    bounds nesting."""

    def __init__(self, stream: str, shown: str):
        super().__init__(stream)
        self.shown = shown
        self.depth = 0

    def construct_object(self, node, deep=False):  # noqa: D102 - PyYAML hook
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise _TooDeep
            return super().construct_object(node, deep)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep)
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, bool)):
                raise RuleFileError(
                    "a mapping key must be a plain value", path=self.shown, line=key_node.start_mark.line + 1
                )
            if key in out:
                raise RuleFileError(f"duplicate key '{key}'", path=self.shown, line=key_node.start_mark.line + 1)
            out[key] = self.construct_object(value_node, deep=True)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out

    def construct_sequence(self, node, deep=False):  # noqa: D102 - PyYAML hook
        out = LineList(self.construct_object(child, deep=True) for child in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [child.start_mark.line + 1 for child in node.value]
        return out


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


MAX_YAML_NODES = 200_000


def _expanded_size(data: Any, shown: str, error) -> int:
    """Nodes the data would have with every alias expanded, and how many aliases it uses."""
    sizes: dict[int, int] = {}
    aliases = 0

    def size(node: Any) -> int:
        nonlocal aliases
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key in sizes:
            aliases += 1
            return sizes[key]
        children = node.values() if isinstance(node, dict) else node
        sizes[key] = 1 + sum(size(c) for c in children)
        return sizes[key]

    total = size(data)
    if aliases > MAX_YAML_ALIASES:
        raise error(f"more than {MAX_YAML_ALIASES} YAML aliases", path=shown)
    if total > MAX_YAML_NODES:
        raise error(f"expands to {total:,} nodes, over the limit of {MAX_YAML_NODES:,} (aliases?)", path=shown)
    return total


def parse_yaml(text: str, shown: str, error=RuleFileError) -> Any:
    """Safe YAML (no object-building tags) with line numbers kept on mappings and lists.

    Aliases are limited in number and in how far they expand the data (no "billion laughs").
    """
    loader = _Loader(text, shown)
    try:
        data = loader.get_single_data()
    except error:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise error(f"not valid YAML: {exc.problem or exc.context}", path=shown, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", path=shown) from None
    except (RecursionError, _TooDeep):
        raise error("not valid YAML: nested too deeply", path=shown) from None
    finally:
        loader.dispose()
    _expanded_size(data, shown, error)
    return data


def read_yaml(path: Path, error=RuleFileError) -> Any:
    """Parse one YAML data file of a rule base."""
    return parse_yaml(read_text(path, limit=MAX_RULE_FILE_BYTES, error=error), str(path), error=error)


def line_of(data: Any, loc: tuple) -> int | None:
    """The line of the deepest element of `data` that `loc` (a pydantic location) reaches."""
    line = getattr(data, "line", None) or None
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line
