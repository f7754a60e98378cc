"""`advisor fmt`: rule files in one canonical layout, their comments and quoting kept.

The layout is the shipped rule base's: two-space indentation, rules as `  - id: ...` under
`rules:`, each rule's keys in the order id, cites, basis, note, because, quote, when, then
(others after them, as they were), no line folded. ruamel.yaml reads and writes the file
round trip, so comments, quotes and flow lists stay; the data is checked to be the same
before and after, so a formatting can never change what a rule says.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from .errors import RuleFileError
from .source import MAX_RULE_FILE_BYTES, parse_yaml, read_text

RULE_KEYS = ("id", "cites", "basis", "note", "because", "quote", "when", "then")


@dataclass
class Formatted:
    path: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def rule_files(paths: list[str]) -> list[Path]:
    """The rule files named: files as given, directories' `*.yaml` with a top-level `rules:` list."""
    out: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            out.extend(f for f in sorted(p.glob("*.yaml")) if f.is_file() and _has_rules(f))
        else:
            out.append(p)
    return out


def _has_rules(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return False
    return any(line.startswith("rules:") for line in head.splitlines())


def format_file(path: Path) -> Formatted:
    """The file's text and its canonical form (nothing is written here)."""
    shown = str(path)
    text = read_text(path, limit=MAX_RULE_FILE_BYTES, error=RuleFileError)
    return Formatted(shown, text, format_text(text, shown))


def format_text(text: str, shown: str) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1_000_000  # never fold a line
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise RuleFileError(
            f"not valid YAML: {exc.problem or exc.context}", path=shown, line=mark.line + 1 if mark else None
        ) from None
    except YAMLError as exc:
        raise RuleFileError(f"not valid YAML: {exc}", path=shown) from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleFileError("not a rule file: no top-level 'rules:' list", path=shown)
    for rule in data["rules"]:
        if isinstance(rule, dict):
            _reorder(rule)
    out = io.StringIO()
    yaml.dump(data, out)
    after = out.getvalue()
    if parse_yaml(after, shown) != parse_yaml(text, shown):  # a guard: layout only, never meaning
        raise RuleFileError("formatting would change the data; the file is left as it is", path=shown)
    return after


def _reorder(rule) -> None:
    """Put a rule's keys in canonical order, keeping each key's comments with it."""
    keys = list(rule.keys())
    wanted = [k for k in RULE_KEYS if k in rule] + [k for k in keys if k not in RULE_KEYS]
    if keys == wanted:
        return
    items = [(k, rule[k]) for k in wanted]
    comments = {k: rule.ca.items.get(k) for k in keys}
    for k in keys:
        del rule[k]
    for i, (k, v) in enumerate(items):
        rule.insert(i, k, v)
        if comments.get(k) is not None:
            rule.ca.items[k] = comments[k]
