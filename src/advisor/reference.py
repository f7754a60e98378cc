"""A plain-Python reference evaluator of the compiled rules: a test and benchmark oracle only.

The product runs on durable-rules. This evaluator reads the very same compiled
conditions (`Compiled.holds`) and chains in the same strata and steps, so that tests can
check that durable-rules fires exactly what the rules say, and benchmarks can measure
what the engine costs.
"""
from __future__ import annotations

from .compiler import compile_rulebase
from .rules import Rulebase


class ReferenceMatcher:
    """At each step, every rule of the stratum not yet fired whose conditions hold on what is known so far."""

    def __init__(self, rulebase: Rulebase):
        plan = compile_rulebase(rulebase)
        self.order = {i: level for i, level in enumerate(plan.levels)}
        self.order["rest"] = plan.rest
        self.by_id = plan.compiled

    def __call__(self, stratum, facts, view, fired) -> list[str]:
        return [rid for rid in self.order[stratum] if rid not in fired and self.by_id[rid].holds(view)]


def assess(threat, rulebase: Rulebase, matcher: ReferenceMatcher | None = None):
    """An assessment computed without durable-rules."""
    from .engine import assess as engine_assess

    return engine_assess(threat, rulebase, matcher or ReferenceMatcher(rulebase))
