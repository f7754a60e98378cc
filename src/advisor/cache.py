"""The rule-base cache: validated rule bases kept as JSON, so a start skips parsing the YAML.

The cache is data, never code: a file is only parsed (JSON) and rebuilt, type by type, into
the models that validated the YAML; anything odd about it makes it a miss. The
directory is created 0700 and refused (with a warning, then no cache) when another user
could write to it: whoever writes the cache decides the answers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import tempfile
import types
import typing
import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .errors import CacheWarning
from .process import MEMORY

FORMAT = 1
ENTRIES = 20  # the newest rule bases only
MAX_BYTES = 50_000_000


def directory() -> Path | None:
    """Where the cache lives (`ADVISOR_CACHE_DIR`, else the XDG cache), or None when switched off."""
    switch = os.environ.get("ADVISOR_NO_CACHE", "")
    if switch.lower() in ("1", "true", "yes"):
        return None
    if switch.lower() not in ("", "0", "false", "no"):
        from .errors import SettingError

        raise SettingError(f"expected 1 (no cache) or 0, got '{switch[:40]}'", loc="ADVISOR_NO_CACHE")
    base = os.environ.get("ADVISOR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "advisor"
    )
    return Path(base)


def key(root: Path, catalog_dir: Path) -> str:
    """A digest of every file a rule base is made of, and of advisor's version and code."""
    from . import __version__

    h = hashlib.sha256(f"{FORMAT}|{__version__}|{root.resolve()}|{catalog_dir.resolve()}".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):  # the models a cached rule base is checked by
        st = module.stat()
        h.update(f"{module.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    for folder in (root, catalog_dir):
        for path in sorted(folder.glob("*.y*ml")):
            h.update(path.name.encode() + b"\0" + _content(path) + b"\0")
    return h.hexdigest()


def _content(path: Path) -> bytes:
    """A rule file's bytes for the key; what is not a readable regular file (a pipe, a device) counts by its
    kind, unread, and is refused by the loader with a clear message."""
    from .errors import FileReadError
    from .source import MAX_RULE_FILE_BYTES, read_bytes

    try:
        return read_bytes(path, limit=MAX_RULE_FILE_BYTES)
    except FileReadError as exc:
        return b"\1unreadable: " + exc.message.encode()


def _refuse(where: Path, why: str) -> None:
    if str(where) in MEMORY.refused:  # once a process
        return
    MEMORY.refused.add(str(where))
    warnings.warn(
        CacheWarning(
            f"{where}: not using the rule-base cache: {why}; "
            "set ADVISOR_CACHE_DIR to a private directory, or ADVISOR_NO_CACHE=1"
        ),
        stacklevel=3,
    )


def _safe_directory(where: Path, create: bool) -> bool:
    """Whether `where` is a directory only this user can write to (creating it 0700 if asked)."""
    try:
        if create and not os.path.lexists(where):
            os.makedirs(where, mode=0o700, exist_ok=True)
        st = os.stat(where)
    except FileNotFoundError:
        return False
    except OSError as exc:
        _refuse(where, exc.strerror or str(exc))
        return False
    if not stat.S_ISDIR(st.st_mode):
        _refuse(where, "it is not a directory")
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        _refuse(where, "it belongs to another user")
        return False
    if st.st_mode & 0o022:
        _refuse(where, f"others can write to it (mode {stat.S_IMODE(st.st_mode):04o})")
        return False
    return True


def _read(path: Path) -> bytes | None:
    """The bytes of a cache file that is ours, regular, private and of bounded size; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if (
        not stat.S_ISREG(st.st_mode)
        or st.st_mode & 0o022
        or st.st_size > MAX_BYTES
        or (hasattr(os, "getuid") and st.st_uid != os.getuid())
    ):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as fh:
        try:
            return fh.read(MAX_BYTES + 1)
        except OSError:
            return None


def _build(tp: Any, value: Any) -> Any:
    """`value` (parsed JSON) rebuilt as type `tp` of the models, checked type by type as it goes.

    The models validated this data when it was read from YAML; rebuilding it from the models'
    own field types (a wrong type is a TypeError, so a miss) costs a fraction of validating
    it again, which would first build every model's validator.
    """
    return _builder(tp)(value)


def _fail(tp: Any, value: Any) -> Any:
    raise TypeError(f"expected {getattr(tp, '__name__', tp)}, got {type(value).__name__}")


@functools.cache
def _builder(tp: Any):
    """The function that rebuilds a value of type `tp` (made once per type)."""
    if tp is Any:
        return lambda v: v
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        nullable = type(None) in args
        options = [_builder(a) for a in args if a is not type(None)]

        def union(v):
            if v is None and nullable:
                return None
            for option in options:
                try:
                    return option(v)
                except TypeError:
                    continue
            return _fail(tp, v)

        return union
    if origin is typing.Literal:
        return lambda v: v if v in args else _fail(tp, v)
    if origin is list:
        if args[0] is str:
            return lambda v: list(v) if type(v) is list and all(type(x) is str for x in v) else _fail(tp, v)
        item = _builder(args[0])
        return lambda v: [item(x) for x in v] if type(v) is list else _fail(tp, v)
    if origin is dict:
        key = int if args[0] is int else _builder(args[0])
        item = _builder(args[1])
        return lambda v: {key(k): item(x) for k, x in v.items()} if type(v) is dict else _fail(tp, v)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = {name: _builder(typing.cast(Any, info.annotation)) for name, info in tp.model_fields.items()}

        def model(v):
            if type(v) is not dict or not v.keys() <= fields.keys():
                return _fail(tp, v)
            return tp.model_construct(**{name: fields[name](x) for name, x in v.items()})

        return model
    if tp is int:
        return lambda v: v if type(v) is int else _fail(tp, v)
    if tp is float:
        return lambda v: float(v) if type(v) in (int, float) else _fail(tp, v)
    if tp in (str, bool):
        return lambda v: v if type(v) is tp else _fail(tp, v)
    raise TypeError(f"no rebuilding of {tp} from a cache")


def load(root: Path, catalog_dir: Path):
    """The cached rule base of these files, rebuilt and checked, or None (a miss costs only time)."""
    where = directory()
    if where is None or not _safe_directory(where, create=False):
        return None
    raw = _read(where / f"rulebase-{key(root, catalog_dir)}.json")
    if raw is None:
        return None
    from .catalog import Catalog
    from .rules import Rule, Rulebase

    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        catalog = _build(Catalog, data["catalog"])
        rules = [_build(Rule, r) for r in data["rules"]]
        if (
            not isinstance(data["digest"], str)
            or not all(isinstance(f, str) for f in data["files"])
            or not _consistent(catalog, rules)
        ):
            return None
        return Rulebase(
            catalog=catalog, rules=rules, directory=str(root), files=list(data["files"]), digest=data["digest"]
        )
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def _consistent(catalog, rules) -> bool:
    """Whether every rule id is unique and every name a rule concludes is in the catalog: an entry
    that fails is damaged (or not ours), and a miss."""
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        return False
    known = {
        "frameworks": catalog.frameworks,
        "agencies": catalog.agencies,
        "measures": catalog.measures,
        "caveats": catalog.caveats,
        "derive": catalog.vocabulary.derived,
    }
    states = set(catalog.states) | set(catalog.state_groups)
    for rule in rules:
        for kind, table in known.items():
            if any(ref not in table for ref in getattr(rule.then, kind)):
                return False
        if any(code not in states for code in rule.then.states) or any(
            n not in catalog.recommendations for n in rule.numbers
        ):
            return False
    return True


def store(root: Path, catalog_dir: Path, rulebase) -> None:
    """Keep a rule base that loaded; never fails the run (a cache that cannot be written is skipped)."""
    where = directory()
    if where is None or not _safe_directory(where, create=True):
        return
    data = {
        "format": FORMAT,
        "digest": rulebase.digest,
        "files": rulebase.files,
        "catalog": rulebase.catalog.model_dump(mode="json"),
        "rules": [r.model_dump(mode="json") for r in rulebase.rules],
    }
    target = where / f"rulebase-{key(root, catalog_dir)}.json"
    try:
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".rulebase-", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        kept = sorted(where.glob("rulebase-*.json"), key=lambda p: p.lstat().st_mtime, reverse=True)
        for old in kept[ENTRIES:]:
            old.unlink(missing_ok=True)
        for stale in where.glob("rulebase-*.pickle"):  # what advisor 0.x left: never read, so removed
            stale.unlink(missing_ok=True)
    except OSError:
        pass
