"""Compiling rules into durable-rules rulesets (its JSON form), and the meaning of each test.

Every condition of the rule language becomes a small `Test` that knows three things:
its durable-rules expression, the expression of its negation (for `unless`), and how to
check it in plain Python against a `View` (used to show what made a rule fire, and as an
oracle in tests). Keeping all three side by side is what keeps them in agreement.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog
from .models import Descriptor
from .rules import Rule, Rulebase, SeverityTest, Tests, When

RULES_PER_RULESET = 200  # durable-rules segfaults when 256 rules share one test
CATCH_ALL = "_observed"


# --- facts ------------------------------------------------------------------------

def threat_fact(threat: Descriptor, catalog: Catalog) -> dict[str, Any]:
    """The descriptor as one flat engine fact: scalars plus a flag per region, state, target, attribute.

    Flags (`s_PRK: true`) rather than arrays keep every list test a plain presence test,
    which durable-rules evaluates reliably (no `$iall` on empty lists, no missing-field traps).
    """
    fact: dict[str, Any] = {
        "kind": "threat",
        "type": threat.type,
        "category": catalog.vocabulary.types[threat.type].category,
        "actor": threat.actor,
        "severity": threat.severity,
        "sev": catalog.vocabulary.severities[threat.severity].rank,
    }
    if threat.region:
        for region in catalog.regions_around(threat.region):
            fact[f"r_{region}"] = True
    for code in threat.states:
        fact[f"s_{code}"] = True
    for target in threat.targets:
        fact[f"t_{target}"] = True
    for name, value in threat.attributes.items():
        if value and name in catalog.vocabulary.attributes:
            fact[f"a_{name}"] = True
    return fact


def conclusion_fact(kind: str, ref: str) -> dict[str, Any]:
    return {"kind": kind, "ref": ref}


def tally_fact(of: str, n: int) -> dict[str, Any]:
    return {"kind": "tally", "of": of, "n": n}


# --- the view for plain-Python checks ----------------------------------------------

@dataclass
class View:
    """What a rule can see: the threat fact and what earlier rules concluded."""

    fact: dict[str, Any]
    derived: dict[str, list[str]] = field(default_factory=dict)     # name -> rules that derived it
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    agencies: dict[str, list[str]] = field(default_factory=dict)
    states: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


# --- tests ------------------------------------------------------------------------

def _all(exprs: list[dict]) -> dict:
    # an empty $and matches every fact, the engine's own state included, and loops forever
    if not exprs:
        raise ValueError("empty conjunction")
    return exprs[0] if len(exprs) == 1 else {"$and": exprs}


def _either(exprs: list[dict]) -> dict:
    if not exprs:
        raise ValueError("empty disjunction")
    return exprs[0] if len(exprs) == 1 else {"$or": exprs}


def _flag(name: str) -> dict:
    return {name: True}


def _no_flag(name: str) -> dict:
    return {"$nex": {name: 1}}


@dataclass(frozen=True)
class ScalarIn:
    """`field` is one of `values` (type, category, actor)."""

    field: str
    values: tuple[str, ...]

    def durable(self) -> dict:
        return _either([{self.field: v} for v in self.values])

    def negated(self) -> dict:
        return _all([{"$neq": {self.field: v}} for v in self.values])

    def holds(self, view: View) -> bool:
        return view.fact[self.field] in self.values

    def evidence(self, view: View) -> Any:
        return view.fact[self.field]


@dataclass(frozen=True)
class FlagsAny:
    """At least one flag `prefix+value` is set (region, or `any` of states/targets)."""

    field: str
    prefix: str
    values: tuple[str, ...]

    def durable(self) -> dict:
        return _either([_flag(self.prefix + v) for v in self.values])

    def negated(self) -> dict:
        return _all([_no_flag(self.prefix + v) for v in self.values])

    def holds(self, view: View) -> bool:
        return any(view.fact.get(self.prefix + v) for v in self.values)

    def evidence(self, view: View) -> Any:
        hits = [v for v in self.values if view.fact.get(self.prefix + v)]
        return hits[0] if self.field == "region" and len(hits) == 1 else hits


@dataclass(frozen=True)
class FlagsAll:
    """Every flag is set (`all` of states/targets; attributes that must be true)."""

    field: str
    prefix: str
    values: tuple[str, ...]

    def durable(self) -> dict:
        return _all([_flag(self.prefix + v) for v in self.values])

    def negated(self) -> dict:
        return _either([_no_flag(self.prefix + v) for v in self.values])

    def holds(self, view: View) -> bool:
        return all(view.fact.get(self.prefix + v) for v in self.values)

    def evidence(self, view: View) -> Any:
        return list(self.values) if self.field != "attributes" else {v: True for v in self.values}


@dataclass(frozen=True)
class FlagsNone:
    """No flag is set (`none` of states/targets; attributes that must be false or absent)."""

    field: str
    prefix: str
    values: tuple[str, ...]

    def durable(self) -> dict:
        return _all([_no_flag(self.prefix + v) for v in self.values])

    def negated(self) -> dict:
        return _either([_flag(self.prefix + v) for v in self.values])

    def holds(self, view: View) -> bool:
        return not any(view.fact.get(self.prefix + v) for v in self.values)

    def evidence(self, view: View) -> Any:
        return {"none of": list(self.values)} if self.field != "attributes" else {v: False for v in self.values}


@dataclass(frozen=True)
class RankBetween:
    """Severity rank within [low, high]."""

    low: int
    high: int
    label: str
    field: str = "severity"

    def durable(self) -> dict:
        exprs = []
        if self.low > 1:
            exprs.append({"$gte": {"sev": self.low}})
        if self.high < 99:
            exprs.append({"$lte": {"sev": self.high}})
        return _all(exprs)

    def negated(self) -> dict:
        exprs = []
        if self.low > 1:
            exprs.append({"$lt": {"sev": self.low}})
        if self.high < 99:
            exprs.append({"$gt": {"sev": self.high}})
        return _either(exprs)

    def holds(self, view: View) -> bool:
        return self.low <= view.fact["sev"] <= self.high

    def evidence(self, view: View) -> Any:
        return view.fact["severity"]


def descriptor_tests(tests: Tests, catalog: Catalog) -> list:
    """The atomic tests of a `Tests` block, in a fixed order."""
    out: list = []
    for name in ("type", "category", "actor"):
        values = getattr(tests, name)
        if values:
            out.append(ScalarIn(name, tuple(values)))
    if tests.region:
        out.append(FlagsAny("region", "r_", tuple(tests.region)))
    if tests.severity is not None:
        ranks = catalog.vocabulary.severities
        if isinstance(tests.severity, SeverityTest):
            low = ranks[tests.severity.at_least].rank if tests.severity.at_least else 1
            high = ranks[tests.severity.at_most].rank if tests.severity.at_most else 99
            allowed = tuple(k for k, e in ranks.items() if low <= e.rank <= high)
            if low <= min(e.rank for e in ranks.values()) and high >= max(e.rank for e in ranks.values()):
                out.append(ScalarIn("severity", allowed))  # no bound at all: a plain list, never an empty test
            else:
                label = " and ".join(f"{k.replace('_', ' ')} {v}"
                                     for k, v in tests.severity.model_dump(exclude_none=True).items())
                out.append(RankBetween(low, high, label))
        else:
            out.append(ScalarIn("severity", tuple(tests.severity)))
    for name, prefix in (("states", "s_"), ("targets", "t_")):
        test = getattr(tests, name)
        if test is None:
            continue
        values = tuple(catalog.expand_states(test.values)) if name == "states" else tuple(test.values)
        kind = {"any": FlagsAny, "all": FlagsAll, "none": FlagsNone}[test.mode]
        out.append(kind(name, prefix, values))
    if tests.attributes:
        yes = tuple(k for k, v in tests.attributes.items() if v)
        no = tuple(k for k, v in tests.attributes.items() if not v)
        if yes:
            out.append(FlagsAll("attributes", "a_", yes))
        if no:
            out.append(FlagsNone("attributes", "a_", no))
    return out


@dataclass(frozen=True)
class Concluded:
    """An earlier rule has concluded `ref` (a derived fact, framework or agency)."""

    kind: str
    ref: str

    def durable(self) -> dict:
        return {"$and": [{"kind": self.kind}, {"ref": self.ref}]}

    def holds(self, view: View) -> bool:
        return self.ref in getattr(view, _PLURAL[self.kind])

    def evidence(self, view: View) -> Any:
        return getattr(view, _PLURAL[self.kind]).get(self.ref, [])


@dataclass(frozen=True)
class AtLeast:
    """At least `n` distinct agencies, frameworks, states (or frameworks of a layer) concluded."""

    of: str
    n: int

    def durable(self) -> dict:
        return {"$and": [{"kind": "tally"}, {"of": self.of}, {"$gte": {"n": self.n}}]}

    def holds(self, view: View) -> bool:
        return view.counts.get(self.of, 0) >= self.n

    def evidence(self, view: View) -> Any:
        return view.counts.get(self.of, 0)


_PLURAL = {"derived": "derived", "framework": "frameworks", "agency": "agencies"}


@dataclass(frozen=True)
class Compiled:
    """A rule's tests: on the threat fact (all, any-branches, unless) and joins on conclusions."""

    rule: Rule
    tests: tuple
    branches: tuple[tuple, ...]
    unless: tuple[tuple, ...]
    joins: tuple

    def threat_expression(self) -> dict | None:
        exprs = [t.durable() for t in self.tests]
        if self.branches:
            exprs.append(_either([_all([t.durable() for t in b]) for b in self.branches]))
        for block in self.unless:
            exprs.append(_either([t.negated() for t in block]))
        if not exprs:
            return None
        return {"$and": [{"kind": "threat"}, *exprs]}

    def durable(self, priority: int) -> dict:
        patterns = []
        threat = self.threat_expression()
        if threat is not None:
            patterns.append({"m": threat})
        for i, join in enumerate(self.joins):
            patterns.append({f"c{i}": join.durable()})
        return {"all": patterns, "pri": priority, "run": self.rule.id}

    def holds(self, view: View) -> bool:
        """The same conditions checked in plain Python."""
        return (all(t.holds(view) for t in self.tests)
                and (not self.branches or any(all(t.holds(view) for t in b) for b in self.branches))
                and not any(all(t.holds(view) for t in block) for block in self.unless)
                and all(j.holds(view) for j in self.joins))

    def evidence(self, view: View) -> dict[str, Any]:
        """What in the descriptor and in earlier conclusions satisfied the rule."""
        out: dict[str, Any] = {t.field: t.evidence(view) for t in self.tests}
        if self.branches:
            held = [b for b in self.branches if all(t.holds(view) for t in b)]
            out["any"] = [{t.field: t.evidence(view) for t in b} for b in held]
        if self.unless:
            out["unless"] = "does not hold"
        for j in self.joins:
            if isinstance(j, Concluded):
                out.setdefault(_PLURAL[j.kind], {})[j.ref] = j.evidence(view)
            else:
                out.setdefault("count", {})[j.of] = j.evidence(view)
        return out


def compile_rule(rule: Rule, catalog: Catalog) -> Compiled:
    when: When = rule.when
    joins: list = []
    for kind, refs in (("derived", when.derived), ("framework", when.frameworks), ("agency", when.agencies)):
        joins.extend(Concluded(kind, r) for r in refs or [])
    joins.extend(AtLeast(of, n) for of, n in (when.count or {}).items())
    return Compiled(
        rule=rule,
        tests=tuple(descriptor_tests(when.descriptor_tests(), catalog)),
        branches=tuple(tuple(descriptor_tests(b, catalog)) for b in when.any or []),
        unless=tuple(tuple(descriptor_tests(block, catalog)) for block in when.unless or []),
        joins=tuple(joins),
    )


def compile_rulebase(rulebase: Rulebase) -> tuple[dict[str, Compiled], dict[str, dict]]:
    """Compile every rule; returns the compiled rules and the durable-rules rulesets.

    Rules are split into rulesets of at most RULES_PER_RULESET; the engine asserts every
    fact into each of them, so chaining across rulesets works as within one. Each ruleset
    has a catch-all rule so that every fact is accepted (see DURABLE_RULES.md).
    """
    compiled = {r.id: compile_rule(r, rulebase.catalog) for r in rulebase.rules}
    rulesets: dict[str, dict] = {}
    ids = list(compiled)
    for start in range(0, len(ids), RULES_PER_RULESET):
        chunk = ids[start:start + RULES_PER_RULESET]
        name = f"advisor_{rulebase.digest[:16]}_{start // RULES_PER_RULESET}"
        ruleset = {rid: compiled[rid].durable(priority=start + i + 1) for i, rid in enumerate(chunk)}
        ruleset[CATCH_ALL] = {"all": [{"m": {"$ex": {"kind": 1}}}], "pri": 100_000, "run": CATCH_ALL}
        rulesets[name] = ruleset
    return compiled, rulesets
