"""The conditions of the rule language, one class per kind, each holding every meaning it has.

A rule's `when` compiles into conditions (`compiler.compile_rule`). Every part of advisor that
needs to know what a condition means asks the condition itself, so each kind is defined once:

| method                     | what it gives                                  | read by                          |
|----------------------------|------------------------------------------------|----------------------------------|
| `durable()`                | its durable-rules expression                   | compiler (the engine's rulesets) |
| `negated()`                | the expression of its negation (`unless`)      | compiler                         |
| `holds(view)`              | whether it holds, checked in plain Python      | reference evaluator, explain     |
| `evidence(view)`           | what satisfied it (the trace's `matched`)      | chaining (each firing)           |
| `words(positive)`          | the condition in words                         | query, why-not, rules check      |
| `now(view, threat)`        | the current value it looks at                  | why-not                          |
| `plain_values(catalog)`    | the plain values it stands for (a category's types, a region's regions, a group's states) | analysis |
| `narrow(space, positive)`  | the descriptors it allows (static analysis)    | analysis                         |

Descriptor conditions (`DescriptorCondition`) test the threat fact; join conditions
(`JoinCondition`) test what earlier rules concluded. Keeping the engine form, the negation and
the Python check side by side is what keeps them in agreement; the differential tests hold them
to an oracle written from the rule-language reference alone (tests/oracle.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .catalog import word

if TYPE_CHECKING:
    from .catalog import Catalog
    from .compiler import Compiled
    from .models import Descriptor

# The kinds of conclusion a rule can join on, spelled as the catalog and the outputs spell them.
CONCLUSION_KINDS = ("derived", "frameworks", "agencies")


@dataclass
class View:
    """What a rule can see: the threat fact and what earlier rules concluded."""

    fact: dict[str, Any]
    derived: dict[str, list[str]] = field(default_factory=dict)  # name -> rules that derived it
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    agencies: dict[str, list[str]] = field(default_factory=dict)
    states: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    sectors: set[str] = field(default_factory=set)
    doc_counts: dict[str, int] = field(default_factory=dict)  # the same tallies, of what the document supports
    doc_sectors: set[str] = field(default_factory=set)
    doc_states: set[str] = field(default_factory=set)


@dataclass
class Space:
    """The descriptors a conjunction of conditions allows, field by field (static analysis)."""

    types: set[str]
    actors: set[str]
    severities: set[str]
    regions: set[str | None]
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)  # prefix -> constraints
    only: set[str] | None = None  # every state named is one of these
    count: tuple[int, int] = (0, 10_000)  # how many states may be named
    not_counts: list[tuple[int, int]] = field(default_factory=list)  # ranges of counts ruled out
    reason: str = ""

    def flag(self, prefix: str) -> dict[str, Any]:
        return self.flags.setdefault(prefix, {"true": set(), "false": set(), "some_true": [], "some_false": []})


class DescriptorCondition(Protocol):
    """A condition on the descriptor alone (the threat fact)."""

    @property
    def field(self) -> str: ...  # the descriptor's field it tests (`derived` for a distinction)

    def durable(self) -> dict: ...
    def negated(self) -> dict: ...
    def holds(self, view: View) -> bool: ...
    def evidence(self, view: View) -> Any: ...
    def words(self, positive: bool = True) -> str: ...
    def now(self, view: View, threat: Descriptor) -> str: ...
    def plain_values(self, catalog: Catalog) -> frozenset: ...
    def narrow(self, space: Space, positive: bool, values: frozenset, catalog: Catalog) -> None: ...


class JoinCondition(Protocol):
    """A condition on what earlier rules concluded (a conclusion or a tally)."""

    def durable(self) -> dict: ...
    def holds(self, view: View) -> bool: ...
    def evidence(self, view: View) -> Any: ...
    def words(self, positive: bool = True) -> str: ...
    def now(self, view: View, threat: Descriptor) -> str: ...
    def fact_key(self) -> tuple[str, str]: ...


# --- the engine's expressions ------------------------------------------------------------

NEVER = {"$nex": {"kind": 1}}  # every fact has a kind: this holds for none
ALWAYS = {"$ex": {"kind": 1}}


def all_of(exprs: list[dict]) -> dict:
    # an empty $and matches every fact, the engine's own state included, and loops forever
    if not exprs:
        raise ValueError("empty conjunction")
    return exprs[0] if len(exprs) == 1 else {"$and": exprs}


def either_of(exprs: list[dict]) -> dict:
    if not exprs:
        raise ValueError("empty disjunction")
    return exprs[0] if len(exprs) == 1 else {"$or": exprs}


def _flag(name: str) -> dict:
    return {name: True}


def _no_flag(name: str) -> dict:
    return {"$nex": {name: 1}}


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _narrow_set(current: set, values: frozenset, positive: bool) -> set:
    return current & values if positive else current - values


# --- conditions on the descriptor -----------------------------------------------------------


@dataclass(frozen=True)
class ScalarIn:
    """`field` is one of `values` (type, category, actor, severity)."""

    field: str
    values: tuple[str, ...]

    def durable(self) -> dict:
        return either_of([{self.field: v} for v in self.values])

    def negated(self) -> dict:
        return all_of([{"$neq": {self.field: v}} for v in self.values])

    def holds(self, view: View) -> bool:
        return view.fact[self.field] in self.values

    def evidence(self, view: View) -> Any:
        return view.fact[self.field]

    def words(self, positive: bool = True) -> str:
        if len(self.values) == 1:
            return f"{self.field} {'is' if positive else 'is not'} {_listed(self.values)}"
        return f"{self.field} {'is one of' if positive else 'is none of'} {_listed(self.values)}"

    def now(self, view: View, threat: Descriptor) -> str:
        return str(view.fact.get(self.field))

    def plain_values(self, catalog: Catalog) -> frozenset:
        """A category stands for its types."""
        types = catalog.vocabulary.types
        if self.field == "category":
            return frozenset(t for t in types if types[t].category in self.values)
        return frozenset(self.values)

    def narrow(self, space: Space, positive: bool, values: frozenset, catalog: Catalog) -> None:
        if self.field in ("type", "category"):
            space.types = _narrow_set(space.types, values, positive)
        elif self.field == "actor":
            space.actors = _narrow_set(space.actors, values, positive)
        elif self.field == "severity":
            space.severities = _narrow_set(space.severities, values, positive)


class _Flags:
    """What the three kinds of flag condition share: a flag per value, and how a value expands."""

    field: str
    prefix: str
    values: tuple[str, ...]
    groups: frozenset[str] = frozenset()

    def flag(self, value: str) -> str:
        """The fact's flag for a value: `g_<group>` for a group of states (a member is named)."""
        return f"g_{value}" if value in self.groups else self.prefix + value

    def plain_values(self, catalog: Catalog) -> frozenset:
        """A region stands for the regions within it; a group of states for its members."""
        if self.field == "region":
            wanted = set(self.values)
            return frozenset(r for r in catalog.vocabulary.regions if set(catalog.regions_around(r)) & wanted)
        if self.prefix == "s_":
            return frozenset(catalog.expand_states(list(self.values)))
        return frozenset(self.values)

    def now(self, view: View, threat: Descriptor) -> str:
        if self.field == "region":
            return str(threat.region)
        if self.field == "attributes":
            return ", ".join(f"{k}={v}" for k, v in threat.attributes.items()) or "(none)"
        return ", ".join(getattr(threat, self.field)) or "(none)"

    def narrow(self, space: Space, positive: bool, values: frozenset, catalog: Catalog) -> None:
        if self.field == "region":
            space.regions = _narrow_set(space.regions, values, positive)
            return
        f = space.flag(self.prefix)
        self._constrain(f, set(values), positive)

    def _constrain(self, f: dict[str, Any], values: set[str], positive: bool) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class FlagsAny(_Flags):
    """At least one flag `prefix+value` is set (region, or `any` of states/targets).

    A value in `groups` is a group of states, present when one of its members is (`g_`).
    """

    field: str
    prefix: str
    values: tuple[str, ...]
    groups: frozenset[str] = frozenset()

    def durable(self) -> dict:
        return either_of([_flag(self.flag(v)) for v in self.values])

    def negated(self) -> dict:
        return all_of([_no_flag(self.flag(v)) for v in self.values])

    def holds(self, view: View) -> bool:
        return any(view.fact.get(self.flag(v)) for v in self.values)

    def evidence(self, view: View) -> Any:
        hits = [v for v in self.values if view.fact.get(self.flag(v))]
        return hits[0] if self.field == "region" and len(hits) == 1 else hits

    def words(self, positive: bool = True) -> str:
        values = _listed(self.values)
        if self.field == "region":
            return f"region {'within' if positive else 'not within'} {values}"
        if len(self.values) == 1:
            return f"{self.field} {'include' if positive else 'exclude'} {values}"
        return f"{self.field} {'include one of' if positive else 'include none of'} {values}"

    def _constrain(self, f: dict[str, Any], values: set[str], positive: bool) -> None:
        if positive:
            f["some_true"].append(values)
        else:
            f["false"] |= values


@dataclass(frozen=True)
class FlagsAll(_Flags):
    """Every flag is set (`all` of states/targets; attributes that must be true)."""

    field: str
    prefix: str
    values: tuple[str, ...]

    def durable(self) -> dict:
        return all_of([_flag(self.prefix + v) for v in self.values])

    def negated(self) -> dict:
        return either_of([_no_flag(self.prefix + v) for v in self.values])

    def holds(self, view: View) -> bool:
        return all(view.fact.get(self.prefix + v) for v in self.values)

    def evidence(self, view: View) -> Any:
        return list(self.values) if self.field != "attributes" else {v: True for v in self.values}

    def words(self, positive: bool = True) -> str:
        values = _listed(self.values)
        if self.field == "attributes":
            return f"{values} {'true' if positive else 'not all true'}"
        return f"{self.field} {'include all of' if positive else 'lack one of'} {values}"

    def _constrain(self, f: dict[str, Any], values: set[str], positive: bool) -> None:
        if positive:
            f["true"] |= values
        else:  # at least one is not set
            f["some_false"].append(values)


@dataclass(frozen=True)
class FlagsNone(_Flags):
    """No flag is set (`none` of states/targets; attributes that must be false or absent)."""

    field: str
    prefix: str
    values: tuple[str, ...]
    groups: frozenset[str] = frozenset()

    def durable(self) -> dict:
        return all_of([_no_flag(self.flag(v)) for v in self.values])

    def negated(self) -> dict:
        return either_of([_flag(self.flag(v)) for v in self.values])

    def holds(self, view: View) -> bool:
        return not any(view.fact.get(self.flag(v)) for v in self.values)

    def evidence(self, view: View) -> Any:
        return {"none of": list(self.values)} if self.field != "attributes" else {v: False for v in self.values}

    def words(self, positive: bool = True) -> str:
        values = _listed(self.values)
        if self.field == "attributes":
            return f"{values} {'false or absent' if positive else 'true'}"
        return f"{self.field} {'include none of' if positive else 'include one of'} {values}"

    def _constrain(self, f: dict[str, Any], values: set[str], positive: bool) -> None:
        if positive:
            f["false"] |= values
        else:
            f["some_true"].append(values)


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

    def words(self, positive: bool = True) -> str:
        return f"every state named is in {self.group}" if positive else f"a state outside {self.group} is named"

    def now(self, view: View, threat: Descriptor) -> str:
        return ", ".join(threat.states) or "(none)"

    def plain_values(self, catalog: Catalog) -> frozenset:
        return frozenset(catalog.state_groups[self.group])

    def narrow(self, space: Space, positive: bool, values: frozenset, catalog: Catalog) -> None:
        if positive:
            space.only = set(values) if space.only is None else space.only & values
        else:
            space.flag("s_")["some_true"].append(set(catalog.states) - values)


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
        return all_of(self._parts(False)) if self._parts(False) else ALWAYS

    def negated(self) -> dict:
        return either_of(self._parts(True)) if self._parts(True) else NEVER

    def holds(self, view: View) -> bool:
        n = view.fact["ns"]
        return n >= self.low and (self.high is None or n <= self.high)

    def evidence(self, view: View) -> Any:
        return view.fact["ns"]

    def words(self, positive: bool = True) -> str:
        if self.high is None:
            span = f"at least {self.low}"
        else:
            span = f"at most {self.high}" if self.low == 0 else f"between {self.low} and {self.high}"
        return f"{span} states named" if positive else f"not {span} states named"

    def now(self, view: View, threat: Descriptor) -> str:
        return ", ".join(threat.states) or "(none)"

    def plain_values(self, catalog: Catalog) -> frozenset:
        return frozenset()

    def narrow(self, space: Space, positive: bool, values: frozenset, catalog: Catalog) -> None:
        high = self.high if self.high is not None else 10_000
        if positive:
            space.count = (max(space.count[0], self.low), min(space.count[1], high))
        else:
            space.not_counts.append((self.low, high))


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
        return all_of(exprs)

    def negated(self) -> dict:
        exprs = []
        if self.low > 1:
            exprs.append({"$lt": {"sev": self.low}})
        if self.high < 99:
            exprs.append({"$gt": {"sev": self.high}})
        return either_of(exprs)

    def holds(self, view: View) -> bool:
        return self.low <= view.fact["sev"] <= self.high

    def evidence(self, view: View) -> Any:
        return view.fact["severity"]

    def words(self, positive: bool = True) -> str:
        return f"severity {'' if positive else 'not '}{self.label}"

    def now(self, view: View, threat: Descriptor) -> str:
        return threat.severity

    def plain_values(self, catalog: Catalog) -> frozenset:
        """The severities whose rank lies within the bounds."""
        return frozenset(k for k, e in catalog.vocabulary.severities.items() if self.low <= e.rank <= self.high)

    def narrow(self, space: Space, positive: bool, values: frozenset, catalog: Catalog) -> None:
        space.severities = _narrow_set(space.severities, values, positive)


@dataclass(frozen=True)
class Distinction:
    """One of the document's distinctions holds: the flag `d_<name>`, set when an earlier level of
    the first stratum derived it. `producers` are the compiled rules that derive it (analysis
    replaces the distinction by their conditions, so it narrows nothing itself)."""

    name: str
    producers: tuple[Compiled, ...] = field(compare=False)
    field: str = "derived"

    def durable(self) -> dict:
        return _flag(f"d_{self.name}")

    def negated(self) -> dict:
        return _no_flag(f"d_{self.name}")

    def holds(self, view: View) -> bool:
        return self.name in view.derived

    def evidence(self, view: View) -> Any:
        # the producers that derived it (a producer holds exactly when it fired: levels run to the end first)
        by = view.derived.get(self.name, ())
        return [p.rule.id for p in self.producers if p.rule.id in by]

    def words(self, positive: bool = True) -> str:
        return f"{self.name} holds" if positive else f"{self.name} does not hold"

    def now(self, view: View, threat: Descriptor) -> str:
        return "holds" if self.holds(view) else "does not hold"

    def plain_values(self, catalog: Catalog) -> frozenset:
        return frozenset()

    def narrow(self, space: Space, positive: bool, values: frozenset, catalog: Catalog) -> None:
        return None


# --- conditions on earlier conclusions --------------------------------------------------------


@dataclass(frozen=True)
class Concluded:
    """An earlier rule has concluded `ref`, of a kind in CONCLUSION_KINDS (derived, frameworks, agencies)."""

    kind: str
    ref: str

    def durable(self) -> dict:
        return {"$and": [{"kind": self.kind}, {"ref": self.ref}]}

    def holds(self, view: View) -> bool:
        return self.ref in getattr(view, self.kind)

    def evidence(self, view: View) -> Any:
        return getattr(view, self.kind).get(self.ref, [])

    def words(self, positive: bool = True) -> str:
        return f"{word(self.kind)} {self.ref} concluded"

    def now(self, view: View, threat: Descriptor) -> str:
        return ""

    def fact_key(self) -> tuple[str, str]:
        return (self.kind, self.ref)


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

    def words(self, positive: bool = True) -> str:
        return f"at least {self.n} {self.of}"

    def now(self, view: View, threat: Descriptor) -> str:
        return str(view.counts.get(self.of, 0))

    def fact_key(self) -> tuple[str, str]:
        return ("tally", self.of)
