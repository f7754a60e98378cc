"""The conventions users of OPA, conftest, ruff and sqlite-utils expect of a command line: one --format
vocabulary, JSON from every command that prints results, -q, reports CI systems read, help screens
whose examples stay as written, names wherever an id is asked for, errors naming the option typed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from advisor.cli import SHORT_HELP, main

from conftest import ROOT, THREATS

PIRACY = THREATS / "malacca_piracy.json"
CYBER = THREATS / "cyber_attack.json"


@pytest.mark.parametrize(
    "args",
    [
        ["catalog", "frameworks", "--format", "md"],
        ["assess", PIRACY, "--format", "md"],
        ["msel", THREATS / "korean_peninsula_exercise.json", "--format", "MD"],
        ["eeg", THREATS / "korean_peninsula_exercise.json", "--format", "md"],
    ],
)
def test_md_is_markdown_everywhere(invoke, args):
    fmt = args.index("--format") + 1
    as_alias = invoke(args).stdout
    args[fmt] = "markdown"
    assert as_alias == invoke(args).stdout


@pytest.mark.slow
def test_text_and_table_name_the_same_output(invoke):
    assert invoke(["catalog", "types", "--format", "text"]).stdout == invoke(["catalog", "types"]).stdout
    assert invoke(["rules", "check", "--format", "table"]).stdout == invoke(["rules", "check"]).stdout


def test_an_unknown_format_lists_the_command_s_formats(invoke):
    result = invoke(["validate", CYBER, "--format", "yaml"], exit_code=2)
    assert "'yaml' is not one of 'text', 'json'" in result.stderr


@pytest.mark.parametrize(
    "args, key",
    [
        (["validate", CYBER, PIRACY], "files"),
        (["explain", PIRACY, "--why", "wpns", "--why-not", "kedo", "--what-if"], "why"),
        (["query", "--framework", "wpns"], "rules"),
        (["catalog", "agencies"], None),
        (["matrix", "--types", "piracy"], "rows"),
        (["rules", "check"], "findings"),
        (["test", ROOT / "tests" / "policy" / "test_rec07.yaml"], None),
    ],
)
@pytest.mark.slow
def test_every_command_that_prints_results_prints_json(invoke, args, key):
    data = json.loads(invoke([*args, "--format", "json"]).stdout)
    assert key is None or key in data


@pytest.mark.slow
def test_explain_json_holds_the_same_answers_as_its_text(invoke):
    data = json.loads(invoke(["explain", PIRACY, "--why", "wpns", "--why-not", "kedo", "--format", "json"]).stdout)
    text = invoke(["explain", PIRACY, "--why", "wpns", "--why-not", "kedo"]).stdout
    assert data["why"]["present"] and all(r["rule"] in text for r in data["why"]["rules"])
    assert not data["why_not"]["present"] and all(m["rule"] in text for m in data["why_not"]["could_conclude"])
    assert all(any(not c["holds"] for c in m["conditions"]) for m in data["why_not"]["could_conclude"])


def test_invalid_descriptors_are_reported_in_json_and_exit_2(invoke, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "piracy", "severity": "hgih"}')
    result = invoke(["validate", CYBER, bad, "--format", "json"], exit_code=2)
    data = json.loads(result.stdout)
    assert (data["valid"], data["invalid"]) == (1, 1)
    assert "severity" in data["files"][1]["problems"][0] and "high" in data["files"][1]["problems"][0]


@pytest.mark.parametrize(
    "name, kind, ref",
    [
        ("KEDO", "framework", "kedo"),
        ("Maritime Safety Agency", "agency", "maritime_safety_agency"),
        ("ASEAN Regional Forum", "framework", "arf"),
        ("Japan", "state", "JPN"),
        ("7", "recommendation", "7"),
    ],
)
def test_names_and_short_names_are_accepted_wherever_an_id_is(invoke, name, kind, ref):
    data = json.loads(invoke(["explain", CYBER, "--why-not", name, "--format", "json"]).stdout)
    assert (data["why_not"]["kind"], data["why_not"]["id"]) == (kind, ref)


@pytest.mark.slow
def test_errors_name_the_option_typed_and_the_nearest_of_its_kind(invoke):
    assert (
        "error: --why-not: unknown name 'kedoo' (did you mean 'kedo'"
        in invoke(["explain", CYBER, "--why-not", "kedoo"], exit_code=2).stderr
    )
    result = invoke(["query", "--recommendation", "16"], exit_code=2)
    assert "--recommendation: there is no recommendation 16 (the document has 1 to 15)" in result.stderr
    result = invoke(["query", "--framework", "Japan"], exit_code=2)
    assert "error: --framework: 'Japan' is a state, not a framework" in result.stderr
    result = invoke(["query", "--framework", "wpnz"], exit_code=2)
    assert "--framework: unknown framework name 'wpnz' (did you mean 'wpns'" in result.stderr


def test_diff_sees_two_threats_whose_conclusions_agree(invoke, tmp_path):
    data = json.loads(CYBER.read_text())
    other = tmp_path / "retitled.json"
    other.write_text(json.dumps({**data, "title": "Another title"}))
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    invoke(["assess", CYBER, "--format", "json", "-o", a])
    invoke(["assess", other, "--format", "json", "-o", b])
    result = invoke(["diff", a, b], exit_code=1)
    assert "~ threat title:" in result.stdout and "1 of 1 changed" in result.stdout
    invoke(["diff", a, a])


def test_junit_report_of_policy_tests(invoke, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: piracy reaches WPNS\n    threat: {type: piracy, region: malacca_strait}\n"
        "    expect: {frameworks: {include: [wpns]}}\n"
        "  - name: a wrong expectation\n    threat: {type: piracy, region: malacca_strait}\n"
        "    expect: {frameworks: {exclude: [wpns]}}\n"
    )
    result = invoke(["test", cases, "--format", "junit"], exit_code=1)
    root = ET.fromstring(result.stdout)
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    failed = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["a wrong expectation"] and "wpns" in failed[0].find("failure").text


def _broken_rules(tmp_path, name: str = "rules"):
    directory = tmp_path / name
    directory.mkdir()
    (directory / "r.yaml").write_text(
        "rules:\n  - id: r01-x\n    cites: ['99']\n    because: x\n    basis: general_knowledge\n"
        "    note: y\n    when: {type: piracy}\n    then: {frameworks: [wpns]}\n"
    )
    return directory


def test_sarif_report_of_rules_check(invoke, tmp_path):
    result = invoke(["rules", "check", _broken_rules(tmp_path), "--format", "sarif"], exit_code=1)
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    found = sarif["runs"][0]["results"]
    assert found and found[0]["level"] == "error" and "recommendation 99" in found[0]["message"]["text"]
    assert found[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_github_annotations_of_rules_check_escape_what_github_reads(invoke, tmp_path):
    result = invoke(["rules", "check", _broken_rules(tmp_path, "rules,odd:name"), "--format", "github"], exit_code=1)
    line = result.stdout.splitlines()[0]
    assert line.startswith("::error file=") and "rules%2Codd%3Aname" in line and ",line=3,title=advisor E" in line
    assert line.endswith("::r01-x: cites: there is no recommendation 99 (there are 1 to 15)")


@pytest.mark.slow
def test_quiet_keeps_results_and_drops_warnings(invoke, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "not-a-dir"))
    (tmp_path / "not-a-dir").write_text("a file where the cache directory should be")
    loud = invoke(["assess", PIRACY, "--format", "json"])
    quiet = invoke(["-q", "assess", PIRACY, "--format", "json"])
    assert "warning" in loud.stderr and quiet.stderr == "" and quiet.stdout == loud.stdout


@pytest.mark.slow
def test_no_colour_is_printed(invoke, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = invoke(["assess", PIRACY]).stdout + invoke(["rules", "check"]).stdout + invoke(["--help"]).stdout
    assert "\x1b[" not in out


@pytest.mark.parametrize("name", sorted(SHORT_HELP))
def test_help_examples_stay_as_written(invoke, name):
    command = main.commands[name]
    args = [name, "check", "--help"] if name == "rules" else [name, "--help"]
    screen = invoke(args).stdout
    doc = (command.commands["check"] if name == "rules" else command).help or ""
    examples = [line.strip() for line in doc.splitlines() if line.strip().startswith("advisor ")]
    assert examples, f"advisor {name} --help shows no example"
    for example in examples:
        assert any(line.strip() == example for line in screen.splitlines()), (example, screen)


def test_the_command_list_shows_whole_summaries(invoke):
    screen = invoke(["--help"]).stdout
    assert "..." not in screen.split("Commands:")[1]


@pytest.mark.slow
def test_fmt_finds_the_shipped_rules_canonical(invoke):
    result = invoke(["fmt", "--check", ROOT / "rules"])
    assert result.stdout.endswith("0 of 5 files would be reformatted\n")


def test_fmt_orders_a_rule_s_keys_and_keeps_its_comments(invoke, tmp_path):
    rule_file = tmp_path / "r.yaml"
    text = (
        "rules:\n"
        "  # the only rule\n"
        "  - when: {type: piracy}  # a comment on when\n"
        '    because: "Piracy is met at sea."\n'
        "    id: r12-x\n"
        "    then:\n"
        "      frameworks: [wpns]\n"
        "    cites: ['12']\n"
        "    note: general\n"
        "    basis: general_knowledge\n"
    )
    rule_file.write_text(text)
    result = invoke(["fmt", "--check", tmp_path], exit_code=1)
    assert "would reformat" in result.stdout and rule_file.read_text() == text
    invoke(["fmt", tmp_path])
    after = rule_file.read_text()
    keys = [line.split(":")[0].strip(" -") for line in after.splitlines()[2:] if not line.startswith("      ")]
    assert keys == ["id", "cites", "basis", "note", "because", "when", "then"]
    assert "# the only rule" in after and "# a comment on when" in after and "cites: ['12']" in after
    import yaml

    assert yaml.safe_load(after) == yaml.safe_load(text)
    invoke(["fmt", "--check", tmp_path])


def test_fmt_refuses_what_it_cannot_read_naming_the_line(invoke, tmp_path):
    (tmp_path / "bad.yaml").write_text("rules:\n  - id: r01-x\n    when: {type: [piracy}\n")
    result = invoke(["fmt", tmp_path / "bad.yaml"], exit_code=2)
    assert "bad.yaml:3" in result.stderr and "not valid YAML" in result.stderr and "Traceback" not in result.stderr
