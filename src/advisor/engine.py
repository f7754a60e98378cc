"""Running a rule base on durable-rules and turning its firings into an assessment.

advisor drives durable-rules' C engine (`durable_rules_engine`) directly: each ruleset is
created once per process (the engine cannot delete one) under the rule base's digest. An
assessment owns one engine state from its first assert to its `delete_state`, behind a
lock, so assessments never see each other. Forward chaining runs in steps: the facts a step
concludes are asserted together in the next, until nothing new follows.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic_core

from . import __version__
from .compiler import CATCH_ALL, Plan, View, compile_rulebase, conclusion_fact, tally_fact, threat_fact
from .errors import EngineError, EngineUnavailable
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
from .render import json_safe, json_unsafe
from .rules import Rule, Rulebase, states_of

SID = "assessment"
MAX_STEPS = 100
MAX_ABANDONED = 500  # states left behind after an engine failure; a ruleset holds at most 1024
ENGINE_ERRORS = {
    "302": "the threat has too many properties for the engine",
    "303": "too many rule conditions matched one fact at once",
    "202": "a number the engine cannot handle",
    "314": "a string too long for the engine",
}


def _durable():
    """durable-rules' C engine (`durable_rules_engine`), which advisor drives directly."""
    try:
        import durable_rules_engine
    except ImportError as exc:  # e.g. Python 3.13: undefined symbol PyEval_CallObject
        import sys

        raise EngineUnavailable(
            f"the rule engine durable-rules cannot be loaded on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} ({exc}); on Python 3.13 it must be built with "
            "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject: pip install --force-reinstall --no-cache-dir "
            "durable-rules==2.0.28 with that variable set (see the README's Python versions)"
        ) from None
    return durable_rules_engine


_HANDLES: dict[str, int] = {}  # ruleset name -> the engine's handle; a ruleset cannot be deleted
_LOCK = threading.RLock()
_REGISTERED: dict[str, Prepared] = {}
# After the engine fails on an assert (e.g. error 303), deleting that state segfaults: it is left
# behind, and its ruleset goes on with a fresh state id.
_SIDS: dict[str, str] = {}
_ABANDONED: list[tuple[str, str]] = []


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
            number, item = catalog.citation(r.recommendation)
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
class Prepared:
    """A rule base registered with the engine: its plan (compiled rules, strata, rulesets), and the
    conclusions some rule joins on (only those are asserted as facts: the others would only cost
    firings)."""

    plan: Plan
    watched: set[tuple[str, str]]
    tallied: set[str]
    orders: dict[str, dict[str, Any]]
    parts: Parts
    effects: dict[str, tuple]  # per rule, what its conclusions change in the view (`_effects`)
    wanted: dict[str, frozenset]  # per ruleset, the conclusions and tallies its rules join on
    states: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (rule, basis) -> its states
    registered: bool = False
    plain_text: bool | None = None  # no text of the rule base holds a character json_safe escapes


def _register(rulesets: dict[str, dict], dre) -> None:
    """Create each ruleset in the engine, as durable-rules' own `Host.register_rulesets` does (each
    rule's `run` taken out, the rest as JSON), without its Python layer: no actions to look up, no
    timer thread. A name already registered is kept."""
    for name, definition in rulesets.items():
        if name not in _HANDLES:
            body = {rid: {k: v for k, v in rule.items() if k != "run"} for rid, rule in definition.items()}
            _HANDLES[name] = dre.create_ruleset(name, json.dumps(body, ensure_ascii=False))


def _wanted(plan: Plan) -> dict[str, frozenset]:
    """Per ruleset, the keys of the facts some rule of it joins on: a conclusion (kind, ref) or a
    tally ("tally", of). Asserting any other fact there would only be refused by the engine."""
    out = {}
    for name, ruleset in plan.rulesets.items():
        joins = [j for rid in ruleset if rid != CATCH_ALL for j in plan.compiled[rid].joins]
        out[name] = frozenset((j.kind, j.ref) if hasattr(j, "ref") else ("tally", j.of) for j in joins)
    return out


def prepare(rulebase: Rulebase, *, register: bool = True) -> Prepared:
    """Compile a rule base and register it with the engine, once per process."""
    with _LOCK:
        prepared = _REGISTERED.get(rulebase.digest)
        if prepared is None:
            plan = compile_rulebase(rulebase)
            joins = [j for c in plan.compiled.values() for j in c.joins]
            prepared = Prepared(
                plan,
                watched={(j.kind, j.ref) for j in joins if hasattr(j, "ref")},
                tallied={j.of for j in joins if hasattr(j, "of")},
                orders=_orders(rulebase.catalog),
                parts=_parts(rulebase),
                effects=_effects(rulebase),
                wanted=_wanted(plan),
            )
            _REGISTERED[rulebase.digest] = prepared
        if register and not prepared.registered:
            dre = _durable()
            try:
                _register(prepared.plan.rulesets, dre)
            except dre.error as exc:
                raise EngineError(f"the engine refused the rule base: {exc}") from None
            prepared.registered = True
        return prepared


@dataclass
class Firing:
    rule: Rule
    step: int
    matched: dict[str, Any]
    states: dict[str, str]  # the states this firing brings in, with their basis
    basis: str = "document"  # the rule's basis, or general_knowledge when a premise rests on it
    weak: list[str] = field(default_factory=list)  # premises only general knowledge supports


@dataclass
class _Run:
    """The conclusions of one assessment as they accumulate."""

    view: View
    firings: list[Firing] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)
    supported: set[tuple[str, str]] = field(default_factory=set)  # concluded by a document-basis firing


def _sid(name: str) -> str:
    return _SIDS.get(name, SID)


def _abandon(name: str) -> None:
    """Leave a ruleset's failed state behind (deleting it would crash) and give the ruleset a new one."""
    _ABANDONED.append((name, _sid(name)))
    _SIDS[name] = f"{SID}-{len(_ABANDONED)}"


def _action_name(message: str) -> str:
    """The rule of an action message `{"<rule>": {...}}`, read without parsing the facts it carries."""
    end = message.find('"', 2)
    name = message[2:end]
    if message.startswith('{"') and end > 2 and "\\" not in name:
        return name
    return next(iter(json.loads(message)))


def _fact_key(fact: dict) -> tuple[str, str]:
    return ("tally", fact["of"]) if fact["kind"] == "tally" else (fact["kind"], fact["ref"])


def _assert(names: list[str], facts: list[dict], dre, wanted: dict[str, frozenset] | None = None) -> list[str]:
    """Assert facts into rulesets and collect the rules whose actions the engine starts, in order.

    This drives durable-rules' C engine (`durable_rules_engine`) directly, with the same rulesets
    and the same matching as its Python layer: that layer serialises the state to JSON and back,
    builds a closure and reads the clock for every action, most of an assessment's time. Our actions
    only record a name and change no state, so an action is completed as soon as it is started.
    """
    fired: list[str] = []
    texts: dict[tuple, str] = {}  # the facts as JSON, once per state id and choice of facts
    for name in names:
        chosen = facts
        if wanted is not None:  # a ruleset is given the threat, and only the conclusions it joins on
            chosen = [f for f in facts if f["kind"] == "threat" or _fact_key(f) in wanted[name]]
            if not chosen:
                continue
        sid = _sid(name)
        handle = _HANDLES[name]
        key = (sid, *map(id, chosen))
        if key not in texts:
            texts[key] = orjson.dumps([{**f, "sid": sid} for f in chosen]).decode()
        try:
            code, state = dre.assert_facts(handle, texts[key])
            if code == 2:  # only observed: the same fact twice, which chaining never asserts
                raise EngineError(f"the engine did not take the facts (code {code}) in ruleset {name}")
            # code 1: some fact no rule of this ruleset tests (a conclusion it does not join on); the
            # engine skipped it and took the others. The state itself was made by the threat fact,
            # which the catch-all rule takes (see DURABLE_RULES.md on states whose facts were refused).
            state = 0 if code == 3 else state  # as durable-rules' own layer does
            action = dre.start_action_for_state(handle, state)
            while action:
                fired.append(_action_name(action[1]))
                following = dre.complete_and_start_action(handle, state)
                action = (None, following) if following else None
        except dre.error as exc:
            _abandon(name)
            code = str(exc).rsplit(" ", 1)[-1]
            raise EngineError(f"the engine failed: {ENGINE_ERRORS.get(code, str(exc))}") from None
    return fired


def run(threat: Descriptor, rulebase: Rulebase, matcher=None) -> _Run:
    """Fire the rule base on one threat; returns every firing in order, with its step.

    The first steps decide the document's distinctions on the descriptor alone, a level a
    step; they become flags on the threat fact, and forward chaining goes on until nothing
    new follows. `matcher(stratum, facts, view, fired)` may replace durable-rules (the
    plain-Python reference evaluator in advisor.reference does, for tests and benchmarks);
    `stratum` is a level's number or "rest", and it returns the ids of the rules of that
    stratum that fire on the new facts.
    """
    if matcher is not None:
        return _chain(threat, rulebase, matcher)
    prepared = prepare(rulebase)
    plan = prepared.plan
    dre = _durable()
    names: dict[int | str, list[str]] = {i: level for i, level in enumerate(plan.level_rulesets)}
    names["rest"] = plan.rest_rulesets
    with _LOCK, _interrupts_held():
        if len(_ABANDONED) >= MAX_ABANDONED:
            raise EngineError(f"the engine failed {len(_ABANDONED)} times in this process; start it again")
        abandoned = len(_ABANDONED)
        try:
            return _chain(
                threat,
                rulebase,
                lambda stratum, facts, view, fired: _assert(
                    names[stratum], facts, dre, prepared.wanted if stratum == "rest" else None
                ),
                prepared,
            )
        finally:
            left = {name for name, _ in _ABANDONED[abandoned:]}
            for name in [n for level in plan.level_rulesets for n in level] + plan.rest_rulesets:
                if name in left:
                    continue  # deleting a state the engine failed on segfaults
                try:
                    dre.delete_state(_HANDLES[name], _sid(name))
                except dre.error:
                    pass  # the state was never created (no fact reached this ruleset)


@contextlib.contextmanager
def _interrupts_held():
    """Hold Ctrl-C while durable-rules runs: an interrupt raised inside its callbacks is printed by the
    engine as a traceback and can leave its state half-made. Python sees it as soon as the engine returns."""
    held = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
    if held:
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _chain(threat: Descriptor, rulebase: Rulebase, fire, prepared: Prepared | None = None) -> _Run:
    """Forward chaining in steps, with `fire(stratum, facts, view, fired)` matching the rules."""
    prepared = prepared or prepare(rulebase, register=False)
    plan, catalog = prepared.plan, rulebase.catalog
    fact = threat_fact(threat, catalog)
    result = _Run(view=View(fact=fact))
    view = result.view
    step = 0
    for level in range(len(plan.levels)):
        step += 1
        for rule_id in fire(level, [fact], view, result.fired):
            _record(rule_id, step, threat, rulebase, plan, result, prepared)
        for name in view.derived:
            fact[f"d_{name}"] = True
    facts = [fact]
    while facts:
        step += 1
        if step > MAX_STEPS:
            raise EngineError("forward chaining did not settle")
        fired = fire("rest", facts, view, result.fired)
        facts = []
        counts_before = dict(view.counts)
        for rule_id in fired:
            new = _record(rule_id, step, threat, rulebase, plan, result, prepared)
            facts.extend(f for f in new if (f["kind"], f["ref"]) in prepared.watched)
        for of, n in view.counts.items():
            if counts_before.get(of) != n and of in prepared.tallied:
                facts.append(tally_fact(of, n))
    return result


def _record(
    rule_id: str, step: int, threat: Descriptor, rulebase: Rulebase, plan: Plan, result: _Run, prepared: Prepared
) -> list[dict]:
    """Record one firing (once per rule: `$or` may fire a rule twice); returns the new facts it concludes."""
    if rule_id == CATCH_ALL or rule_id in result.fired:
        return []
    compiled = plan.compiled[rule_id]
    rule, view = compiled.rule, result.view
    result.fired.add(rule_id)
    weak = [f"{kind} {ref}" for kind, ref in compiled.premises(view) if not _supported(kind, ref, view, result)]
    basis = "document" if rule.basis == "document" and not weak else "general_knowledge"
    if rule.then.involved_states:
        states = states_of(rule, rulebase.catalog, threat.states, basis)
    else:  # the same for every threat: worked out once per rule and basis
        key = (rule_id, basis)
        cached = prepared.states.get(key)
        if cached is None:
            cached = prepared.states[key] = states_of(rule, rulebase.catalog, (), basis)
        states = cached
    firing = Firing(rule, step, compiled.evidence(view), states, basis, weak)
    result.firings.append(firing)
    return _conclude(firing, view, prepared.effects[rule_id], result.supported)


def _supported(kind: str, ref: str, view: View, result: _Run) -> bool:
    """Whether a premise rests on the document: a conclusion some document-basis firing gave, or a
    count the document-supported conclusions alone reach."""
    if kind != "count":
        return (kind, ref) in result.supported
    of, n = ref.split(">=")
    return view.doc_counts.get(of, 0) >= int(n)


def _effects(rulebase: Rulebase) -> dict[str, tuple]:
    """Per rule, what each of its conclusions changes: (kind, ref, the view's table, the tallies it adds to,
    the agency's sector), in the order the rule gives them."""
    catalog = rulebase.catalog
    out = {}
    for rule in rulebase.rules:
        then = rule.then
        out[rule.id] = tuple(
            (
                kind,
                ref,
                table,
                tuple(catalog.tally_keys(kind, ref)) if kind != "derived" else (),
                catalog.agencies[ref].sector if kind == "agency" else None,
            )
            for kind, table, refs in (
                ("derived", "derived", then.derive),
                ("framework", "frameworks", then.frameworks),
                ("agency", "agencies", list(then.agencies)),
            )
            for ref in refs
        )
    return out


def _conclude(firing: Firing, view: View, effects: tuple, supported: set[tuple[str, str]]) -> list[dict]:
    """Record a firing's conclusions in the view; return the facts that are new to the engine.

    Tallies are kept twice: of everything concluded (what `count` tests), and of what the
    document supports (what decides whether a count rests on the document).
    """
    new: list[dict] = []
    rule_id = firing.rule.id
    document = firing.basis == "document"
    counts, doc_counts = view.counts, view.doc_counts
    for kind, ref, table_name, keys, sector in effects:
        table = getattr(view, table_name)
        if document and (kind, ref) not in supported:
            supported.add((kind, ref))
            for key in keys:
                doc_counts[key] = doc_counts.get(key, 0) + 1
            if sector is not None:
                view.doc_sectors.add(sector)
        if ref not in table:
            table[ref] = []
            new.append(conclusion_fact(kind, ref))
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
            if sector is not None:
                view.sectors.add(sector)
        table[ref].append(rule_id)
    counts["sectors"] = len(view.sectors)
    doc_counts["sectors"] = len(view.doc_sectors)
    if firing.states:
        view.states.update(firing.states)
        view.doc_states.update(code for code, basis in firing.states.items() if basis == "document")
    counts["states"] = len(view.states)
    doc_counts["states"] = len(view.doc_states)
    return new


# --- building the assessment ----------------------------------------------------------


def _basis(firings: list[Firing]) -> str:
    return "document" if any(f.basis == "document" for f in firings) else "general_knowledge"


def _numbers(firings: list[Firing]) -> list[int]:
    return sorted({n for f in firings for n in f.rule.numbers})


def _note(firing: Firing, agency: str | None = None, catalog=None) -> str | None:
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


def assess(threat: Descriptor, rulebase: Rulebase, matcher=None, carried: tuple[Descriptor, ...] = ()) -> Assessment:
    """Assess one threat with one rule base: every conclusion with the rules and recommendations behind it.

    The models are read back from the assessment's JSON, so that they say what its line says
    and share nothing mutable with the rule base.
    """
    data = assessment_data(threat, rulebase, matcher, carried)
    try:
        return _construct(Assessment, orjson.loads(orjson.dumps(data)))
    except orjson.JSONEncodeError:  # an integer past 64 bits, which orjson would also read back as a float
        return _construct(Assessment, json.loads(pydantic_core.to_json(data)))


def assess_json(threat: Descriptor, rulebase: Rulebase, matcher=None, carried: tuple[Descriptor, ...] = ()) -> str:
    """One assessment as one compact JSON line (no newline), as batch mode writes it: the bytes
    `json_safe(assess(...).model_dump_json())` would give, built without the models.

    `carried` are earlier situations of a scenario still in play (see api.assess).
    """
    data = assessment_data(threat, rulebase, matcher, carried)
    text = _dumps(data).decode()
    # json_safe scans the whole line (about 40 us): only needed when some text in it can hold a
    # character it escapes, the descriptor's own (and the notes naming its attributes) or the rule base's
    prepared = prepare(rulebase, register=False)
    if prepared.plain_text is None:
        prepared.plain_text = not json_unsafe(
            rulebase.catalog.model_dump_json() + "".join(r.model_dump_json() for r in rulebase.rules)
        )
    if prepared.plain_text and not json_unsafe(_dumps([data["threat"], data["notes"]]).decode()):
        return text
    return json_safe(text)


def _dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:  # an integer past 64 bits in an x_ field: pydantic's serialiser takes it
        return pydantic_core.to_json(data)


def assessment_data(
    threat: Descriptor, rulebase: Rulebase, matcher=None, carried: tuple[Descriptor, ...] = ()
) -> dict[str, Any]:
    """The assessment as JSON data, built in one pass over the firings from parts worked out when the
    rule base was prepared (`Prepared.parts`). Read only: values may be shared with the rule base.

    A conclusion's basis is `document` when some firing that rests on the document alone gives it.
    Rules that only decide the document's distinctions are in the trace but reach no
    recommendation: they are premises, not answers.
    """
    catalog = rulebase.catalog
    vocabulary = catalog.vocabulary
    prepared = prepare(rulebase, register=matcher is None)
    parts = prepared.parts
    result = run(threat, rulebase, matcher)
    for earlier in carried:
        _carry(result, run(earlier, rulebase, matcher))
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

    order = prepared.orders
    frameworks = []
    members: dict[str, list[str]] = {}
    for fid in sorted(by["frameworks"], key=order["framework"].__getitem__):
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
            {"role": f.rule.then.agencies[aid], "rule": f.rule.id, "basis": f.basis, "note": _note(f, aid, catalog)}
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
    agencies.sort(key=lambda a: (parts.role_rank[a["role"]], order["agency"][a["id"]]))

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


def _carry(result: _Run, earlier: _Run) -> None:
    """Add what an earlier situation still in play concluded to this run's conclusions."""
    for f in earlier.firings:
        if f.rule.id not in result.fired:
            result.firings.append(f)
            result.fired.add(f.rule.id)
    for name, rules in earlier.view.derived.items():
        result.view.derived.setdefault(name, rules)


def _idle_attributes(threat: Descriptor, rulebase: Rulebase, result: _Run) -> list[str]:
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
        "note": _note(f),
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
        "framework": {f: (layers[fw.layer], i) for i, (f, fw) in enumerate(catalog.frameworks.items())},
        "agency": {a: i for i, a in enumerate(catalog.agencies)},
        "measures": {m: i for i, m in enumerate(catalog.measures)},
        "caveats": {c: i for i, c in enumerate(catalog.caveats)},
    }
