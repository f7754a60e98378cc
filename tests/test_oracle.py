"""The engine against an oracle that reads the rule files itself (tests/oracle.py), not the compiler's conditions.

Every example, every rule case, a generated corpus and hypothesis's descriptors must fire the
same rules at the same steps with the same conclusions; and a deliberately broken condition
of the compiler must make that comparison fail, or it would prove nothing.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

import advisor

import corpus
import oracle
from conftest import DATA, ROOT, load_json, threat_files

TESTS = Path(__file__).resolve().parent
RULE_CASES = yaml.safe_load((DATA / "rule_cases.yaml").read_text(encoding="utf-8"))
# The module the compiler's condition classes live in (moved out of advisor.compiler).
CONDITIONS = "advisor.conditions"


def agree(raw, rulebase) -> None:
    """The engine's assessment of `raw` is the oracle's answer, in every aspect."""
    descriptor = raw if isinstance(raw, advisor.Descriptor) else advisor.parse_threat(raw, rulebase)
    diffs = oracle.differences(oracle.fired(descriptor), advisor.assess(descriptor, rulebase))
    assert not diffs, "\n".join([json.dumps(descriptor.model_dump(exclude_defaults=True)), *diffs])


@pytest.mark.slow
@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_example(path, rulebase):
    agree(load_json(path), rulebase)


STAGES = [(p, n) for p in threat_files() for n in range(1, len(load_json(p).get("injects", [])) + 1)]


@pytest.mark.parametrize("path, number", STAGES, ids=[f"{p.stem}-{n}" for p, n in STAGES])
def test_example_stage(path, number, rulebase):
    """Each stage's descriptor, assessed on its own (what carried lines add is not the rules')."""
    stage = advisor.load_threat(path, rulebase).stages()[number - 1]
    agree(stage.model_copy(update={"injects": []}), rulebase)


RULE_CASE_ITEMS = [(rule, kind) for rule in sorted(RULE_CASES) for kind in ("fires", "misses")]


@pytest.mark.parametrize("rule, kind", RULE_CASE_ITEMS, ids=[f"{r}-{k}" for r, k in RULE_CASE_ITEMS])
def test_rule_case(rule, kind, rulebase):
    """The oracle reads each rule as tests/data/rule_cases.yaml says, and the engine as the oracle."""
    raw = RULE_CASES[rule][kind]
    assert (rule in oracle.fired(advisor.parse_threat(raw, rulebase))["rules"]) == (kind == "fires"), raw
    agree(raw, rulebase)


@pytest.mark.slow
@pytest.mark.parametrize("rich", [False, True], ids=["plain", "rich"])
def test_generated_corpus(rich, rulebase):
    from corpus import descriptors

    for raw in descriptors(rulebase, 300, rich=rich):
        agree(raw, rulebase)


@pytest.mark.slow
def test_large_generated_corpus(rulebase):
    from corpus import descriptors

    for seed in (1, 2):
        for raw in descriptors(rulebase, 1000, seed=seed, rich=seed == 2):
            agree(raw, rulebase)


RB = advisor.load_rulebase()
V = RB.catalog.vocabulary
STATES = sorted(RB.catalog.state_groups["east_asia"]) + ["USA", "RUS", "AUS", "IND", "KAZ", "SOM", "IRN"]
DESCRIPTORS = corpus.strategy(V, STATES, max_states=5)


@settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@pytest.mark.slow
@given(DESCRIPTORS)
def test_any_descriptor(raw):
    agree(raw, RB)


def test_oracle_reads_no_compiled_form():
    """The oracle imports nothing that reads rules for the engine; it would share their mistakes."""
    banned = {"advisor.compiler", "advisor.conditions", "advisor.engine", "advisor.reference", "advisor.analysis"}
    banned |= {"advisor.rules"}  # the loaded (validated, compiled) rule base: the oracle reads the YAML
    imported = set()
    for node in ast.walk(ast.parse((TESTS / "oracle.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            imported |= {base} | {f"{base}.{a.name}" for a in node.names}
    assert not imported & banned, imported & banned
    assert not any(name.startswith(".") for name in imported)


@pytest.mark.slow
def test_oracle_reads_every_rule():
    """The oracle evaluates the rules the engine runs, each once."""
    ids = [r.id for r in oracle.oracle().rules]
    assert len(ids) == len(set(ids))
    assert set(ids) == {r.id for r in RB.rules}


# --- constructs the shipped rules do not use ------------------------------------------------

# Rules that use what the reference offers and the shipped rule base does not (a category, a
# list of severities, targets all/none, a group under `all`, `only` with no state named,
# attributes false, counts of agencies, frameworks, states, a layer and a sector, joins on an
# agency), run beside the shipped distinctions.
CONSTRUCTS = """\
about: every construct of the rule language, for the oracle's differential test
rules:
  - id: r01-x-category-severity-list
    cites: ["1"]
    basis: general_knowledge
    note: "a test rule"
    because: "A threat between states at the ends of the scale of severity."
    when:
      category: inter_state
      severity: [low, critical]
    then:
      derive: [peaceful_change]
      frameworks: [arf, sco]
      states: [asean]
      measures: [defense_exchanges]

  - id: r02-x-targets-all-none
    cites: ["2"]
    basis: general_knowledge
    note: "a test rule"
    because: "Shipping and the sea lanes both, and not US forces."
    when:
      targets: {all: [shipping, sea_lanes], none: [us_forces]}
      severity: {at_most: high}
    then:
      frameworks: [wpns, asean_plus_three]
      agencies: {maritime_safety_agency: {role: lead, note: "the coast guard meets threats to shipping first, in this test."}, national_police_agency: support}
      involved_states: true

  - id: r03-x-group-all
    cites: ["3"]
    basis: general_knowledge
    note: "a test rule"
    because: "Every state of China and its special regions is named."
    when:
      states: {all: [china_and_its_sars]}
    then:
      caveats: [arf_consensus]
      members_of: [tcog]

  - id: r04-x-only-vacuous
    cites: ["4"]
    basis: general_knowledge
    note: "a test rule"
    because: "Every state named is one of ASEAN's, also when none is named."
    when:
      states: {only: asean}
      attributes: {armed: false, maritime: true}
    then:
      frameworks: [asean]
      agencies: {ministry_of_justice: participate}

  - id: r05-x-counts
    cites: ["5"]
    basis: general_knowledge
    note: "a test rule"
    because: "Enough bodies, frameworks and states are already in the answer."
    when:
      count: {agencies: 2, frameworks: 3, states: 2}
    then:
      derive: [energy_security]
      agencies: {cabinet_information_research_office: support}

  - id: r06-x-count-layer-and-sector
    cites: ["6"]
    basis: general_knowledge
    note: "a test rule"
    because: "Two cooperative-security frameworks and two police bodies."
    when:
      count: {cooperative_security: 2, police: 2}
    then:
      frameworks: [cscap]

  - id: r07-x-joins
    cites: ["7"]
    basis: general_knowledge
    note: "a test rule"
    because: "A body, a framework and a fact of earlier rules are all there."
    when:
      agencies: [cabinet_information_research_office]
      frameworks: [arf]
      derived: [energy_security, in_east_asia]
    then:
      measures: [arf_track_two]

  - id: r08-x-any-unless
    cites: ["8"]
    basis: general_knowledge
    note: "a test rule"
    because: "At sea or in the sea lanes, unless between states or a high threat by a state."
    when:
      region: sea_lanes
      any:
        - derived: [at_sea]
        - targets: [energy_supply]
          actor: [state, unknown]
      unless:
        - derived: [inter_state]
        - severity: {at_least: high}
          actor: state
    then:
      frameworks: [regional_oil_stockpiling]

  - id: r09-x-count-beyond
    cites: ["9"]
    basis: general_knowledge
    note: "a test rule"
    because: "Work reaches beyond diplomacy and defence, in several kinds."
    when:
      count: {sectors: 3, beyond_diplomacy_and_defense: 1, multilateral: 2}
    then:
      caveats: [host_state_consent]
"""
CONSTRUCT_CASES = [
    {"type": "terrorism", "states": ["CHN", "HKG", "MAC"]},
    {"type": "terrorism", "states": ["CHN", "HKG"]},
    {"type": "piracy", "attributes": {"maritime": True}},
    {"type": "piracy", "states": ["IDN"], "attributes": {"maritime": True, "armed": True}},
    {"type": "military_tension", "severity": "low", "region": "south_china_sea"},
    {"type": "military_tension", "severity": "critical", "states": ["CHN", "PHL"], "region": "east_asia"},
    {"type": "piracy", "region": "sea_lanes", "targets": ["shipping", "sea_lanes"], "states": ["IDN", "MYS"]},
    {"type": "piracy", "region": "malacca_strait", "targets": ["shipping", "sea_lanes", "us_forces"]},
    {"type": "energy_supply_disruption", "region": "persian_gulf", "targets": ["energy_supply"], "actor": "state"},
    {
        "type": "energy_supply_disruption",
        "region": "persian_gulf",
        "targets": ["energy_supply"],
        "severity": "high",
        "actor": "state",
    },
    {
        "type": "military_tension",
        "severity": "low",
        "targets": ["shipping", "sea_lanes"],
        "attributes": {"maritime": True},
    },
]


@pytest.fixture(scope="module")
def constructs(tmp_path_factory):
    """A rule directory of the construct rules and the shipped distinctions, and its rule base."""
    root = tmp_path_factory.mktemp("constructs")
    (root / "00-distinctions.yaml").write_bytes((ROOT / "rules" / "00-distinctions.yaml").read_bytes())
    (root / "50-constructs.yaml").write_text(CONSTRUCTS, encoding="utf-8")
    return root, advisor.load_rulebase(root)


@pytest.mark.slow
def test_every_construct(constructs):
    from corpus import descriptors

    root, rulebase = constructs
    reached = set()
    for raw in CONSTRUCT_CASES + descriptors(rulebase, 400, seed=5):
        descriptor = advisor.parse_threat(raw, rulebase)
        expected = oracle.fired(descriptor, root)
        reached |= expected["rules"]
        diffs = oracle.differences(expected, advisor.assess(descriptor, rulebase), root)
        assert not diffs, "\n".join([json.dumps(raw), *diffs])
    construct_rules = {r["id"] for r in yaml.safe_load(CONSTRUCTS)["rules"]}
    assert construct_rules <= reached, construct_rules - reached


# --- a broken compiler must be noticed ---------------------------------------------------

# Each break changes the engine form of one condition class, as a mistake in the compiler would.
BREAKS = {
    "none": "",
    # type, category, actor: the last value of a list is forgotten
    "scalar-drops-a-value": """
orig = C.ScalarIn.durable
C.ScalarIn.durable = lambda self: orig(replace(self, values=self.values[:-1]) if len(self.values) > 1 else self)
""",
    # region: the flags of targets are tested instead of those of regions
    "region-wrong-flag": """
orig = C.FlagsAny.durable
C.FlagsAny.durable = lambda self: orig(replace(self, prefix="t_") if self.field == "region" else self)
""",
    # a count: one more than the rule asks for
    "count-off-by-one": """
orig = C.AtLeast.durable
C.AtLeast.durable = lambda self: orig(replace(self, n=self.n + 1))
""",
    # a join on a concluded framework, agency or derived fact looks for another name
    "join-wrong-name": """
orig = C.Concluded.durable
C.Concluded.durable = lambda self: orig(replace(self, ref=self.ref + "_x"))
""",
}

SCRIPT = """
import json, sys
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, {tests!r})
import {conditions} as C
{patch}
import advisor, oracle
out = {{}}
for path in sorted(Path({threats!r}).glob("*.json")):
    raw = json.loads(path.read_text(encoding="utf-8"))
    out[path.stem] = oracle.differences(oracle.fired(raw), advisor.assess(raw))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def broken_runs():
    """Each break run over threats/ in a process of its own (its rulesets and cache poisoned), at once."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix="oracle-break-") as tmp:
        for name, patch in BREAKS.items():
            code = SCRIPT.format(tests=str(TESTS), conditions=CONDITIONS, patch=patch, threats=str(ROOT / "threats"))
            env = {**os.environ, "ADVISOR_CACHE_DIR": str(Path(tmp) / name)}
            runs[name] = subprocess.Popen(
                [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        done = {name: p.communicate(timeout=300) for name, p in runs.items()}
        yield {name: (runs[name].returncode, out, err) for name, (out, err) in done.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BREAKS))
def test_a_broken_condition_is_noticed(name, broken_runs):
    code, out, err = broken_runs[name]
    assert code == 0, err
    mismatches = {stem: diffs for stem, diffs in json.loads(out).items() if diffs}
    if name == "none":
        assert not mismatches, mismatches  # the harness itself sees agreement
    else:
        assert mismatches, f"{name}: the differential test over threats/ did not notice"
