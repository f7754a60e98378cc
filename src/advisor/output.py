"""Writing what advisor produces: whole documents or whole lines, never a damaged file.

A regular file is replaced atomically (a temporary file beside it, then a rename) and keeps
its mode, or gets the umask's; a device, a pipe or `-` is written directly; a symbolic link
is refused (name its target to write there); the input is never the output. Lines of a
batch are written whole: a line that cannot be written in full is taken back.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError
from .source import kind_of


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EFBIG:
        return "no space left: the file has reached the largest size allowed (ulimit -f, or the file system's)"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT:
        return "no such directory"
    return exc.strerror or str(exc)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


INPUT_SUFFIXES = (".json", ".jsonl", ".yaml", ".yml")
STANDARD = {
    "/dev/stdout": "stdout",
    "/dev/fd/1": "stdout",
    "/proc/self/fd/1": "stdout",
    "/dev/stderr": "stderr",
    "/dev/fd/2": "stderr",
    "/proc/self/fd/2": "stderr",
}


def _inputs(paths: Iterable[str | Path]) -> list[os.stat_result]:
    """The files an output must not overwrite: every input named, and the descriptors, rule and
    catalog files inside directories given (a rule base's `catalog/` too)."""
    found: list[os.stat_result] = []
    for given in paths:
        if given is None or str(given) == "-":
            continue
        p = Path(given)
        try:
            if p.is_dir():
                for folder in (p, p / "catalog"):
                    if folder.is_dir():
                        found.extend(os.stat(f) for f in folder.iterdir() if f.suffix in INPUT_SUFFIXES)
            else:
                found.append(os.stat(p))
        except OSError:
            continue
    return found


def _standard(output: str | None) -> str | None:
    """'stdout' or 'stderr' when the output names a standard stream (`-`, `/dev/stdout`, ...)."""
    if output is None or output == "-":
        return "stdout"
    return STANDARD.get(output)


def to_stderr(text: str) -> None:
    data = text.encode(getattr(sys.stderr, "encoding", None) or "utf-8", errors="backslashreplace")
    buffer = getattr(sys.stderr, "buffer", None)
    if buffer is None:
        sys.stderr.write(text)
    else:
        sys.stderr.flush()
        buffer.write(data)
        buffer.flush()


def check_target(output: str, inputs: Iterable[str | Path] = ()) -> os.stat_result | None:
    """Refuse an output that is a symbolic link, a directory or one of the inputs; its stat, if it exists."""
    try:
        st = os.lstat(output)
    except FileNotFoundError:
        parent = os.path.dirname(output) or "."
        if not os.path.isdir(parent):
            raise OutputError(f"cannot write here: the directory {parent} does not exist", path=output) from None
        return None
    except OSError as exc:
        raise OutputError(f"cannot write here: {_reason(exc)}", path=output) from None
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(output)
        raise OutputError(
            f"is a symbolic link (to {target}); advisor does not write through links: "
            "give the target itself to write there",
            path=output,
        )
    if stat.S_ISDIR(st.st_mode):
        raise OutputError("is a directory; give a file name", path=output)
    if any(_same_file(st, s) for s in _inputs(inputs)):
        raise OutputError("is one of the inputs; advisor never writes over its input", path=output)
    return st


def _stdout_bytes(text: str) -> bytes:
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        char = exc.object[exc.start : exc.start + 1]
        raise OutputError(
            f"standard output's encoding ({encoding}) cannot write {char!r}; set "
            "PYTHONIOENCODING=utf-8 or write to a file with -o"
        ) from None
    except LookupError:
        return text.encode("utf-8")


def to_stdout(text: str) -> None:
    """Write to standard output, encoded for it, flushed. When stdout is a regular file (`> out`) and the
    disk fills, what was written of this text is taken back; a closed pipe is raised as BrokenPipeError."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (tests, notebooks) or a closed one
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _bytes_to_stdout(_stdout_bytes(text), buffer)


def _bytes_to_stdout(data: bytes, buffer) -> None:
    """Every byte to standard output's buffer, or an OutputError (what was written taken back)."""
    sys.stdout.flush()
    before = None
    try:
        fd = sys.stdout.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            before = os.lseek(fd, 0, os.SEEK_CUR)
    except (OSError, AttributeError, ValueError):
        pass
    try:
        view = memoryview(data)
        while view:  # a buffered write may take fewer bytes than given (a file size limit, a full disk)
            n = buffer.write(view)
            if not n:
                raise OSError(errno.ENOSPC, "no space left on the device")
            view = view[n:]
        buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        if before is not None:
            try:
                os.ftruncate(fd, before)
            except OSError:
                pass
        raise OutputError(
            f"cannot write: {_reason(exc)}"
            + ("; what this command wrote was taken back" if before is not None else ""),
            path="<stdout>",
        ) from None


def write_text(text: str, output: str | None, inputs: Iterable[str | Path] = ()) -> None:
    """Write one whole document to `output` (None or '-': standard output)."""
    stream = _standard(output)
    if stream:
        (to_stdout if stream == "stdout" else to_stderr)(text)
        return
    assert output is not None  # None is standard output
    _replace(text.encode("utf-8"), output, inputs)


def write_bytes(data: bytes, output: str | None, inputs: Iterable[str | Path] = (), *, what: str = "binary") -> None:
    """Write one whole binary document (XLSX, DOCX) as `write_text` writes text; never to a terminal."""
    if _standard(output) == "stdout":
        buffer = getattr(sys.stdout, "buffer", None)
        if sys.stdout.isatty() or buffer is None:
            raise OutputError(
                f"{what} is binary and would garble the terminal: give -o FILE, or pipe the output", path="<stdout>"
            )
        _bytes_to_stdout(data, buffer)
        return
    assert output is not None  # None is standard output
    _replace(data, output, inputs)


def _replace(data: bytes, output: str, inputs: Iterable[str | Path]) -> None:
    """A regular file replaced atomically (its mode kept, or the umask's); a device or pipe written as it is."""
    st = check_target(output, inputs)
    if st is not None and not stat.S_ISREG(st.st_mode):  # a device or a pipe: written as it is, never replaced
        _write_stream(output, data)
        return
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    directory = os.path.dirname(output) or "."
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(output)}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write here: {_reason(exc)}", path=output) from None
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fchmod(fh.fileno(), mode)
            os.replace(tmp, output)
        except OSError as exc:
            raise OutputError(f"cannot write: {_reason(exc)}; the file was left as it was", path=output) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_stream(output: str, data: bytes) -> None:
    try:
        fd = os.open(output, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "wb", buffering=0) as fh:
            view = memoryview(data)
            while view:
                n = fh.write(view)
                if not n:
                    raise OSError(errno.ENOSPC, "no space left on the device")
                view = view[n:]
    except OSError as exc:
        raise OutputError(
            f"cannot write to {kind_of(os.stat(output).st_mode) if os.path.exists(output) else 'it'}: {_reason(exc)}",
            path=output,
        ) from None


class LineWriter:
    """JSON Lines out, a whole line at a time: to standard output, a device, or a regular file.

    A regular file is opened without following a link (created with the umask's mode), or
    appended to when resuming, after taking back a half-written last line. When a line
    cannot be written in full (disk full), the file is cut back to the line before.
    """

    def __init__(self, output: str | None, *, append: bool = False, inputs: Iterable[str | Path] = ()):
        self.output = output
        self.fd: int | None = None
        self.regular = False
        self.stream = _standard(output)
        if self.stream:
            return
        assert output is not None  # None is standard output
        st = check_target(output, inputs)
        flags = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        mode = None
        if st is None or stat.S_ISREG(st.st_mode):
            self.regular = True
            if append:
                flags |= os.O_CREAT | os.O_RDWR
            else:  # a new file from the first line: never written through a hard link to another name
                flags |= os.O_CREAT | os.O_EXCL | os.O_WRONLY
                if st is not None:
                    mode = stat.S_IMODE(st.st_mode)
                    try:
                        os.unlink(output)
                    except OSError as exc:
                        raise OutputError(f"cannot write here: {_reason(exc)}", path=output) from None
        else:
            flags |= os.O_WRONLY
        try:
            self.fd = os.open(output, flags, 0o666)
            if mode is not None:
                os.fchmod(self.fd, mode)
        except OSError as exc:
            raise OutputError(f"cannot write here: {_reason(exc)}", path=output) from None
        if self.regular:
            self.offset = os.lseek(self.fd, 0, os.SEEK_END)
            if append and self.offset:
                self._drop_partial_line()

    def _drop_partial_line(self) -> None:
        """Cut a last line that an interruption left without its newline."""
        assert self.fd is not None
        keep, end = 0, self.offset
        while end > 0:
            start = max(0, end - (1 << 16))
            cut = os.pread(self.fd, end - start, start).rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        if keep != self.offset:
            os.ftruncate(self.fd, keep)
        self.offset = os.lseek(self.fd, keep, os.SEEK_SET)

    def write(self, line: str) -> None:
        """Write one line (its newline added), whole or not at all."""
        if self.fd is None:
            (to_stderr if self.stream == "stderr" else to_stdout)(line + "\n")
            return
        data = (line + "\n").encode("utf-8")
        done = 0
        try:
            while done < len(data):
                done += os.write(self.fd, data[done:])
        except OSError as exc:
            if self.regular:
                try:
                    os.ftruncate(self.fd, self.offset)  # take back the half line
                except OSError:
                    pass
            raise OutputError(
                f"cannot write: {_reason(exc)}; the lines before this one are complete", path=self.output
            ) from None
        if self.regular:
            self.offset += len(data)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> LineWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
