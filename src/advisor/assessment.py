"""The assessment builder: the firings of one threat turned into an answer, every part traced.

Everything an answer shares across threats (each rule's trace entry, each catalog entry's
fixed fields, the sort orders) is worked out once per rule base (`Output`, kept in the
process's memory); an assessment is then built in one pass over the firings as plain data
(`build_data`), written by orjson (`build_json`, batch mode's line) and read back into the
models (`build`), so that the line and the models cannot disagree. Scenarios with injects
are assessed stage by stage in `advisor.stages`, which calls `build` per stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
import pydantic_core

from . import __version__
from .chaining import Firing, Firings, fire
from .compiler import compile_rulebase
from .models import (
    AgencyOut,
    Assessment,
    Descriptor,
    FrameworkOut,
    Meta,
    Nature,
    RecommendationOut,
    RemarkOut,
    RoleOut,
    StateOut,
    TraceEntry,
)
from .process import MEMORY
from .render.safe import json_safe, json_unsafe
from .rules import Rulebase


@dataclass(frozen=True)
class RuleParts:
    """What every firing of one rule shares in the output, worked out once."""

    head: dict[str, Any]  # the trace entry's fixed keys: rule, recommendations, citations, because
    quote: str | None
    before: dict[str, Any]  # `concluded` in output order: derived and frameworks, [states,]
    after: dict[str, Any]  # agencies, measures, caveats
    concluded: dict[str, Any]  # `concluded` of a firing that brings in no state
    cites_of: dict[int, tuple[str, ...]]  # recommendation -> the rule's citations of it


@dataclass(frozen=True)
class Parts:
    """The fixed parts of an assessment, per rule and per catalog entry, worked out once per rule base."""

    rules: dict[str, RuleParts]
    frameworks: dict[str, dict[str, Any]]  # id, name, status, layer, family, members, members_basis
    recommendations: dict[int, dict[str, Any]]  # number, title, group, summary
    measures: dict[str, dict[str, Any]]  # id, text, citation, recommendations
    caveats: dict[str, dict[str, Any]]
    item_of: dict[str, int]  # a citation -> its item (0 for a whole recommendation)
    role_rank: dict[str, int]
    premises_only: frozenset[str]
    meta: dict[str, Any]


def _parts(rulebase: Rulebase) -> Parts:
    """The fixed parts of every rule's and catalog entry's output."""
    catalog = rulebase.catalog
    rules = {}
    item_of: dict[str, int] = {}
    for rule in rulebase.rules:
        then = rule.then
        before = {k: list(v) for k, v in (("derived", then.derive), ("frameworks", then.frameworks)) if v}
        after = {
            k: v
            for k, v in (
                ("agencies", dict(then.agencies)),
                ("measures", list(then.measures)),
                ("caveats", list(then.caveats)),
            )
            if v
        }
        cites_of: dict[int, list[str]] = {}
        for c in rule.cites:
            number, item = catalog.citation(c)
            item_of[c] = item or 0
            cites_of.setdefault(number, []).append(c)
        rules[rule.id] = RuleParts(
            head={
                "rule": rule.id,
                "recommendations": list(rule.numbers),
                "citations": list(rule.cites),
                "because": rule.because,
            },
            quote=rule.quote,
            before=before,
            after=after,
            concluded={**before, **after},
            cites_of={n: tuple(cites_of.get(n, ())) for n in rule.numbers},
        )

    def remark(kind: str) -> dict[str, dict[str, Any]]:
        out = {}
        for rid, r in getattr(catalog, kind).items():
            number, _ = catalog.citation(r.recommendation)
            out[rid] = {"id": rid, "text": r.text, "citation": r.recommendation, "recommendations": [number]}
        return out

    return Parts(
        rules=rules,
        frameworks={
            fid: {
                "id": fid,
                "name": fw.name,
                "status": fw.status,
                "layer": fw.layer,
                "family": fw.family,
                "members": list(fw.members),
                "members_basis": fw.basis,
            }
            for fid, fw in catalog.frameworks.items()
        },
        recommendations={
            n: {"number": n, "title": r.title, "group": r.group, "summary": r.summary}
            for n, r in catalog.recommendations.items()
        },
        measures=remark("measures"),
        caveats=remark("caveats"),
        item_of=item_of,
        role_rank={role: catalog.vocabulary.role_rank(role) for role in catalog.vocabulary.roles},
        premises_only=frozenset(rulebase.distinction_rules),
        meta={"version": __version__, "rulebase": rulebase.digest[:16], "rules": len(rulebase.rules)},
    )


@dataclass
class Output:
    """What every assessment under one rule base shares, worked out once per process."""

    parts: Parts
    orders: dict[str, dict[str, Any]]
    plain_text: bool | None = None  # no text of the rule base holds a character json_safe escapes
    # (worked out when batch mode first needs it: dumping the catalog builds pydantic's serialiser,
    # some 25 ms of a cold start that the models' path never needs)


def output_of(rulebase: Rulebase) -> Output:
    """The rule base's `Output`, from the process's memory (`chaining.release` forgets it)."""
    found = MEMORY.outputs.get(rulebase.digest)
    if found is None:
        found = MEMORY.outputs[rulebase.digest] = Output(parts=_parts(rulebase), orders=_orders(rulebase.catalog))
    return found


def _plain_text(rulebase: Rulebase) -> bool:
    """Whether no text of the rule base holds a character json_safe escapes (once per rule base)."""
    output = output_of(rulebase)
    if output.plain_text is None:
        output.plain_text = not json_unsafe(
            rulebase.catalog.model_dump_json() + "".join(r.model_dump_json() for r in rulebase.rules)
        )
    return output.plain_text


def _basis(firings: list[Firing]) -> str:
    return "document" if any(f.basis == "document" for f in firings) else "general_knowledge"


def _numbers(firings: list[Firing]) -> list[int]:
    return sorted({n for f in firings for n in f.rule.numbers})


def note_of(firing: Firing, agency: str | None = None, catalog=None) -> str | None:
    """Why a firing's conclusion is general knowledge (the role's note, the rule's, or its weak premises),
    or, for a body a document rule says takes part, the document's words for that kind of body."""
    rule = firing.rule
    if agency is not None and agency in rule.then.role_notes:
        return rule.then.role_notes[agency]
    if rule.basis == "general_knowledge":
        return rule.note
    if firing.weak:
        return "the document's reasoning, applied to what rests on general knowledge: " + ", ".join(firing.weak)
    if agency is not None and catalog is not None and rule.then.agencies.get(agency) == "participate":
        named = catalog.agencies[agency].named_in
        words = [f"'{named[n]}' ({n})" for n in rule.numbers if n in named]
        return "the document names " + "; ".join(words) + "; it gives no role"
    return None


def build(threat: Descriptor, rulebase: Rulebase, matcher=None, carried: tuple[Descriptor, ...] = ()) -> Assessment:
    """Assess one threat with one rule base: every conclusion with the rules and recommendations behind it.

    The models are read back from the assessment's JSON, so that they say what its line says
    and share nothing mutable with the rule base.
    """
    data = build_data(threat, rulebase, matcher, carried)
    try:
        return _construct(Assessment, orjson.loads(orjson.dumps(data)))
    except orjson.JSONEncodeError:  # an integer past 64 bits, which orjson would also read back as a float
        return _construct(Assessment, json.loads(pydantic_core.to_json(data)))


def build_json(threat: Descriptor, rulebase: Rulebase, matcher=None, carried: tuple[Descriptor, ...] = ()) -> str:
    """One assessment as one compact JSON line (no newline), as batch mode writes it: the bytes
    `json_safe(build(...).model_dump_json())` would give, built without the models.

    `carried` are earlier situations of a scenario still in play (see `stages.assess_threat`).
    """
    data = build_data(threat, rulebase, matcher, carried)
    text = _dumps(data).decode()
    # json_safe scans the whole line (about 40 us): only needed when some text in it can hold a
    # character it escapes, the descriptor's own (and the notes naming its attributes) or the rule base's
    if _plain_text(rulebase) and not json_unsafe(_dumps([data["threat"], data["notes"]]).decode()):
        return text
    return json_safe(text)


def _dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:  # an integer past 64 bits in an x_ field: pydantic's serialiser takes it
        return pydantic_core.to_json(data)


def build_data(
    threat: Descriptor, rulebase: Rulebase, matcher=None, carried: tuple[Descriptor, ...] = ()
) -> dict[str, Any]:
    """The assessment as JSON data, built in one pass over the firings from parts worked out when the
    rule base was first used (`Output`). Read only: values may be shared with the rule base.

    A conclusion's basis is `document` when some firing that rests on the document alone gives it.
    Rules that only decide the document's distinctions are in the trace but reach no
    recommendation: they are premises, not answers.
    """
    catalog = rulebase.catalog
    vocabulary = catalog.vocabulary
    output = output_of(rulebase)
    parts = output.parts
    result = fire(threat, rulebase, matcher)
    for earlier in carried:
        _carry(result, fire(earlier, rulebase, matcher))
    premises_only = parts.premises_only
    by: dict[str, dict[str, list[Firing]]] = {k: {} for k in ("frameworks", "agencies", "measures", "caveats")}
    by_number: dict[int, list[Firing]] = {}
    state_firings: dict[str, list[tuple[Firing, str]]] = {}
    for f in result.firings:
        then = f.rule.then
        for kind, refs in (
            ("frameworks", then.frameworks),
            ("agencies", then.agencies),
            ("measures", then.measures),
            ("caveats", then.caveats),
        ):
            if refs:
                table = by[kind]
                for ref in refs:
                    table.setdefault(ref, []).append(f)
        if f.rule.id not in premises_only:
            for n in f.rule.numbers:
                by_number.setdefault(n, []).append(f)
        for code, basis in f.states.items():
            state_firings.setdefault(code, []).append((f, basis))

    order = output.orders
    frameworks = []
    members: dict[str, list[str]] = {}
    for fid in sorted(by["frameworks"], key=order["frameworks"].__getitem__):
        firings = by["frameworks"][fid]
        frameworks.append(
            {
                **parts.frameworks[fid],
                "recommendations": _numbers(firings),
                "rules": [f.rule.id for f in firings],
                "basis": _basis(firings),
            }
        )
        for code in catalog.frameworks[fid].members:
            members.setdefault(code, []).append(fid)

    states = []
    for code in sorted(state_firings):
        pairs = state_firings[code]
        firings = [f for f, _ in pairs]
        states.append(
            {
                "code": code,
                "name": catalog.state_name(code),
                "frameworks": members.get(code, []),
                "recommendations": _numbers(firings),
                "rules": [f.rule.id for f in firings],
                "basis": "document" if any(b == "document" for _, b in pairs) else "general_knowledge",
            }
        )

    agencies: list[dict[str, Any]] = []
    for aid, firings in by["agencies"].items():  # the strongest role any rule gives
        roles: list[dict[str, Any]] = [
            {"role": f.rule.then.agencies[aid], "rule": f.rule.id, "basis": f.basis, "note": note_of(f, aid, catalog)}
            for f in firings
        ]
        role = min((x["role"] for x in roles), key=parts.role_rank.__getitem__)
        role_basis = (
            "document" if any(x["role"] == role and x["basis"] == "document" for x in roles) else "general_knowledge"
        )
        agencies.append(
            {
                "id": aid,
                "name": catalog.agencies[aid].name,
                "role": role,
                "role_basis": role_basis,
                "roles": roles,
                "recommendations": _numbers(firings),
                "rules": [f.rule.id for f in firings],
                "basis": _basis(firings),
            }
        )
    agencies.sort(key=lambda a: (parts.role_rank[a["role"]], order["agencies"][a["id"]]))

    def remarks(kind: str) -> list[dict[str, Any]]:
        fixed = getattr(parts, kind)
        return [
            {**fixed[rid], "rules": [f.rule.id for f in by[kind][rid]], "basis": _basis(by[kind][rid])}
            for rid in sorted(by[kind], key=order[kind].__getitem__)
        ]

    recommendations = []
    for number in sorted(by_number):
        firings = by_number[number]
        cites = sorted(
            {c for f in firings for c in parts.rules[f.rule.id].cites_of[number]}, key=parts.item_of.__getitem__
        )
        recommendations.append(
            {
                **parts.recommendations[number],
                "citations": cites,
                "rules": [f.rule.id for f in firings],
                "basis": _basis(firings),
            }
        )

    trace = [_trace_entry(f, parts.rules[f.rule.id]) for f in result.firings]
    derived = result.view.derived
    notes = [f"attribute '{a}' is not used by any rule" for a in threat.attributes if a not in rulebase.used_attributes]
    notes += _idle_attributes(threat, rulebase, result)
    notes += [note for d in derived if (note := vocabulary.derived[d].note)]
    leads = [a["name"] for a in agencies if a["role"] == "lead"]
    if len(leads) > 1:
        notes.append("more than one body leads: " + " and ".join(leads) + "; each leads its own part (see roles)")
    if not any(f.rule.id not in premises_only for f in result.firings):
        notes.append("no recommendation of the document applies to this threat")
    category = next((d for d in derived if d in vocabulary.categories), vocabulary.types[threat.type].category)
    return {
        "threat": threat.to_output(),
        "nature": {"category": category, "derived": list(derived)},
        "recommendations": recommendations,
        "frameworks": frameworks,
        "states": states,
        "agencies": agencies,
        "measures": remarks("measures"),
        "caveats": remarks("caveats"),
        "trace": trace,
        "notes": notes,
        "advisor": parts.meta,
    }


def _carry(result: Firings, earlier: Firings) -> None:
    """Add what an earlier situation still in play concluded to this run's conclusions."""
    for f in earlier.firings:
        if f.rule.id not in result.fired:
            result.firings.append(f)
            result.fired.add(f.rule.id)
    for name, rules in earlier.view.derived.items():
        result.view.derived.setdefault(name, rules)


def _idle_attributes(threat: Descriptor, rulebase: Rulebase, result: Firings) -> list[str]:
    """Notes on attributes the descriptor sets that could bring a conclusion but bore on nothing
    here: no rule testing one fired, and none was kept from firing by it (an `unless` it makes hold)."""
    compiled = compile_rulebase(rulebase).compiled
    fired = {f.rule.id for f in result.firings}
    out = []
    for name, value in threat.attributes.items():
        weighers = rulebase.weighing.get(name, ())
        if not value or not rulebase.bringing.get(name) or fired & set(weighers):
            continue
        if any(
            getattr(t, "prefix", None) == "a_" and name in t.values
            for rid in weighers
            for block in compiled[rid].held_back(result.view)
            for t in block
        ):
            continue
        bringers = rulebase.bringing[name]
        listed = ", ".join(bringers[:3]) + (", ..." if len(bringers) > 3 else "")
        out.append(f"attribute '{name}' bears on no conclusion here: the rules it could bring ({listed}) do not apply")
    return out


def _trace_entry(f: Firing, part: RuleParts) -> dict[str, Any]:
    concluded = {**part.before, "states": sorted(f.states), **part.after} if f.states else part.concluded
    return {
        "step": f.step,
        **part.head,
        "basis": f.basis,
        "quote": part.quote,
        "note": note_of(f),
        "matched": f.matched,
        "concluded": concluded,
    }


def _construct(cls, data: dict[str, Any]):
    """An output model from data it was serialised from, without validating it again (as
    model_construct, with every field given, nested models included)."""
    values = {}
    for name, field_info in cls.model_fields.items():
        if name not in data:
            values[name] = field_info.default
            continue
        value, inner = data[name], _NESTED.get((cls, name))
        if inner is not None and value is not None:
            value = [_construct(inner, v) for v in value] if isinstance(value, list) else _construct(inner, value)
        values[name] = value
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", set(data))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


_NESTED = {
    (Assessment, "nature"): Nature,
    (Assessment, "recommendations"): RecommendationOut,
    (Assessment, "frameworks"): FrameworkOut,
    (Assessment, "states"): StateOut,
    (Assessment, "agencies"): AgencyOut,
    (Assessment, "measures"): RemarkOut,
    (Assessment, "caveats"): RemarkOut,
    (Assessment, "trace"): TraceEntry,
    (Assessment, "advisor"): Meta,
    (AgencyOut, "roles"): RoleOut,
}


def _orders(catalog) -> dict[str, dict[str, Any]]:
    """Sort keys of the catalog's entries (frameworks by layer, then catalog order); kept per rule base."""
    layers = {layer: i for i, layer in enumerate(catalog.vocabulary.layers)}
    return {
        "frameworks": {f: (layers[fw.layer], i) for i, (f, fw) in enumerate(catalog.frameworks.items())},
        "agencies": {a: i for i, a in enumerate(catalog.agencies)},
        "measures": {m: i for i, m in enumerate(catalog.measures)},
        "caveats": {c: i for i, c in enumerate(catalog.caveats)},
    }
