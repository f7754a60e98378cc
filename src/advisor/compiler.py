"""Compiling rules into durable-rules rulesets (its JSON form), and the meaning of each test.

Every condition of the rule language becomes a small `Test` that knows three things:
its durable-rules expression, the expression of its negation (for `unless`), and how to
check it in plain Python against a `View` (used to show what made a rule fire, and as an
oracle in tests). Keeping all three side by side is what keeps them in agreement.

The rules run in two strata. First the rules that decide the document's distinctions
(inter-state or non-traditional, in East Asia or not, ...) fire on the descriptor alone, in
levels: a distinction that depends on another is decided a level later. Each distinction
that holds becomes a flag `d_<name>` on the threat fact. Then every other rule fires on that
fact and chains on the conclusions of earlier rules. A distinction a rule names is thus a
plain flag test, which can also be negated (`unless`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog
from .errors import RuleFileError
from .models import Descriptor
from .rules import Rule, Rulebase, SeverityTest, Tests, When, distinction_order, distinctions_named

RULES_PER_RULESET = 200  # durable-rules segfaults when 256 rules share one test
MAX_GROUPS = 15  # $and/$or nodes in one pattern: durable-rules refuses a 16th (error 113)
CATCH_ALL = "_observed"


# --- facts ------------------------------------------------------------------------

def threat_fact(threat: Descriptor, catalog: Catalog) -> dict[str, Any]:
    """The descriptor as one flat engine fact: scalars plus a flag per region, state, target, attribute.

    Flags (`s_PRK: true`) rather than arrays keep every list test a plain presence test,
    which durable-rules evaluates reliably (no `$iall` on empty lists, no missing-field traps).
    Each group of states has two flags: `g_<group>` (a member is named) and `o_<group>`
    (every state named is a member); `ns` is how many states are named.
    """
    fact: dict[str, Any] = {
        "kind": "threat",
        "type": threat.type,
        "category": catalog.vocabulary.types[threat.type].category,
        "actor": threat.actor,
        "severity": threat.severity,
        "sev": catalog.vocabulary.severities[threat.severity].rank,
        "ns": len(threat.states),
    }
    if threat.region:
        for region in catalog.regions_around(threat.region):
            fact[f"r_{region}"] = True
    named = set(threat.states)
    for code in threat.states:
        fact[f"s_{code}"] = True
    for group, members in catalog.state_groups.items():
        if named & set(members):
            fact[f"g_{group}"] = True
        if named <= set(members):
            fact[f"o_{group}"] = True
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
    sectors: set[str] = field(default_factory=set)
    doc_counts: dict[str, int] = field(default_factory=dict)  # the same tallies, of what the document supports
    doc_sectors: set[str] = field(default_factory=set)
    doc_states: set[str] = field(default_factory=set)


# --- tests ------------------------------------------------------------------------

NEVER = {"$nex": {"kind": 1}}   # every fact has a kind: this holds for none
ALWAYS = {"$ex": {"kind": 1}}


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


def groups_in(expr: Any) -> int:
    """How many $and/$or nodes an expression has (durable-rules allows MAX_GROUPS per pattern)."""
    if isinstance(expr, dict):
        return sum((k in ("$and", "$or")) + groups_in(v) for k, v in expr.items())
    if isinstance(expr, list):
        return sum(groups_in(x) for x in expr)
    return 0


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
    """At least one flag `prefix+value` is set (region, or `any` of states/targets).

    A value in `groups` is a group of states, present when one of its members is (`g_`).
    """

    field: str
    prefix: str
    values: tuple[str, ...]
    groups: frozenset[str] = frozenset()

    def flag(self, value: str) -> str:
        return f"g_{value}" if value in self.groups else self.prefix + value

    def durable(self) -> dict:
        return _either([_flag(self.flag(v)) for v in self.values])

    def negated(self) -> dict:
        return _all([_no_flag(self.flag(v)) for v in self.values])

    def holds(self, view: View) -> bool:
        return any(view.fact.get(self.flag(v)) for v in self.values)

    def evidence(self, view: View) -> Any:
        hits = [v for v in self.values if view.fact.get(self.flag(v))]
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
    groups: frozenset[str] = frozenset()

    def flag(self, value: str) -> str:
        return f"g_{value}" if value in self.groups else self.prefix + value

    def durable(self) -> dict:
        return _all([_no_flag(self.flag(v)) for v in self.values])

    def negated(self) -> dict:
        return _either([_flag(self.flag(v)) for v in self.values])

    def holds(self, view: View) -> bool:
        return not any(view.fact.get(self.flag(v)) for v in self.values)

    def evidence(self, view: View) -> Any:
        return {"none of": list(self.values)} if self.field != "attributes" else {v: False for v in self.values}


@dataclass(frozen=True)
class StatesOnly:
    """Every state named belongs to `group` (so also when none is named)."""

    group: str
    field: str = "states"
    key: str = "states only"

    def durable(self) -> dict:
        return _flag(f"o_{self.group}")

    def negated(self) -> dict:
        return _no_flag(f"o_{self.group}")

    def holds(self, view: View) -> bool:
        return bool(view.fact.get(f"o_{self.group}"))

    def evidence(self, view: View) -> Any:
        return self.group


@dataclass(frozen=True)
class StateCount:
    """Between `low` and `high` states are named (`high` None: no upper bound)."""

    low: int
    high: int | None
    field: str = "states"
    key: str = "states named"

    def _parts(self, negated: bool) -> list[dict]:
        parts = []
        if self.low > 0:
            parts.append({"$lt" if negated else "$gte": {"ns": self.low}})
        if self.high is not None:
            parts.append({"$gt" if negated else "$lte": {"ns": self.high}})
        return parts

    def durable(self) -> dict:
        return _all(self._parts(False)) if self._parts(False) else ALWAYS

    def negated(self) -> dict:
        return _either(self._parts(True)) if self._parts(True) else NEVER

    def holds(self, view: View) -> bool:
        n = view.fact["ns"]
        return n >= self.low and (self.high is None or n <= self.high)

    def evidence(self, view: View) -> Any:
        return view.fact["ns"]


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


@dataclass(frozen=True)
class Distinction:
    """One of the document's distinctions holds: the flag `d_<name>`, set when an earlier level of
    the first stratum derived it. `producers` are the compiled rules that derive it (for analysis)."""

    name: str
    producers: tuple["Compiled", ...] = field(compare=False)
    field: str = "derived"

    def durable(self) -> dict:
        return _flag(f"d_{self.name}")

    def negated(self) -> dict:
        return _no_flag(f"d_{self.name}")

    def holds(self, view: View) -> bool:
        return self.name in view.derived

    def evidence(self, view: View) -> Any:
        return [p.rule.id for p in self.producers if p.holds(view)]


def descriptor_tests(tests: Tests, catalog: Catalog, distinctions: dict[str, tuple] | None = None) -> list:
    """The atomic tests of a `Tests` block, in a fixed order."""
    out: list = []
    groups = frozenset(catalog.state_groups)
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
        if test.any:
            out.append(FlagsAny(name, prefix, tuple(test.any), groups if name == "states" else frozenset()))
        if test.all:
            values = tuple(catalog.expand_states(test.all)) if name == "states" else tuple(test.all)
            out.append(FlagsAll(name, prefix, values))
        if test.none:
            out.append(FlagsNone(name, prefix, tuple(test.none), groups if name == "states" else frozenset()))
        if test.only is not None:
            out.append(StatesOnly(test.only))
        if test.at_least is not None or test.at_most is not None:
            out.append(StateCount(test.at_least or 0, test.at_most))
    if tests.attributes:
        yes = tuple(k for k, v in tests.attributes.items() if v)
        no = tuple(k for k, v in tests.attributes.items() if not v)
        if yes:
            out.append(FlagsAll("attributes", "a_", yes))
        if no:
            out.append(FlagsNone("attributes", "a_", no))
    for name in tests.derived or []:
        if distinctions is not None and name in catalog.vocabulary.distinctions:
            out.append(Distinction(name, distinctions.get(name, ())))
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
    """At least `n` of something concluded: agencies, frameworks, states, sectors, or those of a layer or sector."""

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

    def held_back(self, view: View) -> list[tuple]:
        """The `unless` blocks that alone keep the rule from firing (all else holds)."""
        if not (all(t.holds(view) for t in self.tests)
                and (not self.branches or any(all(t.holds(view) for t in b) for b in self.branches))
                and all(j.holds(view) for j in self.joins)):
            return []
        return [block for block in self.unless if all(t.holds(view) for t in block)]

    def evidence(self, view: View) -> dict[str, Any]:
        """What in the descriptor and in earlier conclusions satisfied the rule."""
        out: dict[str, Any] = {}
        for t in self.tests:
            if isinstance(t, Distinction):
                out.setdefault("derived", {})[t.name] = t.evidence(view)
            else:
                out[getattr(t, "key", t.field)] = t.evidence(view)
        if self.branches:
            held = [b for b in self.branches if all(t.holds(view) for t in b)]
            out["any"] = [{f"derived {t.name}" if isinstance(t, Distinction) else getattr(t, "key", t.field):
                           t.evidence(view) for t in b} for b in held]
        if self.unless:
            out["unless"] = "does not hold"
        for j in self.joins:
            if isinstance(j, Concluded):
                out.setdefault(_PLURAL[j.kind], {})[j.ref] = j.evidence(view)
            else:
                out.setdefault("count", {})[j.of] = j.evidence(view)
        return out

    def premises(self, view: View) -> list[tuple[str, str]]:
        """The earlier conclusions this firing rests on: distinctions, joins and counts that held
        (a count as ("count", "of>=n"))."""
        out = [("derived", t.name) for t in self.tests if isinstance(t, Distinction)]
        for branch in self.branches:
            if all(t.holds(view) for t in branch):
                out.extend(("derived", t.name) for t in branch if isinstance(t, Distinction))
                break
        for j in self.joins:
            out.append((j.kind, j.ref) if isinstance(j, Concluded) else ("count", f"{j.of}>={j.n}"))
        return out


def compile_rule(rule: Rule, catalog: Catalog, distinctions: dict[str, tuple] | None = None) -> Compiled:
    """One rule's tests. `distinctions` maps each distinction to its compiled producers."""
    when: When = rule.when
    joins: list = []
    for ref in when.derived or []:
        if distinctions is None or ref not in catalog.vocabulary.distinctions:
            joins.append(Concluded("derived", ref))
    for kind, refs in (("framework", when.frameworks), ("agency", when.agencies)):
        joins.extend(Concluded(kind, r) for r in refs or [])
    joins.extend(AtLeast(of, n) for of, n in (when.count or {}).items())
    return Compiled(
        rule=rule,
        tests=tuple(descriptor_tests(when.descriptor_tests(), catalog, distinctions)),
        branches=tuple(tuple(descriptor_tests(b, catalog, distinctions)) for b in when.any or []),
        unless=tuple(tuple(descriptor_tests(block, catalog, distinctions)) for block in when.unless or []),
        joins=tuple(joins),
    )


@dataclass
class Plan:
    """A compiled rule base: every rule's tests, the strata, and the durable-rules rulesets.

    `levels` are the rules that decide distinctions, a level for each depth of dependency;
    `rest` is every other rule, in file order; each has its rulesets.
    """

    compiled: dict[str, Compiled]
    levels: list[list[str]]
    rest: list[str]
    producers: dict[str, tuple[Compiled, ...]]
    rulesets: dict[str, dict]
    level_rulesets: list[list[str]]
    rest_rulesets: list[str]

    @property
    def first(self) -> list[str]:
        return [rid for level in self.levels for rid in level]


_PLANS: dict[str, Plan] = {}


def compile_rulebase(rulebase: Rulebase) -> Plan:
    """Compile every rule (once per rule base); split them into the two strata and into rulesets.

    Each stratum is split into rulesets of at most RULES_PER_RULESET; the engine asserts
    every fact of a stratum into each of its rulesets, so chaining across rulesets works
    as within one. Each ruleset has a catch-all rule so that every fact is accepted
    (see DURABLE_RULES.md). A pattern with more $and/$or nodes than durable-rules takes
    is refused here, naming the rule.
    """
    if rulebase.digest in _PLANS:
        return _PLANS[rulebase.digest]
    catalog = rulebase.catalog
    producers: dict[str, tuple[Compiled, ...]] = {}
    compiled: dict[str, Compiled] = {}
    depth: dict[str, int] = {}  # distinction -> the level that decides it
    levels: list[list[str]] = []
    for name in distinction_order(rulebase.rules, catalog):
        made = []
        for rule in rulebase.producers(name):
            if rule.id not in compiled:
                compiled[rule.id] = compile_rule(rule, catalog, producers)
                needs = [depth[d] for d, _ in distinctions_named(rule) if d in depth]
                level = 1 + max(needs) if needs else 0
                while len(levels) <= level:
                    levels.append([])
                levels[level].append(rule.id)
            made.append(compiled[rule.id])
        producers[name] = tuple(made)
        depth[name] = max((i for i, level in enumerate(levels) for p in made if p.rule.id in level), default=0)
    for rule in rulebase.rules:
        if rule.id not in compiled:
            compiled[rule.id] = compile_rule(rule, catalog, producers)
    first = {rid for level in levels for rid in level}
    rest = [r.id for r in rulebase.rules if r.id not in first]
    rulesets: dict[str, dict] = {}
    strata = [(f"l{i}", ids) for i, ids in enumerate(levels)] + [("r", rest)]
    names: dict[str, list[str]] = {tag: [] for tag, _ in strata}
    problems = []
    for stratum, ids in strata:
        for start in range(0, len(ids), RULES_PER_RULESET):
            chunk = ids[start:start + RULES_PER_RULESET]
            name = f"advisor_{rulebase.digest[:16]}_{stratum}_{start // RULES_PER_RULESET}"
            ruleset = {}
            for i, rid in enumerate(chunk):
                ruleset[rid] = compiled[rid].durable(priority=start + i + 1)
                n = max(groups_in(p) for p in ruleset[rid]["all"])
                if n > MAX_GROUPS:
                    rule = rulebase.by_id[rid]
                    problems.append(RuleFileError(
                        f"its conditions nest {n} groups of alternatives ($and/$or) in one test of the threat; "
                        f"durable-rules takes at most {MAX_GROUPS}: split the rule or name fewer alternatives",
                        path=rule.file, line=rule.line, loc=rid))
            ruleset[CATCH_ALL] = {"all": [{"m": {"$ex": {"kind": 1}}}], "pri": 100_000, "run": CATCH_ALL}
            rulesets[name] = ruleset
            names[stratum].append(name)
    if problems:
        raise RuleFileError("rule base too complex for the engine", path=rulebase.directory, problems=problems)
    plan = Plan(compiled, levels, rest, producers, rulesets, [names[f"l{i}"] for i in range(len(levels))], names["r"])
    _PLANS[rulebase.digest] = plan
    return plan
