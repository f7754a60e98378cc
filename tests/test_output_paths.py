"""Writing outputs, case by case: every refusal's message, whole documents or nothing, whole
lines or nothing (a file size limit stands in for a full disk), and standard streams that
cannot take the text."""

from __future__ import annotations

import errno
import io
import os
import resource
import signal
import stat
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from advisor import output
from advisor.errors import OutputError


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(OutputError) as caught:
        call(*args, **kwargs)
    return caught.value.render()


@contextmanager
def file_size_limit(limit: int):
    """Files of this process cannot grow past `limit` bytes: a full disk, as the writer sees it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    before = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, before)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (errno.ENOSPC, "no space left on the device"),
        (errno.EFBIG, "no space left: the file has reached the largest size allowed (ulimit -f, or the file system's)"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "permission denied"),
        (errno.EPERM, "permission denied"),
        (errno.ENOENT, "no such directory"),
        (errno.EIO, os.strerror(errno.EIO)),
    ],
)
def test_reasons_in_plain_words(number, reason):
    assert output._reason(OSError(number, os.strerror(number))) == reason


def test_a_reason_without_an_errno_is_the_error_itself():
    assert output._reason(OSError("the cable is unplugged")) == "the cable is unplugged"


# --- where an output may go ----------------------------------------------------------------------


def test_target_refusals(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(plain)
    assert output.check_target(str(tmp_path / "new.json")) is None
    assert output.check_target(str(plain)).st_size == 2
    assert refusal(output.check_target, str(tmp_path / "no" / "x.json")) == (
        f"{tmp_path}/no/x.json: cannot write here: the directory {tmp_path}/no does not exist"
    )
    assert refusal(output.check_target, f"{plain}/x.json") == f"{plain}/x.json: cannot write here: Not a directory"
    assert refusal(output.check_target, str(link)) == (
        f"{link}: is a symbolic link (to {plain}); advisor does not write through links: give the target itself to "
        "write there"
    )
    assert refusal(output.check_target, str(tmp_path)) == f"{tmp_path}: is a directory; give a file name"
    assert refusal(output.check_target, str(plain), [plain]) == (
        f"{plain}: is one of the inputs; advisor never writes over its input"
    )


def test_inputs_include_the_descriptors_and_rule_files_inside_directories(tmp_path):
    rules = tmp_path / "rules"
    (rules / "catalog").mkdir(parents=True)
    for name in ("a.yaml", "catalog/b.yml", "c.json", "d.jsonl", "notes.txt"):
        (rules / name).write_text("x")
    protected = {(s.st_dev, s.st_ino) for s in output._inputs([None, "-", rules, tmp_path / "missing.json"])}
    expected = {
        (s.st_dev, s.st_ino) for s in (os.stat(rules / n) for n in ("a.yaml", "catalog/b.yml", "c.json", "d.jsonl"))
    }
    assert protected == expected
    for name in ("c.json", "catalog/b.yml"):
        assert "is one of the inputs" in refusal(output.check_target, str(rules / name), [rules])
    assert output.check_target(str(rules / "notes.txt"), [rules]) is not None


def test_the_relative_name_of_a_new_file_is_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    output.write_text("hello\n", "out.txt")
    assert (tmp_path / "out.txt").read_text() == "hello\n"


# --- whole documents -----------------------------------------------------------------------------


def test_a_document_replaces_a_file_keeping_its_mode(tmp_path):
    target = tmp_path / "out.md"
    target.write_text("old\n")
    target.chmod(0o640)
    output.write_text("new\n", str(target))
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_a_document_that_does_not_fit_leaves_the_file_as_it_was(tmp_path):
    target = tmp_path / "out.md"
    target.write_text("old\n")
    with file_size_limit(1000):
        message = refusal(output.write_text, "x" * 5000, str(target))
    assert message == (
        f"{target}: cannot write: no space left: the file has reached the largest size allowed (ulimit -f, or the "
        "file system's); the file was left as it was"
    )
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_no_temporary_file_where_none_may_be_made():
    assert refusal(output.write_text, "x", "/proc/advisor-test.json") == (
        "/proc/advisor-test.json: cannot write here: no such directory"
    )


def test_a_device_is_written_as_it_is(tmp_path):
    output.write_text("discarded\n", os.devnull)
    output.write_bytes(b"discarded", os.devnull)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # still the device, not replaced by a file


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_device_is_a_clear_error():
    expected = "/dev/full: cannot write to a character device: no space left on the device"
    assert refusal(output.write_text, "x", "/dev/full") == expected
    assert refusal(output.write_bytes, b"x", "/dev/full") == expected


def test_a_binary_document_to_a_file(tmp_path):
    target = tmp_path / "out.xlsx"
    output.write_bytes(b"PK\x03\x04", str(target), what="XLSX")
    assert target.read_bytes() == b"PK\x03\x04"


# --- standard streams ----------------------------------------------------------------------------


class Terminal(io.TextIOWrapper):
    def isatty(self):
        return True


def test_a_binary_document_never_goes_to_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdout", Terminal(io.BytesIO(), encoding="utf-8"))
    assert refusal(output.write_bytes, b"PK", None, what="XLSX") == (
        "<stdout>: XLSX is binary and would garble the terminal: give -o FILE, or pipe the output"
    )
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # a text-only stream cannot take bytes either
    assert "is binary and would garble the terminal" in refusal(output.write_bytes, b"PK", "-", what="DOCX")


def test_a_binary_document_to_a_pipe(monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8"))
    output.write_bytes(b"PK\x03\x04", "/dev/stdout")
    assert raw.getvalue() == b"PK\x03\x04"


def test_standard_error_takes_any_text(monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(raw, encoding="ascii"))
    output.write_text("東京 ok\n", "/dev/stderr")
    assert raw.getvalue() == b"\\u6771\\u4eac ok\n"  # what the encoding cannot hold, escaped
    text = io.StringIO()
    monkeypatch.setattr(sys, "stderr", text)
    output.to_stderr("東京\n")
    assert text.getvalue() == "東京\n"


def test_standard_output_that_cannot_encode_the_text(monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert refusal(output.to_stdout, "Malacca 東京") == (
        "standard output's encoding (ascii) cannot write '東'; set PYTHONIOENCODING=utf-8 or write to a file with -o"
    )


def test_standard_output_with_an_unknown_encoding_gets_utf8(monkeypatch):
    class Odd(io.TextIOWrapper):
        @property
        def encoding(self):
            return "no-such-encoding"

    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", Odd(raw, encoding="utf-8"))
    output.to_stdout("東京\n")
    assert raw.getvalue() == "東京\n".encode()


def test_text_only_standard_output(monkeypatch):
    text = io.StringIO()
    monkeypatch.setattr(sys, "stdout", text)
    output.write_text("東京\n", None)
    assert text.getvalue() == "東京\n"


def test_standard_output_that_takes_nothing_is_full(monkeypatch):
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            return 0

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(Full(), encoding="utf-8"))
    assert refusal(output.to_stdout, "data") == "<stdout>: cannot write: no space left on the device"


def test_a_file_as_standard_output_gets_back_what_did_not_fit(tmp_path, monkeypatch):
    target = tmp_path / "stdout.txt"
    with target.open("w", encoding="utf-8") as fh:
        fh.write("before\n")
        fh.flush()
        monkeypatch.setattr(sys, "stdout", fh)
        with file_size_limit(1000):
            message = refusal(output.to_stdout, "x" * 5000)
        assert target.read_text() == "before\n"  # (what is still buffered is the CLI's to drop, at its edge)
    assert message == (
        "<stdout>: cannot write: no space left: the file has reached the largest size allowed (ulimit -f, or the "
        "file system's); what this command wrote was taken back"
    )


def test_a_closed_pipe_is_left_to_the_caller(monkeypatch):
    class Closed(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(Closed(), encoding="utf-8"))
    with pytest.raises(BrokenPipeError):
        output.to_stdout("data")


# --- whole lines ---------------------------------------------------------------------------------


def test_lines_to_a_new_file_then_appended_after_a_half_line(tmp_path):
    target = tmp_path / "out.jsonl"
    with output.LineWriter(str(target)) as out:
        out.write("one")
        out.write("two")
    assert target.read_text() == "one\ntwo\n"
    with target.open("a") as fh:
        fh.write('{"half')  # an interruption mid-line
    with output.LineWriter(str(target), append=True) as out:
        out.write("three")
    assert target.read_text() == "one\ntwo\nthree\n"


def test_appending_to_a_file_that_is_only_a_half_line(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"x" * 70_000)  # more than one read back, and no newline at all
    with output.LineWriter(str(target), append=True) as out:
        out.write("first")
    assert target.read_text() == "first\n"


def test_lines_replace_a_file_keeping_its_mode(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o600)
    other = tmp_path / "other-name.jsonl"
    os.link(target, other)
    with output.LineWriter(str(target)) as out:
        out.write("new")
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert other.read_text() == "old\n"  # a new file: the other name of the old one is untouched


def test_lines_to_standard_streams_and_devices(monkeypatch):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    for name in (None, "-", "/dev/stdout"):
        with output.LineWriter(name) as writer:
            writer.write("to stdout")
    with output.LineWriter("/dev/stderr") as writer:
        writer.write("to stderr")
    with output.LineWriter(os.devnull) as writer:
        writer.write("nowhere")
        assert not writer.regular
    assert out.getvalue() == "to stdout\n" * 3 and err.getvalue() == "to stderr\n"


def test_a_line_that_does_not_fit_is_taken_back(tmp_path):
    target = tmp_path / "out.jsonl"
    with output.LineWriter(str(target)) as out:
        out.write("a" * 500)
        with file_size_limit(1000):
            message = refusal(out.write, "b" * 800)
    assert message == (
        f"{target}: cannot write: no space left: the file has reached the largest size allowed (ulimit -f, or the "
        "file system's); the lines before this one are complete"
    )
    assert target.read_text() == "a" * 500 + "\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_line_to_a_full_device():
    with output.LineWriter("/dev/full") as out:
        assert (
            refusal(out.write, "x")
            == "/dev/full: cannot write: no space left on the device; the lines before this one are complete"
        )


def test_lines_where_no_file_may_be_made():
    assert refusal(output.LineWriter, "/proc/advisor-test.jsonl") == (
        "/proc/advisor-test.jsonl: cannot write here: no such directory"
    )


def test_lines_over_a_file_in_a_directory_that_refuses_changes(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may change any directory")
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    tmp_path.chmod(0o500)
    try:
        assert refusal(output.LineWriter, str(target)) == f"{target}: cannot write here: permission denied"
    finally:
        tmp_path.chmod(0o700)
    assert target.read_text() == "old\n"


def test_lines_close_once(tmp_path):
    writer = output.LineWriter(str(tmp_path / "x.jsonl"))
    writer.close()
    writer.close()
    assert writer.fd is None and Path(tmp_path / "x.jsonl").read_text() == ""
