"""advisor test, the pytest plugin, coverage, mutants, rules check, explain, query and diff."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import advisor

from conftest import ROOT

POLICY = ROOT / "tests" / "policy"
PIRACY = ROOT / "threats" / "malacca_piracy.json"

FAILING = """about: a case that fails, as a newcomer would write it
cases:
  - name: piracy should bring TCOG (it should not)
    threat: {threat}
    expect:
      frameworks: {{include: [tcog], exclude: [wpns]}}
      roles: {{maritime_safety_agency: support}}
      because: {{imb_kuala_lumpur: [7]}}
"""


def write_case(tmp_path: Path, text: str, name: str = "test_case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- advisor test ------------------------------------------------------------------------


@pytest.mark.slow
def test_project_suite_passes(invoke):
    out = invoke(["test", POLICY]).stdout
    assert out.splitlines()[-1].endswith(" passed, 0 failed")
    assert int(out.split()[0]) >= 45


def test_at_least_three_cases_per_recommendation():
    for n in range(1, 16):
        text = (POLICY / f"test_rec{n:02d}.yaml").read_text()
        assert text.count("  - name:") >= 3, n
        assert "boundary" in text, n


def test_failing_case_shows_a_readable_diff_and_the_trace(invoke, tmp_path):
    path = write_case(tmp_path, FAILING.format(threat=PIRACY))
    out = invoke(["test", path], exit_code=1).stdout
    assert f"FAIL {path}:3 piracy should bring TCOG (it should not)" in out
    assert "frameworks  - expected: include tcog\n" in out and "+ actual:   absent" in out
    assert "- expected: exclude wpns" in out
    assert "roles       - expected: maritime_safety_agency support" in out
    assert "+ actual:   maritime_safety_agency lead" in out
    assert "- expected: imb_kuala_lumpur justified by [7]" in out and "imb_kuala_lumpur justified by [12]" in out
    assert "trace:" in out and "r12-imb-kuala-lumpur [12(3)]" in out
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_json_report(invoke, tmp_path):
    path = write_case(tmp_path, FAILING.format(threat=PIRACY))
    data = json.loads(invoke(["test", path, "--format", "json"], exit_code=1).stdout)
    assert (data["passed"], data["failed"]) == (0, 1)
    assert {m["what"] for m in data["cases"][0]["mismatches"]} == {"frameworks", "roles", "because"}


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "cases:\n  - name: x\n    threat: {type: piracy}\n    expect: {frameworks: [wpns]}\n    colour: red\n",
            "test_case.yaml:5: x: colour: unknown key",
        ),
        (
            "cases:\n  - name: x\n    threat: {type: piracy}\n    expect:\n      frameworks: [wpnss]\n",
            "test_case.yaml:4: x: expect: frameworks: unknown id 'wpnss' (did you mean 'wpns'?)",
        ),
        (
            "cases:\n  - name: x\n    threat: {type: piracy}\n    expect:\n      framework: [wpns]\n",
            "test_case.yaml:5: x: expect.framework: unknown key",
        ),
        ("about: x\ncases: []\nextra: 1\n", "test_case.yaml:3: extra: unknown key"),
    ],
)
def test_bad_case_files_are_refused_with_the_line(invoke, tmp_path, text, message):
    path = write_case(tmp_path, text)
    err = invoke(["test", path], exit_code=2).stderr
    assert message in err, err


def test_missing_threat_file(invoke, tmp_path):
    path = write_case(tmp_path, "cases:\n  - name: x\n    threat: nowhere.json\n    expect: {frameworks: [wpns]}\n")
    assert "nowhere.json: no such file" in invoke(["test", path], exit_code=2).stderr


# --- the pytest plugin ---------------------------------------------------------------------


def run_pytest(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(path)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        timeout=120,
    )


@pytest.mark.slow
def test_pytest_collects_one_item_per_case_with_the_same_report(tmp_path):
    write_case(tmp_path, FAILING.format(threat=PIRACY))
    out = run_pytest(tmp_path / "test_case.yaml")
    assert out.returncode == 1
    assert "frameworks  - expected: include tcog" in out.stdout and "trace:" in out.stdout
    assert "1 failed" in out.stdout


@pytest.mark.slow
def test_pytest_passes_a_good_case(tmp_path):
    write_case(
        tmp_path,
        FAILING.format(threat=PIRACY)
        .replace("{include: [tcog], exclude: [wpns]}", "[wpns]")
        .replace("support}", "lead}")
        .replace("[7]", "[12]"),
    )
    out = run_pytest(tmp_path / "test_case.yaml")
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout


# --- coverage and mutants ----------------------------------------------------------------------


@pytest.mark.slow
def test_project_suite_covers_every_rule_and_recommendation(invoke):
    out = invoke(["test", POLICY, "--coverage", "--threshold", "100"]).stdout
    assert "RECOMMENDATIONS  15/15 (100.0%)" in out
    assert [line for line in out.splitlines() if line.startswith("RULES")][0].endswith("(100.0%)")
    assert "NEVER" not in out.split("FRAMEWORKS")[0]


def test_threshold_fails_a_thin_suite(invoke, tmp_path):
    path = write_case(tmp_path, f"cases:\n  - name: piracy\n    threat: {PIRACY}\n    expect: {{frameworks: [wpns]}}\n")
    out = invoke(["test", path, "--coverage", "--threshold", "50"], exit_code=1).stdout
    assert "NEVER" in out and out.splitlines()[-1] == "1 passed, 0 failed"
    data = json.loads(invoke(["test", path, "--format", "json", "--threshold", "50"], exit_code=1).stdout)
    assert data["coverage"]["rules"]["percent"] < 50


@pytest.mark.slow
def test_project_suite_kills_every_mutant(invoke):
    out = invoke(["test", POLICY, "--mutate"]).stdout
    assert ", 0 survived" in out


@pytest.mark.slow
def test_thin_suite_lets_mutants_survive(invoke, tmp_path):
    path = write_case(tmp_path, f"cases:\n  - name: piracy\n    threat: {PIRACY}\n    expect: {{frameworks: [wpns]}}\n")
    out = invoke(["test", path, "--mutate"], exit_code=1).stdout
    assert "rule r12-imb-kuala-lumpur" in out  # no case notices the IMB rule switched off
    assert "rule r12-wpns" not in out.split("Survivors")[1].split("mutants,")[0].replace("r12-wpns-", "")


# --- rules check -----------------------------------------------------------------------------


@pytest.mark.slow
def test_shipped_rule_base_passes_strict(invoke):
    assert invoke(["rules", "check", "--strict"]).stdout == "0 errors, 0 warnings\n"


RULE = """  - id: {id}
    cites: ["{cite}"]
    because: "A rule written for the static checks."
    when: {when}
    then: {then}
    basis: general_knowledge
    note: "a rule written for the static checks"
"""


def rulebase(tmp_path: Path, *rules: str) -> Path:
    (tmp_path / "r.yaml").write_text("rules:\n" + "".join(rules))
    return tmp_path


def test_check_reports_load_errors_with_line(invoke, tmp_path):
    d = rulebase(
        tmp_path, RULE.format(id="r10-x", cite="10", when="{tpye: terrorism}", then="{derive: [counter_terrorism]}")
    )
    out = invoke(["rules", "check", d], exit_code=1).stdout
    assert f"{d}/r.yaml:5: error E100: r10-x: when.tpye: unknown field 'tpye' (did you mean 'type'?)" in out


def test_check_finds_contradictions_missing_producers_cycles(invoke, tmp_path):
    d = rulebase(
        tmp_path,
        RULE.format(
            id="r10-never",
            cite="10",
            when="{type: piracy, unless: {type: piracy}}",
            then="{frameworks: [east_asia_cyber_forum]}",
        ),
        RULE.format(
            id="r10-orphan",
            cite="10",
            when="{derived: [counter_terrorism]}",
            then="{frameworks: [east_asia_cyber_forum]}",
        ),
        RULE.format(
            id="r10-loop-a", cite="10", when="{derived: [maritime_security]}", then="{derive: [energy_security]}"
        ),
        RULE.format(
            id="r10-loop-b", cite="10", when="{derived: [energy_security]}", then="{derive: [maritime_security]}"
        ),
    )
    out = invoke(["rules", "check", d], exit_code=1).stdout
    assert "error E301: r10-never: its conditions can never hold (no type satisfies every test)" in out
    assert "error E302: r10-orphan: needs derived 'counter_terrorism', which no rule concludes" in out
    assert (
        "error E303: r10-loop-a: conclusions feed back into their own conditions: "
        "r10-loop-a -> r10-loop-b -> r10-loop-a" in out
    )


def test_check_warnings_fail_only_when_strict(invoke, tmp_path):
    d = rulebase(
        tmp_path,
        RULE.format(
            id="r13-lead", cite="13", when="{type: drug_trafficking}", then="{agencies: {national_police_agency: lead}}"
        ),
        RULE.format(
            id="r13-support",
            cite="13",
            when="{type: [drug_trafficking, organized_crime]}",
            then="{agencies: {national_police_agency: support}}",
        ),
    )
    out = invoke(["rules", "check", d]).stdout
    assert "warning W201: recommendation 1 is cited by no rule" in out
    assert (
        "warning W401: r13-support: gives national_police_agency 'support' where r13-lead gives it 'lead'; "
        "both hold for e.g. {'type': 'drug_trafficking'}"
    ) in out
    invoke(["rules", "check", d, "--strict"], exit_code=1)
    data = json.loads(invoke(["rules", "check", d, "--format", "json"]).stdout)
    assert data["errors"] == 0 and data["warnings"] > 0
    assert data["rulebase"] == advisor.load_rulebase(d).digest  # what was checked (advisor serve compares it)


def test_check_sees_through_distinctions(invoke, tmp_path):
    """A rule needing a distinction and its absence can never fire; two leads that can meet are found."""
    d = rulebase(
        tmp_path,
        RULE.format(id="d-east", cite="1", when="{region: east_asia}", then="{derive: [in_east_asia]}"),
        RULE.format(
            id="r01-never",
            cite="1",
            when="{derived: [in_east_asia], unless: {derived: [in_east_asia]}}",
            then="{frameworks: [arf]}",
        ),
        RULE.format(
            id="r10-police", cite="10", when="{type: terrorism}", then="{agencies: {national_police_agency: lead}}"
        ),
        RULE.format(
            id="r10-diplomats",
            cite="10",
            when="{derived: [in_east_asia], type: [terrorism, piracy]}",
            then="{agencies: {ministry_of_foreign_affairs: lead}}",
        ),
    )
    out = invoke(["rules", "check", d], exit_code=1).stdout
    assert "error E301: r01-never: its conditions can never hold" in out
    assert (
        "warning W402: r10-diplomats: gives ministry_of_foreign_affairs the lead where r10-police gives it to "
        "national_police_agency; both hold for e.g. {'type': 'terrorism', 'region': 'east_asia'}"
    ) in out
    assert "warning W203: attribute 'nuclear' is tested by no rule" in out


# --- explain --------------------------------------------------------------------------------


def test_why_goes_down_to_the_descriptor(invoke):
    out = invoke(["explain", PIRACY, "--why", "wpns"]).stdout
    assert out.startswith("framework wpns follows from 1 rule:")
    assert "r12-wpns [12(1)]" in out and "because of the derived fact maritime_security, concluded by:" in out
    assert "r12-maritime-security [12]" in out and "because the descriptor's category: non_traditional" in out
    assert "the document: “(1) encourage cooperation among countries in the region through such forums as" in out


def test_why_says_when_a_role_is_general_knowledge(invoke):
    out = invoke(["explain", PIRACY, "--why", "maritime_safety_agency"]).stdout
    assert "r12-maritime-police-lead [12]" in out
    assert "general knowledge, not the document: the document names maritime security and police agencies" in out


def test_why_a_recommendation_skips_the_distinctions(invoke):
    out = invoke(["explain", ROOT / "threats" / "missile_launch.json", "--why", "1"]).stdout
    assert out == "recommendation 1 is not in this assessment (ask --why-not)\n"


def test_why_a_recommendation_and_a_state(invoke):
    assert "r12-malacca-littoral-states" in invoke(["explain", PIRACY, "--why", "Malaysia"]).stdout
    assert "recommendation 14 follows from" in invoke(["explain", PIRACY, "--why", "14"]).stdout


def test_why_not_names_the_missing_condition(invoke):
    out = invoke(["explain", ROOT / "threats" / "cyber_attack.json", "--why-not", "tcog"]).stdout
    assert "framework tcog is not concluded; 1 rule could conclude it" in out
    assert "FAIL north_korea_problem holds (now: does not hold)" in out
    assert "- d-north-korea-problem [7]: 2 conditions failed" in out
    assert "FAIL states include PRK (now: JPN, KOR)" in out


def test_why_not_nearest_miss_first(invoke):
    out = invoke(["explain", ROOT / "threats" / "terrorism.json", "--why-not", "maritime_safety_agency"]).stdout
    counts = [int(line.split(": ")[1].split()[0]) for line in out.splitlines() if line.startswith("- ")]
    assert counts == sorted(counts)


def test_why_not_of_something_present(invoke):
    assert "is in this assessment" in invoke(["explain", PIRACY, "--why-not", "wpns"]).stdout


@pytest.mark.slow
def test_what_if(invoke):
    out = invoke(["explain", PIRACY, "--what-if"]).stdout
    assert "if type = armed_attack:" in out
    assert "if type = terrorism:\n    + recommendations: 10" in out


def test_explain_unknown_name(invoke):
    err = invoke(["explain", PIRACY, "--why", "wpnss"], exit_code=2).stderr
    assert "unknown name 'wpnss' (did you mean 'wpns'?)" in err


# --- query ----------------------------------------------------------------------------------


def test_query_framework(invoke):
    out = invoke(["query", "--framework", "wpns"]).stdout
    assert "framework wpns is concluded by 1 rule:" in out and "r12-wpns [12(1)]" in out
    assert "when type is piracy; region within east_asia\n" in out  # tests implied by others are left out
    assert "threat types: " in out and "piracy" in out.split("threat types: ")[1]


@pytest.mark.slow
def test_query_recommendation_and_agency(invoke):
    assert "r07-deterrence-frameworks" in invoke(["query", "--recommendation", "7"]).stdout
    out = invoke(["query", "--agency", "maritime_safety_agency"]).stdout
    assert "r12-maritime-police-lead" in out


def test_query_wrong_kind(invoke):
    assert "'wpns' is a framework, not an agency" in invoke(["query", "--agency", "wpns"], exit_code=2).stderr


# --- diff -------------------------------------------------------------------------------------


def test_diff_two_assessments(invoke, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    invoke(["assess", PIRACY, "-o", a])
    invoke(["assess", ROOT / "threats" / "terrorism.json", "-o", b])
    out = invoke(["diff", a, b], exit_code=1).stdout
    assert "+ recommendations: 10" in out and "- frameworks: arf" in out
    assert invoke(["diff", a, a]).stdout == "0 of 1 changed\n"


@pytest.mark.slow
def test_diff_shows_the_effect_of_a_one_line_rule_change(invoke, tmp_path):
    new = tmp_path / "new"
    shutil.copytree(ROOT / "rules", new)
    path = new / "30-coalition-of-the-willing.yaml"
    text = path.read_text()
    old = "    when:\n      derived: [maritime_security, in_east_asia]\n    then:\n      frameworks: [wpns]"
    assert old in text
    path.write_text(text.replace(old, old.replace("in_east_asia]\n", "in_east_asia]\n      type: piracy\n")))
    staged = tmp_path / "staged"
    staged.mkdir()
    raw = json.loads((ROOT / "threats" / "malacca_piracy_escalation.json").read_text())
    raw["injects"][-1]["resolves"] = "all"  # the piracy ends as the oil stops: only the energy answer is left
    (staged / "ended.json").write_text(json.dumps(raw))
    out = invoke(["diff", "--rules", ROOT / "rules", "--rules", new, ROOT / "threats", staged], exit_code=1).stdout
    assert "threats/energy_supply_disruption.json\n  - frameworks: wpns" in out
    assert f"{staged}/ended.json\n  stage 3: - frameworks: wpns" in out  # stages are compared too
    assert out.splitlines()[-1] == f"2 of {len(list((ROOT / 'threats').glob('*.json'))) + 1} changed"


def test_diff_refuses_what_is_not_an_assessment(invoke):
    assert "not an assessment" in invoke(["diff", PIRACY, PIRACY], exit_code=2).stderr


@pytest.mark.slow
def test_the_search_reaches_what_the_cut_expansion_misses(rulebase):
    """The full expansion of the coalition rule is cut at MAX_CLAUSES and loses the epidemic
    case; the search still finds it, and its example really fires the rule."""
    import advisor
    from advisor.analysis import MAX_CLAUSES, Analyzer

    a = Analyzer(rulebase)
    assert len(a.dnf("r03-non-traditional-coalition")) == MAX_CLAUSES
    example = a.example(a.find("r03-epidemic-health"))
    fired = {e.rule for e in advisor.assess(advisor.parse_threat(example, rulebase), rulebase).trace}
    assert "r03-epidemic-health" in fired


@pytest.mark.slow
def test_search_examples_fire_their_rule_unless_a_count_is_needed(rulebase):
    """For every rule, the example the search gives fires it, except where the rule or one it
    needs tests a count (counts are taken as reachable)."""
    import advisor
    from advisor.analysis import Analyzer
    from advisor.conditions import AtLeast, Concluded, Distinction

    a = Analyzer(rulebase)

    def counts(rule_id, seen=()):
        c = a.compiled[rule_id]
        if any(isinstance(j, AtLeast) for j in c.joins):
            return True
        needed = [p.id for j in c.joins if isinstance(j, Concluded) for p in a.producers.get((j.kind, j.ref), [])]
        needed += [p.rule.id for t in c.tests if isinstance(t, Distinction) for p in t.producers]
        return any(counts(n, seen + (rule_id,)) for n in needed if n not in seen)

    for rule in rulebase.rules:
        example = a.example(a.find(rule.id))
        fired = {e.rule for e in advisor.assess(advisor.parse_threat(example, rulebase), rulebase).trace}
        assert rule.id in fired or counts(rule.id), (rule.id, example)
