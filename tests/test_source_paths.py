"""Reading inputs, case by case: the limit settings, files that are not regular or not whole,
strict JSON's refusals, and YAML's line numbers and refusals, each with its message."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from advisor import source
from advisor.errors import FileReadError, RuleFileError, SettingError


def message(call, *args, **kwargs) -> str:
    with pytest.raises((FileReadError, RuleFileError, SettingError)) as caught:
        call(*args, **kwargs)
    return caught.value.render()


# --- settings ------------------------------------------------------------------------------------


def test_an_unset_or_empty_setting_is_the_default(monkeypatch):
    monkeypatch.delenv("ADVISOR_MAX_DESCRIPTOR_BYTES", raising=False)
    assert source.descriptor_limit() == source.MAX_DESCRIPTOR_BYTES
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "")
    assert source.descriptor_limit() == source.MAX_DESCRIPTOR_BYTES
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", "12345")
    assert source.batch_limit() == 12345


@pytest.mark.parametrize("value", ["０１", "01", "1" * 19, " 5"])
def test_a_setting_is_plain_ascii_digits(monkeypatch, value):
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", value)
    assert message(source.batch_limit) == (
        f"ADVISOR_MAX_BATCH_BYTES: not a positive whole number of bytes: '{value}' (the default is 200000000)"
    )


def test_a_long_setting_is_clipped_in_the_message(monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", "x" * 500)
    text = message(source.batch_limit)
    assert len(text) < 200 and text.endswith("...' (the default is 200000000)")


# --- files ---------------------------------------------------------------------------------------


def test_what_is_not_a_regular_file_is_refused_unread(tmp_path):
    where = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(where))
    try:
        assert message(source.read_bytes, where, limit=10) == (
            f"{where}: is a socket, not a regular file (give '-' to read standard input)"
        )
    finally:
        server.close()
    assert message(source.read_bytes, tmp_path, limit=10) == f"{tmp_path}: is a directory, not a file"
    assert message(source.read_bytes, tmp_path / "none", limit=10) == f"{tmp_path}/none: no such file"
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert message(source.read_bytes, loop, limit=10) == f"{loop}: cannot be read: Too many levels of symbolic links"


def test_a_file_is_bounded_while_it_is_read_not_by_its_size_alone():
    status = Path("/proc/self/status")  # its size says 0; it holds far more than 10 bytes
    if not status.exists():
        pytest.skip("no /proc here")
    assert message(source.read_bytes, status, limit=10) == "/proc/self/status: file is over the limit of 10 bytes"


def test_a_file_that_fails_while_it_is_read():
    mem = Path("/proc/self/mem")  # a regular file whose first page cannot be read
    if not mem.exists():
        pytest.skip("no /proc here")
    assert message(source.read_bytes, mem, limit=10) == "/proc/self/mem: cannot be read: Input/output error"


def test_a_file_at_its_limit_is_read_whole(tmp_path):
    exact = tmp_path / "exact.json"
    exact.write_bytes(b"x" * 100)
    assert source.read_bytes(exact, limit=100) == b"x" * 100
    assert message(source.read_bytes, exact, limit=99) == f"{exact}: file is 100 bytes, over the limit of 99"


def test_text_is_utf8_and_not_empty(tmp_path):
    blank = tmp_path / "blank.json"
    blank.write_bytes(b" \n\t")
    assert message(source.read_text, blank, limit=10) == f"{blank}: the file is empty"
    assert source.decode(b"\xef\xbb\xbf{}", "x") == "{}"
    assert message(source.decode, b"{\xff}", "x.json") == "x.json: not UTF-8 text (byte 1)"
    assert message(source.decode, b"", "x.yaml", error=RuleFileError) == "x.yaml: the file is empty"


def test_standard_input_is_one_bounded_descriptor(monkeypatch):
    assert source.read_json_stream(io.BytesIO(b'{"a": 1}')) == {"a": 1}
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "5")
    assert message(source.read_json_stream, io.BytesIO(b'{"a": 1}')) == (
        "<stdin>: input is over the limit of 5 bytes for one descriptor"
    )


def test_a_descriptor_file(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"type": "piracy"}')
    assert source.read_json(path) == {"type": "piracy"}


# --- strict JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a":1} {"b":2}', "more than one JSON value (line 1, column 9); give one object per file"),
        ("{", "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        ('{"a": NaN}', "not valid JSON: NaN is not a valid JSON number"),
        ('{"a": -Infinity}', "not valid JSON: -Infinity is not a valid JSON number"),
        ('{"a": 1e999}', "not valid JSON: 1e999 is out of range for a number"),
        ('{"a": -1e999}', "not valid JSON: -1e999 is out of range for a number"),
        ('{"a": ' + "1" * 40 + "}", "not valid JSON: the number 11111111111111111... has 40 digits; at most 30"),
        ('{"a": 1, "a": 2}', "not valid JSON: duplicate key 'a'"),
        ("[" * 40 + "]" * 40, "nested more than 32 levels deep"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
        ('"\\ud800"', "not valid text: a lone surrogate escape (\\ud800-\\udfff)"),
        ('{"\\uDBFF": 1}', "not valid text: a lone surrogate escape (\\ud800-\\udfff)"),
        ('{"a": [{"b": "\\udfff"}]}', "a[0].b: not valid text: a lone surrogate escape (\\ud800-\\udfff)"),
    ],
    ids=[
        "two-values",
        "cut-short",
        "nan",
        "infinity",
        "huge",
        "huge-negative",
        "long-integer",
        "duplicate",
        "deep",
        "very-deep",
        "surrogate",
        "surrogate-key",
        "surrogate-inside",
    ],
)
def test_strict_json_refusals(text, expected):
    assert message(source.parse_json, text, "x.json") == f"x.json: {expected}"


def test_strict_json_accepts_what_is_fine():
    text = '{"a": [1, -2.5, 1e300, "\\ud83d\\ude00", "' + "{" * 40 + '"], "b": ' + "9" * 30 + "}"
    data = source.parse_json(text, "x.json")
    assert data == {"a": [1, -2.5, 1e300, "😀", "{" * 40], "b": int("9" * 30)}


# --- YAML -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "r.yaml:2: duplicate key 'a'"),
        ("1: x\ntrue: y\n", "r.yaml:2: duplicate key 'True'"),
        ("? [1]\n: 2\n", "r.yaml:1: a mapping key must be a plain value"),
        ("a: [\n", "r.yaml:2: not valid YAML: did not find expected node content"),
        ("a: *nope\n", "r.yaml:1: not valid YAML: found undefined alias"),
        ("x: 1\n---\ny: 2\n", "r.yaml:2: not valid YAML: but found another document"),
        (
            "a: !!python/object:os.system x\n",
            "r.yaml:1: not valid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object:os.system'",
        ),
        ("- &a [1]\n" + "- *a\n" * 101, "r.yaml: more than 100 YAML aliases"),
    ],
    ids=[
        "duplicate",
        "duplicate-as-bool",
        "complex-key",
        "cut-short",
        "undefined-alias",
        "two-documents",
        "tag",
        "aliases",
    ],
)
def test_yaml_refusals(text, expected):
    assert message(source.parse_yaml, text, "r.yaml") == expected


def test_yaml_that_would_expand_too_far():
    wide = "a: &a [" + ", ".join(["x"] * 2500) + "]\nb: [" + ", ".join(["*a"] * 90) + "]\n"
    nodes = 1 + (1 + 2500) + 1 + 90 * (1 + 2500)  # the mapping, a's list, b's list of 90 copies of a's
    assert message(source.parse_yaml, wide, "r.yaml") == (
        f"r.yaml: expands to {nodes:,} nodes, over the limit of 200,000 (aliases?)"
    )


def test_yaml_control_characters_are_refused_without_a_line():
    assert message(source.parse_yaml, "a: \x07\n", "r.yaml").startswith(
        "r.yaml: not valid YAML: unacceptable character #x0007: control characters are not allowed"
    )


@pytest.mark.parametrize("text", ["a: [\n", "- &a [1]\n" + "- *a\n" * 101])
def test_yaml_errors_are_of_the_kind_asked_for(text):
    with pytest.raises(FileReadError):  # a policy file's or a hotwash's problems are input errors
        source.parse_yaml(text, "c.yaml", error=FileReadError)


@pytest.mark.xfail(
    strict=True,
    reason="source._Loader raises RuleFileError for a duplicate or complex key whatever `error` asks for: "
    "a policy, catalog or decisions file's duplicate key is reported as a rule file's",
)
@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "? [1]\n: 2\n"])
def test_yaml_key_errors_are_of_the_kind_asked_for(text):
    with pytest.raises(FileReadError):
        source.parse_yaml(text, "c.yaml", error=FileReadError)


@pytest.mark.parametrize("depth", [300, 5000])
def test_yaml_nested_too_deeply(depth):
    text = message(source.parse_yaml, "[" * depth + "]" * depth, "r.yaml")
    assert text in (
        "r.yaml: not valid YAML: nested too deeply",
        "r.yaml:1: not valid YAML: exceeded maximum nesting depth",
    )


def test_yaml_tag_of_a_mapping_on_a_scalar():
    assert message(source.parse_yaml, "a: !!map x\n", "r.yaml") == (
        "r.yaml:1: not valid YAML: expected a mapping node, but found scalar"
    )


def test_yaml_remembers_lines():
    data = source.parse_yaml("a:\n  b:\n    - x\n    - y: 1\n", "r.yaml")
    assert data == {"a": {"b": ["x", {"y": 1}]}}
    assert source.line_of(data, ("a", "b", 1, "y")) == 4
    assert source.line_of(data, ("a", "b", 0)) == 3
    assert source.line_of(data, ("a", "missing")) == 1  # as deep as the location reaches
    assert source.line_of(data, ("a", "b", 5)) == 2
    assert source.line_of(data, ()) == 1
    assert source.line_of({"a": 1}, ("a",)) is None  # data that did not come from YAML has no lines
    assert source.parse_yaml("", "r.yaml") is None


def test_a_rule_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - id: x\n")
    data = source.read_yaml(path)
    assert data == {"rules": [{"id": "x"}]} and data.key_lines == {"rules": 1}
