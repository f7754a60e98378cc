"""The command line: thin commands over the library, one error handler at the edge."""

from __future__ import annotations

import errno
import functools
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import AdvisorError

_python_showwarning = warnings.showwarning

# catalog.LISTS, written out: importing the catalog would cost every start 130 ms (tests/test_architecture.py
# checks that the two agree)
CATALOG_LISTS = (
    "recommendations",
    "frameworks",
    "agencies",
    "states",
    "types",
    "regions",
    "targets",
    "attributes",
    "derived",
)


def _out(text: str, nl: bool = True) -> None:
    """Print to standard output, every byte or a clear error (a full disk, a closed stdout): never click.echo,
    whose buffered writes can drop what a full disk refuses."""
    from .output import to_stdout

    to_stdout(text + ("\n" if nl else ""))


def _printable(text: str) -> str:
    from .render.safe import printable

    return printable(text)


def _settle_stdout() -> None:
    """Leave nothing for Python to flush at exit into a stdout that failed (it would print a second error)."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, ValueError):
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, AttributeError, ValueError):
            pass


def _fail(exc: AdvisorError) -> None:
    if exc.exit_code != 1:  # a failed check has printed its own report
        click.echo(_printable(f"error: {exc.render()}").replace("\n", "\nerror: "), err=True)
    _settle_stdout()
    sys.exit(exc.exit_code)


def _quiet_broken_pipe() -> None:
    """The reader went away (`advisor ... | head`): stop quietly, and keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass
    sys.exit(2)


def _handled(ctx: click.Context | None, call):
    """The one error handler at the CLI's edge, around every command (and, from `run`, around click's
    own parsing and help): advisor's errors become a message and their exit code, the machine's
    refusals exit 2, an interruption exits 130, and a bug exits 3 (its traceback only under --debug)."""
    try:
        result = call()
        if sys.stdout is not None:
            sys.stdout.flush()  # a full disk or a closed stdout shows here, not silently at exit
        return result
    except AdvisorError as exc:
        _fail(exc)
    except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
        raise
    except KeyboardInterrupt:
        click.echo("advisor: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except UnicodeEncodeError as exc:  # stdout's encoding (PYTHONIOENCODING, a C locale) cannot hold the text
        click.echo(
            f"error: standard output's encoding ({exc.encoding}) cannot write "
            f"{exc.object[exc.start : exc.start + 1]!r}; set PYTHONIOENCODING=utf-8 or write to a file "
            "with -o",
            err=True,
        )
        sys.exit(2)
    except OSError as exc:  # the machine refused: a full disk, an unreadable terminal, ...
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        click.echo(_printable(f"error: {where}{exc.strerror or exc}"), err=True)
        _settle_stdout()
        sys.exit(2)
    except Exception as exc:  # a bug: say so, show the traceback only with --debug
        if ctx is None or ctx.find_root().params.get("debug"):
            raise  # --debug; or outside a command (from `run`), where the command's own handler has spoken
        click.echo(
            _printable(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in advisor; please report it with the input that caused it "
                "(run again with --debug for the traceback)."
            ),
            err=True,
        )
        sys.exit(3)


class _Edge(click.Group):
    """The `advisor` group: its commands (and the `rules` group's) all run inside `_handled`."""

    def invoke(self, ctx: click.Context):
        return _handled(ctx, lambda: super(_Edge, self).invoke(ctx))


class _Closed:
    """Standing in for a standard stream the shell closed (`>&-`, `<&-`): using it is a clear error."""

    closed = False
    buffer = None
    encoding = "utf-8"

    def __init__(self, name: str):
        self.name = name

    def _refuse(self, *args, **kwargs):
        raise OSError(errno.EBADF, f"standard {self.name} is closed")

    write = read = readline = fileno = _refuse

    def flush(self) -> None:  # nothing was written: nothing to flush (Python flushes at exit)
        pass

    def isatty(self) -> bool:
        return False


def run() -> None:
    """The `advisor` program: the click group, with an interruption anywhere as exit 130."""
    # pydantic looks for plugins among every installed package's entry points when it builds its
    # first validator (some milliseconds of each start); the program uses none. A library user's
    # process is left as it is.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if sys.stdout is None:
        sys.stdout = _Closed("output")
    if sys.stdin is None:
        sys.stdin = _Closed("input")
    try:  # the commands run inside _handled already; this covers click parsing and printing help
        code = _handled(None, lambda: main(standalone_mode=False))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            sys.exit(130)
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """advisor's own warnings as one line on stderr; others as Python shows them."""
    from .errors import AdvisorWarning

    if issubclass(category, AdvisorWarning):
        if not _quiet():
            click.echo(_printable(f"advisor: warning: {message}"), err=True)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


def _quiet() -> bool:
    """Whether -q/--quiet was given: results and errors only, no warnings or progress on stderr."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get("advisor.quiet"))


def _protected(inputs=()) -> list:
    """What an output must never overwrite: the inputs, and the rule base in use (its files and catalog)."""
    from .loading import default_rules_dir

    rules_dir = click.get_current_context().params.get("rules_dir") if click.get_current_context(silent=True) else None
    return [*inputs, rules_dir, default_rules_dir()]


def write_output(text: str, output: str | None, inputs=()) -> None:
    """Print, or write a file whole (a temporary file and a rename; see `output`)."""
    from .output import write_text

    write_text(text, output, _protected(inputs))


def _rulebase(rules_dir: str | None):
    from .loading import load_rulebase

    return load_rulebase(rules_dir)


def _stdin():
    """Standard input as bytes (a closed one is an error, not a crash)."""
    from .errors import InputError

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise InputError("standard input is closed", path="<stdin>")
    return stream


def _read_threat(source: str, rulebase, head: bytes | None = None):
    from .api import load_threat, parse_threat
    from .source import read_json_stream

    if source == "-":
        import io

        stream = io.BytesIO(head) if head is not None else _stdin()
        return parse_threat(read_json_stream(stream), rulebase, path="<stdin>", default_id="stdin")
    return load_threat(source, rulebase)


def _read_head(stream, n: int) -> bytes:
    """Up to n bytes of a stream (fewer only at its end)."""
    chunks, total = [], 0
    while total < n:
        chunk = stream.read(n - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _stdin_is_one(head: bytes, whole: bool) -> bool:
    """Whether standard input holds one descriptor (else a JSON array or JSON Lines, for batch mode).

    `head` is the first bytes, one more than a descriptor may have; `whole` says whether that
    was all. Input that is not JSON at all counts as one, so that it gets one clear message;
    one object over the limit is refused as such, never read as a batch.
    """
    from .errors import FileReadError
    from .source import decode, descriptor_limit, parse_json

    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if whole:
        try:
            return not isinstance(parse_json(decode(head, "<stdin>"), "<stdin>"), list)
        except FileReadError as exc:
            return "more than one JSON value" not in exc.message
    if start == b"[":
        return False
    first = head.split(b"\n", 1)[0] if b"\n" in head else None
    try:
        if first is not None and first.strip():
            parse_json(first.decode("utf-8-sig"), "<stdin>")
            return False
    except (FileReadError, UnicodeDecodeError):
        pass
    limit = descriptor_limit()
    raise FileReadError(
        f"input is over the limit of {limit:,} bytes for one descriptor (ADVISOR_MAX_DESCRIPTOR_BYTES)", path="<stdin>"
    )


class Format(click.Choice):
    """`--format`: one vocabulary across commands. `text` and `table` both name the human-readable
    output, `md` is `markdown`, `yml` nothing (rule files are YAML, outputs are not); a command takes
    the formats it lists, under either name."""

    ALIASES = {
        "md": "markdown",
        "txt": "text",
        "table": "text",
        "text": "table",
        "jsonlines": "jsonl",
        "ndjson": "jsonl",
    }

    def __init__(self, choices: list[str]):
        super().__init__(choices, case_sensitive=False)
        self.name = "format"

    def convert(self, value, param, ctx):
        text = str(value).strip().lower()
        if text not in self.choices and self.ALIASES.get(text) in self.choices:
            text = self.ALIASES[text]
        return super().convert(text, param, ctx)

    def get_metavar(self, param, ctx=None) -> str:  # click 8.1 takes (param), 8.2 (param, ctx)
        return "[" + "|".join(map(str, self.choices)) + "]"


def format_option(choices: list[str], default: str):
    return click.option(
        "--format",
        "fmt",
        type=Format(choices),
        default=default,
        show_default=True,
        help="Output format"
        + (" (md: markdown)" if "markdown" in choices else "")
        + (" (table: text)" if "text" in choices else " (text: table)" if "table" in choices else "")
        + ".",
    )


rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory of rule files to use instead of the shipped rule base.",
)
as_of_option = click.option(
    "--as-of",
    "as_of",
    type=click.Choice(["2002", "today"]),
    default="2002",
    show_default=True,
    help="'today' adds what became of each body since 2002 (the 2002 answer is unchanged).",
)
lang_option = click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default="en",
    show_default=True,
    help="'ja' prints agency, framework and state names in Japanese where known.",
)


def document_options(command):
    """The options of the exercise documents (eeg, hotwash, rolecards): format, output, language, rules."""
    for option in reversed(
        [
            click.option(
                "--format",
                "fmt",
                type=Format(["markdown", "html", "docx"]),
                default="markdown",
                show_default=True,
            ),
            click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file."),
            lang_option,
            rules_option,
        ]
    ):
        command = option(command)
    return command


@click.group(cls=_Edge, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="advisor")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.option("-q", "--quiet", is_flag=True, help="Results and errors only: no warnings or progress on stderr.")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Assess East Asian security threats against the JFIR 2002 recommendations.

    Every framework, state and Japanese agency in an answer is traced to the rule
    that concluded it and to the recommendation numbers behind that rule. advisor
    prints no colour, so NO_COLOR is always honoured.

    \b
    Shell completion (bash; zsh and fish likewise):
        eval "$(_ADVISOR_COMPLETE=bash_source advisor)"
    """
    ctx.meta["advisor.quiet"] = quiet
    warnings.showwarning = _show_warning


@main.command("assess")
@click.argument("threats", nargs=-1, required=True, metavar="FILE|DIR|-...")
@click.option(
    "--format",
    "fmt",
    type=Format(["table", "json", "markdown", "jsonl"]),
    default=None,
    help="Output format [default: table on a terminal, json otherwise; jsonl for several descriptors].",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes for several descriptors (same output, byte for byte).",
)
@click.option(
    "--skip-done",
    type=click.Path(dir_okay=False),
    default=None,
    help="Skip descriptors whose id is already in this JSON Lines output (to resume a run).",
)
@as_of_option
@lang_option
@rules_option
def assess_command(threats, fmt, output, jobs, skip_done, as_of, lang, rules_dir):
    """Assess threat descriptors: recommendations, frameworks, states, agencies, trace.

    One descriptor gives one assessment. Several (files, a directory, or `-` holding a JSON
    array or JSON Lines) give JSON Lines, one assessment per line in input order; a bad
    descriptor becomes an error record and the exit code is 2. A descriptor with injects is
    assessed at every stage, with what each inject changes.

    \b
    Example:
        advisor assess threats/malacca_piracy.json
        advisor assess threats/cyber_attack.json --format json -o cyber.json
        advisor assess threats/ --jobs 2 -o all.jsonl
        advisor assess threats/korean_peninsula_escalation.json --as-of today --lang ja
    """
    from .api import assess
    from .render import render_assessment
    from .source import batch_limit, descriptor_limit

    descriptor_limit(), batch_limit()  # a malformed setting is refused before anything is read or written
    rulebase = _rulebase(rules_dir)
    head = None
    if threats == ("-",):
        limit = descriptor_limit()
        head = _read_head(_stdin(), limit + 1)
        single = _stdin_is_one(head, whole=len(head) <= limit)
    else:
        single = len(threats) == 1 and not Path(threats[0]).is_dir() and not threats[0].endswith(".jsonl")
    if single and fmt != "jsonl" and not skip_done:
        descriptor = _read_threat(threats[0], rulebase, head)
        if fmt is None:
            fmt = "table" if sys.stdout.isatty() and output is None else "json"
        assessment = assess(descriptor, rulebase, as_of=as_of)
        write_output(render_assessment(assessment, fmt, rulebase.catalog, lang), output, threats)
        return
    if fmt not in (None, "jsonl"):
        raise click.UsageError(
            f"several descriptors are written as JSON Lines, not {fmt}: use --format jsonl (or give one descriptor)"
        )
    _assess_batch(threats, head, rulebase, rules_dir, output, jobs, skip_done, as_of)


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _assess_batch(threats, head, rulebase, rules_dir, output, jobs, skip_done, as_of) -> None:
    import itertools

    from . import batch
    from .errors import InputError
    from .output import LineWriter

    items = batch.read_inputs(threats, _stdin() if "-" in threats else None, head or b"")
    earlier: dict = {}
    if skip_done:
        items = batch.skip_done(items, batch.done_keys(Path(skip_done)), skip_done, rulebase, as_of, earlier)
    first = next(items, None)  # inputs are read, and an earlier output checked, before any output is opened
    if first is None and not skip_done:
        raise InputError("no descriptors here (*.json, *.jsonl)", path=", ".join(threats))
    items = itertools.chain([first], items) if first is not None else iter(())

    def show(n: int) -> None:
        if n % 20 == 0:
            click.echo(f"\r{n} assessed", err=True, nl=False)

    progress = show if sys.stderr.isatty() and not _quiet() else None

    append = bool(skip_done and output and output != "-" and _same(skip_done, output))
    with LineWriter(output, append=append, inputs=_protected(threats)) as out:
        good, bad = batch.assess_stream(items, rulebase, rules_dir, out, jobs=jobs, as_of=as_of, progress=progress)
    if progress and good + bad >= 20:
        click.echo(f"\r{good + bad} assessed", err=True)
    good, bad = good + earlier.get("good", 0), bad + earlier.get("bad", 0)
    if bad:
        raise InputError(f"{bad} of {good + bad} inputs could not be assessed; see the error records")


@main.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@format_option(["text", "json"], "text")
@rules_option
def validate_command(files: tuple[str, ...], fmt: str, rules_dir: str | None) -> None:
    """Check threat descriptors without assessing them; report every problem.

    \b
    Example:
        advisor validate threats/*.json
        advisor validate threats/*.json --format json
    """
    from .render.json import to_json

    rulebase = _rulebase(rules_dir)
    problems: list[AdvisorError] = []
    report = []
    for name in files:
        try:
            descriptor = _read_threat(name, rulebase)
        except AdvisorError as exc:
            problems.append(exc)
            report.append({"file": name, "valid": False, "problems": [p.render() for p in (exc.problems or [exc])]})
            continue
        report.append({"file": name, "valid": True, "type": descriptor.type, "id": descriptor.id})
        if fmt == "text":
            _out(_printable(f"{name}: ok ({descriptor.type})"))
    if fmt == "json":
        _out(to_json({"files": report, "valid": len(report) - len(problems), "invalid": len(problems)}), nl=False)
    if problems:
        from .errors import InputError

        raise InputError("invalid input", problems=problems)


@main.command("schema")
@click.option(
    "--what",
    type=click.Choice(["descriptor", "rules", "cases", "assessment"]),
    default="descriptor",
    show_default=True,
    help="The threat descriptor, rule files, policy-case files, or the assessment advisor writes.",
)
@rules_option
def schema_command(what: str, rules_dir: str | None) -> None:
    """Print a JSON Schema (2020-12, with an $id): of the descriptor, rule files, policy cases or the assessment.

    Vocabularies are enums, so an editor completes and checks values. The schemas of
    the shipped catalog are also in the package (advisor/schemas/).

    \b
    Example:
        advisor schema > descriptor.schema.json
        advisor schema --what rules > rules.schema.json
    """
    from .render.json import to_json
    from .schema import schema_of

    _out(to_json(schema_of(what, _rulebase(rules_dir).catalog)), nl=False)


@main.command("catalog")
@click.argument("what", type=click.Choice(CATALOG_LISTS))
@format_option(["table", "json", "markdown"], "table")
@rules_option
def catalog_command(what: str, fmt: str, rules_dir: str | None) -> None:
    """List the knowledge base: recommendations, frameworks, agencies, states, vocabularies.

    \b
    Example:
        advisor catalog frameworks
        advisor catalog types --format json
    """
    from .render import render_catalog

    _out(render_catalog(_rulebase(rules_dir).catalog, what, fmt), nl=False)


class CheckFailed(AdvisorError):
    """A check ran and found problems: exit 1, the report already printed."""

    exit_code = 1


@main.command("test")
@click.argument("paths", nargs=-1, metavar="[PATH...]")
@format_option(["text", "json", "junit"], "text")
@click.option(
    "--coverage",
    "show_coverage",
    is_flag=True,
    help="Report rules, recommendations, frameworks and agencies the suite reached.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 100),
    default=None,
    help="Fail when fewer than this percentage of rules fire in the suite.",
)
@click.option(
    "--mutate",
    is_flag=True,
    help="Switch off each rule, and each recommendation's rules, in turn; report the mutants no case catches.",
)
@click.option("-v", "--verbose", is_flag=True, help="List passing cases too.")
@rules_option
def test_command(paths, fmt, show_coverage, threshold, mutate, verbose, rules_dir):
    """Run policy test cases (YAML) against the rule base.

    PATH is a case file or a directory searched for them (default: tests/policy).
    Ends with the line "N passed, N failed"; exits 1 when a case fails.

    \b
    Example:
        advisor test tests/policy
        advisor test --coverage --threshold 100
        advisor test --mutate --format json
    """
    from . import policy
    from .render.ci import policy_junit
    from .render.json import policy_json
    from .render.text import coverage_table, mutation_table, policy_report

    if not paths:
        if not Path("tests/policy").is_dir():
            from .errors import InputError

            raise InputError("no PATH given and no tests/policy directory here")
        paths = ("tests/policy",)
    files = policy.discover(list(paths))
    cases = [c for f in files for c in policy.load_cases(f, rules_dir)]
    if not cases:
        from .errors import InputError

        raise InputError("no policy test cases found", path=", ".join(paths))
    results = policy.run_cases(cases)
    rulebase = cases[0].rulebase
    cov = policy.coverage(results, rulebase) if (show_coverage or threshold is not None) else None
    plan = policy.mutants(cases, rulebase) if mutate else None
    if fmt == "json":
        _out(policy_json(results, cov, plan), nl=False)
    elif fmt == "junit":
        _out(policy_junit(results), nl=False)
    else:
        text = policy_report(results, verbose)
        if cov is not None and show_coverage:
            text = coverage_table(cov) + "\n" + text
        if plan is not None:
            text = mutation_table(plan, policy.strength(plan, rulebase)) + "\n" + text
        _out(text, nl=False)
    failed = [r for r in results if not r.passed]
    problems = []
    if failed:
        problems.append(f"{len(failed)} policy case(s) failed")
    if threshold is not None and cov.percent("rules") < threshold:
        problems.append(f"rule coverage {cov.percent('rules'):.1f}% is below the threshold of {threshold:g}%")
    if plan is not None and any(m.survived for m in plan):
        problems.append(f"{sum(m.survived for m in plan)} mutant(s) survived")
    if problems:
        raise CheckFailed("; ".join(problems))


@main.group()
def rules() -> None:
    """Work on rule bases: static checks.

    \b
    Example:
        advisor rules check --strict
    """


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@format_option(["text", "json", "sarif", "github"], "text")
def rules_check(directory: str | None, strict: bool, fmt: str) -> None:
    """Check a rule base without assessing anything (default: the shipped one).

    Errors: invalid files (with file:line), unknown references, duplicate ids, rules
    whose conditions can never hold, derived facts no rule produces, cycles.
    Warnings: recommendations no rule cites, frameworks or agencies no rule concludes,
    two rules giving one agency lead and support for inputs that can both hold.

    \b
    Example:
        advisor rules check
        advisor rules check ./my-rules --strict
    """
    from .analysis import check_loaded
    from .render.ci import findings_github, findings_sarif
    from .render.json import to_json

    findings, digest = check_loaded(directory)
    errors = [f for f in findings if f.level == "error"]
    warnings = [f for f in findings if f.level == "warning"]
    if fmt == "sarif":
        _out(findings_sarif(findings, directory or "rules"), nl=False)
    elif fmt == "github":
        _out(findings_github(findings), nl=False)
    elif fmt == "json":
        _out(
            to_json(
                {
                    "findings": [f.to_dict() for f in findings],
                    "errors": len(errors),
                    "warnings": len(warnings),
                    "rulebase": digest,  # the digest of the rule base checked (null: it did not load)
                }
            ),
            nl=False,
        )
    else:
        for f in findings:
            _out(_printable(f.render()))
        _out(f"{len(errors)} errors, {len(warnings)} warnings")
    if errors or (strict and warnings):
        raise CheckFailed(f"{len(errors)} errors, {len(warnings)} warnings" + (" (--strict)" if strict else ""))


@main.command("fmt")
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file is not in canonical form (for CI).")
def fmt_command(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite rule files in the canonical layout (comments and quoting kept).

    PATH is a rule file or a directory of them (default: rules/). Each rule's keys
    go in the order id, cites, basis, note, because, quote, when, then; indentation
    is the shipped rule base's; the data is checked to be unchanged.

    \b
    Example:
        advisor fmt rules/
        advisor fmt --check rules/
    """
    from .fmt import format_file, rule_files
    from .output import write_text

    if not paths:
        if not Path("rules").is_dir():
            from .errors import InputError

            raise InputError("no PATH given and no rules/ directory here")
        paths = ("rules",)
    files = rule_files(list(paths))
    if not files:
        from .errors import InputError

        raise InputError("no rule files here (*.yaml with a top-level 'rules:' list)", path=", ".join(paths))
    results = [format_file(f) for f in files]  # every file read and checked before any is written
    changed = [r for r in results if r.changed]
    for r in changed:
        if check:
            _out(_printable(f"would reformat {r.path}"))
        else:
            write_text(r.after, r.path)
            _out(_printable(f"reformatted {r.path}"))
    _out(
        f"{len(changed)} of {len(results)} file{'s' if len(results) != 1 else ''} "
        + ("would be reformatted" if check else "reformatted")
    )
    if check and changed:
        raise CheckFailed(f"{len(changed)} file(s) not in canonical form")


@main.command("explain")
@click.argument("threat", metavar="FILE|-")
@click.option(
    "--why",
    "why_x",
    metavar="X",
    default=None,
    help="The chain of rules and facts, down to the descriptor, that produced X.",
)
@click.option(
    "--why-not",
    "why_not_x",
    metavar="X",
    default=None,
    help="Every rule that could produce X, with the conditions that failed, nearest miss first.",
)
@click.option(
    "--what-if",
    "what_if_",
    is_flag=True,
    help="Every one-value change of the descriptor that adds or removes frameworks, agencies or recommendations.",
)
@format_option(["text", "json"], "text")
@rules_option
def explain_command(
    threat: str, why_x: str | None, why_not_x: str | None, what_if_: bool, fmt: str, rules_dir: str | None
) -> None:
    """Answer why, why not, and what if for one threat.

    X is a framework, agency, state, recommendation number, derived fact, caveat or
    measure id (see advisor catalog).

    \b
    Example:
        advisor explain threats/malacca_piracy.json --why wpns
        advisor explain threats/cyber_attack.json --why-not tcog
        advisor explain threats/terrorism.json --what-if
    """
    from . import explain as ex
    from .render.json import to_json, what_if_data, why_data, why_not_data
    from .render.text import render_what_if, render_why, render_why_not

    if not (why_x or why_not_x or what_if_):
        raise click.UsageError("give --why X, --why-not X or --what-if")
    rulebase = _rulebase(rules_dir)
    descriptor = _read_threat(threat, rulebase)
    out: list[str] = []
    data: dict[str, Any] = {}
    if why_x:
        target = ex.resolve(rulebase, why_x, "--why")
        answer, _ = ex.why(descriptor, rulebase)
        nodes = answer(target)
        out.append(render_why(target, nodes))
        data["why"] = why_data(target, nodes)
    if why_not_x:
        target = ex.resolve(rulebase, why_not_x, "--why-not")
        present, misses = ex.why_not(descriptor, rulebase, target)
        out.append(render_why_not(target, present, misses))
        data["why_not"] = why_not_data(target, present, misses)
    if what_if_:
        rows = ex.what_if(descriptor, rulebase)
        out.append(render_what_if(rows))
        data["what_if"] = what_if_data(rows)
    _out(to_json(data) if fmt == "json" else "\n".join(out), nl=False)


@main.command("query")
@click.option("--framework", default=None, metavar="ID")
@click.option("--agency", default=None, metavar="ID")
@click.option("--recommendation", default=None, metavar="N")
@click.option("--derived", default=None, metavar="NAME")
@format_option(["text", "json"], "text")
@rules_option
def query_command(framework, agency, recommendation, derived, fmt, rules_dir) -> None:
    """From the rules alone: which threat types, regions and conditions lead to a conclusion.

    \b
    Example:
        advisor query --framework wpns
        advisor query --agency maritime_safety_agency
        advisor query --recommendation 7
    """
    from .analysis import query
    from .explain import resolve
    from .render.json import query_data, to_json
    from .render.text import render_query

    given = [
        (k, v)
        for k, v in (
            ("framework", framework),
            ("agency", agency),
            ("recommendation", recommendation),
            ("derived", derived),
        )
        if v
    ]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --framework, --agency, --recommendation, --derived")
    rulebase = _rulebase(rules_dir)
    kind, ref = given[0]
    target = resolve(rulebase, ref, f"--{kind}", kind=kind)
    answers, summary = query(rulebase, target)
    _out(
        to_json(query_data(target, answers, summary)) if fmt == "json" else render_query(target, answers, summary),
        nl=False,
    )


@main.command("diff")
@click.argument("paths", nargs=-1, required=True, metavar="OLD.json NEW.json | DESCRIPTOR...")
@click.option(
    "--rules",
    "rules_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Give twice (old, then new) to compare two rule bases on the descriptors.",
)
@format_option(["text", "json"], "text")
def diff_command(paths: tuple[str, ...], rules_dirs: tuple[str, ...], fmt: str) -> None:
    """Show what changed: between two assessments, or for descriptors under two rule bases.

    Exits 1 when anything differs, so a rule change can be reviewed by its effect in CI.

    \b
    Example:
        advisor diff old.json new.json
        advisor diff --rules rules-before/ --rules rules/ threats/
    """
    from .changes import diff_rulebases
    from .diff import check_assessment, describe, diff_assessments, diff_threats
    from .render.json import to_json
    from .source import read_json

    if rules_dirs:
        if len(rules_dirs) != 2:
            raise click.UsageError("give --rules twice: the old rule base, then the new one")
        entries = diff_rulebases(list(paths), *rules_dirs)
    else:
        if len(paths) != 2:
            raise click.UsageError("give two assessment files, or --rules OLD --rules NEW with descriptors")
        old, new = (read_json(Path(p)) for p in paths)
        for p, data in zip(paths, (old, new)):
            check_assessment(data, p)
        changes = diff_assessments(old, new)
        threat = diff_threats(old["threat"], new["threat"])
        if threat:
            changes = {"threat": threat, **changes}
        entries = [{"threat": f"{paths[0]} -> {paths[1]}", "changes": changes}]
    changed = [e for e in entries if e["changes"]]
    if fmt == "json":
        _out(to_json({"entries": entries, "changed": len(changed)}), nl=False)
    else:
        for e in changed:
            _out(_printable(e["threat"]))
            for line in describe(e["changes"]):
                _out(_printable(f"  {line}"))
        _out(f"{len(changed)} of {len(entries)} changed")
    if changed:
        raise CheckFailed(f"{len(changed)} changed")


def _assessed(threat: str, rulebase, as_of: str = "2002"):
    from .api import assess

    return assess(_read_threat(threat, rulebase), rulebase, as_of=as_of)


@main.command("brief")
@click.argument("threat", metavar="FILE|-")
@format_option(["markdown", "html", "docx"], "markdown")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@click.option(
    "--facilitator",
    is_flag=True,
    help="The Facilitator/Controller guide: each module with its answer "
    "key (frameworks, agencies by role, measures, caveats, each with its basis and source), and the "
    "master scenario events list.",
)
@click.option(
    "--handout",
    is_flag=True,
    help="The one-page handout: exercise, marking, objectives, starting situation and the schedule of modules.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size the HTML prints on.",
)
@as_of_option
@lang_option
@rules_option
def brief_command(threat, fmt, output, facilitator, handout, paper, as_of, lang, rules_dir):
    """Write a tabletop-exercise packet: the Participant Situation Manual (cover with the handling
    marking and objectives, the starting situation, then one module per inject with its key issues
    and discussion questions, no answers).

    --facilitator writes the Facilitator/Controller guide instead (the same modules, each with its
    answer key); --handout the one-page handout. DOCX needs -o FILE or a pipe. HTML prints on A4 or Letter (--paper) with the
    marking and page numbers on every page; --lang ja writes the whole packet in Japanese.

    \b
    Example:
        advisor brief threats/korean_peninsula_exercise.json --format html -o manual.html
        advisor brief threats/korean_peninsula_exercise.json --facilitator --as-of today -o guide.md
        advisor brief threats/korean_peninsula_exercise.json --handout --format html --paper letter -o handout.html
    """
    from .render import render_brief

    if handout and facilitator:
        raise click.UsageError("--handout and --facilitator are different documents: choose one")
    rulebase = _rulebase(rules_dir)
    a = _assessed(threat, rulebase, as_of)
    text = render_brief(a, rulebase, fmt, facilitator=facilitator, handout=handout, paper=paper, lang=lang, as_of=as_of)
    if isinstance(text, bytes):
        _write_binary(text, output, [threat], "DOCX")
        return
    write_output(text, output, [threat])


@main.command("graph")
@click.argument("threat", metavar="FILE|-")
@click.option(
    "--format",
    "fmt",
    type=Format(["svg", "dot", "mermaid", "matrix"]),
    default="mermaid",
    show_default=True,
    help="'matrix': who belongs to what as a Markdown table, for a dense picture.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@click.option(
    "--stage",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="The network at stage N of a scenario with injects (0: the start); bodies new at N are marked.",
)
@click.option(
    "--stages",
    "every_stage",
    is_flag=True,
    help="One picture per stage, in order, the bodies each inject brings marked new.",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="CODE",
    help="Only the frameworks this state takes part in, and the agencies linked to them (repeatable).",
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    metavar="LAYER",
    help="Only the frameworks of this layer of the multi-layered network (repeatable).",
)
@click.option(
    "--group/--no-group",
    "group",
    default=None,
    help="One edge for a whole cluster where every member has it, and one node for states linked "
    "alike [default: when the picture has more than 1.5 edges per node].",
)
@lang_option
@rules_option
def graph_command(threat, fmt, output, stage, every_stage, states, layers, group, lang, rules_dir):
    """Draw the network of one assessment: states, frameworks, Japanese agencies, who belongs to what,
    and which agency leads (a bold edge).

    SVG needs Graphviz's dot program (apt-get install graphviz); dot, mermaid and matrix do not.
    --stages writes DOT graphs one after another, Mermaid diagrams each under its own heading in
    Markdown, one SVG document with the pictures stacked, or one table per stage.

    \b
    Example:
        advisor graph threats/malacca_piracy.json --format svg -o network.svg
        advisor graph threats/korean_peninsula_exercise.json --stages --format svg -o stages.svg
        advisor graph threats/korean_peninsula_exercise.json --stage 3 --state KOR --layer alliances
        advisor graph threats/north_korea_nuclear_crisis.json --format matrix
    """
    from .errors import InputError
    from .graph import DENSE, draw, filters
    from .render.names import Names

    if stage is not None and every_stage:
        raise click.UsageError("give --stage N or --stages, not both")
    rulebase = _rulebase(rules_dir)
    cat = rulebase.catalog
    codes, layer_ids = filters(cat, states, layers)
    a = _assessed(threat, rulebase)
    text, pics = draw(
        a, cat, Names(cat, lang), fmt, stage=stage, every=every_stage, states=codes, layers=layer_ids, group=group
    )
    if text is None:
        raise InputError(
            "SVG needs Graphviz's dot program, which is not installed "
            "(apt-get install graphviz); --format dot or mermaid work without it",
            loc="--format",
        )
    dense = max(p.graph.per_node for p in pics)
    if fmt != "matrix" and dense > DENSE:
        click.echo(
            f"advisor: note: with every edge drawn this picture has {dense:g} edges per node (over {DENSE:g}); "
            + ("states and agencies are grouped (--no-group draws every edge); " if group is not False else "")
            + "--format matrix shows every membership as a table",
            err=True,
        )
    write_output(text, output, [threat])


@main.command("msel")
@click.argument("threat", metavar="FILE|-")
@format_option(["markdown", "csv", "xlsx"], "markdown")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@lang_option
@rules_option
def msel_command(threat, fmt, output, lang, rules_dir):
    """Draft the controller's master scenario events list (HSEEP columns): one row per inject, the
    starting situation first, with the responsible player or agency, the expected actions together,
    the objectives and the recommendations.

    CSV opens cleanly in spreadsheets (UTF-8 with BOM, CRLF); XLSX needs -o FILE or a pipe.

    \b
    Example:
        advisor msel threats/korean_peninsula_exercise.json
        advisor msel threats/korean_peninsula_exercise.json --format xlsx -o msel.xlsx
    """
    from .render import render_msel

    rulebase = _rulebase(rules_dir)
    out = render_msel(_assessed(threat, rulebase), rulebase, fmt, lang)
    if isinstance(out, bytes):
        _write_binary(out, output, [threat], "XLSX")
    else:
        write_output(out, output, [threat])


def _split(values: tuple[str, ...]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def _write_binary(data: bytes, output, inputs, what: str) -> None:
    """Write an XLSX or DOCX whole, as write_output does; never to a terminal."""
    from .output import write_bytes

    write_bytes(data, output, inputs, what=what)


def _exercise_input(threat: str, rules_dir, lang: str = "en"):
    from .render.names import Names

    rulebase = _rulebase(rules_dir)
    a = _assessed(threat, rulebase)
    return (
        rulebase,
        a,
        Names(rulebase.catalog, lang),
        a.threat.get("exercise") or {},
        a.threat.get("title") or a.threat["id"],
    )


@main.command("eeg")
@click.argument("threat", metavar="FILE|-")
@document_options
def eeg_command(threat, fmt, output, lang, rules_dir):
    """Write the Exercise Evaluation Guides: per objective, the rule-derived critical tasks of its
    modules (each with its recommendation, rule and basis), with room for observations and a
    P/S/M/U rating.

    DOCX needs -o FILE or a pipe.

    \b
    Example:
        advisor eeg threats/korean_peninsula_exercise.json
        advisor eeg threats/korean_peninsula_exercise.json --format docx -o eeg.docx
    """
    from .exercise import Words, guides
    from .render.docx import eeg_docx
    from .render.html import eeg_html
    from .render.markdown import eeg_markdown

    rulebase, a, names, exercise, title = _exercise_input(threat, rules_dir, lang)
    words = Words(rulebase.catalog, lang)
    found = guides(a, rulebase.catalog, names, rulebase, words)
    if fmt == "docx":
        _write_binary(eeg_docx(found, exercise, title, words), output, [threat], "DOCX")
    else:
        write_output((eeg_html if fmt == "html" else eeg_markdown)(found, exercise, title, words), output, [threat])


@main.command("hotwash")
@click.argument("threat", metavar="SCENARIO")
@click.argument("decisions", type=click.Path(dir_okay=False))
@document_options
def hotwash_command(threat, decisions, fmt, output, lang, rules_dir):
    """Score the players' decisions against the rule-derived expectations, module by module, and
    draft the After-Action Report and Improvement Plan.

    DECISIONS is YAML (per module: frameworks, lead, coordinate, support, states, measures,
    notes) or CSV (columns module, kind, id, role); ids or names. DOCX needs -o FILE or a pipe.

    \b
    Example:
        advisor hotwash threats/korean_peninsula_exercise.json decisions.yaml
        advisor hotwash threats/korean_peninsula_exercise.json decisions.csv --format docx -o aar.docx
    """
    from .exercise import Words, modules, read_decisions, score
    from .render.docx import hotwash_docx
    from .render.html import hotwash_html
    from .render.markdown import hotwash_markdown

    rulebase, a, names, _exercise, _title = _exercise_input(threat, rules_dir, lang)
    words = Words(rulebase.catalog, lang)
    found = read_decisions(decisions, rulebase.catalog, modules(a, rulebase.catalog, names))
    report = score(a, found, rulebase.catalog, names, rulebase, words)
    if fmt == "docx":
        _write_binary(hotwash_docx(report, words), output, [threat, decisions], "DOCX")
    else:
        write_output((hotwash_html if fmt == "html" else hotwash_markdown)(report, words), output, [threat, decisions])


@main.command("rolecards")
@click.argument("threat", metavar="FILE|-")
@document_options
def rolecards_command(threat, fmt, output, lang, rules_dir):
    """Write a role card per Japanese agency taking part: its roles per module, the measures that
    name it or its sector, its partners (frameworks, states) and its legal limits; HTML and DOCX
    print one card a page. DOCX needs -o FILE or a pipe.

    \b
    Example:
        advisor rolecards threats/korean_peninsula_exercise.json --format html -o cards.html
        advisor rolecards threats/korean_peninsula_exercise.json --lang ja --format docx -o cards.docx
    """
    from .exercise import Words, role_cards
    from .render.docx import rolecards_docx
    from .render.html import rolecards_html
    from .render.markdown import rolecards_markdown

    rulebase, a, names, exercise, title = _exercise_input(threat, rules_dir, lang)
    words = Words(rulebase.catalog, lang)
    cards = role_cards(a, rulebase.catalog, names, rulebase, words)
    if fmt == "docx":
        _write_binary(rolecards_docx(cards, exercise, title, words), output, [threat], "DOCX")
    else:
        write_output(
            (rolecards_html if fmt == "html" else rolecards_markdown)(cards, exercise, title, words), output, [threat]
        )


@main.command("matrix")
@click.option("--types", "types_", multiple=True, help="Threat types (comma-separated or repeated; default: all).")
@click.option("--regions", multiple=True, help="Regions, 'all', or 'none' (default: east_asia).")
@format_option(["table", "csv", "markdown", "json"], "table")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@lang_option
@rules_option
def matrix_command(types_, regions, fmt, output, lang, rules_dir):
    """Show who leads: Japanese agencies against threat types (and regions), from assessing each
    combination; flags combinations with no lead or more than one lead.

    \b
    Example:
        advisor matrix
        advisor matrix --types piracy,terrorism --regions all --format csv
    """
    from .brief import matrix as compute
    from .errors import InputError
    from .render import render_matrix
    from .render.names import Names

    rulebase = _rulebase(rules_dir)
    cat = rulebase.catalog
    types = []
    for t in _split(types_) or list(cat.vocabulary.types):
        found = cat.resolve("type", t)
        if found is None:
            raise InputError(f"unknown type '{t}' (did you mean {cat.hint('type', t)}?)", loc="--types")
        types.append(found)
    wanted = _split(regions) or ["east_asia"]
    region_list: list[str | None] = []
    for r in wanted:
        if r == "all":
            region_list.extend(cat.vocabulary.regions)
        elif r == "none":
            region_list.append(None)
        else:
            found = cat.resolve("region", r)
            if found is None:
                raise InputError(f"unknown region '{r}' (did you mean {cat.hint('region', r)}?)", loc="--regions")
            region_list.append(found)
    rows = compute(rulebase, types, list(dict.fromkeys(region_list)))
    if fmt == "json":
        from .render.json import to_json

        data = [{"type": r.type, "region": r.region, "roles": r.roles, "leads": r.leads} for r in rows]
        write_output(to_json({"rows": data}), output)
        return
    write_output(render_matrix(rows, cat, Names(cat, lang), fmt), output)


@main.command("new")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the JSON here.")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists, without asking.")
@click.option("--assess", "then_assess", is_flag=True, help="Assess the new descriptor straight away.")
@rules_option
def new_command(output, force, then_assess, rules_dir):
    """Build a threat descriptor by answering questions, each answer checked at once: the threat,
    then (if it is an exercise) its name, sponsor, dates, objectives and players, then the injects.

    An existing -o file is overwritten only after a yes to "overwrite FILE? [y/N]" (no: nothing is
    written, exit 1), or with --force; with answers from a pipe or a file and no --force, it is refused
    (exit 2).

    \b
    Example:
        advisor new -o threats/my_threat.json
        advisor new --assess
    """
    import json

    from .api import assess, parse_threat
    from .interactive import ask_descriptor, may_write
    from .render import render_assessment
    from .render.safe import json_safe

    def confirm(question: str) -> bool:
        if click.confirm(question, default=False, err=True):
            return True
        click.echo(f"advisor: {output} left as it was; nothing written", err=True)
        raise click.exceptions.Exit(1)

    rulebase = _rulebase(rules_dir)
    # asked before the questions, so that no answers are wasted; a yes then holds for the end
    confirmed = bool(output) and may_write(output, force, confirm) and os.path.lexists(output)
    ask = functools.partial(click.prompt, err=True)  # questions on stderr, so stdout holds only the JSON
    try:
        raw = ask_descriptor(rulebase.catalog, ask, lambda text: click.echo(text, err=True))
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        from .errors import InputError

        raise InputError(
            "the answers ended before the descriptor was complete (end of input); nothing was written", path="<new>"
        ) from None
    descriptor = parse_threat(raw, rulebase, path="<new>", default_id=raw.get("id", "threat"))
    text = json_safe(json.dumps(descriptor.to_output(), indent=2, ensure_ascii=False) + "\n")
    if output:
        may_write(output, force or confirmed, confirm)  # again: the file may have appeared meanwhile
        write_output(text, output)
        click.echo(f"wrote {output}", err=True)
    elif not then_assess:
        _out(text, nl=False)
    if then_assess:
        _out(render_assessment(assess(descriptor, rulebase), "table"), nl=False)


@main.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (not loopback: a token is needed)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes, each with its own rule base.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="File holding the bearer token (else ADVISOR_TOKEN); needed off loopback and for POST /v1/reload.",
)
@click.option(
    "--cors-origin",
    "cors",
    multiple=True,
    metavar="ORIGIN",
    help="Let pages of this origin call the API from a browser (repeatable; none by default).",
)
@rules_option
def serve_command(host, port, workers, token_file, cors, rules_dir):
    """Serve the HTTP API and the workbench, a page that walks a person from intake to brief.

    Open the printed address in a browser. The API's OpenAPI document is at /openapi.json;
    each endpoint is a CLI command (POST /v1/assess, /v1/explain, /v1/brief, /v1/msel,
    /v1/graph; GET /v1/query, /v1/catalog/KIND, /v1/schema/WHAT), plus /healthz and /metrics.
    SIGHUP, or POST /v1/reload with the token, reloads the rule base once `rules check`
    passes; if it fails, the old one serves on. Access logs are JSON lines on stderr.

    \b
    Example:
        advisor serve
        advisor serve --port 9000 --workers 2
        ADVISOR_TOKEN=$(openssl rand -hex 24) advisor serve --host 0.0.0.0
    """
    from .serving import serve, token_from

    serve(host, port, rules_dir, workers, token_from(token_file), cors, announce=lambda text: click.echo(text))


if __name__ == "__main__":  # pragma: no cover
    main()


# The one-line summaries of `advisor --help`, whole (click would cut the docstrings' first sentences).
SHORT_HELP = {
    "assess": "Assess threat descriptors: frameworks, states, agencies, traced to the document.",
    "brief": "Write a tabletop-exercise situation manual (Markdown, HTML, DOCX).",
    "catalog": "List the knowledge base: recommendations, frameworks, agencies, vocabularies.",
    "diff": "Compare two assessments, or descriptors under two rule bases.",
    "eeg": "Write the Exercise Evaluation Guides, one per objective.",
    "explain": "Answer why, why not, and what if for one threat.",
    "fmt": "Rewrite rule files in the canonical layout; --check for CI.",
    "graph": "Draw the network of one assessment: states, frameworks, agencies.",
    "hotwash": "Score the players' decisions against the rule-derived answers.",
    "matrix": "Show who leads: Japanese agencies against threat types.",
    "msel": "Draft the master scenario events list (HSEEP columns).",
    "new": "Build a threat descriptor by answering questions.",
    "query": "From the rules alone: what leads to a framework, agency or recommendation.",
    "rolecards": "Write a role card per Japanese agency taking part.",
    "rules": "Work on rule bases: static checks.",
    "serve": "Serve the HTTP API and the workbench (intake to brief in a browser).",
    "schema": "Print a JSON Schema: descriptor, rule files, policy cases, assessment.",
    "test": "Run policy test cases (YAML) against the rule base.",
    "validate": "Check threat descriptors without assessing them.",
}
for _name, _text in SHORT_HELP.items():
    main.commands[_name].short_help = _text
