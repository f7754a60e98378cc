"""Reading the files advisor is given: strict JSON for descriptors, safe line-aware YAML for rules."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from .errors import FileReadError, RuleFileError

MAX_DESCRIPTOR_BYTES = int(os.environ.get("ADVISOR_MAX_DESCRIPTOR_BYTES", 1_000_000))
MAX_RULE_FILE_BYTES = 2_000_000
MAX_YAML_ALIASES = 100


def read_text(path: Path, *, limit: int, error=FileReadError) -> str:
    """The file's text, refusing what is missing, a directory, too large, empty or not UTF-8."""
    shown = str(path)
    if not path.exists():
        raise error("no such file", path=shown)
    if path.is_dir():
        raise error("is a directory, not a file", path=shown)
    size = path.stat().st_size
    if size > limit:
        raise error(f"file is {size:,} bytes, over the limit of {limit:,}", path=shown)
    raw = path.read_bytes()
    return decode(raw, shown, error=error)


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


def _depth(value: Any, limit: int, level: int = 1) -> int:
    if level > limit:
        return level
    if isinstance(value, dict):
        return max((_depth(v, limit, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, limit, level + 1) for v in value), default=level)
    return level


def parse_json(text: str, shown: str) -> Any:
    """Strict JSON: one document, no duplicate keys, no NaN or Infinity, nested at most MAX_DEPTH deep."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise FileReadError(f"more than one JSON value (line {exc.lineno}, column {exc.colno}); "
                                "give one object per file", path=shown) from None
        raise FileReadError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                            path=shown) from None
    except ValueError as exc:
        raise FileReadError(f"not valid JSON: {exc}", path=shown) from None
    except RecursionError:
        raise FileReadError(f"nested more than {MAX_DEPTH} levels deep", path=shown) from None
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise FileReadError(f"nested more than {MAX_DEPTH} levels deep", path=shown)
    return data


def read_json(path: Path) -> Any:
    """Parse one JSON file with the descriptor limits."""
    return parse_json(read_text(path, limit=MAX_DESCRIPTOR_BYTES), str(path))


def read_json_stream(stream, shown: str = "<stdin>") -> Any:
    """Parse JSON from a binary stream with the descriptor limits."""
    raw = stream.read(MAX_DESCRIPTOR_BYTES + 1)
    if len(raw) > MAX_DESCRIPTOR_BYTES:
        raise FileReadError(f"input is over the limit of {MAX_DESCRIPTOR_BYTES:,} bytes", path=shown)
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


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it: 10x faster


class _Loader(_Base):
    """A safe loader (no object-building tags) that records lines and refuses duplicate keys."""

    def __init__(self, stream: str, shown: str):
        super().__init__(stream)
        self.shown = shown

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep)
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, bool)):
                raise RuleFileError("a mapping key must be a plain value", path=self.shown,
                                    line=key_node.start_mark.line + 1)
            if key in out:
                raise RuleFileError(f"duplicate key '{key}'", path=self.shown,
                                    line=key_node.start_mark.line + 1)
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
    except RecursionError:
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
