"""Property-based tests (hypothesis): generated and mutated descriptors never crash advisor, answers do
not depend on order or processes, and durable-rules fires exactly what the plain-Python reference does."""

import json
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import advisor
from advisor import assessment, chaining, compiler, reference
from advisor.cli import main

import corpus
from conftest import DATA, SUPPORTS_THE_LEAD_OF

RB = advisor.load_rulebase()
CAT = RB.catalog
V = CAT.vocabulary
STATES = sorted(CAT.state_groups["east_asia"]) + ["USA", "RUS", "AUS", "IND", "SOM", "IRN"]
FUZZ = settings(
    max_examples=120, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

descriptors = corpus.strategy(V, STATES, max_states=6)

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
    st.text(alphabet="\u200b\u202e\U0001f600\u0000\ud7ff漢字ـ", max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just("x" * 5000),
)


@st.composite
def mutated(draw):
    raw = draw(descriptors)
    action = draw(st.sampled_from(["wrong", "drop", "unknown_field", "huge_list", "odd_attribute", "alias"]))
    if action == "wrong":
        raw[
            draw(
                st.sampled_from(
                    ["type", "region", "states", "targets", "actor", "severity", "attributes", "title", "id"]
                )
            )
        ] = draw(odd_values)
    elif action == "drop":
        raw.pop("type")
    elif action == "unknown_field":
        raw[draw(st.text(min_size=1, max_size=12))] = draw(odd_values)
    elif action == "huge_list":
        raw["states"] = ["JPN"] * draw(st.integers(61, 300))
    elif action == "odd_attribute":
        raw["attributes"] = {draw(st.text(max_size=30)): draw(odd_values)}
    else:
        raw["type"] = draw(st.sampled_from(["Cyber attack", "cyber-attack", " PIRACY ", "North Korea"]))
    return raw


def run_cli(raw) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["assess", "-", "--format", "json"], input=json.dumps(raw))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def check_contract(out: str) -> None:
    a = json.loads(out)
    for key in ("threat", "recommendations", "frameworks", "states", "agencies", "trace"):
        assert key in a
    justified = {e["rule"] for e in a["trace"]}
    for kind in ("frameworks", "states", "agencies"):
        for item in a[kind]:
            assert set(item["rules"]) <= justified


@pytest.mark.slow
@FUZZ
@given(descriptors)
def test_valid_descriptors_assess_to_the_contract(raw):
    code, out, err = run_cli(raw)
    assert code == 0, err
    check_contract(out)


@pytest.mark.slow
@FUZZ
@given(mutated())
def test_mutated_descriptors_exit_0_or_2_never_a_traceback(raw):
    code, out, err = run_cli(raw)
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err
    if code == 0:
        check_contract(out)
    else:
        assert err.startswith("error: ") and out == ""


@pytest.mark.slow
@FUZZ
@given(st.lists(descriptors, min_size=2, max_size=6), st.randoms(use_true_random=False))
def test_order_of_assessment_does_not_matter(raws, rnd):
    threats = [advisor.parse_threat(r, RB) for r in raws]
    first = [advisor.assess(t, RB).model_dump_json() for t in threats]
    order = list(range(len(threats)))
    rnd.shuffle(order)
    again = {i: advisor.assess(threats[i], RB).model_dump_json() for i in order}
    assert [again[i] for i in range(len(threats))] == first


MATCHER = reference.ReferenceMatcher(RB)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(descriptors)
def test_durable_rules_fires_what_the_reference_fires(raw):
    """The differential test: the engine and the plain-Python evaluator of the same compiled
    conditions fire the same rules, in the same steps and order."""
    threat = advisor.parse_threat(raw, RB)
    ours = chaining.fire(threat, RB)
    ref = chaining.fire(threat, RB, MATCHER)
    assert [(f.rule.id, f.step) for f in ours.firings] == [(f.rule.id, f.step) for f in ref.firings]


@pytest.mark.slow
def test_jobs_do_not_change_a_generated_batch(tmp_path):
    """One seeded batch through the real command, with one and with two processes."""
    import random

    rnd = random.Random(5)
    batch = [
        {
            "id": f"g{i}",
            "type": rnd.choice(sorted(V.types)),
            "region": rnd.choice(sorted(V.regions)),
            "states": rnd.sample(STATES, 2),
            "severity": rnd.choice(sorted(V.severities)),
        }
        for i in range(60)
    ]
    data = tmp_path / "g.jsonl"
    data.write_text("".join(json.dumps(b) + "\n" for b in batch))
    outs = []
    for jobs in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-m", "advisor", "assess", str(data), "--jobs", jobs], capture_output=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        outs.append(out.stdout)
    assert outs[0] == outs[1] and outs[0].count(b"\n") == 60


RULE_CASES = yaml.safe_load((DATA / "rule_cases.yaml").read_text(encoding="utf-8"))
REACHED: set[str] = set()  # the supporting rules the property below saw fire


def _supporting(test):
    """The property, also on each supporting rule's own case (random descriptors seldom reach some)."""
    for rule_id in SUPPORTS_THE_LEAD_OF:
        test = example(RULE_CASES[rule_id]["fires"])(test)
    return test


@pytest.mark.slow
@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(descriptors)
@_supporting
def test_a_supporting_role_has_the_lead_it_supports(raw):
    """A role that supports another body's lead is never given when that body does not lead."""
    answer = assessment.build(advisor.parse_threat(raw, RB), RB, MATCHER)
    fired = {e.rule for e in answer.trace}
    roles = {a.id: a.role for a in answer.agencies}
    for rule_id, agency in SUPPORTS_THE_LEAD_OF.items():
        if rule_id in fired:
            REACHED.add(rule_id)
            assert roles.get(agency) == "lead", (rule_id, agency, roles)


@pytest.mark.slow
def test_every_supporting_rule_was_tried():
    """The property above reached every supporting rule (it runs first: tests run in file order)."""
    assert REACHED == set(SUPPORTS_THE_LEAD_OF)


class NaiveMatcher:
    """The reference's definition without its economy: every unfired rule of the stratum, checked again
    at every step with the compiled conditions' own `holds`."""

    def __init__(self, rulebase):
        plan = compiler.compile_rulebase(rulebase)
        self.order = {i: level for i, level in enumerate(plan.levels)}
        self.order["rest"] = plan.rest
        self.by_id = plan.compiled

    def __call__(self, stratum, facts, view, fired):
        return [rid for rid in self.order[stratum] if rid not in fired and self.by_id[rid].holds(view)]


@pytest.mark.slow
def test_the_reference_rechecking_only_what_new_facts_change_fires_what_rechecking_everything_fires():
    from corpus import descriptors as generated

    naive = NaiveMatcher(RB)
    for raw in generated(RB, 300, seed=8, rich=True):
        threat = advisor.parse_threat(raw, RB)
        ours = [(f.rule.id, f.step) for f in chaining.fire(threat, RB, MATCHER).firings]
        assert ours == [(f.rule.id, f.step) for f in chaining.fire(threat, RB, naive).firings], raw


@pytest.mark.slow
def test_durable_rules_and_the_reference_write_the_same_lines():
    """The differential test on whole outputs: every byte of the batch line, not only the firings."""
    from corpus import descriptors as generated

    for raw in generated(RB, 200, seed=9, rich=True):
        threat = advisor.parse_threat(raw, RB)
        assert assessment.build_json(threat, RB) == assessment.build_json(threat, RB, MATCHER), raw
