"""The rule language: the models of a rule file, validated as they are read (loading a whole rule base is
`loading`; what each condition means is `conditions`)."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from . import limits
from .catalog import Catalog, Strict
from .errors import nearest

RULE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SCALARS = ("type", "category", "region", "actor", "severity")
SET_MODES = ("any", "all", "none", "only", "at_least", "at_most")
MAX_QUOTE_WORDS = 35
SETS = ("states", "targets")
COUNTS = ("agencies", "frameworks", "states")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, (str, int)) else value


def _catalog(info: ValidationInfo) -> Catalog:
    assert info.context is not None  # rules are always validated with their catalog
    return info.context["catalog"]


def _some(values, what: str = "values") -> None:
    """A test's list is neither empty (it tests nothing; the engine loops on an empty test) nor
    longer than the engine takes (limits.MAX_ALTERNATIVES)."""
    if not values:
        raise ValueError("an empty list tests nothing: name at least one value, or leave the test out")
    if len(values) > limits.MAX_ALTERNATIVES:
        raise ValueError(f"{len(values)} {what}, over the engine's limit of {limits.MAX_ALTERNATIVES}")


def _known(values: list[str], pool, what: str) -> list[str]:
    for v in values:
        if v not in pool:
            raise ValueError(f"unknown {what} '{v}' (did you mean {nearest(v, pool)}?)")
    if len(values) > limits.MAX_VALUES:
        raise ValueError(f"at most {limits.MAX_VALUES} values in one test")
    if len(set(values)) != len(values):
        raise ValueError(f"a {what} is listed twice")
    return values


class SetTest(Strict):
    """A test on a list field; every part given must hold.

    any / all / none: of these values, at least one / every one / none is present;
    only (states): every state named belongs to this group (true when none is named);
    at_least / at_most (states): how many states are named.
    """

    any: list[str] | None = None
    all: list[str] | None = None
    none: list[str] | None = None
    only: str | None = None
    at_least: int | None = Field(default=None, ge=0, le=limits.MAX_VALUES)
    at_most: int | None = Field(default=None, ge=0, le=limits.MAX_VALUES)

    @model_validator(mode="after")
    def _some_mode(self) -> SetTest:
        if all(getattr(self, m) is None for m in SET_MODES):
            raise ValueError("give at least one of " + ", ".join(f"'{m}'" for m in SET_MODES))
        return self

    @property
    def values(self) -> list[str]:
        """Every value the test names (for validation and look-ups)."""
        return [v for m in ("any", "all", "none") for v in getattr(self, m) or []]


class SeverityTest(Strict):
    at_least: str | None = None
    at_most: str | None = None


class Tests(Strict):
    """Tests on the descriptor itself; all given tests must hold."""

    type: list[str] | None = None
    category: list[str] | None = None
    region: list[str] | None = None
    actor: list[str] | None = None
    severity: list[str] | SeverityTest | None = None
    states: SetTest | None = None
    targets: SetTest | None = None
    attributes: dict[str, bool] | None = None
    derived: list[str] | None = None

    @field_validator("type", "category", "region", "actor", "derived", mode="before")
    @classmethod
    def _scalar_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("states", "targets", mode="before")
    @classmethod
    def _set_shorthand(cls, value: Any) -> Any:
        value = _as_list(value)
        return {"any": value} if isinstance(value, list) else value

    @field_validator("severity", mode="before")
    @classmethod
    def _severity_shorthand(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("type", "category", "region", "actor")
    @classmethod
    def _vocabulary(cls, v, info):
        vocabulary = _catalog(info).vocabulary
        pool = {
            "type": vocabulary.types,
            "category": vocabulary.categories,
            "region": vocabulary.regions,
            "actor": vocabulary.actors,
        }[info.field_name]
        if v is not None:
            _some(v)
        return None if v is None else _known(v, pool, info.field_name)

    @field_validator("severity")
    @classmethod
    def _severities(cls, v, info):
        pool = _catalog(info).vocabulary.severities
        if isinstance(v, list):
            _some(v)
            return _known(v, pool, "severity")
        if isinstance(v, SeverityTest):
            given = [x for x in (v.at_least, v.at_most) if x is not None]
            if not given:
                raise ValueError("give 'at_least' or 'at_most'")
            _known(given, pool, "severity")
        return v

    @field_validator("states", "targets", "attributes")
    @classmethod
    def _values(cls, v, info):
        if v is None:
            return v
        cat = _catalog(info)
        pool, what = {
            "states": (list(cat.states) + list(cat.state_groups), "state"),
            "targets": (cat.vocabulary.targets, "target"),
            "attributes": (cat.vocabulary.attributes, "attribute"),
        }[info.field_name]
        if info.field_name == "attributes":
            _some(v)
        for mode in ("any", "all", "none") if info.field_name != "attributes" else ():
            if getattr(v, mode) is not None and not getattr(v, mode):
                raise ValueError(f"'{mode}' needs at least one value")
            if getattr(v, mode) is not None:
                _some(getattr(v, mode), f"values in '{mode}'")
        _known(list(v) if info.field_name == "attributes" else v.values, pool, what)
        if info.field_name == "targets" and any(getattr(v, m) is not None for m in ("only", "at_least", "at_most")):
            raise ValueError("'only', 'at_least' and 'at_most' are tests on states")
        if info.field_name == "states":
            if v.only is not None and v.only not in cat.state_groups:
                raise ValueError(
                    f"only: '{v.only}' is not a group of states (did you mean {nearest(v.only, cat.state_groups)}?)"
                )
            if v.at_least is not None and v.at_most is not None and v.at_least > v.at_most:
                raise ValueError("at_least is more than at_most")
        return v

    @field_validator("derived")
    @classmethod
    def _derived_facts(cls, v, info):
        if v is not None:
            _some(v)
        return None if v is None else _known(v, _catalog(info).vocabulary.derived, "derived fact")

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in Tests.model_fields)


class When(Tests):
    """A rule's conditions: descriptor tests, alternatives, an exception, and earlier conclusions.

    `derived` may name any derived fact here (an earlier conclusion); inside `any` and
    `unless` blocks only the document's distinctions, which the descriptor alone decides.
    """

    any: list[Tests] | None = None
    unless: list[Tests] | None = None
    frameworks: list[str] | None = None
    agencies: list[str] | None = None
    count: dict[str, int] | None = None

    @field_validator("frameworks", "agencies", mode="before")
    @classmethod
    def _join_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("unless", mode="before")
    @classmethod
    def _unless_blocks(cls, value: Any) -> Any:
        # one block of tests, or a list of blocks: the rule is silent when any block holds
        return [value] if isinstance(value, dict) else value

    @field_validator("frameworks")
    @classmethod
    def _frameworks(cls, v, info):
        if v is not None:
            _some(v)
        return None if v is None else _known(v, _catalog(info).frameworks, "framework")

    @field_validator("agencies")
    @classmethod
    def _agencies(cls, v, info):
        if v is not None:
            _some(v)
        return None if v is None else _known(v, _catalog(info).agencies, "agency")

    @field_validator("count")
    @classmethod
    def _count(cls, v, info):
        if v is None:
            return v
        _some(v)
        pool = _catalog(info).count_keys()
        _known(list(v), pool, "count (agencies, frameworks, states, sectors, a layer or a sector)")
        for key, n in v.items():
            if n < 1:
                raise ValueError(f"count of {key} must be at least 1")
        return v

    @field_validator("any")
    @classmethod
    def _any(cls, v):
        if v is not None and len(v) < 2:
            raise ValueError("'any' needs at least two alternatives")
        return v

    @field_validator("any", "unless")
    @classmethod
    def _blocks(cls, v, info):
        # an empty block is an empty $and or $or for the engine (it loops, or the rule never compiles);
        # a repeated one fires the rule once more for the same fact (65 at once crash the engine)
        if v is None:
            return v
        what = "alternative" if info.field_name == "any" else "'unless' block"
        _some(v, "alternatives" if info.field_name == "any" else "'unless' blocks")
        seen: dict[str, int] = {}
        for i, block in enumerate(v, 1):
            if block.is_empty():
                raise ValueError(f"{what} {i} has no test")
            key = json.dumps(block.model_dump(exclude_none=True), sort_keys=True, default=str)
            if key in seen:
                raise ValueError(f"{what} {i} repeats {what} {seen[key]}")
            seen[key] = i
        return v

    @model_validator(mode="after")
    def _blocks_name_distinctions(self, info: ValidationInfo) -> When:
        distinctions = _catalog(info).vocabulary.distinctions
        for where, blocks in (("any", self.any or []), ("unless", self.unless or [])):
            for i, block in enumerate(blocks):
                for name in block.derived or []:
                    if name not in distinctions:
                        raise ValueError(
                            f"{where}.{i}.derived: '{name}' is not one of the document's distinctions; "
                            f"only those may be tested inside '{where}' (others only as 'when: derived')"
                        )
        return self

    def descriptor_tests(self) -> Tests:
        """The tests on the descriptor itself, the document's distinctions among them."""
        return Tests.model_construct(**{f: getattr(self, f) for f in Tests.model_fields})


class Then(Strict):
    """What a rule concludes. An agency is given a role (`lead`), or a role with a note saying
    why (`{role: lead, note: ...}`); the notes are kept apart in `role_notes`."""

    derive: list[str] = []
    frameworks: list[str] = []
    states: list[str] = []
    involved_states: bool = False
    members_of: list[str] = []
    agencies: dict[str, str] = {}
    role_notes: dict[str, str] = {}
    measures: list[str] = []
    caveats: list[str] = []

    def concluded(self, kind: str) -> Sequence[str]:
        """What the rule concludes of a kind (`derived`, `frameworks`, `agencies`, `caveats`, `measures`)."""
        return self.derive if kind == "derived" else getattr(self, kind)

    @model_validator(mode="before")
    @classmethod
    def _role_notes(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("agencies"), dict):
            return data
        if "role_notes" in data:
            raise ValueError("give an agency's note as agencies: {id: {role: ..., note: ...}}")
        roles, notes = {}, {}
        for agency, value in data["agencies"].items():
            if isinstance(value, dict):
                extra = set(value) - {"role", "note"}
                if extra or "role" not in value:
                    raise ValueError(f"agencies.{agency}: give a role, or {{role: ..., note: ...}}")
                roles[agency] = value["role"]
                if value.get("note") is not None:
                    notes[agency] = value["note"]
            else:
                roles[agency] = value
        return {**data, "agencies": roles, "role_notes": notes}

    @field_validator("derive", "frameworks", "states", "members_of", "measures", "caveats", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("derive")
    @classmethod
    def _derive(cls, v, info):
        return _known(v, _catalog(info).vocabulary.derived, "derived fact")

    @field_validator("frameworks", "members_of")
    @classmethod
    def _frameworks(cls, v, info):
        return _known(v, _catalog(info).frameworks, "framework")

    @field_validator("states")
    @classmethod
    def _states(cls, v, info):
        cat = _catalog(info)
        return _known(v, list(cat.states) + list(cat.state_groups), "state")

    @field_validator("agencies")
    @classmethod
    def _agencies(cls, v, info):
        cat = _catalog(info)
        _known(list(v), cat.agencies, "agency")
        for agency, role in v.items():
            if role not in cat.vocabulary.roles:
                raise ValueError(
                    f"{agency}: unknown role '{role}' (did you mean {nearest(str(role), cat.vocabulary.roles)}?)"
                )
        return v

    @field_validator("measures")
    @classmethod
    def _measures(cls, v, info):
        return _known(v, _catalog(info).measures, "measure")

    @field_validator("caveats")
    @classmethod
    def _caveats(cls, v, info):
        return _known(v, _catalog(info).caveats, "caveat")

    @model_validator(mode="after")
    def _something(self) -> Then:
        if not any(getattr(self, f) for f in Then.model_fields):
            raise ValueError("a rule must conclude something")
        for agency, note in self.role_notes.items():
            if not isinstance(note, str) or len(note.strip()) < 10:
                raise ValueError(f"agencies.{agency}: a note says why, in a sentence")
        return self


class Rule(Strict):
    """One rule: conditions on a threat, what follows, and the recommendations behind it."""

    id: str
    cites: list[str] = Field(min_length=1)
    because: str = Field(min_length=10, max_length=400)
    basis: Literal["document", "general_knowledge"] = "document"
    quote: str | None = Field(default=None, min_length=10, max_length=400)
    note: str | None = None
    when: When
    then: Then
    file: str = ""
    line: int = 0

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not RULE_ID.match(v) or len(v) > 80:
            raise ValueError(f"rule id '{v}' must be lower-case words joined by hyphens, e.g. 'r12-piracy-wpns'")
        return v

    @field_validator("cites", mode="before")
    @classmethod
    def _cites_list(cls, value: Any) -> Any:
        return [str(x) for x in _as_list(value)] if isinstance(_as_list(value), list) else value

    @field_validator("cites")
    @classmethod
    def _cites(cls, v, info):
        cat = _catalog(info)
        for c in v:
            cat.citation(c)
        return v

    @model_validator(mode="after")
    def _has_condition(self, info: ValidationInfo) -> Rule:
        w = self.when
        if w.descriptor_tests().is_empty() and not (w.any or w.unless or w.frameworks or w.agencies or w.count):
            raise ValueError("a rule needs at least one condition")
        if self.basis == "general_knowledge" and not self.note:
            raise ValueError("a rule with basis general_knowledge needs a 'note' saying what goes beyond the document")
        if self.basis == "document":
            if not self.quote:
                raise ValueError(
                    "a rule with basis document needs a 'quote': a short verbatim span of the "
                    "document's sentence it rests on (a rule with none is general_knowledge)"
                )
            if len(self.quote.split()) > MAX_QUOTE_WORDS:
                raise ValueError(f"quote: at most {MAX_QUOTE_WORDS} words of the sentence the rule rests on")
        cat = _catalog(info)
        if self.basis == "document":
            for agency, role in self.then.agencies.items():
                if role == "participate":
                    if not set(cat.agencies[agency].named_in) & set(self.numbers):
                        raise ValueError(
                            f"then.agencies.{agency}: the document does not name the {cat.agencies[agency].name}, or "
                            f"its kind of body, in what this rule cites (agencies.yaml named_in); give its part "
                            f"in a general_knowledge rule with a note saying why"
                        )
                    continue
                if not set(cat.agencies[agency].assigned.get(role, [])) & set(self.numbers):
                    raise ValueError(
                        f"then.agencies.{agency}: the document does not give the {cat.agencies[agency].name} the "
                        f"role '{role}' in what this rule cites; a document rule may say it takes part "
                        f"('participate'): give the role in a general_knowledge rule with a note saying why"
                    )
            if self.then.role_notes:
                raise ValueError("then.agencies: notes on roles belong to general_knowledge rules")
        distinctions = cat.vocabulary.distinctions
        made = [d for d in self.then.derive if d in distinctions]
        if made:
            then = self.then
            if (
                len(made) != len(then.derive)
                or then.frameworks
                or then.states
                or then.involved_states
                or then.members_of
                or then.agencies
                or then.measures
                or then.caveats
            ):
                raise ValueError("a rule that derives one of the document's distinctions derives only distinctions")
            if w.frameworks or w.agencies or w.count or any(d not in distinctions for d in w.derived or []):
                raise ValueError(
                    "a distinction is decided by the descriptor alone: its rule cannot wait for "
                    "frameworks, agencies, counts or derived facts that are not distinctions"
                )
        return self

    @property
    def numbers(self) -> list[int]:
        """The recommendation numbers the rule cites (items folded into their recommendation)."""
        return _numbers_of(tuple(self.cites))


def states_of(rule: Rule, catalog: Catalog, involved: Sequence[str] = (), basis: str | None = None) -> dict[str, str]:
    """The states a rule brings in (given the descriptor's states), each with the basis for it.

    `basis` is the firing's own (general knowledge when a premise rests on it); default the rule's.
    """
    out: dict[str, str] = {}
    then = rule.then
    own = basis or rule.basis
    for code in catalog.expand_states(then.states):
        out.setdefault(code, own)
    if then.involved_states:
        for code in involved:
            out.setdefault(code, own)
    for fw in then.members_of:
        framework = catalog.frameworks[fw]
        basis = "document" if own == "document" and framework.basis == "document" else "general_knowledge"
        for code in framework.members:
            if out.get(code) != "document":
                out[code] = basis
    return out


def concludes(rule: Rule, kind: str, ref: str, catalog: Catalog, involved: Sequence[str] = ()) -> bool:
    """Whether the rule, when it fires, concludes `ref` of `kind` (a kind of `catalog.KINDS`; a
    recommendation it cites counts)."""
    then = rule.then
    if kind == "recommendations":  # a rule that only decides distinctions is a premise, not an answer
        premise = bool(then.derive) and set(then.derive) <= set(catalog.vocabulary.distinctions)
        return not premise and int(ref) in rule.numbers
    if kind == "states":
        return ref in states_of(rule, catalog, involved)
    return ref in then.concluded(kind)


@functools.lru_cache(maxsize=4096)
def _numbers_of(cites: tuple[str, ...]) -> list[int]:
    return sorted({int(c[: len(c) - len(c.lstrip("0123456789"))]) for c in cites})  # the leading digits


class RuleFile(Strict):
    about: str | None = None
    rules: list[dict] = Field(min_length=1)


@dataclass
class Rulebase:
    """A loaded rule base: the catalog, the rules in file order, and a digest of both."""

    catalog: Catalog
    rules: list[Rule]
    directory: str
    files: list[str]
    digest: str = ""
    by_id: dict[str, Rule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.rules}
        distinctions = set(self.catalog.vocabulary.distinctions)
        self.distinction_rules = [r.id for r in self.rules if r.then.derive and set(r.then.derive) <= distinctions]
        if not self.digest:
            digest = hashlib.sha256()
            digest.update(json.dumps(self.catalog.model_dump(mode="json", exclude={"source"}), sort_keys=True).encode())
            for rule in self.rules:
                digest.update(
                    json.dumps(rule.model_dump(mode="json", exclude={"file", "line"}), sort_keys=True).encode()
                )
            self.digest = digest.hexdigest()

    def producers(self, fact: str) -> list[Rule]:
        """The rules that derive a fact, in file order."""
        return [r for r in self.rules if fact in r.then.derive]

    @functools.cached_property
    def weighing(self) -> dict[str, tuple[str, ...]]:
        """Attribute -> the rules whose conditions test it (for or against), in file order."""
        out: dict[str, list[str]] = {}
        for rule in self.rules:
            w = rule.when
            for name in dict.fromkeys(
                a for block in [w, *(w.any or []), *(w.unless or [])] for a in (block.attributes or {})
            ):
                out.setdefault(name, []).append(rule.id)
        return {name: tuple(ids) for name, ids in out.items()}

    @functools.cached_property
    def bringing(self) -> dict[str, tuple[str, ...]]:
        """Attribute -> the rules (not distinctions) it can bring to fire: tested in `when` or `any`."""
        out: dict[str, list[str]] = {}
        premises = set(self.distinction_rules)
        for rule in self.rules:
            if rule.id in premises:
                continue
            w = rule.when
            for name in dict.fromkeys(a for block in [w, *(w.any or [])] for a in (block.attributes or {})):
                out.setdefault(name, []).append(rule.id)
        return {name: tuple(ids) for name, ids in out.items()}

    @property
    def used_attributes(self) -> frozenset[str]:
        """Every attribute some rule's conditions test (the others are noted as unused in an answer)."""
        return frozenset(self.weighing)

    def without(self, rule_ids: set[str]) -> Rulebase:
        """The same rule base with some rules switched off (a mutant, for mutation testing)."""
        return Rulebase(
            catalog=self.catalog,
            rules=[r for r in self.rules if r.id not in rule_ids],
            directory=self.directory,
            files=self.files,
        )


def distinctions_named(rule: Rule) -> list[tuple[str, bool]]:
    """The distinctions a rule's conditions name, each with whether it must hold (False: in `unless`)."""
    w = rule.when
    out = [(d, True) for d in w.derived or []]
    out += [(d, True) for block in w.any or [] for d in block.derived or []]
    out += [(d, False) for block in w.unless or [] for d in block.derived or []]
    return out


def distinction_order(rules: list[Rule], catalog: Catalog) -> list[str]:
    """The distinctions in an order where each comes after those its rules depend on.

    Raises ValueError naming the cycle when distinctions depend on each other in a ring.
    """
    names = catalog.vocabulary.distinctions
    needs: dict[str, set[str]] = {d: set() for d in names}
    for rule in rules:
        for made in rule.then.derive:
            if made in needs:
                needs[made] |= {d for d, _ in distinctions_named(rule) if d in needs}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(d: str, path: list[str]) -> None:
        if state.get(d) == 2:
            return
        if state.get(d) == 1:
            raise ValueError(" -> ".join(path[path.index(d) :] + [d]))
        state[d] = 1
        for n in sorted(needs[d], key=names.index):
            visit(n, path + [d])
        state[d] = 2
        order.append(d)

    for d in names:
        visit(d, [])
    return order
