#!/usr/bin/env python3
"""Propose tests/data/rule_cases.yaml entries for rules that lack a valid one.

For each rule: keep its entry if the `fires` descriptor still fires it and the `misses`
descriptor (one field changed) still does not; otherwise take a descriptor from the static
analysis (advisor.analysis) that fires it, and look for a one-field change that silences it.
Prints the whole file; review the proposals before committing them.

    .venv/bin/python scripts/propose-rule-cases.py > tests/data/rule_cases.yaml
"""

import sys
from pathlib import Path

import yaml

import advisor
from advisor.analysis import Analyzer

ROOT = Path(__file__).resolve().parents[1]
rb = advisor.load_rulebase()
an = Analyzer(rb)
old = yaml.safe_load((ROOT / "tests" / "data" / "rule_cases.yaml").read_text()) or {}


def fired(raw):
    try:
        return {e.rule for e in advisor.assess(advisor.parse_threat(raw, rb), rb).trace}
    except advisor.AdvisorError:
        return set()


def changes(raw):
    v = rb.catalog.vocabulary
    for key in ("region", "actor", "severity", "type"):
        pool = {"region": [*v.regions, None], "actor": v.actors, "severity": v.severities, "type": v.types}[key]
        for value in pool:
            if value != raw.get(key):
                new = {k: x for k, x in raw.items() if k != key}
                if value is not None:
                    new[key] = value
                yield new
    for key in ("states", "targets"):
        for item in raw.get(key, []):
            yield {**raw, key: [x for x in raw[key] if x != item]}
    for name in raw.get("attributes", {}):
        attrs = {k: x for k, x in raw["attributes"].items() if k != name}
        yield {**{k: x for k, x in raw.items() if k != "attributes"}, **({"attributes": attrs} if attrs else {})}


out = {}
for rule in rb.rules:
    entry = old.get(rule.id)
    if entry and rule.id in fired(entry["fires"]) and rule.id not in fired(entry["misses"]):
        out[rule.id] = entry
        continue
    found = None
    for clause in an.solutions(rule.id):
        raw = an.example(clause)
        if raw is None or rule.id not in fired(raw):
            continue
        miss = next((m for m in changes(raw) if rule.id not in fired(m)), None)
        if miss is not None:
            found = {"fires": raw, "misses": miss}
            break
    if found is None:
        print(f"# no case found for {rule.id}", file=sys.stderr)
        continue
    out[rule.id] = found

head = (
    "# For every rule: a minimal descriptor on which it fires, and a near miss (one\n"
    "# change) on which it does not. tests/test_rules_fire.py runs them all and fails\n"
    "# when a rule of the rule base has no entry here. scripts/propose-rule-cases.py\n"
    "# proposes entries for new rules; review them.\n"
)


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


lines = [
    f"{rid}: {yaml.dump(case, Dumper=Dumper, default_flow_style=True, sort_keys=False, width=10_000).strip()}"
    for rid, case in out.items()
]
print(head + "\n".join(lines))
