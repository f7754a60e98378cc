"""Every rule fires on a minimal descriptor and stays silent on a near miss (tests/data/rule_cases.yaml)."""

import pytest
import yaml

from conftest import DATA

CASES = yaml.safe_load((DATA / "rule_cases.yaml").read_text())


def test_every_rule_has_cases(rulebase):
    assert sorted(CASES) == sorted(rulebase.by_id)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires(rule_id, assess_raw):
    fired = [e.rule for e in assess_raw(CASES[rule_id]["fires"]).trace]
    assert rule_id in fired


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_misses(rule_id, assess_raw):
    fired = [e.rule for e in assess_raw(CASES[rule_id]["misses"]).trace]
    assert rule_id not in fired


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_near_miss_is_one_change(rule_id):
    """A near miss differs from the firing case in exactly one field."""
    fires, misses = CASES[rule_id]["fires"], CASES[rule_id]["misses"]
    changed = [k for k in set(fires) | set(misses) if fires.get(k) != misses.get(k)]
    assert len(changed) == 1, changed
