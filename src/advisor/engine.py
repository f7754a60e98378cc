"""Running a rule base on durable-rules and turning its firings into an assessment.

One Host per process (durable-rules cannot delete a ruleset); each rule base is
registered once under its digest. An assessment owns one engine state from its
first assert to its `delete_state`, behind a lock, so assessments never see each
other. Forward chaining runs in steps: the facts a step concludes are asserted
together in the next, until nothing new follows.
"""
from __future__ import annotations

import contextlib
import copy
import json
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .compiler import CATCH_ALL, Plan, View, compile_rulebase, conclusion_fact, tally_fact, threat_fact
from .errors import EngineError, EngineUnavailable
from .models import (AgencyOut, Assessment, Descriptor, FrameworkOut, Meta, Nature, RecommendationOut,
                     RemarkOut, RoleOut, StateOut, TraceEntry)
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
    try:
        import durable_rules_engine
        from durable import engine
    except ImportError as exc:  # e.g. Python 3.13: undefined symbol PyEval_CallObject
        import sys

        raise EngineUnavailable(
            f"the rule engine durable-rules cannot be loaded on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} ({exc}); advisor needs Python 3.10 to 3.12"
        ) from None
    return engine, durable_rules_engine


class _Recorder:
    """Collects the names of rules whose action ran during one assert."""

    def __init__(self) -> None:
        self.fired: list[str] = []

    def make_action(self, name: str):
        fired = self.fired

        def action(c):  # exactly one parameter: two would make durable-rules treat it as async
            fired.append(name)

        return action


_HOST = None
_LOCK = threading.RLock()
_RECORDER = _Recorder()
_REGISTERED: dict[str, "Prepared"] = {}
# After the engine fails on an assert (e.g. error 303), deleting that state segfaults: it is left
# behind, and its ruleset goes on with a fresh state id.
_SIDS: dict[str, str] = {}
_ABANDONED: list[tuple[str, str]] = []


@dataclass
class Prepared:
    """A rule base registered with the engine: its plan (compiled rules, strata, rulesets), and the
    conclusions some rule joins on (only those are asserted as facts: the others would only cost
    firings)."""

    plan: Plan
    watched: set[tuple[str, str]]
    tallied: set[str]
    orders: dict[str, dict[str, Any]]
    registered: bool = False


def _host():
    global _HOST
    if _HOST is None:
        engine, _ = _durable()

        class Host(engine.Host):
            """durable-rules Host without timer threads, whose actions record firings."""

            def get_action(self, action_name):
                return _RECORDER.make_action(action_name)

            def _run(self):  # no timers: they would run actions on other threads
                pass

        _HOST = Host()
    return _HOST


def prepare(rulebase: Rulebase, *, register: bool = True) -> Prepared:
    """Compile a rule base and register it with the engine, once per process."""
    with _LOCK:
        prepared = _REGISTERED.get(rulebase.digest)
        if prepared is None:
            plan = compile_rulebase(rulebase)
            joins = [j for c in plan.compiled.values() for j in c.joins]
            prepared = Prepared(plan, watched={(j.kind, j.ref) for j in joins if hasattr(j, "ref")},
                                tallied={j.of for j in joins if hasattr(j, "of")}, orders=_orders(rulebase.catalog))
            _REGISTERED[rulebase.digest] = prepared
        if register and not prepared.registered:
            _, dre = _durable()
            try:
                _host().register_rulesets(copy.deepcopy(prepared.plan.rulesets))  # Ruleset() mutates its input
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


def _assert(host, names: list[str], facts: list[dict], dre) -> list[str]:
    """Assert facts into rulesets and collect the rules whose actions the engine starts, in order.

    This drives durable-rules' C engine (`durable_rules_engine`) directly, with the same rulesets
    and the same matching as its Python layer: that layer serialises the state to JSON and back,
    builds a closure and reads the clock for every action, most of an assessment's time. Our actions
    only record a name and change no state, so an action is completed as soon as it is started.
    """
    fired: list[str] = []
    texts: dict[str, str] = {}  # the facts as JSON, once per state id (one for every ruleset, as a rule)
    for name in names:
        sid = _sid(name)
        handle = host.get_ruleset(name)._handle
        if sid not in texts:
            texts[sid] = json.dumps([{**f, "sid": sid} for f in facts], ensure_ascii=False)
        try:
            code, state = dre.assert_facts(handle, texts[sid])
            if code in (1, 2):  # not handled, or only observed: the catch-all rule makes neither happen
                raise EngineError(f"the engine did not take the facts (code {code}) in ruleset {name}")
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
    _, dre = _durable()
    host = _host()
    names = {i: level for i, level in enumerate(plan.level_rulesets)}
    names["rest"] = plan.rest_rulesets
    with _LOCK, _interrupts_held():
        if len(_ABANDONED) >= MAX_ABANDONED:
            raise EngineError(f"the engine failed {len(_ABANDONED)} times in this process; start it again")
        abandoned = len(_ABANDONED)
        try:
            return _chain(threat, rulebase, lambda stratum, facts, view, fired: _assert(host, names[stratum], facts, dre),
                          prepared)
        finally:
            left = {name for name, _ in _ABANDONED[abandoned:]}
            for name in [n for level in plan.level_rulesets for n in level] + plan.rest_rulesets:
                if name in left:
                    continue  # deleting a state the engine failed on segfaults
                try:
                    host.delete_state(name, _sid(name))
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
            _record(rule_id, step, threat, rulebase, plan, result)
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
            new = _record(rule_id, step, threat, rulebase, plan, result)
            facts.extend(f for f in new if (f["kind"], f["ref"]) in prepared.watched)
        for of, n in view.counts.items():
            if counts_before.get(of) != n and of in prepared.tallied:
                facts.append(tally_fact(of, n))
    return result


def _record(rule_id: str, step: int, threat: Descriptor, rulebase: Rulebase, plan: Plan, result: _Run) -> list[dict]:
    """Record one firing (once per rule: `$or` may fire a rule twice); returns the new facts it concludes."""
    if rule_id == CATCH_ALL or rule_id in result.fired:
        return []
    compiled = plan.compiled[rule_id]
    rule, view = compiled.rule, result.view
    result.fired.add(rule_id)
    weak = [f"{kind} {ref}" for kind, ref in compiled.premises(view) if not _supported(kind, ref, view, result)]
    basis = "document" if rule.basis == "document" and not weak else "general_knowledge"
    firing = Firing(rule, step, compiled.evidence(view), states_of(rule, rulebase.catalog, threat.states, basis),
                    basis, weak)
    result.firings.append(firing)
    return _conclude(firing, view, rulebase.catalog, result.supported)


def _supported(kind: str, ref: str, view: View, result: _Run) -> bool:
    """Whether a premise rests on the document: a conclusion some document-basis firing gave, or a
    count the document-supported conclusions alone reach."""
    if kind != "count":
        return (kind, ref) in result.supported
    of, n = ref.split(">=")
    return view.doc_counts.get(of, 0) >= int(n)


def _conclude(firing: Firing, view: View, catalog, supported: set[tuple[str, str]]) -> list[dict]:
    """Record a firing's conclusions in the view; return the facts that are new to the engine.

    Tallies are kept twice: of everything concluded (what `count` tests), and of what the
    document supports (what decides whether a count rests on the document).
    """
    new: list[dict] = []
    rule = firing.rule
    then = rule.then
    for kind, refs in (("derived", then.derive), ("framework", then.frameworks), ("agency", list(then.agencies))):
        table = {"derived": view.derived, "framework": view.frameworks, "agency": view.agencies}[kind]
        for ref in refs:
            if firing.basis == "document" and (kind, ref) not in supported:
                supported.add((kind, ref))
                if kind != "derived":
                    for key in catalog.tally_keys(kind, ref):
                        view.doc_counts[key] = view.doc_counts.get(key, 0) + 1
                if kind == "agency":
                    view.doc_sectors.add(catalog.agencies[ref].sector)
            if ref not in table:
                table[ref] = []
                new.append(conclusion_fact(kind, ref))
                if kind != "derived":
                    for key in catalog.tally_keys(kind, ref):
                        view.counts[key] = view.counts.get(key, 0) + 1
                if kind == "agency":
                    view.sectors.add(catalog.agencies[ref].sector)
            table[ref].append(rule.id)
    view.counts["sectors"] = len(view.sectors)
    view.doc_counts["sectors"] = len(view.doc_sectors)
    view.states.update(firing.states)
    view.counts["states"] = len(view.states)
    view.doc_states.update(code for code, basis in firing.states.items() if basis == "document")
    view.doc_counts["states"] = len(view.doc_states)
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

    `carried` are earlier situations of a scenario still in play (see api.assess): their
    firings join the threat's own (a rule fired for several counts once, the latest first).

    The output is built in one pass over the firings; its models are constructed without
    validation (model_construct), since every value comes from a validated rule base. A
    conclusion's basis is `document` when some firing that rests on the document alone gives it.
    Rules that only decide the document's distinctions are in the trace but reach no
    recommendation: they are premises, not answers.
    """
    catalog = rulebase.catalog
    vocabulary = catalog.vocabulary
    result = run(threat, rulebase, matcher)
    for earlier in carried:
        _carry(result, run(earlier, rulebase, matcher))
    premises_only = set(rulebase.distinction_rules)
    by: dict[str, dict[str, list[Firing]]] = {k: {} for k in ("frameworks", "agencies", "measures", "caveats")}
    by_number: dict[int, list[Firing]] = {}
    state_firings: dict[str, list[tuple[Firing, str]]] = {}
    for f in result.firings:
        r = f.rule
        for kind, refs in (("frameworks", r.then.frameworks), ("agencies", r.then.agencies),
                           ("measures", r.then.measures), ("caveats", r.then.caveats)):
            for ref in refs:
                by[kind].setdefault(ref, []).append(f)
        if r.id not in premises_only:
            for n in r.numbers:
                by_number.setdefault(n, []).append(f)
        for code, basis in f.states.items():
            state_firings.setdefault(code, []).append((f, basis))

    order = prepare(rulebase, register=False).orders

    def citation(text: str) -> tuple[int, int | None]:
        cache = order["citation"]
        if text not in cache:
            cache[text] = catalog.citation(text)
        return cache[text]

    frameworks = []
    for fid in sorted(by["frameworks"], key=order["framework"].__getitem__):
        fw, firings = catalog.frameworks[fid], by["frameworks"][fid]
        frameworks.append(_make(FrameworkOut,
            id=fid, name=fw.name, status=fw.status, layer=fw.layer, family=fw.family, members=list(fw.members),
            members_basis=fw.basis, recommendations=_numbers(firings), rules=[f.rule.id for f in firings],
            basis=_basis(firings)))

    states = []
    for code in sorted(state_firings):
        pairs = state_firings[code]
        firings = [f for f, _ in pairs]
        states.append(_make(StateOut,
            code=code, name=catalog.state_name(code), frameworks=[f.id for f in frameworks if code in f.members],
            recommendations=_numbers(firings), rules=[f.rule.id for f in firings],
            basis="document" if any(b == "document" for _, b in pairs) else "general_knowledge"))

    agencies = []
    for aid, firings in by["agencies"].items():  # the strongest role any rule gives
        roles = [_make(RoleOut, role=f.rule.then.agencies[aid], rule=f.rule.id, basis=f.basis,
                       note=_note(f, aid, catalog)) for f in firings]
        role = min((x.role for x in roles), key=vocabulary.role_rank)
        role_basis = "document" if any(x.role == role and x.basis == "document" for x in roles) else "general_knowledge"
        agencies.append(_make(AgencyOut,
            id=aid, name=catalog.agencies[aid].name, role=role, role_basis=role_basis, roles=roles,
            recommendations=_numbers(firings),
            rules=[f.rule.id for f in firings], basis=_basis(firings)))
    agencies.sort(key=lambda a: (vocabulary.role_rank(a.role), order["agency"][a.id]))

    def remarks(kind: str) -> list[RemarkOut]:
        table = getattr(catalog, kind)
        out = []
        for rid in sorted(by[kind], key=order[kind].__getitem__):
            remark, firings = table[rid], by[kind][rid]
            out.append(_make(RemarkOut,
                id=rid, text=remark.text, citation=remark.recommendation,
                recommendations=[citation(remark.recommendation)[0]], rules=[f.rule.id for f in firings],
                basis=_basis(firings)))
        return out

    recommendations = []
    for number in sorted(by_number):
        rec, firings = catalog.recommendations[number], by_number[number]
        cites = sorted({c for f in firings for c in f.rule.cites if citation(c)[0] == number},
                       key=lambda c: citation(c)[1] or 0)
        recommendations.append(_make(RecommendationOut,
            number=number, title=rec.title, group=rec.group, summary=rec.summary,
            citations=cites, rules=[f.rule.id for f in firings], basis=_basis(firings)))

    trace = [_trace_entry(f) for f in result.firings]
    derived = result.view.derived
    notes = [f"attribute '{a}' is not used by any rule" for a in threat.attributes if a not in rulebase.used_attributes]
    notes += _idle_attributes(threat, rulebase, result)
    notes += [vocabulary.derived[d].note for d in derived if vocabulary.derived[d].note]
    leads = [a.name for a in agencies if a.role == "lead"]
    if len(leads) > 1:
        notes.append("more than one body leads: " + " and ".join(leads) + "; each leads its own part (see roles)")
    if not any(f.rule.id not in premises_only for f in result.firings):
        notes.append("no recommendation of the document applies to this threat")
    category = next((d for d in derived if d in vocabulary.categories), vocabulary.types[threat.type].category)
    return _make(Assessment,
        threat=threat.to_output(),
        nature=_make(Nature, category=category, derived=list(derived)),
        recommendations=recommendations, frameworks=frameworks, states=states, agencies=agencies,
        measures=remarks("measures"), caveats=remarks("caveats"), trace=trace, notes=notes,
        advisor=_make(Meta, version=__version__, rulebase=rulebase.digest[:16], rules=len(rulebase.rules)),
        stages=None, since_2002=None,
    )


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
        if any(getattr(t, "prefix", None) == "a_" and name in t.values
               for rid in weighers for block in compiled[rid].held_back(result.view) for t in block):
            continue
        bringers = rulebase.bringing[name]
        listed = ", ".join(bringers[:3]) + (", ..." if len(bringers) > 3 else "")
        out.append(f"attribute '{name}' bears on no conclusion here: the rules it could bring ({listed}) do not apply")
    return out


def _trace_entry(f: Firing) -> TraceEntry:
    rule = f.rule
    return _make(TraceEntry, step=f.step, rule=rule.id, recommendations=list(rule.numbers),
                 citations=list(rule.cites), because=rule.because, basis=f.basis, quote=rule.quote, note=_note(f),
                 matched=_fresh(f.matched), concluded=_concluded(f))


def _fresh(value: Any) -> Any:
    """A copy of nested lists and dicts, so that an assessment shares nothing mutable with the rule base."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_fresh(v) for v in value]
    return value


def _make(cls, **values):
    """Build an output model from trusted values without pydantic's per-call overhead (as model_construct,
    every field given)."""
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", set(values))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


def _orders(catalog) -> dict[str, dict[str, Any]]:
    """Sort keys of the catalog's entries (frameworks by layer, then catalog order); kept per rule base."""
    layers = {layer: i for i, layer in enumerate(catalog.vocabulary.layers)}
    return {
        "framework": {f: (layers[fw.layer], i) for i, (f, fw) in enumerate(catalog.frameworks.items())},
        "agency": {a: i for i, a in enumerate(catalog.agencies)},
        "measures": {m: i for i, m in enumerate(catalog.measures)},
        "caveats": {c: i for i, c in enumerate(catalog.caveats)},
        "citation": {},
    }


def _concluded(firing: Firing) -> dict[str, Any]:
    then = firing.rule.then
    out: dict[str, Any] = {}
    if then.derive:
        out["derived"] = list(then.derive)
    if then.frameworks:
        out["frameworks"] = list(then.frameworks)
    if firing.states:
        out["states"] = sorted(firing.states)
    if then.agencies:
        out["agencies"] = dict(then.agencies)
    if then.measures:
        out["measures"] = list(then.measures)
    if then.caveats:
        out["caveats"] = list(then.caveats)
    return out
