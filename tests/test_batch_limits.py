"""Batch assessment, the limits on input, untrusted rule files, and nothing lost on interruption."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, threat_files

THREATS = ROOT / "threats"


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


# --- batch -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_directory_gives_json_lines_in_input_order(invoke):
    out = lines(invoke(["assess", THREATS]).stdout)
    assert [o["threat"]["id"] for o in out] == [p.stem for p in threat_files()]


def test_several_files_and_identical_lines_to_single_assessments(invoke):
    a, b = (
        THREATS / "terrorism.json",
        THREATS / "piracy.json" if (THREATS / "piracy.json").exists() else THREATS / "malacca_piracy.json",
    )
    out = invoke(["assess", a, b]).stdout.splitlines()
    single = json.loads(invoke(["assess", a]).stdout)
    assert json.loads(out[0]) == single and len(out) == 2


@pytest.mark.slow
def test_stdin_array_and_json_lines(invoke):
    arr = lines(invoke(["assess", "-"], input='[{"type": "piracy"}, {"type": "terrorism"}]').stdout)
    assert [o["threat"]["id"] for o in arr] == ["stdin-0", "stdin-1"]
    jl = lines(invoke(["assess", "-"], input='{"type": "piracy"}\n\n{"id": "b", "type": "terrorism"}\n').stdout)
    assert [o["threat"]["id"] for o in jl] == ["stdin-1", "b"]


def test_bad_descriptors_become_error_records_and_exit_2(invoke, tmp_path):
    (tmp_path / "a.json").write_text('{"type": "piracy"}')
    (tmp_path / "b.json").write_text('{"type": "pirate"}')
    (tmp_path / "c.json").write_text('{"type": ')
    (tmp_path / "d.jsonl").write_text('{"type": "terrorism"}\n{"type": 3}\n')
    result = invoke(["assess", tmp_path], exit_code=2)
    out = lines(result.stdout)
    assert out[0]["threat"]["id"] == "a"
    assert out[1] == {
        "error": {
            "source": f"{tmp_path}/b.json",
            "line": None,
            "message": f"{tmp_path}/b.json: type: unknown value 'pirate' (did you mean 'piracy'?)",
        }
    }
    assert out[2]["error"]["message"] == "not valid JSON: Expecting value (line 1, column 10)"
    assert out[3]["threat"]["type"] == "terrorism" and out[4]["error"]["line"] == 2
    assert "3 of 5 inputs could not be assessed" in result.stderr


@pytest.mark.slow
def test_jobs_give_the_same_bytes(invoke, tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    invoke(["assess", THREATS, "-o", one])
    invoke(["assess", THREATS, "--jobs", "2", "-o", two])
    assert one.read_bytes() == two.read_bytes() and one.read_bytes().count(b"\n") == len(threat_files())


def test_table_is_refused_for_several(invoke):
    assert "use --format jsonl" in invoke(["assess", THREATS, "--format", "table"], exit_code=2).stderr


@pytest.mark.slow
def test_skip_done_resumes(invoke, tmp_path):
    out = tmp_path / "out.jsonl"
    first = sorted(threat_files())[:5]
    invoke(["assess", *first, "-o", out])
    with out.open("ab") as fh:
        fh.write(b'{"threat": {"id": "half-writt')  # an interrupted line
    invoke(["assess", THREATS, "-o", out, "--skip-done", out])
    ids = [o["threat"]["id"] for o in lines(out.read_text())]
    assert ids == [p.stem for p in first] + [p.stem for p in threat_files() if p not in first]


def _interruptible() -> None:
    """Ctrl-C as a terminal delivers it: a test run started in the background (`cmd &` in a script, as
    .ci/run starts nox) passes SIGINT on ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_interrupted_batch_leaves_only_complete_lines(tmp_path):
    n = 3000
    data = tmp_path / "many.jsonl"
    data.write_text(
        "".join(json.dumps({"id": f"t{i}", "type": "piracy", "region": "malacca_strait"}) + "\n" for i in range(n))
    )
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "advisor", "assess", str(data), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_interruptible,
    )
    deadline = time.time() + 60
    while (not out.exists() or out.stat().st_size < 50_000) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    text = out.read_bytes()
    assert text and text.endswith(b"\n")
    assert all(json.loads(line)["threat"]["type"] == "piracy" for line in text.splitlines())
    assert text.count(b"\n") < n


# --- limits on input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('{"type": "piracy", "x_deep": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32 levels deep"),
        ('{"type": "piracy", "states": [' + ",".join(['"JPN"'] * 61) + "]}", "at most 60 entries"),
        ('{"type": "piracy", "title": "' + "x" * 10_001 + '"}', "title: String should have at most 10000 characters"),
        (
            '{"type": "' + "p" * 5000 + '"}',
            "unknown value 'ppppppppppppppppppppppppppppppppppppppppppppppppppppppppp...'",
        ),
        ('{"type": "piracy", "severity": Infinity}', "Infinity is not a valid JSON number"),
        (
            '{"type": "piracy", "attributes": {' + ",".join(f'"a{i}": true' for i in range(61)) + "}}",
            "attributes: Dictionary should have at most 60 items",
        ),
    ],
)
def test_limits(invoke, tmp_path, content, fragment):
    path = tmp_path / "t.json"
    path.write_text(content)
    err = invoke(["assess", path], exit_code=2).stderr
    assert fragment in err and "Traceback" not in err
    assert len(err) < 2000


@pytest.mark.slow
def test_descriptor_size_limit_is_configurable(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"type": "piracy", "title": "' + "x" * 500 + '"}')
    env = {**os.environ, "ADVISOR_MAX_DESCRIPTOR_BYTES": "100"}
    out = subprocess.run(
        [sys.executable, "-m", "advisor", "assess", str(path)], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 2 and "over the limit of 100" in out.stderr


# --- untrusted rule files ---------------------------------------------------------------------------


def test_yaml_bomb_is_refused_quickly(invoke, tmp_path):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        levels.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join(f"*{chr(96 + i)}" for _ in range(10)) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(levels) + "\nrules: []\n")
    start = time.time()
    err = invoke(["assess", THREATS / "terrorism.json", "--rules", tmp_path], exit_code=2).stderr
    assert time.time() - start < 10
    assert "bomb.yaml" in err and ("aliases" in err or "expands to" in err)


@pytest.mark.parametrize(
    "payload",
    ["!!python/object/apply:os.system ['touch /tmp/advisor-pwned']", "!!python/name:os.system", "!!binary aGVsbG8="],
)
def test_object_building_tags_are_refused(invoke, tmp_path, payload):
    (tmp_path / "evil.yaml").write_text(f"rules:\n  - id: r10-x\n    cites: ['10']\n    because: {payload}\n")
    err = invoke(["assess", THREATS / "terrorism.json", "--rules", tmp_path], exit_code=2).stderr
    assert "evil.yaml" in err and "Traceback" not in err
    assert not os.path.exists("/tmp/advisor-pwned")


def test_oversized_rule_file_is_refused(invoke, tmp_path):
    (tmp_path / "big.yaml").write_text("rules:\n" + "# padding\n" * 300_000)
    err = invoke(["assess", THREATS / "terrorism.json", "--rules", tmp_path], exit_code=2).stderr
    assert "over the limit" in err


def test_help_does_not_load_the_rule_engine_or_the_rule_base():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "advisor", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    imported = out.stderr
    for heavy in ("durable", "advisor.engine", "advisor.rules", "advisor.models", "tabulate"):
        assert f" {heavy}" not in imported, heavy
