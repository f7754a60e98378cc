"""Every construct of the rule language means the same on durable-rules as in plain Python.

A rule base using each construct (tests/data/language_rules.yaml) runs on a fixed,
seeded sweep of generated descriptors; after each assessment, the set of rules that
fired must equal the set whose conditions hold on the final conclusions.
"""

import random
import shutil

import pytest

import advisor
from advisor import chaining
from advisor.compiler import compile_rulebase

from conftest import DATA

SWEEP = 400


@pytest.fixture(scope="module")
def language_rulebase(tmp_path_factory):
    d = tmp_path_factory.mktemp("language")
    shutil.copy(DATA / "language_rules.yaml", d / "rules.yaml")
    return advisor.load_rulebase(d)


def descriptors(catalog, n: int, seed: int = 2002):
    rnd = random.Random(seed)
    v = catalog.vocabulary
    states = sorted(catalog.state_groups["east_asia"]) + ["USA", "RUS", "AUS", "MNG", "IND"]
    for _ in range(n):
        raw = {
            "type": rnd.choice(sorted(v.types)),
            "actor": rnd.choice(sorted(v.actors)),
            "severity": rnd.choice(sorted(v.severities)),
            "states": rnd.sample(states, rnd.randint(0, 4)),
            "targets": rnd.sample(sorted(v.targets), rnd.randint(0, 3)),
            "attributes": {a: rnd.random() < 0.5 for a in rnd.sample(sorted(v.attributes), rnd.randint(0, 4))},
        }
        if rnd.random() < 0.8:
            raw["region"] = rnd.choice(sorted(v.regions))
        yield raw


@pytest.mark.slow
def test_every_construct_is_exercised(language_rulebase):
    fired = set()
    for raw in descriptors(language_rulebase.catalog, SWEEP):
        fired |= chaining.fire(advisor.parse_threat(raw, language_rulebase), language_rulebase).fired
    assert fired == set(language_rulebase.by_id)


@pytest.mark.slow
def test_engine_equals_plain_python_reading(language_rulebase):
    compiled = compile_rulebase(language_rulebase).compiled
    for raw in descriptors(language_rulebase.catalog, SWEEP):
        run = chaining.fire(advisor.parse_threat(raw, language_rulebase), language_rulebase)
        holding = {rid for rid, c in compiled.items() if c.holds(run.view)}
        assert run.fired == holding, raw


@pytest.mark.slow
def test_shipped_rule_base_on_the_same_sweep(rulebase):
    compiled = compile_rulebase(rulebase).compiled
    for raw in descriptors(rulebase.catalog, SWEEP, seed=15):
        run = chaining.fire(advisor.parse_threat(raw, rulebase), rulebase)
        holding = {rid for rid, c in compiled.items() if c.holds(run.view)}
        assert run.fired == holding, raw
