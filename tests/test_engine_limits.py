"""The engine's limits: a rule base that loads can run, and no rule file crashes the process.

Each limit of `advisor.compiler` has a rule just at it, which loads and assesses a descriptor
that makes every alternative hold at once, and one just over it, refused when it loads with
the file, the line and the limit. Anything that runs the engine on a rule base that would have
crashed it runs in a child process (a segfault would kill pytest). The shapes an attacker
found are here as found. `scripts/probe-engine-limits.py` shows where the engine itself fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import advisor
from advisor.compiler import compile_rulebase
from advisor.errors import RuleFileError
from advisor.limits import (
    MAX_ALTERNATIVES,
    MAX_AT_ONCE,
    MAX_EXPANSION,
    MAX_GROUPS,
    MAX_JOINS,
)

from conftest import ROOT

RB = advisor.load_rulebase()
CAT = RB.catalog
STATES = sorted(c for c in CAT.states if c not in ("JPN",))[:60]
TARGETS = sorted(CAT.vocabulary.targets)
ATTRIBUTES = sorted(CAT.vocabulary.attributes)
FRAMEWORKS = list(CAT.frameworks)[:20]
# every flag a rule here tests holds for this descriptor: the most the engine can be asked at once
WORST = {
    "type": "terrorism",
    "actor": "non_state",
    "severity": "high",
    "region": "malacca_strait",
    "states": STATES,
    "targets": TARGETS,
    "attributes": {a: True for a in ATTRIBUTES},
}

HEAD = "rules:\n"
PRODUCER = f"""  - id: r99-producer
    cites: ["10"]
    because: "Concludes the frameworks the rules under test join on."
    basis: general_knowledge
    note: "a rule written for a test"
    when: {{type: terrorism}}
    then: {{frameworks: [{", ".join(FRAMEWORKS)}]}}
"""


def rule(when: str, rule_id: str = "r99-under-test") -> str:
    """A rule whose `when` is the YAML given (indented by the caller's text, one block per line)."""
    body = textwrap.indent(textwrap.dedent(when).strip("\n"), " " * 6)
    return (
        f'  - id: {rule_id}\n    cites: ["10"]\n    because: "A rule written to test the engine\'s limits."\n'
        f'    basis: general_knowledge\n    note: "a rule written for a test"\n    when:\n{body}\n'
        f"    then: {{measures: [{next(iter(CAT.measures))}]}}\n"
    )


def write(tmp_path: Path, *rules: str) -> Path:
    (tmp_path / "rules.yaml").write_text(HEAD + PRODUCER + "".join(rules))
    return tmp_path


def refused(tmp_path: Path, *rules: str) -> list[str]:
    write(tmp_path, *rules)
    with pytest.raises(RuleFileError) as e:
        advisor.load_rulebase(tmp_path)
    return e.value.render().splitlines()


def fires(tmp_path: Path, *rules: str, raw: dict | None = None) -> list[str]:
    """Load the rule base and assess WORST with it in a child process; the rules that fired."""
    write(tmp_path, *rules)
    code = textwrap.dedent(f"""
        import json, sys, advisor
        rb = advisor.load_rulebase({str(tmp_path)!r})
        a = advisor.assess(advisor.parse_threat(json.loads(sys.argv[1]), rb), rb)
        print(json.dumps([e.rule for e in a.trace]))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(raw or WORST)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ADVISOR_NO_CACHE": "1"},
    )
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    return json.loads(out.stdout)


def where(tmp_path: Path, line: int) -> str:
    return f"{tmp_path}/rules.yaml:{line}: r99-under-test"


LINE_WHEN = 14  # the line of `when:` in the rule under test (after the producer)
LINE_FIRST = LINE_WHEN + 1


def listed(values) -> str:
    return "[" + ", ".join(values) + "]"


# --- an `any:` and a list of values: MAX_ALTERNATIVES ---------------------------------------


@pytest.mark.slow
def test_any_at_the_limit_runs(tmp_path):
    alternatives = "".join(f"  - states: [{s}]\n" for s in STATES[:MAX_ALTERNATIVES])
    assert "r99-under-test" in fires(tmp_path, rule("any:\n" + alternatives))


def test_any_over_the_limit_is_refused(tmp_path):
    alternatives = "".join(f"  - states: [{s}]\n" for s in STATES[: MAX_ALTERNATIVES + 1])
    assert refused(tmp_path, rule("any:\n" + alternatives)) == [
        f"{where(tmp_path, LINE_FIRST)}: when.any: {MAX_ALTERNATIVES + 1} alternatives, "
        f"over the engine's limit of {MAX_ALTERNATIVES}"
    ]


@pytest.mark.slow
def test_values_at_the_limit_run(tmp_path):
    assert "r99-under-test" in fires(tmp_path, rule(f"states: {listed(STATES[:MAX_ALTERNATIVES])}"))


@pytest.mark.parametrize(
    "test, message",
    [
        (f"states: {listed(STATES[: MAX_ALTERNATIVES + 1])}", "when.states: 33 values in 'any'"),
        (f"states: {{none: {listed(STATES[: MAX_ALTERNATIVES + 1])}}}", "when.states: 33 values in 'none'"),
        (
            f"unless: {{states: {{all: {listed(STATES[: MAX_ALTERNATIVES + 1])}}}}}",
            "when.unless.0.states: 33 values in 'all'",
        ),
    ],
)
def test_values_over_the_limit_are_refused(tmp_path, test, message):
    assert refused(tmp_path, rule(test)) == [
        f"{where(tmp_path, LINE_FIRST)}: {message}, over the engine's limit of {MAX_ALTERNATIVES}"
    ]


@pytest.mark.slow
def test_attacker_65_repeated_tests_in_any(tmp_path):
    """As found: one `any:` listing one test 65 times killed the process (segfault, exit 139)."""
    lines = refused(tmp_path, rule("any:\n" + "  - type: terrorism\n" * 65))
    assert lines == [f"{where(tmp_path, LINE_FIRST)}: when.any: 65 alternatives, over the engine's limit of 32"]


@pytest.mark.slow
def test_repeated_alternatives_are_refused(tmp_path):
    lines = refused(tmp_path, rule("any:\n  - type: terrorism\n  - type: piracy\n  - type: terrorism\n"))
    assert lines == [f"{where(tmp_path, LINE_FIRST)}: when.any: alternative 3 repeats alternative 1"]
    lines = refused(tmp_path, rule("type: terrorism\nunless:\n  - actor: state\n  - {actor: [state]}\n"))
    assert lines == [f"{where(tmp_path, LINE_FIRST + 1)}: when.unless: 'unless' block 2 repeats 'unless' block 1"]


def test_the_engine_crashes_past_the_limit_a_rule_base_cannot_reach():
    """What the limit keeps away: 65 alternatives holding at once overflow durable-rules (error 303, in a
    child process); deleting the state afterwards then corrupts memory, which killed the process on
    Python 3.10 and 3.11 and went unnoticed on 3.12 and 3.13, so only the error is certain. It guards
    nothing in advisor (only durable-rules runs): it documents why the limit exists, and fails if a
    new durable-rules moves it."""
    code = textwrap.dedent("""
        from durable import engine
        class Host(engine.Host):
            def get_action(self, name):
                return lambda c: None
            def _run(self):
                pass
        host = Host()
        flags = [f"f{i}" for i in range(65)]
        host.register_rulesets({"crash": {"r": {"all": [{"m": {"$and": [{"kind": "t"}, {"$or": [{f: True} for f in flags]}]}}], "run": "r"}}})
        try:
            host.assert_facts("crash", [{"kind": "t", "sid": "s", **{f: True for f in flags}}])
        except Exception as exc:
            print(exc)
        host.delete_state("crash", "s")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "error code: 303" in out.stdout and out.returncode in (0, -6, -11, 134, 139), out


# --- alternatives of one rule: MAX_AT_ONCE and MAX_EXPANSION ---------------------------------


@pytest.mark.slow
def test_alternatives_at_once_at_the_limit_run(tmp_path):
    # 1 + 31 + 8 = 40: each list of n adds n - 1
    assert MAX_AT_ONCE == 40
    when = f"states: {listed(STATES[:32])}\ntargets: {listed(TARGETS[:9])}"
    assert "r99-under-test" in fires(tmp_path, rule(when))


def test_alternatives_at_once_over_the_limit_are_refused(tmp_path):
    when = f"states: {listed(STATES[:32])}\ntargets: {listed(TARGETS[:10])}"
    assert refused(tmp_path, rule(when)) == [
        f"{where(tmp_path, LINE_WHEN)}: when: 41 of its alternatives can hold at once (each 'any' or list of values "
        f"of n adds n - 1), over the engine's limit of {MAX_AT_ONCE}: split the rule"
    ]


def _choices(n: int, blocks: int) -> str:
    """`blocks` choices of `n` alternatives each, all holding for WORST."""
    parts = [
        f"states: {listed(STATES[:n])}",
        f"targets: {listed(TARGETS[:n])}",
        "any:\n" + "".join(f"  - attributes: {{{a}: true}}\n" for a in ATTRIBUTES[:n]),
        f"severity: {listed(list(CAT.vocabulary.severities)[:n])}",
    ]
    unless = "unless: {attributes: {" + ", ".join(f"{a}: false" for a in ATTRIBUTES[n : 2 * n]) + "}}"
    return "\n".join((parts + [unless])[:blocks])


@pytest.mark.slow
def test_expansion_at_the_limit_runs(tmp_path):
    assert MAX_EXPANSION == 4**5
    assert "r99-under-test" in fires(tmp_path, rule(_choices(4, 5)))


def test_expansion_over_the_limit_is_refused(tmp_path):
    assert refused(tmp_path, rule(_choices(5, 5))) == [
        f"{where(tmp_path, LINE_WHEN)}: when: its choices combine into 2500 alternatives ('any' blocks and lists of "
        f"values multiply), over the engine's limit of {MAX_EXPANSION}: split the rule"
    ]


# --- groups: MAX_GROUPS ----------------------------------------------------------------------


def _pairs(n: int) -> str:
    types = sorted(CAT.vocabulary.types)
    return (
        "any:\n"
        + "".join(f"  - {{type: {t}, actor: non_state}}\n" for t in types[: n - 1])
        + "  - {type: terrorism, actor: non_state}\n"
    )


@pytest.mark.slow
def test_groups_at_the_limit_run(tmp_path):
    # the rule, its `any`, and each of its 10 alternatives of two tests
    assert MAX_GROUPS == 12
    assert "r99-under-test" in fires(tmp_path, rule(_pairs(10)))


def test_groups_over_the_limit_are_refused(tmp_path):
    assert refused(tmp_path, rule(_pairs(11))) == [
        f"{where(tmp_path, LINE_WHEN)}: when: its tests make 13 groups (the rule itself, each 'any', each alternative "
        f"or 'unless' block of several tests, each test of several values), over the engine's limit of {MAX_GROUPS}: "
        "split the rule or name fewer alternatives"
    ]


def test_attacker_14_two_test_alternatives(tmp_path):
    """As found: a rule with 14 two-test alternatives failed at assessment with error 113."""
    lines = refused(tmp_path, rule(_pairs(14)))
    assert len(lines) == 1 and lines[0].startswith(f"{where(tmp_path, LINE_WHEN)}: when: its tests make 16 groups")


# --- joins: MAX_JOINS ------------------------------------------------------------------------


@pytest.mark.slow
def test_joins_at_the_limit_run(tmp_path):
    when = f"type: terrorism\nframeworks: {listed(FRAMEWORKS[:MAX_JOINS])}"
    assert "r99-under-test" in fires(tmp_path, rule(when))


def test_joins_over_the_limit_are_refused(tmp_path):
    when = f"type: terrorism\nframeworks: {listed(FRAMEWORKS[: MAX_JOINS + 1])}"
    assert refused(tmp_path, rule(when)) == [
        f"{where(tmp_path, LINE_WHEN)}: when: it joins 13 earlier conclusions and counts, over the engine's limit "
        f"of {MAX_JOINS}: split the rule, or derive one fact that stands for several"
    ]


def test_attacker_17_joins(tmp_path):
    """As found: a rule joining 17 conclusions failed at assessment with error 304."""
    when = f"type: terrorism\nframeworks: {listed(FRAMEWORKS[:10])}\nagencies: {listed(list(CAT.agencies)[:7])}"
    lines = refused(tmp_path, rule(when))
    assert len(lines) == 1 and "it joins 17 earlier conclusions and counts, over the engine's limit of 12" in lines[0]


# --- empty lists ---------------------------------------------------------------------------

EMPTY = "an empty list tests nothing: name at least one value, or leave the test out"


@pytest.mark.parametrize(
    "when, message",
    [
        ("type: terrorism\nany:\n  - {}\n  - {}", "when.any: alternative 1 has no test"),
        ("type: terrorism\nany:\n  - {type: piracy}\n  - {}", "when.any: alternative 2 has no test"),
        ("type: terrorism\nunless: {}", "when.unless: 'unless' block 1 has no test"),
        ("type: terrorism\nunless: []", f"when.unless: {EMPTY}"),
        ("type: []", f"when.type: {EMPTY}"),
        ("type: terrorism\nregion: []", f"when.region: {EMPTY}"),
        ("type: terrorism\nseverity: []", f"when.severity: {EMPTY}"),
        ("type: terrorism\nattributes: {}", f"when.attributes: {EMPTY}"),
        ("type: terrorism\nderived: []", f"when.derived: {EMPTY}"),
        ("type: terrorism\nframeworks: []", f"when.frameworks: {EMPTY}"),
        ("type: terrorism\nagencies: []", f"when.agencies: {EMPTY}"),
        ("type: terrorism\ncount: {}", f"when.count: {EMPTY}"),
        ("type: terrorism\nstates: {any: []}", "when.states: 'any' needs at least one value"),
        ("type: terrorism\nany: []", "when.any: 'any' needs at least two alternatives"),
        ("any:\n  - {type: piracy}\n  - {region: []}", f"when.any.1.region: {EMPTY}"),
    ],
)
@pytest.mark.slow
def test_empty_lists_are_refused(tmp_path, when, message):
    """As found: empty test lists loaded, then failed at assessment with `ValueError: empty conjunction`."""
    lines = refused(tmp_path, rule(when))
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path}/rules.yaml:") and lines[0].endswith(message), lines


# --- the CLI: both commands report it, nothing crashes ----------------------------------------


def test_assess_and_rules_check_report_a_limit(tmp_path, invoke):
    write(tmp_path, rule("any:\n" + "  - type: terrorism\n" * 65))
    message = f"{where(tmp_path, LINE_FIRST)}: when.any: 65 alternatives, over the engine's limit of 32"
    assert (
        invoke(["assess", ROOT / "threats" / "terrorism.json", "--rules", tmp_path], exit_code=2).stderr
        == f"error: {message}\n"
    )
    out = invoke(["rules", "check", tmp_path], exit_code=1).output
    assert (
        f"{tmp_path}/rules.yaml:{LINE_FIRST}: error E100: r99-under-test: when.any: 65 alternatives, "
        "over the engine's limit of 32"
    ) in out


# --- many rules: the rulesets are cut where the engine's stack would overflow -----------------


@pytest.mark.slow
def test_many_rules_holding_at_once_are_split_and_run(tmp_path):
    """65 rules each testing its own state, all holding for one fact, would overflow the engine's stack
    in one ruleset: the compiler puts them in rulesets that each stay within MAX_SHARED."""
    rules = [rule(f"states: [{s}]", f"r99-state-{i}") for i, s in enumerate(STATES)] + [
        rule(f"targets: [{t}]", f"r99-target-{i}") for i, t in enumerate(TARGETS)
    ]
    write(tmp_path, *rules)
    plan = compile_rulebase(advisor.load_rulebase(tmp_path))
    assert len(plan.rest_rulesets) > 1
    fired = fires(tmp_path, *rules)
    assert {f"r99-state-{i}" for i in range(len(STATES))} <= set(fired)


@pytest.mark.slow
def test_an_engine_failure_leaves_no_crash_behind(tmp_path):
    """Past the limits anyway (lifted here by hand), the engine's error 303 is an error, not a segfault:
    the failed state is never deleted, and the next assessment runs on a fresh one."""
    wide = (
        "any:\n" + "".join(f"  - states: [{s}]\n" for s in STATES) + "".join(f"  - targets: [{t}]\n" for t in TARGETS)
    )
    write(tmp_path, rule(wide), rule(f"states: [{STATES[0]}]", "r99-other"))
    code = textwrap.dedent("""
        import json, sys, advisor
        from advisor import limits
        from advisor.errors import EngineError
        limits.MAX_ALTERNATIVES = limits.MAX_AT_ONCE = limits.MAX_SHARED = 1000
        rb = advisor.load_rulebase(sys.argv[1])
        for _ in range(3):
            try:
                advisor.assess(advisor.parse_threat(json.loads(sys.argv[2]), rb), rb)
                print("assessed")
            except EngineError as exc:
                print(exc)
        small = advisor.assess(advisor.parse_threat({"type": "terrorism", "states": [sys.argv[3]]}, rb), rb)
        print(sorted(e.rule for e in small.trace))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), json.dumps(WORST), STATES[0]],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ADVISOR_NO_CACHE": "1"},
    )
    assert out.returncode == 0, (out.returncode, out.stderr[-3000:])
    lines = out.stdout.splitlines()
    assert lines[:3] == ["the engine failed: too many rule conditions matched one fact at once"] * 3
    assert lines[3] == "['r99-other', 'r99-producer', 'r99-under-test']"


# --- the property: refused when it loads, or it runs; never a crash ---------------------------

POOL = (
    [f"states: [{s}]" for s in STATES[:40]]
    + [f"targets: [{t}]" for t in TARGETS]
    + [f"attributes: {{{a}: true}}" for a in ATTRIBUTES]
    + ["type: terrorism", "region: malacca_strait"]
)


@st.composite
def rule_texts(draw, rule_id: str) -> str:
    """A rule with random numbers of alternatives, values, joins and tests around the limits."""
    parts = []
    if draw(st.booleans()):
        parts.append(f"states: {listed(draw(st.lists(st.sampled_from(STATES), min_size=0, max_size=36, unique=True)))}")
    if draw(st.booleans()):
        parts.append(
            f"targets: {listed(draw(st.lists(st.sampled_from(TARGETS), min_size=1, max_size=12, unique=True)))}"
        )
    if draw(st.booleans()):
        n = draw(st.sampled_from([0, 2, 3, 8, 12, 16, 31, 32, 33, 40, 65]))
        blocks = [
            ", ".join(draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True))) for _ in range(n)
        ]
        parts.append("any:\n" + "".join(f"  - {{{b}}}\n" for b in blocks))
    if draw(st.booleans()):
        blocks = draw(
            st.lists(st.lists(st.sampled_from(POOL), min_size=0, max_size=3, unique=True), min_size=1, max_size=6)
        )
        parts.append("unless:\n" + "".join(f"  - {{{', '.join(b)}}}\n" for b in blocks))
    if draw(st.booleans()):
        parts.append(f"frameworks: {listed(draw(st.lists(st.sampled_from(FRAMEWORKS), max_size=18, unique=True)))}")
    if not parts:
        parts.append("type: terrorism")
    return rule("\n".join(parts), rule_id)


rule_bases = st.lists(st.integers(0, 10**6), min_size=1, max_size=25).flatmap(
    lambda ids: st.tuples(*[rule_texts(f"r99-generated-{i}") for i in range(len(ids))])
)

CHILD = """
import json, sys, pathlib, advisor
from advisor.errors import RuleFileError
out = []
for directory in json.loads(sys.argv[1]):
    try:
        rb = advisor.load_rulebase(directory)
    except RuleFileError as exc:
        out.append(["refused", str(exc)])
        continue
    a = advisor.assess(advisor.parse_threat(json.loads(sys.argv[2]), rb), rb)
    out.append(["ran", len(a.trace)])
print(json.dumps(out))
"""


@pytest.mark.slow
def test_generated_rule_bases_are_refused_or_run(tmp_path):
    """Property: a generated rule base is refused when it loads (RuleFileError), or assessing a descriptor
    that makes every test hold succeeds. The engine runs in one child process for every example: a
    segfault there fails this test instead of killing pytest."""
    examples: list[tuple[str, ...]] = []

    @settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(rule_bases)
    def collect(texts):
        examples.append(texts)

    collect()
    directories = []
    for i, texts in enumerate(examples):
        d = tmp_path / f"rb{i}"
        d.mkdir()
        write(d, *texts)
        directories.append(str(d))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(directories), json.dumps(WORST)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "ADVISOR_NO_CACHE": "1"},
    )
    assert out.returncode == 0, (out.returncode, out.stderr[-3000:])
    results = json.loads(out.stdout)
    assert len(results) == len(examples)
    kinds = {kind for kind, _ in results}
    assert kinds == {"refused", "ran"}, kinds  # the examples reach both sides of the limits
    for (kind, detail), d in zip(results, directories):
        if kind == "refused":
            assert all(line.startswith(f"{d}/rules.yaml:") for line in detail.splitlines()), detail
