"""An oracle for differential tests: the YAML rules run in plain Python, read from docs/rule-language.md alone.

It shares nothing with the compiler or the engine: it reads the rule files and the catalog
with `yaml.safe_load` and gives every construct of the reference its meaning here, so that a
mistake in how the compiler or the engine reads a rule shows up as a difference. Only the
descriptor is normalised by advisor (`advisor.parse_threat`): that is the input model.

    >>> expected = fired({"type": "piracy", "region": "Malacca Strait"})
    >>> "r12-wpns" in expected["rules"], "wpns" in expected["frameworks"]
    (True, True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
# The agency's `role` is "the strongest any rule gives" (docs/analysts.md), in this order.
ROLES = ("lead", "coordinate", "support", "participate")
SCALARS = ("type", "category", "actor")
CONCLUSIONS = {"derive", "frameworks", "states", "involved_states", "members_of", "agencies", "measures", "caveats"}


class Unsupported(Exception):
    """A rule uses a construct the reference leaves open, in a way where the readings differ."""


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _listed(value: Any) -> list:
    """A test's values: the reference takes "a value or a list (any of)"."""
    return list(value) if isinstance(value, list) else [value]


def _blocks(value: Any) -> list[dict]:
    """`any:` and `unless:` take "a block or a list of blocks"."""
    return list(value) if isinstance(value, list) else [value]


def _flags(entry: Any, name: str) -> bool:
    """A vocabulary entry is a label or a mapping with flags such as `multilateral: true`."""
    return isinstance(entry, dict) and bool(entry.get(name))


class Catalog:
    """The parts of the catalog the rules refer to, read from its YAML files."""

    def __init__(self, directory: Path):
        vocabulary = _read(directory / "vocabulary.yaml")
        self.category = {t: e["category"] for t, e in vocabulary["types"].items()}
        self.rank = {s: e["rank"] for s, e in vocabulary["severities"].items()}
        self.within = {r: list(e.get("within") or []) for r, e in vocabulary["regions"].items()}
        self.derived = vocabulary["derived"]
        self.distinctions = {d for d, e in self.derived.items() if _flags(e, "distinction")}
        self.multilateral = {name for name, e in vocabulary["layers"].items() if _flags(e, "multilateral")}
        self.layers = set(vocabulary["layers"])
        self.beyond = {name for name, e in vocabulary["sectors"].items() if _flags(e, "beyond_diplomacy_and_defense")}
        self.sectors = set(vocabulary["sectors"])
        self.groups = {g: set(members) for g, members in _read(directory / "states.yaml")["groups"].items()}
        frameworks = _read(directory / "frameworks.yaml")["frameworks"]
        self.layer = {f: e.get("layer") for f, e in frameworks.items()}
        self.members = {f: list(e.get("members") or []) for f, e in frameworks.items()}
        self.sector = {a: e["sector"] for a, e in _read(directory / "agencies.yaml")["agencies"].items()}

    def regions(self, region: str | None) -> set[str]:
        """The region and every region it lies within ("regions nest")."""
        out, todo = set(), [region] if region else []
        while todo:
            r = todo.pop()
            if r not in out:
                out.add(r)
                todo.extend(self.within.get(r, []))
        return out

    def states(self, names: Any) -> set[str]:
        """Codes, with each group standing for its members."""
        out: set[str] = set()
        for name in _listed(names):
            out |= self.groups.get(name, {name})
        return out


@dataclass(frozen=True)
class Threat:
    """The descriptor as the rules test it."""

    type: str
    category: str
    actor: str
    rank: int
    regions: frozenset[str]
    states: frozenset[str]
    targets: frozenset[str]
    attributes: frozenset[str]  # the attributes that are true


@dataclass
class Facts:
    """What rules have concluded so far."""

    derived: set[str] = field(default_factory=set)
    frameworks: set[str] = field(default_factory=set)
    agencies: dict[str, set[str]] = field(default_factory=dict)
    states: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Rule:
    """A rule as its file gives it: the oracle reads `when` and `then` itself."""

    id: str
    cites: tuple[str, ...]
    when: dict
    then: dict


class Oracle:
    """The rule files of one directory, with their catalog, evaluated on descriptors."""

    def __init__(self, rules_dir: Path = RULES):
        rules_dir = Path(rules_dir)
        catalog_dir = rules_dir / "catalog" if (rules_dir / "catalog").is_dir() else RULES / "catalog"
        self.catalog = Catalog(catalog_dir)
        self.rules: list[Rule] = []
        for path in sorted(rules_dir.glob("*.yaml")):
            for raw in _read(path).get("rules") or []:
                self.rules.append(
                    Rule(raw["id"], tuple(str(c) for c in raw.get("cites") or []), raw.get("when") or {}, raw["then"])
                )
        distinctions = self.catalog.distinctions
        # The first stratum: the rules that derive the document's distinctions.
        self.first = [r for r in self.rules if set(r.then.get("derive") or []) & distinctions]
        self.second = [r for r in self.rules if r not in self.first]
        self._cites = {r.id: r.cites for r in self.rules}
        self.level = self._levels()
        self.start = max(self.level.values(), default=0) + 1  # the second stratum's first step

    # --- strata and levels ---------------------------------------------------------------

    def _tested(self, block: dict) -> set[str]:
        """The derived facts a block tests, in `when`, its `any:` and its `unless:`."""
        out = set(block.get("derived") or [])
        for key in ("any", "unless"):
            for sub in _blocks(block.get(key) or []):
                out |= self._tested(sub)
        return out

    def _levels(self) -> dict[str, int]:
        """Each distinction rule's level: one step after the distinctions it tests are settled."""
        producers: dict[str, list[Rule]] = {}
        for r in self.first:
            for fact in r.then.get("derive") or []:
                producers.setdefault(fact, []).append(r)
        level: dict[str, int] = {}

        def of(rule: Rule, seen: tuple[str, ...] = ()) -> int:
            if rule.id in seen:
                raise Unsupported(f"a ring of distinctions through {rule.id}")
            if rule.id not in level:
                deps = [p for f in self._tested(rule.when) for p in producers.get(f, [])]
                level[rule.id] = 1 + max((of(p, (*seen, rule.id)) for p in deps), default=0)
            return level[rule.id]

        for r in self.first:
            of(r)
        return level

    # --- tests ------------------------------------------------------------------------

    def _holds(self, block: dict, t: Threat, facts: Facts) -> bool:
        """Every test of the block holds."""
        return all(self._test(key, value, t, facts) for key, value in block.items())

    def _test(self, key: str, value: Any, t: Threat, facts: Facts) -> bool:
        cat = self.catalog
        if key in SCALARS:
            return getattr(t, key) in _listed(value)
        if key == "region":
            return bool(t.regions & set(_listed(value)))
        if key == "severity":
            if isinstance(value, dict):
                low = cat.rank[value["at_least"]] if "at_least" in value else min(cat.rank.values())
                high = cat.rank[value["at_most"]] if "at_most" in value else max(cat.rank.values())
                return low <= t.rank <= high
            return t.rank in {cat.rank[v] for v in _listed(value)}
        if key in ("states", "targets"):
            return self._named(key, value, t)
        if key == "attributes":  # false means unset or false
            return all((name in t.attributes) == bool(want) for name, want in value.items())
        if key == "derived":
            return all(d in facts.derived for d in value)
        if key == "frameworks":
            return all(f in facts.frameworks for f in value)
        if key == "agencies":
            return all(a in facts.agencies for a in value)
        if key == "count":
            return all(self._at_least(of, n, facts) for of, n in value.items())
        if key == "any":
            return any(self._holds(b, t, facts) for b in _blocks(value))
        if key == "unless":  # silent when every test of some block holds
            return not any(self._holds(b, t, facts) for b in _blocks(value))
        raise Unsupported(f"unknown test {key!r}")

    def _named(self, key: str, value: Any, t: Threat) -> bool:
        """A states or targets test: a list (any of), or {any, all, none, only, at_least, at_most}."""
        named = t.states if key == "states" else t.targets
        expand = self.catalog.states if key == "states" else lambda v: set(_listed(v))
        if not isinstance(value, dict):
            value = {"any": value}
        for part, arg in value.items():
            if part == "any" and not named & expand(arg):
                return False
            if part == "all" and not expand(arg) <= named:  # a group stands for its members: all of them
                return False
            if part == "none" and named & expand(arg):
                return False
            if part == "only" and not named <= self.catalog.states(arg):  # every state named is in it
                return False
            if part == "at_least" and len(named) < arg:
                return False
            if part == "at_most" and len(named) > arg:
                return False
            if part not in ("any", "all", "none", "only", "at_least", "at_most"):
                raise Unsupported(f"unknown {key} test {part!r}")
        return True

    def _at_least(self, of: str, n: int, facts: Facts) -> bool:
        """A tally: at least n concluded."""
        cat = self.catalog
        sectors = {cat.sector[a] for a in facts.agencies}
        if of == "agencies":
            return len(facts.agencies) >= n
        if of == "frameworks":
            return len(facts.frameworks) >= n
        if of == "states":
            return len(facts.states) >= n
        if of == "sectors":
            return len(sectors) >= n
        if of == "multilateral":
            return sum(cat.layer.get(f) in cat.multilateral for f in facts.frameworks) >= n
        if of == "beyond_diplomacy_and_defense":
            # The reference does not say whether bodies or kinds of work are counted; both readings
            # agree at 1, the only number the shipped rules use.
            bodies = sum(cat.sector[a] in cat.beyond for a in facts.agencies) >= n
            kinds = len(sectors & cat.beyond) >= n
            if bodies != kinds:
                raise Unsupported(f"count: beyond_diplomacy_and_defense: {n} (bodies or kinds of work?)")
            return bodies
        if of in cat.layers:
            return sum(cat.layer.get(f) == of for f in facts.frameworks) >= n
        if of in cat.sectors:
            return sum(cat.sector[a] == of for a in facts.agencies) >= n
        raise Unsupported(f"unknown count {of!r}")

    # --- conclusions ---------------------------------------------------------------------

    def _concluded(self, rule: Rule, t: Threat) -> dict[str, Any]:
        """What a rule concludes when it fires, as the trace's `concluded` gives it."""
        then, cat = rule.then, self.catalog
        states: set[str] = set()
        if then.get("states"):
            states |= cat.states(then["states"])
        if then.get("involved_states"):
            states |= t.states
        for f in then.get("members_of") or []:
            states |= set(cat.members[f])
        agencies = {a: (r["role"] if isinstance(r, dict) else r) for a, r in (then.get("agencies") or {}).items()}
        unknown = set(then) - CONCLUSIONS
        if unknown:
            raise Unsupported(f"{rule.id}: unknown conclusion {sorted(unknown)}")
        out = {
            "derived": sorted(set(then.get("derive") or [])),
            "frameworks": sorted(set(then.get("frameworks") or [])),
            "states": sorted(states),
            "agencies": agencies,
            "measures": sorted(set(then.get("measures") or [])),
            "caveats": sorted(set(then.get("caveats") or [])),
        }
        return {k: v for k, v in out.items() if v}

    @staticmethod
    def _add(facts: Facts, concluded: dict[str, Any]) -> None:
        facts.derived |= set(concluded.get("derived", []))
        facts.frameworks |= set(concluded.get("frameworks", []))
        facts.states |= set(concluded.get("states", []))
        for a, role in concluded.get("agencies", {}).items():
            facts.agencies.setdefault(a, set()).add(role)

    # --- running ---------------------------------------------------------------------

    def threat(self, d: Any) -> Threat:
        """The normalised descriptor (an `advisor.Descriptor`) as the rules test it."""
        return Threat(
            type=d.type,
            category=self.catalog.category[d.type],
            actor=d.actor,
            rank=self.catalog.rank[d.severity],
            regions=frozenset(self.catalog.regions(d.region)),
            states=frozenset(d.states),
            targets=frozenset(d.targets),
            attributes=frozenset(k for k, v in d.attributes.items() if v is True),
        )

    def run(self, d: Any) -> dict[str, Any]:
        """Which rules fire on a normalised descriptor, at which step, and what follows."""
        t, facts = self.threat(d), Facts()
        steps: dict[str, int] = {}
        concluded: dict[str, dict] = {}
        # The first stratum, level by level: a rule runs once every distinction it tests is settled.
        for rule in sorted(self.first, key=lambda r: self.level[r.id]):
            if self._holds(rule.when, t, facts):
                steps[rule.id] = self.level[rule.id]
                concluded[rule.id] = self._concluded(rule, t)
                self._add(facts, concluded[rule.id])
        # The second stratum: forward chaining, each step's conclusions asserted for the next.
        step, pending = self.start, list(self.second)
        while True:
            now = [r for r in pending if self._holds(r.when, t, facts)]
            if not now:
                break
            for rule in now:
                steps[rule.id] = step
                concluded[rule.id] = self._concluded(rule, t)
            for rule in now:
                self._add(facts, concluded[rule.id])
            pending = [r for r in pending if r.id not in steps]
            step += 1
        return self._answer(t, steps, concluded, facts)

    def _answer(self, t: Threat, steps: dict, concluded: dict, facts: Facts) -> dict[str, Any]:
        cat = self.catalog
        second = {r.id for r in self.second}

        def by_rule(kind: str) -> set[tuple[str, str]]:
            return {(item, rule) for rule, c in concluded.items() for item in c.get(kind, [])}

        roles = {(a, role, rule) for rule, c in concluded.items() for a, role in c.get("agencies", {}).items()}
        return {
            "rules": set(steps),
            "steps": steps,
            "concluded": concluded,
            "derived": set(facts.derived),
            "notes": {cat.derived[d]["note"] for d in facts.derived if _flags(cat.derived.get(d), "note")},
            "frameworks": set(facts.frameworks),
            "framework_rules": by_rule("frameworks"),
            "states": set(facts.states),
            "state_rules": by_rule("states"),
            "state_frameworks": {(s, f) for s in facts.states for f in facts.frameworks if s in cat.members.get(f, [])},
            "agencies": {a: min(rs, key=ROLES.index) for a, rs in facts.agencies.items()},
            "roles": roles,
            "measures": {m for m, _ in by_rule("measures")},
            "measure_rules": by_rule("measures"),
            "caveats": {c for c, _ in by_rule("caveats")},
            "caveat_rules": by_rule("caveats"),
            # Distinction rules are premises: they reach no recommendation.
            "recommendations": {
                (int(re.match(r"\d+", c).group()), rule) for rule in steps if rule in second for c in self._cites[rule]
            },
        }


@cache
def oracle(rules_dir: Path = RULES) -> Oracle:
    """The oracle of one rule directory, read once."""
    return Oracle(rules_dir)


def fired(descriptor: Any, rules_dir: Path = RULES) -> dict[str, Any]:
    """What the rules conclude for a descriptor (a dict as in a file, or an `advisor.Descriptor`).

    A dict is normalised by `advisor.parse_threat` against the shipped catalog.
    """
    import advisor

    if isinstance(descriptor, dict):
        descriptor = advisor.parse_threat(descriptor)
    return oracle(Path(rules_dir)).run(descriptor)


def observed(a: Any, rules_dir: Path = RULES) -> dict[str, Any]:
    """The same view of an `advisor.Assessment`, from its public fields."""
    derived_notes = {e["note"] for e in oracle(Path(rules_dir)).catalog.derived.values() if _flags(e, "note")}
    return {
        "rules": {e.rule for e in a.trace},
        "steps": {e.rule: e.step for e in a.trace},
        "concluded": {e.rule: _plain(e.concluded) for e in a.trace},
        "derived": set(a.nature.derived),
        "notes": set(a.notes) & derived_notes,
        "frameworks": {f.id for f in a.frameworks},
        "framework_rules": {(f.id, r) for f in a.frameworks for r in f.rules},
        "states": {s.code for s in a.states},
        "state_rules": {(s.code, r) for s in a.states for r in s.rules},
        "state_frameworks": {(s.code, f) for s in a.states for f in s.frameworks},
        "agencies": {g.id: g.role for g in a.agencies},
        "roles": {(g.id, r.role, r.rule) for g in a.agencies for r in g.roles},
        "measures": {m.id for m in a.measures},
        "measure_rules": {(m.id, r) for m in a.measures for r in m.rules},
        "caveats": {c.id for c in a.caveats},
        "caveat_rules": {(c.id, r) for c in a.caveats for r in c.rules},
        "recommendations": {(r.number, rule) for r in a.recommendations for rule in r.rules},
    }


def _plain(concluded: dict) -> dict:
    out = {}
    for k, v in concluded.items():
        if v:
            out[k] = dict(v) if isinstance(v, dict) else sorted(v)
    return out


def differences(expected: dict[str, Any], assessment: Any, rules_dir: Path = RULES) -> list[str]:
    """Where an assessment differs from the oracle's answer, one line per aspect; empty when they agree."""
    got = observed(assessment, rules_dir)
    out = []
    if len(assessment.trace) != len(got["rules"]):
        out.append(f"trace: a rule fired twice: {[e.rule for e in assessment.trace]}")
    for key, want in expected.items():
        have = got[key]
        if want == have:
            continue
        if isinstance(want, set):
            out.append(f"{key}: oracle only {sorted(want - have)}; engine only {sorted(have - want)}")
        else:
            diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
            out.append(f"{key}: " + "; ".join(f"{k}: oracle {want.get(k)!r}, engine {have.get(k)!r}" for k in diff))
    return out
