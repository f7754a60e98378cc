"""Running a rule base on durable-rules and turning its firings into an assessment.

One Host per process (durable-rules cannot delete a ruleset); each rule base is
registered once under its digest. An assessment owns one engine state from its
first assert to its `delete_state`, behind a lock, so assessments never see each
other. Forward chaining runs in steps: the facts a step concludes are asserted
together in the next, until nothing new follows.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .compiler import CATCH_ALL, Compiled, View, compile_rulebase, conclusion_fact, tally_fact, threat_fact
from .errors import EngineError, EngineUnavailable
from .models import (AgencyOut, Assessment, Descriptor, FrameworkOut, Meta, Nature, RecommendationOut,
                     RemarkOut, RoleOut, StateOut, TraceEntry)
from .rules import Rule, Rulebase, states_of

ROLE_RANK = {"lead": 0, "coordinate": 1, "support": 2}
SID = "assessment"
MAX_STEPS = 100
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


@dataclass
class Prepared:
    """A rule base registered with the engine: its compiled rules, its rulesets, and the conclusions
    some rule joins on (only those are asserted as facts: the others would only cost firings)."""

    compiled: dict[str, Compiled]
    names: list[str]
    watched: set[tuple[str, str]]
    tallied: set[str]
    orders: dict[str, dict[str, Any]]


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


def prepare(rulebase: Rulebase) -> Prepared:
    """Compile and register a rule base once per process."""
    with _LOCK:
        if rulebase.digest not in _REGISTERED:
            compiled, rulesets = compile_rulebase(rulebase)
            _, dre = _durable()
            try:
                _host().register_rulesets(copy.deepcopy(rulesets))  # Ruleset() mutates its input
            except dre.error as exc:
                raise EngineError(f"the engine refused the rule base: {exc}") from None
            joins = [j for c in compiled.values() for j in c.joins]
            _REGISTERED[rulebase.digest] = Prepared(
                compiled, list(rulesets),
                watched={(j.kind, j.ref) for j in joins if hasattr(j, "ref")},
                tallied={j.of for j in joins if hasattr(j, "of")},
                orders=_orders(rulebase.catalog))
        return _REGISTERED[rulebase.digest]


@dataclass
class Firing:
    rule: Rule
    step: int
    matched: dict[str, Any]
    states: dict[str, str]  # the states this firing brings in, with their basis


@dataclass
class _Run:
    """The conclusions of one assessment as they accumulate."""

    view: View
    firings: list[Firing] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)


def _assert(host, names: list[str], facts: list[dict], dre) -> list[str]:
    _RECORDER.fired.clear()
    for name in names:
        try:
            host.assert_facts(name, [{**f, "sid": SID} for f in facts])
        except dre.error as exc:
            code = str(exc).rsplit(" ", 1)[-1]
            raise EngineError(f"the engine failed: {ENGINE_ERRORS.get(code, str(exc))}") from None
        state = host.get_state(name, SID)
        if "exception" in state:
            raise EngineError(f"a rule action failed: {state['exception']}")
    return list(_RECORDER.fired)


def run(threat: Descriptor, rulebase: Rulebase, matcher=None) -> _Run:
    """Fire the rule base on one threat; returns every firing in order, with its step.

    `matcher(facts, view, fired)` may replace durable-rules (the plain-Python reference
    evaluator in advisor.reference does, for tests and benchmarks); it returns the ids of
    the rules that fire on the new facts, and its `by_id` holds their compiled conditions.
    """
    if matcher is not None:
        return _run_with(threat, rulebase, matcher)
    prepared = prepare(rulebase)
    compiled, names = prepared.compiled, prepared.names
    catalog = rulebase.catalog
    _, dre = _durable()
    host = _host()
    fact = threat_fact(threat, catalog)
    result = _Run(view=View(fact=fact))
    view = result.view
    with _LOCK:
        try:
            facts = [fact]
            step = 0
            while facts:
                step += 1
                if step > MAX_STEPS:
                    raise EngineError("forward chaining did not settle")
                fired = _assert(host, names, facts, dre)
                facts = []
                counts_before = dict(view.counts)
                for rule_id in fired:
                    if rule_id == CATCH_ALL or rule_id in result.fired:
                        continue  # `$or` may fire a rule twice; a rule counts once
                    rule = compiled[rule_id].rule
                    result.fired.add(rule_id)
                    firing = Firing(rule, step, compiled[rule_id].evidence(view), states_of(rule, catalog, threat.states))
                    result.firings.append(firing)
                    facts.extend(f for f in _conclude(firing, view, catalog)
                                 if (f["kind"], f["ref"]) in prepared.watched)
                for of, n in view.counts.items():
                    if counts_before.get(of) != n and of in prepared.tallied:
                        facts.append(tally_fact(of, n))
        finally:
            for name in names:
                try:
                    host.delete_state(name, SID)
                except dre.error:
                    pass  # the state was never created (no fact reached this ruleset)
    return result


def _run_with(threat: Descriptor, rulebase: Rulebase, matcher) -> _Run:
    """The same forward chaining as run(), with another matcher in place of the engine."""
    catalog = rulebase.catalog
    fact = threat_fact(threat, catalog)
    result = _Run(view=View(fact=fact))
    view, facts, step = result.view, [fact], 0
    while facts:
        step += 1
        if step > MAX_STEPS:
            raise EngineError("forward chaining did not settle")
        fired = matcher(facts, view, result.fired)
        facts = []
        for rule_id in fired:
            if rule_id in result.fired:
                continue
            rule = rulebase.by_id[rule_id]
            result.fired.add(rule_id)
            firing = Firing(rule, step, matcher.by_id[rule_id].evidence(view), states_of(rule, catalog, threat.states))
            result.firings.append(firing)
            facts.extend(_conclude(firing, view, catalog))
    return result


def _conclude(firing: Firing, view: View, catalog) -> list[dict]:
    """Record a firing's conclusions in the view; return the facts that are new to the engine."""
    new: list[dict] = []
    rule = firing.rule
    then = rule.then
    for kind, refs in (("derived", then.derive), ("framework", then.frameworks), ("agency", list(then.agencies))):
        table = {"derived": view.derived, "framework": view.frameworks, "agency": view.agencies}[kind]
        for ref in refs:
            if ref not in table:
                table[ref] = []
                new.append(conclusion_fact(kind, ref))
                if kind == "framework":
                    layer = catalog.frameworks[ref].layer
                    view.counts[layer] = view.counts.get(layer, 0) + 1
            table[ref].append(rule.id)
    view.counts["frameworks"] = len(view.frameworks)
    view.counts["agencies"] = len(view.agencies)
    view.states.update(firing.states)
    view.counts["states"] = len(view.states)
    return new


# --- building the assessment ----------------------------------------------------------

def _basis(rules: list[Rule]) -> str:
    return "document" if any(r.basis == "document" for r in rules) else "general_knowledge"


def _numbers(rules: list[Rule]) -> list[int]:
    return sorted({n for r in rules for n in r.numbers})


def assess(threat: Descriptor, rulebase: Rulebase, matcher=None) -> Assessment:
    """Assess one threat with one rule base: every conclusion with the rules and recommendations behind it.

    The output is built in one pass over the firings; its models are constructed without
    validation (model_construct), since every value comes from a validated rule base.
    """
    catalog = rulebase.catalog
    result = run(threat, rulebase, matcher)
    by: dict[str, dict[str, list[Rule]]] = {k: {} for k in ("frameworks", "agencies", "measures", "caveats")}
    by_number: dict[int, list[Rule]] = {}
    state_rules: dict[str, list[tuple[Rule, str]]] = {}
    for f in result.firings:
        r = f.rule
        for kind, refs in (("frameworks", r.then.frameworks), ("agencies", r.then.agencies),
                           ("measures", r.then.measures), ("caveats", r.then.caveats)):
            for ref in refs:
                by[kind].setdefault(ref, []).append(r)
        for n in r.numbers:
            by_number.setdefault(n, []).append(r)
        for code, basis in f.states.items():
            state_rules.setdefault(code, []).append((r, basis))

    order = prepare(rulebase).orders

    def citation(text: str) -> tuple[int, int | None]:
        cache = order["citation"]
        if text not in cache:
            cache[text] = catalog.citation(text)
        return cache[text]

    frameworks = []
    for fid in sorted(by["frameworks"], key=order["framework"].__getitem__):
        fw, rules = catalog.frameworks[fid], by["frameworks"][fid]
        frameworks.append(_make(FrameworkOut, 
            id=fid, name=fw.name, status=fw.status, layer=fw.layer, family=fw.family, members=fw.members,
            members_basis=fw.basis, recommendations=_numbers(rules), rules=[r.id for r in rules], basis=_basis(rules)))

    states = []
    for code in sorted(state_rules):
        pairs = state_rules[code]
        rules = [r for r, _ in pairs]
        states.append(_make(StateOut, 
            code=code, name=catalog.state_name(code), frameworks=[f.id for f in frameworks if code in f.members],
            recommendations=_numbers(rules), rules=[r.id for r in rules],
            basis="document" if any(b == "document" for _, b in pairs) else "general_knowledge"))

    agencies = []
    for aid, rules in by["agencies"].items():  # the strongest role any rule gives
        roles = [_make(RoleOut, role=r.then.agencies[aid], rule=r.id) for r in rules]
        role = min((x.role for x in roles), key=ROLE_RANK.__getitem__)
        agencies.append(_make(AgencyOut, 
            id=aid, name=catalog.agencies[aid].name, role=role, roles=roles, recommendations=_numbers(rules),
            rules=[r.id for r in rules], basis=_basis(rules)))
    agencies.sort(key=lambda a: (ROLE_RANK[a.role], order["agency"][a.id]))

    def remarks(kind: str) -> list[RemarkOut]:
        table = getattr(catalog, kind)
        out = []
        for rid in sorted(by[kind], key=order[kind].__getitem__):
            remark, rules = table[rid], by[kind][rid]
            out.append(_make(RemarkOut, 
                id=rid, text=remark.text, citation=remark.recommendation,
                recommendations=[citation(remark.recommendation)[0]], rules=[r.id for r in rules]))
        return out

    recommendations = []
    for number in sorted(by_number):
        rec, rules = catalog.recommendations[number], by_number[number]
        cites = sorted({c for r in rules for c in r.cites if citation(c)[0] == number},
                       key=lambda c: citation(c)[1] or 0)
        recommendations.append(_make(RecommendationOut, 
            number=number, title=rec.title, group=rec.group, summary=rec.summary,
            citations=cites, rules=[r.id for r in rules]))

    trace = [_make(TraceEntry, 
        step=f.step, rule=f.rule.id, recommendations=f.rule.numbers, citations=f.rule.cites,
        because=f.rule.because, basis=f.rule.basis, matched=f.matched, concluded=_concluded(f))
        for f in result.firings]

    notes = [f"attribute '{a}' is not used by any rule" for a in threat.unused_attributes(catalog)]
    if not result.firings:
        notes.append("no rule applies to this threat")
    return _make(Assessment, 
        threat=threat.to_output(),
        nature=_make(Nature, category=catalog.vocabulary.types[threat.type].category,
                                      derived=list(result.view.derived)),
        recommendations=recommendations, frameworks=frameworks, states=states, agencies=agencies,
        measures=remarks("measures"), caveats=remarks("caveats"), trace=trace, notes=notes,
        advisor=_make(Meta, version=__version__, rulebase=rulebase.digest[:16], rules=len(rulebase.rules)),
        stages=None, since_2002=None,
    )


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
