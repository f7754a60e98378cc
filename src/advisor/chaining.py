"""Forward chaining: a rule base fired on one threat, in strata and steps, each firing recorded.

The first steps decide the document's distinctions on the descriptor alone, a level a step;
they become flags on the threat fact, and forward chaining goes on until nothing new follows.
A `matcher` says which rules fire on new facts: the engine (`engine.session`) in the product,
or the plain-Python reference evaluator (`advisor.reference`) in tests and benchmarks. What the
firings say in an answer is the assessment builder's business (`advisor.assessment`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import engine, limits, process
from .catalog import KINDS, word
from .compiler import CATCH_ALL, Plan, compile_rulebase, conclusion_fact, fact_key, tally_fact, threat_fact
from .conditions import CONCLUSION_KINDS, AtLeast, Concluded, View
from .errors import EngineError
from .models import Descriptor
from .process import MEMORY
from .rules import Rule, Rulebase, states_of


@dataclass
class Prepared:
    """A rule base made ready to fire, once per process: its plan (compiled rules, strata, rulesets),
    and the conclusions some rule joins on (only those are asserted as facts: the others would only
    cost firings)."""

    plan: Plan
    watched: set[tuple[str, str]]
    tallied: set[str]
    effects: dict[str, tuple]  # per rule, what its conclusions change in the view (`_effects`)
    wanted: dict[str, frozenset]  # per ruleset, the conclusions and tallies its rules join on
    states: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (rule, basis) -> its states
    registered: bool = False


def _wanted(plan: Plan) -> dict[str, frozenset]:
    """Per ruleset, the keys of the facts some rule of it joins on: a conclusion (kind, ref) or a
    tally ("tally", of). Asserting any other fact there would only be refused by the engine."""
    out = {}
    for name, ruleset in plan.rulesets.items():
        joins = [j for rid in ruleset if rid != CATCH_ALL for j in plan.compiled[rid].joins]
        out[name] = frozenset(j.fact_key() for j in joins)
    return out


def prepare(rulebase: Rulebase, *, register: bool = True) -> Prepared:
    """Compile a rule base and register it with the engine, once per process (`release` forgets it)."""
    with MEMORY.lock:
        prepared = MEMORY.prepared.get(rulebase.digest)
        if prepared is None:
            plan = compile_rulebase(rulebase)
            joins = [j for c in plan.compiled.values() for j in c.joins]
            prepared = Prepared(
                plan,
                watched={j.fact_key() for j in joins if isinstance(j, Concluded)},
                tallied={j.of for j in joins if isinstance(j, AtLeast)},
                effects=_effects(rulebase),
                wanted=_wanted(plan),
            )
            MEMORY.prepared[rulebase.digest] = prepared
        if register and not prepared.registered:
            dre = engine._durable()
            try:
                engine.register(prepared.plan.rulesets, dre)
            except dre.error as exc:
                raise EngineError(f"the engine refused the rule base: {exc}") from None
            prepared.registered = True
        return prepared


def release(digest: str) -> None:
    """Forget a rule base (`process.forget`) and delete its rulesets from the engine."""
    plan = process.forget(digest)
    if plan is not None:
        engine.delete_rulesets([name for name in plan.rulesets if name in MEMORY.handles])


@dataclass
class Firing:
    rule: Rule
    step: int
    matched: dict[str, Any]
    states: dict[str, str]  # the states this firing brings in, with their basis
    basis: str = "document"  # the rule's basis, or general_knowledge when a premise rests on it
    weak: list[str] = field(default_factory=list)  # premises only general knowledge supports


@dataclass
class Firings:
    """The conclusions of one assessment as they accumulate."""

    view: View
    firings: list[Firing] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)
    supported: set[tuple[str, str]] = field(default_factory=set)  # concluded by a document-basis firing


def fire(threat: Descriptor, rulebase: Rulebase, matcher=None) -> Firings:
    """Fire the rule base on one threat; returns every firing in order, with its step.

    `matcher(stratum, facts, view, fired)` may replace durable-rules (the plain-Python
    reference evaluator in advisor.reference does, for tests and benchmarks); `stratum` is a
    level's number or "rest", and it returns the ids of the rules of that stratum that fire
    on the new facts.
    """
    if matcher is not None:
        return _chain(threat, rulebase, matcher)
    prepared = prepare(rulebase)
    plan = prepared.plan
    with engine.session(plan.level_rulesets, plan.rest_rulesets, prepared.wanted) as match:
        return _chain(threat, rulebase, match, prepared)


def _chain(threat: Descriptor, rulebase: Rulebase, fire, prepared: Prepared | None = None) -> Firings:
    """Forward chaining in steps, with `fire(stratum, facts, view, fired)` matching the rules."""
    prepared = prepared or prepare(rulebase, register=False)
    plan, catalog = prepared.plan, rulebase.catalog
    fact = threat_fact(threat, catalog)
    result = Firings(view=View(fact=fact))
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
        if step > limits.MAX_STEPS:
            raise EngineError("forward chaining did not settle")
        fired = fire("rest", facts, view, result.fired)
        facts = []
        counts_before = dict(view.counts)
        for rule_id in fired:
            new = _record(rule_id, step, threat, rulebase, plan, result, prepared)
            facts.extend(f for f in new if fact_key(f) in prepared.watched)
        for of, n in view.counts.items():
            if counts_before.get(of) != n and of in prepared.tallied:
                facts.append(tally_fact(of, n))
    return result


def _record(
    rule_id: str, step: int, threat: Descriptor, rulebase: Rulebase, plan: Plan, result: Firings, prepared: Prepared
) -> list[dict]:
    """Record one firing (once per rule: `$or` may fire a rule twice); returns the new facts it concludes."""
    if rule_id == CATCH_ALL or rule_id in result.fired:
        return []
    compiled = plan.compiled[rule_id]
    rule, view = compiled.rule, result.view
    result.fired.add(rule_id)
    weak = [
        f"{word(kind) if kind in KINDS else kind} {ref}"
        for kind, ref in compiled.premises(view)
        if not _supported(kind, ref, view, result)
    ]
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


def _supported(kind: str, ref: str, view: View, result: Firings) -> bool:
    """Whether a premise rests on the document: a conclusion some document-basis firing gave, or a
    count the document-supported conclusions alone reach."""
    if kind != "count":
        return (kind, ref) in result.supported
    of, n = ref.split(">=")
    return view.doc_counts.get(of, 0) >= int(n)


def _effects(rulebase: Rulebase) -> dict[str, tuple]:
    """Per rule, what each of its conclusions changes: (kind, which is also the view's table, ref, the
    tallies it adds to, the agency's sector), in the order the rule gives them."""
    catalog = rulebase.catalog
    out = {}
    for rule in rulebase.rules:
        then = rule.then
        out[rule.id] = tuple(
            (
                kind,
                ref,
                tuple(catalog.tally_keys(kind, ref)) if kind != "derived" else (),
                catalog.agencies[ref].sector if kind == "agencies" else None,
            )
            for kind in CONCLUSION_KINDS
            for ref in then.concluded(kind)
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
    for kind, ref, keys, sector in effects:
        table = getattr(view, kind)
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
