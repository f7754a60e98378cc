"""Questions an analyst asks of one assessment: why X, why not X, and what single change would alter it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .analysis import Analyzer
from .catalog import fold, kind_named
from .compiler import Compiled, compile_rulebase
from .conditions import CONCLUSION_KINDS, Concluded, Distinction
from .diff import diff_assessments
from .errors import InputError, nearest
from .models import Descriptor
from .rules import Rule, Rulebase, concludes


@dataclass
class Target:
    """What a question is about: one framework, agency, state, recommendation, derived fact, caveat or measure."""

    kind: str
    ref: str

    def label(self) -> str:
        return f"{self.kind} {self.ref}"


def resolve(rulebase: Rulebase, text: str, option: str = "--why", kind: str | None = None) -> Target:
    """Find what `text` names in the catalog: an id, or a name or short name as people write them
    (KEDO, Maritime Safety Agency, Japan). `kind` limits the search to one kind; an unknown name is
    refused naming `option` and the nearest valid ones of that kind."""
    cat = rulebase.catalog
    raw = str(text).strip()
    if kind in (None, "recommendation") and raw.isdigit():
        if int(raw) in cat.recommendations:
            return Target("recommendation", raw)
        if kind == "recommendation":
            raise InputError(
                f"there is no recommendation {raw} (the document has 1 to {max(cat.recommendations)})", loc=option
            )
    tables = [
        (k, table)
        for k, table in (
            ("framework", cat.frameworks),
            ("agency", cat.agencies),
            ("state", cat.states),
            ("derived", cat.vocabulary.derived),
            ("caveat", cat.caveats),
            ("measure", cat.measures),
        )
        if kind is None or k == kind
    ]
    for k, table in tables:
        if raw in table or (k == "state" and raw.upper() in table):
            return Target(k, raw.upper() if k == "state" else raw)
    if kind in (None, "state"):
        code = cat.resolve("states", raw)
        if code:
            return Target("state", code)
    folded = fold(raw)
    for k, table in tables:  # a name or short name, as people write it
        for key, entry in table.items():
            names = [key, getattr(entry, "name", None), getattr(entry, "short", None)]
            if any(n and fold(n) == folded for n in names):
                return Target(k, key)
    if kind == "recommendation":
        raise InputError(f"'{raw}' is not a recommendation number (1 to {max(cat.recommendations)})", loc=option)
    if kind is not None:  # named, but something else: say what it is
        try:
            other = resolve(rulebase, raw, option)
        except InputError:
            other = None
        if other is not None:
            article = "an" if kind[0] in "aeiou" else "a"
            raise InputError(f"'{raw}' is a {other.kind}, not {article} {kind}", loc=option)
    pool = [key for _, table in tables for key in table]
    what = f"{kind} " if kind else ""
    raise InputError(f"unknown {what}name '{raw}' (did you mean {nearest(raw, pool)}?)", loc=option)


def concludes_target(rule: Rule, target: Target, threat: Descriptor, catalog) -> bool:
    """Whether the rule, when it fires on this threat, concludes the target."""
    return concludes(rule, kind_named(target.kind), target.ref, catalog, threat.states)


# --- why -----------------------------------------------------------------------------------


@dataclass
class Node:
    rule: str
    citations: list[str]
    because: str
    step: int
    basis: str = "document"
    quote: str | None = None
    note: str | None = None
    descriptor: dict[str, Any] = field(default_factory=dict)
    needs: list[tuple[str, list[Node]]] = field(default_factory=list)  # (what, the rules that gave it)
    repeated: bool = False


def why(threat: Descriptor, rulebase: Rulebase) -> tuple[Any, Any]:
    """Return a function answering `why` for targets, and the run it explains."""
    from .assessment import note_of
    from .chaining import fire

    result = fire(threat, rulebase)
    by_rule = {f.rule.id: f for f in result.firings}

    def chain(rule_id: str, seen: set[str]) -> Node:
        f = by_rule[rule_id]
        node = Node(rule_id, f.rule.cites, f.rule.because, f.step, f.basis, f.rule.quote, note_of(f))
        if rule_id in seen:
            node.repeated = True
            return node
        seen = seen | {rule_id}
        for key, value in f.matched.items():
            if key in CONCLUSION_KINDS:
                for ref, producers in value.items():
                    label = {"derived": "derived fact", "frameworks": "framework", "agencies": "agency"}[key]
                    node.needs.append((f"{label} {ref}", [chain(p, seen) for p in producers]))
            else:
                node.descriptor[key] = value
        return node

    def answer(target: Target) -> list[Node]:
        return [
            chain(f.rule.id, set())
            for f in result.firings
            if concludes_target(f.rule, target, threat, rulebase.catalog)
        ]

    return answer, result


# --- why not ---------------------------------------------------------------------------------


@dataclass
class Check:
    condition: str
    holds: bool
    now: str = ""
    producers: list[Miss] = field(default_factory=list)  # for an earlier conclusion: how it could come


@dataclass
class Miss:
    rule: Rule
    checks: list[Check]

    @property
    def failing(self) -> list[Check]:
        return [c for c in self.checks if not c.holds]


def why_not(threat: Descriptor, rulebase: Rulebase, target: Target) -> tuple[bool, list[Miss]]:
    """Whether the target is present, and every rule that could conclude it with its failing conditions."""
    from .chaining import fire

    result = fire(threat, rulebase)
    view, cat = result.view, rulebase.catalog
    present = any(concludes_target(f.rule, target, threat, cat) for f in result.firings)
    producers = Analyzer(rulebase).producers  # (kind, ref) -> the rules that conclude it

    compiled = compile_rulebase(rulebase).compiled

    def distinction_check(t: Distinction, depth: int, positive: bool = True) -> Check:
        check = Check(t.words(positive), t.holds(view) == positive, t.now(view, threat))
        if not check.holds and positive and depth < 3:
            check.producers = sorted((miss(p.rule, depth + 1) for p in t.producers), key=lambda m: len(m.failing))
        return check

    def miss(rule: Rule, depth: int) -> Miss:
        c: Compiled = compiled[rule.id]
        checks = [
            distinction_check(t, depth)
            if isinstance(t, Distinction)
            else Check(t.words(), t.holds(view), t.now(view, threat))
            for t in c.tests
        ]
        if c.branches:
            held = [all(t.holds(view) for t in b) for b in c.branches]
            text = " OR ".join("(" + "; ".join(t.words() for t in b) + ")" for b in c.branches)
            checks.append(Check(f"one of: {text}", any(held)))
        for block in c.unless:
            holds = not all(t.holds(view) for t in block)
            checks.append(Check("not (" + "; ".join(t.words() for t in block) + ")", holds))
        for j in c.joins:
            check = Check(j.words(), j.holds(view), j.now(view, threat))
            if isinstance(j, Concluded) and not check.holds and depth < 3:
                subs = [miss(p, depth + 1) for p in producers.get((j.kind, j.ref), [])]
                check.producers = sorted(subs, key=lambda m: len(m.failing))
            checks.append(check)
        return Miss(rule, checks)

    misses = [
        miss(rule, 0)
        for rule in rulebase.rules
        if rule.id not in result.fired and concludes_target(rule, target, threat, cat)
    ]
    misses.sort(key=lambda m: (len(m.failing), rulebase.rules.index(m.rule)))
    return present, misses


# --- what if --------------------------------------------------------------------------------


def variants(threat: Descriptor, rulebase: Rulebase) -> list[tuple[str, dict[str, Any]]]:
    """Every one-value change of the descriptor that the rules could notice."""
    cat = rulebase.catalog
    v = cat.vocabulary
    base = threat.to_output()
    out: list[tuple[str, dict[str, Any]]] = []
    for value in v.types:
        if value != threat.type:
            out.append((f"type = {value}", {**base, "type": value}))
    for region in [*v.regions, None]:
        if region != threat.region:
            out.append((f"region = {region}", {**base, "region": region}))
    for value in v.actors:
        if value != threat.actor:
            out.append((f"actor = {value}", {**base, "actor": value}))
    for value in v.severities:
        if value != threat.severity:
            out.append((f"severity = {value}", {**base, "severity": value}))
    mentioned = sorted(
        {
            c
            for r in rulebase.rules
            for c in cat.expand_states(
                [
                    *(r.when.states.values if r.when.states else []),
                    *[s for b in r.when.any or [] if b.states for s in b.states.values],
                ]
            )
        }
    )
    for code in threat.states:
        out.append((f"states - {code}", {**base, "states": [s for s in threat.states if s != code]}))
    for code in mentioned:
        if code not in threat.states:
            out.append((f"states + {code}", {**base, "states": [*threat.states, code]}))
    for target in v.targets:
        if target in threat.targets:
            out.append((f"targets - {target}", {**base, "targets": [t for t in threat.targets if t != target]}))
        else:
            out.append((f"targets + {target}", {**base, "targets": [*threat.targets, target]}))
    for attr in v.attributes:
        flag = threat.attributes.get(attr, False)
        out.append(
            (
                f"attributes.{attr} = {str(not flag).lower()}",
                {**base, "attributes": {**threat.attributes, attr: not flag}},
            )
        )
    return out


def what_if(threat: Descriptor, rulebase: Rulebase) -> list[tuple[str, dict[str, Any]]]:
    """For each one-value change that alters the answer: the change and what it adds or removes."""
    from .errors import DescriptorError
    from .models import parse_descriptor
    from .stages import assess_threat

    # the starting situation: the injects' stages would multiply the work, not change the changes
    threat = threat.model_copy(update={"injects": []})
    base = assess_threat(threat, rulebase).model_dump(mode="json")
    out = []
    for label, raw in variants(threat, rulebase):
        try:
            changed = parse_descriptor(raw, rulebase.catalog, path="what-if", default_id="threat")
        except DescriptorError:  # a change the descriptor cannot hold (a 61st state): not a what-if
            continue
        changes = diff_assessments(base, assess_threat(changed, rulebase).model_dump(mode="json"))
        for kind in ("states", "measures", "caveats"):
            changes.pop(kind, None)  # keep the answer to frameworks, agencies and recommendations
        if changes:
            out.append((label, changes))
    return out
