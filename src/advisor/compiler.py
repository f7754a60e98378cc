"""Compiling rules into durable-rules rulesets (its JSON form): the facts, the plan, the limits.

Every condition of the rule language becomes one of the conditions of `advisor.conditions`,
which holds every meaning of its kind (the engine's expression, its negation, the Python
check, the words); this module puts them together per rule (`Compiled`) and per rule base
(`Plan`: strata, levels and rulesets within the engine's limits).

The rules run in two strata. First the rules that decide the document's distinctions
(inter-state or non-traditional, in East Asia or not, ...) fire on the descriptor alone, in
levels: a distinction that depends on another is decided a level later. Each distinction
that holds becomes a flag `d_<name>` on the threat fact. Then every other rule fires on that
fact and chains on the conclusions of earlier rules. A distinction a rule names is thus a
plain flag test, which can also be negated (`unless`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from . import limits
from .catalog import Catalog
from .conditions import (
    AtLeast,
    Concluded,
    DescriptorCondition,
    Distinction,
    FlagsAll,
    FlagsAny,
    FlagsNone,
    RankBetween,
    ScalarIn,
    StateCount,
    StatesOnly,
    View,
    all_of,
    either_of,
)
from .errors import RuleFileError
from .models import Descriptor
from .process import MEMORY
from .rules import Rule, Rulebase, SeverityTest, Tests, When, distinction_order, distinctions_named

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


def fact_key(fact: dict[str, Any]) -> tuple[str, str]:
    """What a join waits for, of a conclusion or tally fact: as a join condition's `fact_key()` says it."""
    return ("tally", fact["of"]) if fact["kind"] == "tally" else (fact["kind"], fact["ref"])


# --- the shape of an expression ---------------------------------------------------


def groups_in(expr: Any) -> int:
    """How many $and/$or nodes an expression has (durable-rules allows 15 per pattern)."""
    if isinstance(expr, dict):
        return sum((k in ("$and", "$or")) + groups_in(v) for k, v in expr.items())
    if isinstance(expr, list):
        return sum(groups_in(x) for x in expr)
    return 0


@dataclass
class Shape:
    """What the engine makes of one pattern: its groups, its widest choice, how many of its
    alternatives can hold at once (each choice of n adds n - 1), and how many it has once
    every choice is combined (its disjunctive normal form)."""

    groups: int = 0
    widest: int = 0
    at_once: int = 1
    expansion: int = 1


def shape_of(expr: Any) -> Shape:
    out = Shape(groups=groups_in(expr))

    def walk(e: Any) -> int:  # the number of alternatives of `e`, recording the choices on the way
        if not isinstance(e, dict) or len(e) != 1:
            return 1
        ((key, value),) = e.items()
        if key == "$and":
            n = 1
            for x in value:
                n *= walk(x)
            return n
        if key == "$or":
            out.widest = max(out.widest, len(value))
            out.at_once += len(value) - 1
            return sum(walk(x) for x in value)
        return 1

    out.expansion = walk(expr)
    return out


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
                bounds = (("at least", tests.severity.at_least), ("at most", tests.severity.at_most))
                label = " and ".join(f"{k} {v}" for k, v in bounds if v is not None)  # (no model_dump: it would
                # build the model's serialiser, 25 ms of a cold start)
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
class Compiled:
    """A rule's tests: on the threat fact (all, any-branches, unless) and joins on conclusions."""

    rule: Rule
    tests: tuple[DescriptorCondition, ...]
    branches: tuple[tuple[DescriptorCondition, ...], ...]
    unless: tuple[tuple[DescriptorCondition, ...], ...]
    joins: tuple[Concluded | AtLeast, ...]  # each a JoinCondition

    def threat_expression(self) -> dict | None:
        exprs = [t.durable() for t in self.tests]
        if self.branches:
            exprs.append(either_of([all_of([t.durable() for t in b]) for b in self.branches]))
        for block in self.unless:
            exprs.append(either_of([t.negated() for t in block]))
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
        return (
            all(t.holds(view) for t in self.tests)
            and (not self.branches or any(all(t.holds(view) for t in b) for b in self.branches))
            and not any(all(t.holds(view) for t in block) for block in self.unless)
            and all(j.holds(view) for j in self.joins)
        )

    def held_back(self, view: View) -> list[tuple]:
        """The `unless` blocks that alone keep the rule from firing (all else holds)."""
        if not (
            all(t.holds(view) for t in self.tests)
            and (not self.branches or any(all(t.holds(view) for t in b) for b in self.branches))
            and all(j.holds(view) for j in self.joins)
        ):
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
            out["any"] = [
                {
                    f"derived {t.name}" if isinstance(t, Distinction) else getattr(t, "key", t.field): t.evidence(view)
                    for t in b
                }
                for b in held
            ]
        if self.unless:
            out["unless"] = "does not hold"
        for j in self.joins:
            if isinstance(j, Concluded):
                out.setdefault(j.kind, {})[j.ref] = j.evidence(view)
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
    for kind, refs in (("frameworks", when.frameworks), ("agencies", when.agencies)):
        joins.extend(Concluded(kind, r) for r in refs or [])
    joins.extend(AtLeast(of, n) for of, n in (when.count or {}).items())
    return Compiled(
        rule=rule,
        tests=tuple(descriptor_tests(when.descriptor_tests(), catalog, distinctions)),
        branches=tuple(tuple(descriptor_tests(b, catalog, distinctions)) for b in when.any or []),
        unless=tuple(tuple(descriptor_tests(block, catalog, distinctions)) for block in when.unless or []),
        joins=tuple(joins),
    )


def rule_limit_problems(compiled: Compiled) -> list[str]:
    """Where one compiled rule goes past the engine's limits, in the words of the rule language.

    (Lists of values and `any:` blocks are also checked where they are written, in `rules`;
    here they are measured as the engine sees them, a group of states counting its members.)
    """
    out = []
    joins = len(compiled.joins)
    if joins > limits.MAX_JOINS:
        out.append(
            f"it joins {joins} earlier conclusions and counts, over the engine's limit of {limits.MAX_JOINS}: "
            "split the rule, or derive one fact that stands for several"
        )
    threat = compiled.threat_expression()
    if threat is None:
        return out
    shape = shape_of(threat)
    if shape.widest > limits.MAX_ALTERNATIVES:
        out.append(
            f"one of its tests offers {shape.widest} alternatives (a group of states counts its members), "
            f"over the engine's limit of {limits.MAX_ALTERNATIVES}"
        )
    if shape.at_once > limits.MAX_AT_ONCE:
        out.append(
            f"{shape.at_once} of its alternatives can hold at once (each 'any' or list of values of n adds "
            f"n - 1), over the engine's limit of {limits.MAX_AT_ONCE}: split the rule"
        )
    if shape.expansion > limits.MAX_EXPANSION:
        out.append(
            f"its choices combine into {shape.expansion} alternatives ('any' blocks and lists of values "
            f"multiply), over the engine's limit of {limits.MAX_EXPANSION}: split the rule"
        )
    if shape.groups > limits.MAX_GROUPS:
        out.append(
            f"its tests make {shape.groups} groups (the rule itself, each 'any', each alternative or 'unless' "
            f"block of several tests, each test of several values), over the engine's limit of {limits.MAX_GROUPS}: "
            "split the rule or name fewer alternatives"
        )
    return out


class _Alpha:
    """One test of durable-rules' alpha network, as `rete.c` builds it: the tests that follow it
    (a hash table of 512 entries, shared by equal tests), its absence tests and the joins of
    `$or` branches (a list of 128, repeats kept)."""

    __slots__ = ("tests", "absent", "links")

    def __init__(self) -> None:
        self.tests: dict[tuple, _Alpha] = {}
        self.absent: dict[tuple, _Alpha] = {}
        self.links: list[_Alpha] = []

    def add(self, expr: dict, touched: list[_Alpha]) -> _Alpha:
        """The node a pattern ends on, building it under this one; `touched` gets every node passed."""
        touched.append(self)
        ((key, value),) = expr.items()
        if key == "$and":
            node = self
            for x in value:
                node = node.add(x, touched)
            return node
        if key == "$or":
            forward = _Alpha()
            for x in value:
                end = self.add(x, touched)
                end.links.append(forward)
                touched.append(end)
            return forward
        if key.startswith("$"):
            ((name, operand),) = value.items()
            test = (name, key, repr(operand))
        else:
            test = (key, "=", repr(value))
        found = self.tests.get(test) or self.absent.get(test)
        if found is None:
            found = (self.absent if key == "$nex" else self.tests).setdefault(test, _Alpha())
        return found

    def at_once(self) -> int:
        """Tests after this one that can hold together for one fact (different values of one
        field cannot); absence tests and `$or` joins all can."""
        fields = {name for name, op, _ in self.tests if op == "="}
        return len(fields) + sum(op != "=" for _, op, _ in self.tests) + len(self.absent) + len(self.links)

    def children(self) -> list[_Alpha]:
        return [*self.tests.values(), *self.absent.values(), *self.links]


class Network:
    """The alpha network of one ruleset, built a rule at a time, with what the engine would make of it.

    Matching a fact walks the network depth first with a stack of 64 entries (events.c): a test
    that holds pushes every test after it that holds too. `stack` bounds that from above: a
    test's pushes, less one, plus the most any of them pushes in turn.
    """

    def __init__(self) -> None:
        self.root = _Alpha()
        self._peak: dict[int, int] = {}
        self.add({"all": [{"m": {"$ex": {"kind": 1}}}]})  # the catch-all rule every ruleset has

    def add(self, rule: dict) -> None:
        touched: list[_Alpha] = []
        for pattern in rule["all"]:
            for expr in pattern.values():
                self.root.add(expr, touched)
        for node in touched:  # every node whose subtree changed was passed on the way down
            self._peak.pop(id(node), None)

    def problems(self) -> list[str]:
        """Where the network goes past the engine's limits (each of its rules may be within its own)."""
        out: list[str] = []
        stack = self._visit(self.root, out)
        if stack > limits.MAX_SHARED:
            out.append(
                f"up to {stack} of its tests can hold at once for one fact, over the engine's limit of {limits.MAX_SHARED}"
            )
        return out

    def _visit(self, node: _Alpha, out: list[str]) -> int:
        if id(node) in self._peak:
            return self._peak[id(node)]
        if len(node.tests) > limits.MAX_NEXT:
            out.append(
                f"{len(node.tests)} different tests follow one test, over the engine's limit of {limits.MAX_NEXT}"
            )
        if len(node.absent) + len(node.links) > limits.MAX_ABSENT:
            out.append(
                f"{len(node.absent) + len(node.links)} absence tests and alternatives follow one test, "
                f"over the engine's limit of {limits.MAX_ABSENT}"
            )
        k = node.at_once()
        below = max((self._visit(c, out) for c in node.children()), default=0)
        self._peak[id(node)] = max(k, k - 1 + below) if k else 0
        return self._peak[id(node)]


def _split(ids: list[str], durable: dict[str, dict]) -> tuple[list[list[str]], dict[str, list[str]]]:
    """The rules of one stratum in rulesets, in order: a ruleset takes rules while its network stays
    within the engine's limits (and limits.RULES_PER_RULESET); a rule over them alone is returned as a problem."""
    chunks: list[list[str]] = []
    problems: dict[str, list[str]] = {}
    network, chunk = Network(), cast(list[str], [])
    for rid in ids:
        if len(chunk) < limits.RULES_PER_RULESET:
            network.add(durable[rid])
            if not network.problems():
                chunk.append(rid)
                continue
        alone = Network()
        alone.add(durable[rid])
        if refused := alone.problems():
            problems[rid] = refused
            continue
        if chunk:
            chunks.append(chunk)
        network, chunk = alone, [rid]
    if chunk:
        chunks.append(chunk)
    return chunks, problems


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


def compile_rulebase(rulebase: Rulebase) -> Plan:
    """Compile every rule (once per rule base); split them into the two strata and into rulesets.

    Each stratum is split into rulesets of at most limits.RULES_PER_RULESET, and fewer where the
    engine's network would go past its limits (`Network`); the engine asserts every fact of a
    stratum into each of its rulesets, so chaining across rulesets works as within one. Each
    ruleset has a catch-all rule so that every fact is accepted (see docs/durable-rules.md). A rule
    past the engine's limits on its own is refused here, naming it (`rule_limit_problems`).
    """
    plans = MEMORY.plans
    if rulebase.digest in plans:
        return plans[rulebase.digest]
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
    problems: list[RuleFileError] = []
    for rid, c in compiled.items():
        rule = rulebase.by_id[rid]
        problems.extend(RuleFileError(m, path=rule.file, line=rule.line, loc=rid) for m in rule_limit_problems(c))
    for stratum, ids in strata:
        durable = {rid: compiled[rid].durable(priority=i + 1) for i, rid in enumerate(ids)}
        chunks, refused = _split(ids, durable)
        for rid, messages in refused.items():
            rule = rulebase.by_id[rid]
            problems.extend(RuleFileError(m, path=rule.file, line=rule.line, loc=rid) for m in messages)
        for i, chunk in enumerate(chunks):
            name = f"advisor_{rulebase.digest[:16]}_{stratum}_{i}"
            ruleset = {rid: durable[rid] for rid in chunk}
            # one catch-all action per state: every state's first fact is the threat, which it accepts
            ruleset[CATCH_ALL] = {"all": [{"m": {"kind": "threat"}}], "pri": 100_000, "run": CATCH_ALL}
            rulesets[name] = ruleset
            names[stratum].append(name)
    if problems:
        raise RuleFileError("rule base too complex for the engine", path=rulebase.directory, problems=problems)
    plan = Plan(compiled, levels, rest, producers, rulesets, [names[f"l{i}"] for i in range(len(levels))], names["r"])
    plans[rulebase.digest] = plan
    return plan
