"""The command line: formats, exit codes, and one clear message for every kind of bad input."""

import json

import pytest

from advisor import __version__
from advisor.cli import main

from conftest import ROOT

PIRACY = ROOT / "threats" / "malacca_piracy.json"


def test_assess_json_is_the_default_off_a_terminal(invoke):
    out = json.loads(invoke(["assess", PIRACY]).stdout)
    assert out["threat"]["id"] == "malacca_piracy"
    assert "wpns" in {f["id"] for f in out["frameworks"]}


def test_assess_table_fits_100_columns(invoke):
    out = invoke(["assess", PIRACY, "--format", "table"]).stdout
    for section in ("RECOMMENDATIONS", "FRAMEWORKS", "STATES", "AGENCIES", "TRACE"):
        assert section in out
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize("stem", ["north_korea_nuclear_crisis", "armed_attack", "regime_collapse"])
def test_table_width_on_the_largest_outputs(invoke, stem):
    out = invoke(["assess", ROOT / "threats" / f"{stem}.json", "--format", "table"]).stdout
    assert max(len(line) for line in out.splitlines()) <= 100


def test_assess_markdown(invoke):
    out = invoke(["assess", PIRACY, "--format", "markdown"]).stdout
    assert out.startswith("# Armed robbery against tankers in the Malacca Strait\n")
    assert "| Western Pacific Naval Symposium | existing |" in out
    assert "## Trace" in out


def test_assess_stdin(invoke):
    out = json.loads(invoke(["assess", "-"], input='{"type": "Cyber attack"}').stdout)
    assert out["threat"]["type"] == "cyber_attack" and out["threat"]["id"] == "stdin"


def test_assess_to_file(invoke, tmp_path):
    target = tmp_path / "out.json"
    assert invoke(["assess", PIRACY, "-o", target]).stdout == ""
    assert json.loads(target.read_text())["threat"]["id"] == "malacca_piracy"


def test_same_input_byte_identical_output(invoke):
    """A second assessment in the same process says what the first said (nothing kept between calls
    changes an answer; across processes and hash seeds: test_engine)."""
    assert invoke(["assess", PIRACY]).stdout == invoke(["assess", PIRACY]).stdout


def test_assess_with_another_rule_base(invoke, tmp_path):
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: r12-only\n    cites: ['12(3)']\n    because: 'Only the IMB, for this test.'\n"
        "    basis: general_knowledge\n    note: 'a test rule'\n"
        "    when: {type: piracy}\n    then: {frameworks: [imb_kuala_lumpur]}\n"
    )
    out = json.loads(invoke(["assess", PIRACY, "--rules", tmp_path]).stdout)
    assert [f["id"] for f in out["frameworks"]] == ["imb_kuala_lumpur"]


# --- bad input: exit 2, one clear message, no traceback, no partial file -----------


def bad(invoke, tmp_path, content: bytes | str, name: str = "t.json") -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    target = tmp_path / "out.json"
    result = invoke(["assess", path, "-o", target], exit_code=2)
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not target.exists() and not list(tmp_path.glob(".out.json*"))
    return result.stderr.strip()


def test_malformed_json(invoke, tmp_path):
    msg = bad(invoke, tmp_path, '{"type": ')
    assert msg == f"error: {tmp_path}/t.json: not valid JSON: Expecting value (line 1, column 10)"


def test_unknown_value_names_file_field_and_nearest(invoke, tmp_path):
    msg = bad(invoke, tmp_path, '{"type": "piracy", "region": "Malaka Strait"}')
    assert msg == (f"error: {tmp_path}/t.json: region: unknown value 'Malaka Strait' (did you mean 'malacca_strait'?)")


def test_several_problems_one_message(invoke, tmp_path):
    msg = bad(invoke, tmp_path, '{"type": "pirasy", "regoin": "x"}')
    assert msg.splitlines() == [
        f"error: {tmp_path}/t.json: type: unknown value 'pirasy' (did you mean 'piracy'?)",
        f"error: {tmp_path}/t.json: regoin: unknown field; put extra facts under 'attributes' or prefix the "
        "name with 'x_' (did you mean 'region'?)",
    ]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
        ('{"type": "piracy", "severity": NaN}', "NaN is not a valid JSON number"),
        ('{"type": "piracy", "type": "terrorism"}', "duplicate key 'type'"),
        ('{"type": "piracy"}\n{"type": "terrorism"}', "more than one JSON value"),
        ('["piracy"]', "a descriptor is a JSON object, not list"),
        ('{"region": "japan"}', "type: required field is missing"),
    ],
)
def test_bad_files(invoke, tmp_path, content, fragment):
    assert fragment in bad(invoke, tmp_path, content)


def test_byte_order_mark_is_accepted(invoke, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"type": "piracy"}')
    assert json.loads(invoke(["assess", path]).stdout)["threat"]["type"] == "piracy"


def test_missing_file_and_directory(invoke, tmp_path):
    r = invoke(["assess", tmp_path / "nope.json"], exit_code=2)
    assert r.stderr.strip() == f"error: {tmp_path}/nope.json: no such file"
    r = invoke(["assess", tmp_path], exit_code=2)
    assert r.stderr.strip() == f"error: {tmp_path}: no descriptors here (*.json, *.jsonl)"
    r = invoke(["validate", tmp_path], exit_code=2)
    assert r.stderr.strip() == f"error: {tmp_path}: is a directory, not a file"


def test_oversized_file(invoke, tmp_path, monkeypatch):
    monkeypatch.setattr("advisor.source.MAX_DESCRIPTOR_BYTES", 100)
    assert "over the limit of 100" in bad(invoke, tmp_path, '{"type": "piracy", "title": "' + "x" * 200 + '"}')


def test_bad_rule_base_is_exit_2(invoke, tmp_path):
    (tmp_path / "r.yaml").write_text("rules: [")
    r = invoke(["assess", PIRACY, "--rules", tmp_path], exit_code=2)
    assert r.stderr.startswith(f"error: {tmp_path}/r.yaml:2: not valid YAML")


def test_usage_error_is_exit_2(invoke):
    r = invoke(["assess", PIRACY, "--format", "xml"], exit_code=2)
    assert "Invalid value for '--format'" in r.stderr


def test_internal_error_is_exit_3_without_traceback(invoke, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("advisor.stages.build", boom)
    r = invoke(["assess", PIRACY], exit_code=3)
    assert "This is a bug in advisor" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(AssertionError, match="kaboom"):
        invoke(["--debug", "assess", PIRACY], exit_code=3)


# --- the other commands -----------------------------------------------------------


def test_validate(invoke, tmp_path):
    (tmp_path / "bad.json").write_text('{"type": "pirate"}')
    ok = invoke(["validate", PIRACY]).stdout
    assert ok == f"{PIRACY}: ok (piracy)\n"
    r = invoke(["validate", PIRACY, tmp_path / "bad.json"], exit_code=2)
    assert r.stderr.strip() == f"error: {tmp_path}/bad.json: type: unknown value 'pirate' (did you mean 'piracy'?)"


def test_validate_every_example(invoke):
    files = sorted((ROOT / "threats").glob("*.json"))
    assert invoke(["validate", *files]).stdout.count(": ok (") == len(files)


def test_schema(invoke):
    schema = json.loads(invoke(["schema"]).stdout)
    assert schema["required"] == ["type"] and "piracy" in schema["properties"]["type"]["enum"]


@pytest.mark.parametrize(
    "what",
    ["recommendations", "frameworks", "agencies", "states", "types", "regions", "targets", "attributes", "derived"],
)
def test_catalog(invoke, what):
    table = invoke(["catalog", what]).stdout
    data = json.loads(invoke(["catalog", what, "--format", "json"]).stdout)
    assert data and table.count("\n") >= len(data)
    assert invoke(["catalog", what, "--format", "markdown"]).stdout.startswith("|")


def test_catalog_recommendations_lists_all_fifteen(invoke):
    data = json.loads(invoke(["catalog", "recommendations", "--format", "json"]).stdout)
    assert [r["number"] for r in data] == list(range(1, 16))


def test_version(invoke):
    assert invoke(["--version"]).stdout.strip() == f"advisor, version {__version__}"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_with_an_example_and_is_documented(invoke, command):
    out = invoke([command, "--help"]).stdout
    assert "Example:" in out
    assert f"`{command}" in (ROOT / "README.md").read_text()  # the README's list of every command
    docs = "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))
    assert f"advisor {command}" in docs


@pytest.mark.slow
def test_installed_command_works_from_any_directory(tmp_path):
    """The rule base ships inside the package: no need to run from the repository."""
    import subprocess
    import sys

    ok = subprocess.run(
        [sys.executable, "-m", "advisor", "assess", PIRACY, "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["threat"]["id"] == "malacca_piracy"
    (tmp_path / "bad.json").write_text('{"type": ')
    bad = subprocess.run(
        [sys.executable, "-m", "advisor", "assess", "bad.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "error: bad.json: not valid JSON: Expecting value (line 1, column 10)\n"
