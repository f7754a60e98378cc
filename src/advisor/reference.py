"""A plain-Python reference evaluator of the compiled rules: a test and benchmark oracle only.

The product runs on durable-rules. This evaluator reads the very same compiled
conditions and chains in the same strata and steps, so that tests can check that
durable-rules fires exactly what the rules say, and benchmarks can measure what the
engine costs against a fair rival: like the engine's network, it checks each rule's
conditions once on the threat, and later only the rules a new conclusion or tally can
change (the threat fact never changes within a stratum, and `unless` only tests it).
"""

from __future__ import annotations

from .compiler import compile_rulebase, fact_key
from .conditions import AtLeast
from .rules import Rulebase


class ReferenceMatcher:
    """At each step, the rules of the stratum not yet fired whose conditions now hold."""

    def __init__(self, rulebase: Rulebase):
        plan = compile_rulebase(rulebase)
        self.order: dict[int | str, list[str]] = {i: level for i, level in enumerate(plan.levels)}
        self.order["rest"] = plan.rest
        self.by_id = plan.compiled
        self.position = {rid: i for i, rid in enumerate(plan.rest)}
        self.waiting: dict[tuple[str, str], list[str]] = {}  # a fact's key -> the rest rules joining on it
        for rid in plan.rest:
            for join in plan.compiled[rid].joins:
                self.waiting.setdefault(join.fact_key(), []).append(rid)
        self.holds = {rid: _checker(c) for rid, c in plan.compiled.items()}

    def __call__(self, stratum, facts, view, fired) -> list[str]:
        if stratum != "rest" or any(f["kind"] == "threat" for f in facts):
            candidates = self.order[stratum]
        else:
            keys = {fact_key(f) for f in facts}
            candidates = sorted(
                {rid for key in keys for rid in self.waiting.get(key, ())}, key=self.position.__getitem__
            )
        return [rid for rid in candidates if rid not in fired and self.holds[rid](view)]


def _checker(compiled):
    """One function for a rule's conditions, the tests' checks bound once, cheapest kinds first."""
    tests = tuple(t.holds for t in compiled.tests)
    branches = tuple(tuple(t.holds for t in b) for b in compiled.branches)
    unless = tuple(tuple(t.holds for t in b) for b in compiled.unless)
    joins = tuple(j.holds for j in compiled.joins if not isinstance(j, AtLeast))
    counts = tuple(j.holds for j in compiled.joins if isinstance(j, AtLeast))

    def holds(view) -> bool:
        for check in tests:
            if not check(view):
                return False
        if branches and not any(all(c(view) for c in b) for b in branches):
            return False
        for block in unless:
            if all(c(view) for c in block):
                return False
        for check in joins:
            if not check(view):
                return False
        for check in counts:
            if not check(view):
                return False
        return True

    return holds
