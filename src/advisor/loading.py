"""Loading a rule base: every rule file read and validated, the whole checked (distinctions, chains,
the engine's limits) and kept in the cache, and each directory's rule base kept for the process.

Every problem of every file is collected and raised together, with file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import cache, limits
from .catalog import Catalog, load_catalog
from .compiler import compile_rule, compile_rulebase, rule_limit_problems
from .errors import AuthoringError, RuleFileError, nearest
from .process import MEMORY
from .rules import (
    Rule,
    Rulebase,
    RuleFile,
    SetTest,
    SeverityTest,
    Tests,
    Then,
    When,
    distinction_order,
    distinctions_named,
)
from .source import line_of, read_yaml


def shared_rulebase(directory: str | None = None) -> Rulebase:
    """The rule base of a directory (None: the shipped one), loaded once and shared for the life of the
    process (`load_rulebase` loads afresh, through the cache)."""
    key = str(Path(directory).resolve()) if directory else ""
    if key not in MEMORY.rulebases:
        MEMORY.rulebases[key] = load_rulebase(directory)
    return MEMORY.rulebases[key]


def _rule_problems(exc: ValidationError, raw: dict[str, Any], path: str, rule_id: str) -> list[RuleFileError]:
    out = []
    for err in exc.errors():
        loc = tuple(
            p for p in err["loc"] if not (isinstance(p, str) and p in ("list[str]", "SeverityTest", "list[Tests]"))
        )
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            name = str(loc[-1])
            parent = _model_at(loc[:-1])
            msg = f"unknown field '{name}'"
            if parent is not None:
                msg += f" (did you mean {nearest(name, parent.model_fields)}?)"
        where = ".".join(str(p) for p in loc)
        out.append(
            RuleFileError(msg, path=path, line=line_of(raw, loc), loc=f"{rule_id}: {where}" if where else rule_id)
        )
    return out


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class that a location inside a rule points into (for 'did you mean')."""
    model: Any = Rule
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = {
            "when": When,
            "then": Then,
            "any": Tests,
            "unless": Tests,
            "states": SetTest,
            "targets": SetTest,
            "severity": SeverityTest,
        }.get(part)
    return model


def parse_rule_file(path: Path, catalog: Catalog) -> tuple[list[Rule], list[RuleFileError]]:
    """The valid rules of one file and the problems of the others."""
    shown = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        return [], [RuleFileError("a rule file is a mapping with a 'rules' list", path=shown, line=1)]
    try:
        RuleFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        return [], [
            RuleFileError(
                err["msg"], path=shown, loc=".".join(map(str, err["loc"])), line=line_of(data, err["loc"][:1])
            )
        ]
    rules, problems = [], []
    for raw in data["rules"]:
        rule_id = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
        line = getattr(raw, "line", None)
        if not isinstance(raw, dict):
            problems.append(RuleFileError("a rule is a mapping", path=shown, line=line))
            continue
        try:
            rule = Rule.model_validate({**raw, "file": shown, "line": line or 0}, context={"catalog": catalog})
        except ValidationError as exc:
            problems.extend(_rule_problems(exc, raw, shown, rule_id))
            continue
        except ValueError as exc:
            problems.append(RuleFileError(str(exc), path=shown, line=line, loc=rule_id))
            continue
        beyond = _engine_limit_problems(rule, raw, catalog)
        if beyond:
            problems.extend(beyond)
            continue
        rules.append(rule)
    return rules, problems


def _engine_limit_problems(rule: Rule, raw: dict[str, Any], catalog: Catalog) -> list[RuleFileError]:
    """Where a rule, compiled, goes past the engine's limits (a rule base that loads can run)."""
    compiled = compile_rule(rule, catalog, {})  # distinctions as flags, as in the rule base
    return [
        RuleFileError(message, path=rule.file, line=line_of(raw, ("when",)), loc=f"{rule.id}: when")
        for message in rule_limit_problems(compiled)
    ]


def default_rules_dir() -> Path:
    """The rule base that ships inside the package (`rules/` of the source tree).

    An installed advisor has it at `advisor/rulebase`; a source checkout (or an
    editable install) reads `rules/` beside `src/`.
    """
    here = Path(__file__).resolve().parent
    installed = here / "rulebase"
    return installed if installed.is_dir() else here.parents[1] / "rules"


def load_rulebase(directory: str | Path | None = None) -> Rulebase:
    """Load every `*.yaml` rule file of `directory` (default: the shipped rule base).

    The catalog comes from `directory/catalog/` when present, else the shipped one.
    All problems of all files are collected and raised together. A rule base that
    loaded once is kept in the cache (JSON, validated again when read; see `cache`)
    so that the next start does not parse the YAML again.
    """
    root = Path(directory) if directory is not None else default_rules_dir()
    if not root.is_dir():
        raise RuleFileError("not a directory of rule files", path=str(root))
    catalog_dir = root / "catalog" if (root / "catalog").is_dir() else default_rules_dir() / "catalog"
    rulebase = cache.load(root, catalog_dir)
    if rulebase is not None:
        try:
            compile_rulebase(rulebase)  # a damaged entry that still parses is a miss, never an error
        except (AuthoringError, KeyError, ValueError, TypeError, AttributeError):
            rulebase = None
    if rulebase is None:
        rulebase = _load(root, catalog_dir)
        cache.store(root, catalog_dir, rulebase)
    return rulebase


def _load(root: Path, catalog_dir: Path) -> Rulebase:
    catalog = load_catalog(catalog_dir)
    files = sorted(p for p in root.glob("*.yaml") if not p.is_dir()) + sorted(
        p for p in root.glob("*.yml") if not p.is_dir()
    )  # a pipe or device is refused when read, not skipped
    if not files:
        raise RuleFileError("no rule files (*.yaml) in this directory", path=str(root))
    rules: list[Rule] = []
    problems: list[RuleFileError] = []
    seen: dict[str, Rule] = {}
    for path in files:
        found, bad = parse_rule_file(path, catalog)
        problems.extend(bad)
        for rule in found:
            if rule.id in seen:
                first = seen[rule.id]
                problems.append(
                    RuleFileError(
                        f"duplicate rule id (first defined at {first.file}:{first.line})",
                        path=rule.file,
                        line=rule.line,
                        loc=rule.id,
                    )
                )
                continue
            seen[rule.id] = rule
            rules.append(rule)
    problems.extend(_distinction_problems(rules, catalog))
    problems.extend(_chain_problems(rules, catalog))
    if problems:
        raise RuleFileError("invalid rule base", path=str(root), problems=problems)
    rulebase = Rulebase(catalog=catalog, rules=rules, directory=str(root), files=[str(p) for p in files])
    compile_rulebase(rulebase)  # a rule base that loads is one the engine can run
    return rulebase


def _chain_problems(rules: list[Rule], catalog: Catalog) -> list[RuleFileError]:
    """Refuse a rule base whose forward chaining could need more steps than the engine runs.

    A rule can fire one step after the last of the facts it joins on is first concluded, and a
    fact is first concluded by its earliest producer: the steps are the longest of these shortest
    chains (a ring adds none, as each rule fires once).
    """
    distinctions = set(catalog.vocabulary.distinctions)
    makers: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        for name in rule.then.derive:
            if name not in distinctions:
                makers.setdefault(("derived", name), []).append(rule.id)
        for kind, refs in (("frameworks", rule.then.frameworks), ("agencies", rule.then.agencies)):
            for ref in refs:
                makers.setdefault((kind, ref), []).append(rule.id)
    needs = {
        r.id: [
            k
            for k in [("derived", d) for d, on in distinctions_named(r) if on and d not in distinctions]
            + [("frameworks", f) for f in r.when.frameworks or []]
            + [("agencies", a) for a in r.when.agencies or []]
            if k in makers
        ]
        for r in rules
    }
    step: dict[str, int] = {}
    via: dict[str, str] = {}
    for _ in range(len(rules) + 1):  # relax until settled (Bellman-Ford over the earliest firings)
        changed = False
        first = {
            k: min((step[m], m) for m in ms if m in step) for k, ms in makers.items() if any(m in step for m in ms)
        }
        for rule in rules:
            if any(k not in first for k in needs[rule.id]):
                continue
            latest = max((first[k] for k in needs[rule.id]), default=(0, ""))
            if latest[0] + 1 < step.get(rule.id, 1 << 30):
                step[rule.id], via[rule.id] = latest[0] + 1, latest[1]
                changed = True
        if not changed:
            break
    for rule in rules:
        n = step.get(rule.id, 0)
        if n > limits.MAX_CHAIN:
            path, at = [rule.id], rule.id
            while via.get(at):
                at = via[at]
                path.append(at)
            return [
                RuleFileError(
                    f"it ends a chain of {n} rules, each needing what the one before concludes "
                    f"({path[-1]} -> ... -> {path[0]}), over the limit of {limits.MAX_CHAIN}: forward "
                    "chaining would not settle; derive fewer steps",
                    path=rule.file,
                    line=rule.line,
                    loc=rule.id,
                )
            ]
    return []


def _distinction_problems(rules: list[Rule], catalog: Catalog) -> list[RuleFileError]:
    try:
        distinction_order(rules, catalog)
    except ValueError as exc:
        first = next(r for r in rules if str(exc).split(" -> ")[0] in r.then.derive)
        return [
            RuleFileError(
                f"distinctions depend on each other in a ring: {exc}", path=first.file, line=first.line, loc=first.id
            )
        ]
    return []
