"""Batch mode piece by piece: how JSON Lines and JSON arrays are split and bounded, what a
directory gives, and how a resumed run checks each earlier line against its input."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from advisor import batch
from advisor.errors import FileReadError, InputError

ROOT = Path(__file__).resolve().parents[1]
PIRACY = ROOT / "threats" / "malacca_piracy.json"
OVER_ALL = "input is over the limit of {:,} bytes in all (ADVISOR_MAX_BATCH_BYTES); the rest was not read"
AFTER_ARRAY = "more than one JSON value: something follows the array; give one array, or JSON Lines"


def lines(data: bytes, name: str = "x.jsonl") -> list[batch.Item]:
    return list(batch.stream_lines(io.BytesIO(data), name, "x"))


def array(data: bytes) -> list[tuple[str, object, str | None]]:
    return [(i.source, i.raw, i.error) for i in batch.stream_array(io.BytesIO(data), "<stdin>", "stdin")]


# --- JSON Lines --------------------------------------------------------------------------------


def test_json_lines_skip_blank_lines_and_number_every_line():
    items = lines(b'\xef\xbb\xbf{"type":"piracy"}\r\n\n  \n\xff\xfe\n{"a":1}')
    assert [(i.line, i.default_id, i.text, i.error) for i in items] == [
        (1, "x-1", '{"type":"piracy"}\r\n', None),  # a byte-order mark on the first line is dropped
        (4, "threat", None, "not UTF-8 text (byte 0)"),
        (5, "x-5", '{"a":1}', None),  # the last line needs no newline
    ]


def test_a_line_over_the_limit_is_refused_and_the_next_one_read(monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "10")
    items = lines(b'{"type":"' + b"x" * 200 + b'"}\n{"a":1}\n')
    assert [(i.line, i.error) for i in items] == [(1, "line is over the limit of 10 bytes"), (2, None)]
    assert items[1].text == '{"a":1}\n'


def test_the_total_limit_stops_json_lines(monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", "30")
    items = lines(b'{"a":1}\n' * 10)
    assert [i.line for i in items] == [1, 2, 3, 4]
    assert items[-1].error == OVER_ALL.format(30)


def test_the_total_limit_counts_the_skipped_rest_of_a_long_line(monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", "30")
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "10")
    items = lines(b'{"a":1}\n' + b"x" * 100 + b"\n" + b'{"a":1}\n')
    assert [(i.line, i.error) for i in items] == [
        (1, None),
        (2, "line is over the limit of 10 bytes"),
        (2, OVER_ALL.format(30)),
    ]


def test_a_json_line_is_parsed_where_it_is_assessed():
    good, bad, dup = lines(b'{"type":"piracy"}\n{"type":\n{"a":1,"a":2}\n')
    assert good.raw is None and good.parsed().raw == {"type": "piracy"} and good.parsed().default_id == "x-1"
    assert bad.parsed().error.startswith("not valid JSON: ") and bad.parsed().line == 2
    assert dup.parsed().error == "not valid JSON: duplicate key 'a'"
    parsed = good.parsed()
    assert parsed.parsed() is parsed  # nothing left to parse


# --- JSON arrays --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [("<stdin>[0]", None, "not a JSON array")]),
        (b'  {"a":1}', [("<stdin>[0]", None, "not a JSON array")]),
        (b"[ ]\n", []),
        (b"[ ] x", [("<stdin>", None, AFTER_ARRAY)]),
        (b'\xef\xbb\xbf[{"a":1}, {"b":2}]', [("<stdin>[0]", {"a": 1}, None), ("<stdin>[1]", {"b": 2}, None)]),
        (b'[{"a":1}] [', [("<stdin>[0]", {"a": 1}, None), ("<stdin>", None, AFTER_ARRAY)]),
        (
            b'[{"a":1} {"b":2}]',
            [
                ("<stdin>[0]", {"a": 1}, None),
                ("<stdin>[1]", None, "not valid JSON: expected ',' or ']' between the elements; the rest was not read"),
            ],
        ),
        (
            b'[{"a":1},',
            [
                ("<stdin>[0]", {"a": 1}, None),
                ("<stdin>[1]", None, "not valid JSON: the array is cut short or malformed; the rest was not read"),
            ],
        ),
        (
            b'[{"a":1,"a":2}, {"b":2}]',
            [("<stdin>[0]", None, "not valid JSON: duplicate key 'a'"), ("<stdin>[1]", {"b": 2}, None)],
        ),
        (b'[{"a":"\xff"}]', [("<stdin>[0]", None, "not UTF-8 text (byte 7)")]),
    ],
    ids=[
        "empty",
        "object",
        "empty-array",
        "after-empty-array",
        "bom-two",
        "after-array",
        "no-comma",
        "cut-short",
        "bad-element-then-good",
        "not-utf8",
    ],
)
def test_json_array_elements(data, expected):
    assert array(data) == expected


def test_an_element_over_the_limit_stops_the_array(monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "20")
    assert array(b'[{"a":"' + b"x" * 40 + b'"}, {}]') == [("<stdin>[0]", None, "element is over the limit of 20 bytes")]
    # one that spans several reads is refused as soon as it is longer than the limit
    long = array(b'[{"a":1}, {"b":"' + b"x" * (3 * batch.CHUNK) + b'"}, {}]')
    assert long == [("<stdin>[0]", {"a": 1}, None), ("<stdin>[1]", None, "element is over the limit of 20 bytes")]


def test_an_element_that_spans_reads_is_whole():
    text = "y" * (2 * batch.CHUNK)
    data = b'[{"a":1}, {"b":"' + text.encode() + b'"}]'
    assert array(data) == [("<stdin>[0]", {"a": 1}, None), ("<stdin>[1]", {"b": text}, None)]


def test_the_total_limit_stops_an_array(monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", str(batch.CHUNK + 100))
    items = array(b"[" + b'{"a":1},' * 20_000 + b"{}]")
    assert items[-1] == (f"<stdin>[{len(items) - 1}]", None, OVER_ALL.format(batch.CHUNK + 100))
    assert all(raw == {"a": 1} for _, raw, _ in items[:-1])
    # it stops at the first element after the read that went over: within a chunk's worth of the limit
    assert batch.CHUNK // 8 - 1 <= len(items) - 1 <= 2 * batch.CHUNK // 8


# --- standard input: what was read ahead is put back ----------------------------------------------


def test_peeked_stream_gives_back_the_head_first():
    p = batch.Peeked(b"ab\ncd", io.BytesIO(b"ef\ngh"))
    assert [p.readline(100) for _ in range(4)] == [b"ab\n", b"cdef\n", b"gh", b""]
    p = batch.Peeked(b"abcdef", io.BytesIO(b"gh\n"))
    assert (p.readline(4), p.readline(100), p.read(5)) == (b"abcd", b"efgh\n", b"")
    p = batch.Peeked(b"abc", io.BytesIO(b"def"))
    assert [p.read(2), p.read(5), p.read(5), p.read(5)] == [b"ab", b"c", b"def", b""]


def test_stdin_is_an_array_or_json_lines_by_its_first_character():
    (line,) = batch.read_stdin(io.BytesIO(b'"type":"piracy"}\n'), b"{")
    assert (line.source, line.line, line.text) == ("<stdin>", 1, '{"type":"piracy"}\n')
    (element,) = batch.read_stdin(io.BytesIO(b'{"a":1}]'), b"\xef\xbb\xbf \n[")
    assert (element.source, element.raw, element.default_id) == ("<stdin>[0]", {"a": 1}, "stdin-0")


# --- files and directories -----------------------------------------------------------------------


def test_a_directory_gives_its_json_and_json_lines_files_in_name_order(tmp_path):
    (tmp_path / "b.json").write_text('{"type":"piracy"}')
    (tmp_path / "a.jsonl").write_text('{"type":"terrorism"}\n\n{"type":"pandemic"}\n')
    (tmp_path / "c.json").mkdir()  # a directory with a descriptor's name is no descriptor
    (tmp_path / "notes.txt").write_text("not read")
    (tmp_path / "d.json").write_text("{")
    items = list(batch.read_inputs([str(tmp_path)], None))
    shown = [(Path(i.source).name, i.line, i.default_id, i.error or i.text or i.raw) for i in items]
    assert shown == [
        ("a.jsonl", 1, "a-1", '{"type":"terrorism"}\n'),
        ("a.jsonl", 3, "a-3", '{"type":"pandemic"}\n'),
        ("b.json", None, "b", {"type": "piracy"}),
        (
            "d.json",
            None,
            "threat",
            "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        ),
    ]


def test_json_lines_files_that_cannot_be_read_are_error_records(tmp_path):
    missing = tmp_path / "missing.jsonl"
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    stdin = io.BytesIO(b'{"type":"piracy"}]')  # the CLI read its first byte, to tell an array from lines
    items = list(batch.read_inputs([str(missing), str(fifo), "-"], stdin, b"["))
    assert [(i.source, i.error) for i in items] == [
        (str(missing), "no such file"),
        (str(fifo), "is a named pipe, not a regular file"),
        ("<stdin>[0]", None),
    ]


def test_a_json_lines_file_over_the_total_limit_is_refused_unread(tmp_path, monkeypatch):
    big = tmp_path / "big.jsonl"
    big.write_text('{"type":"piracy"}\n' * 10)
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", "100")
    (item,) = batch.read_inputs([str(big)], None)
    assert item.error == "file is 180 bytes, over the limit of 100"


def test_a_json_lines_file_that_cannot_be_opened_is_an_error_record(tmp_path):
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)  # opening it fails (ELOOP), whoever runs the test
    (item,) = batch.read_inputs([str(loop)], None)
    assert item.error == "cannot be read: Too many levels of symbolic links"


# --- one line per input ------------------------------------------------------------------------


def test_assess_line_gives_an_assessment_or_an_error_record(rulebase):
    good = batch.Item("in.jsonl", line=3, default_id="in-3", text='{"type":"piracy"}\n')
    line, ok = batch.assess_line(good, rulebase)
    record = json.loads(line)
    assert ok and record["threat"]["id"] == "in-3" and "since_2002" not in record
    line, ok = batch.assess_line(good, rulebase, as_of="today")
    assert ok and "since_2002" in json.loads(line)
    unknown = batch.Item("in.jsonl", raw={"type": "pirazy"}, line=4)
    line, ok = batch.assess_line(unknown, rulebase)
    assert not ok
    assert json.loads(line) == {
        "error": {
            "source": "in.jsonl",
            "line": 4,
            "message": "in.jsonl:4: type: unknown value 'pirazy' (did you mean 'piracy'?)",
        }
    }
    unreadable = batch.Item("in.jsonl", error="not UTF-8 text (byte 0)", line=5)
    assert batch.assess_line(unreadable, rulebase) == (
        '{"error":{"source":"in.jsonl","line":5,"message":"not UTF-8 text (byte 0)"}}',
        False,
    )


def test_error_records_are_one_printable_line():
    message = "bad \u2028 line\u202e separator\x85"  # a line separator, a bidi override, a C1 control
    line = batch.error_line(batch.Item("x.jsonl"), message)
    assert line.isascii() and len(line.splitlines()) == 1
    assert json.loads(line)["error"] == {"source": "x.jsonl", "line": None, "message": message}


# --- resuming ---------------------------------------------------------------------------------


@pytest.fixture()
def earlier(tmp_path, rulebase):
    """An earlier output: two assessments and an error record, in input order, and its inputs."""
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id":"a","type":"piracy"}\n{"type":"pirazy"}\n{"id":"c","type":"terrorism"}\n')
    out = tmp_path / "out.jsonl"
    out.write_text("".join(batch.assess_line(i, rulebase)[0] + "\n" for i in batch.read_inputs([str(inputs)], None)))
    return inputs, out


def test_done_keys_describe_each_complete_line(earlier, rulebase):
    _, out = earlier
    keys = batch.done_keys(out)
    assert [k[:2] for k in keys] == [("threat", "a"), ("error", str(earlier[0])), ("threat", "c")]
    assert keys[0][3] == rulebase.digest[:16] and keys[0][4] is False
    with out.open("a") as fh:
        fh.write('{"threat":{"id":"half')  # an interrupted last line
    assert batch.done_keys(out) == keys


def test_done_keys_of_no_file_yet_is_nothing(tmp_path):
    assert batch.done_keys(tmp_path / "none.jsonl") == []


def test_done_keys_refuse_what_advisor_did_not_write(tmp_path):
    for content in ('{"threat": 1}\n', "[1]\n", '{"error": {}}\n', "not json\n"):
        junk = tmp_path / "junk.jsonl"
        junk.write_text('{"error":{"source":"x","line":null,"message":"m"}}\n' + content)
        with pytest.raises(InputError) as caught:
            batch.done_keys(junk)
        assert caught.value.render() == (
            f"{junk}: --skip-done: line 2 is not a line advisor wrote (an assessment or an error record)"
        )


def test_done_keys_refuse_a_directory(tmp_path):
    with pytest.raises(FileReadError) as caught:
        batch.done_keys(tmp_path)
    assert caught.value.render() == f"{tmp_path}: --skip-done: is a directory, not a regular file"


def test_skip_done_yields_the_rest_and_counts_the_earlier_lines(earlier, rulebase):
    inputs, out = earlier
    keys = batch.done_keys(out)
    tally: dict = {}
    rest = batch.skip_done(batch.read_inputs([str(inputs)], None), keys[:2], str(out), rulebase, tally=tally)
    assert [i.line for i in rest] == [3]
    assert tally == {"good": 1, "bad": 1}


def refusal(inputs: list, keys: list, rulebase, as_of: str = "2002") -> str:
    with pytest.raises(InputError) as caught:
        list(batch.skip_done(iter(inputs), keys, "out.jsonl", rulebase, as_of))
    return caught.value.render()


def test_skip_done_refuses_more_lines_than_inputs(earlier, rulebase):
    inputs, out = earlier
    keys = batch.done_keys(out)
    items = list(batch.read_inputs([str(inputs)], None))[:2]
    assert refusal(items, keys, rulebase) == (
        "out.jsonl: --skip-done: has 3 lines but the inputs give only 2: not an output of these inputs"
    )


def test_skip_done_says_what_each_mismatched_line_is(earlier, rulebase):
    inputs, out = earlier
    a_key, error_key, _ = batch.done_keys(out)
    piracy, pirazy, terrorism = batch.read_inputs([str(inputs)], None)
    tail = "not an output of these inputs (same inputs, order, rule base and options)"
    cases = [
        (pirazy, a_key, "2002", f"line 1 is the assessment of 'a', but input 1 is {inputs}:2: {tail}"),
        (
            terrorism,
            a_key,
            "2002",
            f"line 1 is the assessment of another descriptor (id 'a'), but input 1 is {inputs}:3: {tail}",
        ),
        (piracy, error_key, "2002", f"line 1 is an error record for {inputs}, but input 1 is {inputs}:1: {tail}"),
        (
            batch.Item(str(inputs), error="not UTF-8 text (byte 0)", line=2),
            error_key,
            "2002",
            f"line 1 is an error record for {inputs}, but input 1 is {inputs}:2: {tail}",
        ),
        (
            piracy,
            a_key,
            "today",
            f"line 1 is the assessment of 'a' without --as-of today, but input 1 is {inputs}:1: {tail}",
        ),
        (
            piracy,
            (*a_key[:3], "0123456789abcdef", a_key[4]),
            "2002",
            f"line 1 is the assessment of 'a' by another rule base (0123456789abcdef, not {rulebase.digest[:16]}), "
            f"but input 1 is {inputs}:1: {tail}",
        ),
        (
            piracy,
            (*a_key[:4], True),
            "today",
            None,  # made with --as-of today and resumed with it: the same
        ),
        (
            piracy,
            (*a_key[:4], True),
            "2002",
            f"line 1 is the assessment of 'a' with --as-of today, but input 1 is {inputs}:1: {tail}",
        ),
    ]
    for item, key, as_of, expected in cases:
        if expected is None:
            assert list(batch.skip_done(iter([item]), [key], "out.jsonl", rulebase, as_of)) == []
        else:
            assert refusal([item], [key], rulebase, as_of) == f"out.jsonl: --skip-done: {expected}"


def test_skip_done_accepts_the_same_error_from_a_descriptor_file(tmp_path, rulebase):
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "pirazy"}')
    (item,) = batch.read_inputs([str(bad)], None)
    out = tmp_path / "out.jsonl"
    out.write_text(batch.assess_line(item, rulebase)[0] + "\n")
    tally: dict = {}
    assert list(batch.skip_done(iter([item]), batch.done_keys(out), str(out), rulebase, tally=tally)) == []
    assert tally == {"bad": 1}


# --- several processes give the same bytes --------------------------------------------------------


@pytest.mark.slow
def test_jobs_give_the_lines_of_one_process_in_input_order(invoke, tmp_path):
    data = tmp_path / "many.jsonl"
    types = ["piracy", "terrorism", "pirazy", "pandemic", "cyber_attack"]
    data.write_text("".join(json.dumps({"id": f"t{n}", "type": types[n % 5]}) + "\n" for n in range(80)))
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    first = invoke(["assess", data, "-o", one], exit_code=2)
    second = invoke(["assess", data, "-o", two, "--jobs", "3"], exit_code=2)
    assert first.stderr == second.stderr == "error: 16 of 80 inputs could not be assessed; see the error records\n"
    assert one.read_bytes() == two.read_bytes()
    records = [json.loads(line) for line in one.read_text().splitlines()]
    assert [("error" in r) for r in records] == [n % 5 == 2 for n in range(80)]
    assert [r["threat"]["id"] for r in records if "threat" in r] == [f"t{n}" for n in range(80) if n % 5 != 2]


def _die_in_worker(chunk):
    """A worker that dies as a crash of the rule engine would kill it (found by name in a forked worker)."""
    os._exit(9)


def test_a_worker_that_dies_stops_the_run_with_exit_3(invoke, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_work", _die_in_worker)
    data = tmp_path / "in.jsonl"
    data.write_text('{"type": "piracy"}\n' * 10)
    out = tmp_path / "out.jsonl"
    result = invoke(["assess", data, "-o", out, "--jobs", "2"], exit_code=3)
    assert result.stderr == (
        "error: a worker process died (the rule engine crashed); the lines before the failing input are complete\n"
    )
    assert out.read_bytes() == b""  # the first chunk's worker died: no line is an answer


def test_progress_is_told_each_line_and_the_counts_are_returned(rulebase):
    items = [
        batch.Item("in.jsonl", line=1, text='{"type": "piracy"}'),
        batch.Item("in.jsonl", line=2, error="not UTF-8 text (byte 0)"),
        batch.Item("in.jsonl", line=3, text='{"type": "terrorism"}'),
    ]
    written: list[str] = []

    class Out:
        write = written.append

    seen: list[int] = []
    assert batch.assess_stream(items, rulebase, None, Out(), progress=seen.append) == (2, 1)
    assert seen == [1, 2, 3]
    assert [("threat" in json.loads(line)) for line in written] == [True, False, True]


@pytest.mark.slow
def test_a_worker_started_afresh_loads_the_rule_base_and_leaves_interrupts_to_its_parent():
    """As a spawned worker (a start method without fork) begins: its own rule base, SIGINT ignored."""
    import subprocess
    import sys

    code = (
        "import json, signal; from advisor import batch; batch._init_worker(None, 'today'); "
        "(line, ok), = batch._work([batch.Item('x.json', raw={'type': 'piracy'})])[0]; "
        "print(ok, 'since_2002' in json.loads(line), signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout, run.stderr) == (0, "True True True\n", "")


def test_a_json_lines_file_that_fails_while_it_is_read_is_an_error_record(tmp_path):
    if not Path("/proc/self/mem").exists():
        pytest.skip("no /proc here")
    failing = tmp_path / "mem.jsonl"
    failing.symlink_to("/proc/self/mem")  # a regular file whose first page cannot be read
    (item,) = batch.read_inputs([str(failing)], None)
    assert (item.source, item.error) == (str(failing), "cannot be read: Input/output error")
