"""Terminal text: the assessment's tables, catalog listings, policy-test reports, explain and query."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from .names import Names
from .rows import catalog_rows, matrix_key, matrix_rows, matrix_summary, nums, short
from .safe import printable

if TYPE_CHECKING:
    from ..brief import MatrixRow
    from ..catalog import Catalog
    from ..explain import Miss, Node, Target
    from ..models import Assessment
    from ..policy import Coverage, Mutant, Result
    from ..rules import Rule

WIDTH = 100


def _table(rows: list[list[Any]], headers: list[str], widths: list[int | None]) -> str:
    from tabulate import tabulate

    # escaped before tabulate measures the cells, so the columns stay aligned
    rows = [[printable(c) if isinstance(c, str) else c for c in row] for row in rows]
    return tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=widths, disable_numparse=True)


def _basis(basis: str) -> str:
    return "" if basis == "document" else " *"


def stage_lines(a: Assessment, width: int | None = WIDTH) -> list[str]:
    """Each stage's title and changes (wrapped at `width`, or one line), then what changed, indented."""
    from ..diff import describe

    lines = []
    for st in a.stages or []:
        changes = ", ".join(f"{k} {short(v)}" for k, v in st.changes.items())
        head = f"Stage {st.stage}: {st.title}  ({changes})"
        lines.extend(textwrap.wrap(printable(head), width, subsequent_indent="  ") if width else [head])
        lines.extend(f"    {line}" for line in describe(st.delta) or ["(no change in the answer)"])
    return lines


def _threat_line(a: Assessment) -> list[str]:
    t = a.threat
    title = printable(t.get("title") or t["id"])
    where = f" in {t['region']}" if t.get("region") else ""
    states = f"; states {', '.join(t['states'])}" if t.get("states") else ""
    lines = [
        f"{title}",
        f"{t['type']}{where}, {a.nature.category.replace('_', '-')}, actor {t['actor']}, "
        f"severity {t['severity']}{states}",
    ]
    return [textwrap.fill(line, WIDTH) for line in lines]


def assessment_table(a: Assessment, names: Names | None = None) -> str:
    """The assessment as tables readable at 100 columns."""
    names = names or Names()
    out = _threat_line(a)
    star = False

    def section(title: str, body: str) -> None:
        out.extend(["", title.upper(), body])

    section(
        "Recommendations",
        _table(
            [[r.number, r.title, ", ".join(r.citations)] for r in a.recommendations],
            ["No.", "Title", "Cited"],
            [None, 78, 12],
        )
        if a.recommendations
        else "(none)",
    )
    rows = []
    for f in a.frameworks:
        star |= f.basis != "document" or f.members_basis == "general_knowledge"
        rows.append(
            [
                names("frameworks", f.id, f.name) + _basis(f.basis),
                f.status,
                f.layer.replace("_", " "),
                nums(f.recommendations),
            ]
        )
    section("Frameworks", _table(rows, ["Framework", "Status", "Layer", "Rec."], [52, 9, 20, 8]) if rows else "(none)")
    rows = []
    for s in a.states:
        star |= s.basis != "document"
        rows.append(
            [
                s.code,
                names("states", s.code, s.name) + _basis(s.basis),
                ", ".join(s.frameworks),
                nums(s.recommendations),
            ]
        )
    section("States", _table(rows, ["Code", "Name", "Frameworks", "Rec."], [5, 22, 52, 12]) if rows else "(none)")
    rows = []
    for g in a.agencies:
        star |= g.basis != "document" or g.role_basis != "document"
        rows.append(
            [names("agencies", g.id, g.name) + _basis(g.basis), g.role + _basis(g.role_basis), nums(g.recommendations)]
        )
    section("Agencies", _table(rows, ["Agency", "Role", "Rec."], [55, 13, 20]) if rows else "(none)")
    if a.measures or a.caveats:
        rows = [["measure", m.text, m.citation] for m in a.measures]
        rows += [["caveat", c.text, c.citation] for c in a.caveats]
        section("Measures and caveats", _table(rows, ["", "Text", "Cited"], [8, 78, 6]))
    section(
        "Trace",
        _table(
            [[e.step, e.rule + _basis(e.basis), nums(e.recommendations), e.because] for e in a.trace],
            ["Step", "Rule", "Rec.", "Because"],
            [4, 34, 6, 46],
        )
        if a.trace
        else "(no rule fired)",
    )
    if a.stages:
        section("Stages", "\n".join(stage_lines(a)))
    if a.since_2002 is not None:
        section(
            "Since 2002",
            _table(
                [[x.name, x.since, x.became] for x in a.since_2002], ["Body", "Year", "What became of it"], [30, 4, 60]
            )
            if a.since_2002
            else "(nothing recorded)",
        )
    for note in a.notes:
        out.extend(textwrap.wrap(printable(f"note: {note}"), WIDTH, subsequent_indent="      "))
    if star:
        out.extend(["", "* goes beyond the document's text (general knowledge); see the JSON output's basis fields"])
    return printable("\n".join(out) + "\n")


def catalog_table(catalog: Catalog, what: str) -> str:
    """One `advisor catalog` listing as a table."""
    headers, rows, widths = catalog_rows(catalog, what)
    return printable(_table(rows, headers, widths) + "\n")


# --- policy tests ----------------------------------------------------------------------


def trace_lines(a: Assessment, indent: str = "    ") -> list[str]:
    """The trace, one line a rule: step, rule, recommendations, and what matched."""
    out = []
    for e in a.trace:
        matched = ", ".join(f"{k}={short(v)}" for k, v in e.matched.items())
        out.append(f"{indent}{e.step} {e.rule} [{', '.join(e.citations)}] {matched}")
    return out


def policy_failure(result: Result) -> str:
    """One failed case: where, what was expected against what came out, and the trace."""
    case = result.case
    lines = [f"FAIL {case.where} {case.name}"]
    if case.because:
        lines.extend(
            textwrap.wrap(f"because: {case.because}", WIDTH, initial_indent="    ", subsequent_indent="      ")
        )
    if result.error:
        lines.append(f"    error: {result.error}")
        return printable("\n".join(lines))
    width = max(len(m.what) for m in result.mismatches)
    for m in result.mismatches:
        lines.append(f"    {m.what.ljust(width)}  - expected: {m.expected}")
        lines.append(f"    {' ' * width}  + actual:   {m.actual}")
    assert result.assessment is not None  # a case that ran without an error has its assessment
    lines.append("    trace:")
    lines.extend(trace_lines(result.assessment, "      ") or ["      (no rule fired)"])
    return printable("\n".join(lines))


def policy_report(results: list[Result], verbose: bool = False) -> str:
    out = []
    for r in results:
        if not r.passed:
            out.append(policy_failure(r))
        elif verbose:
            out.append(f"PASS {r.case.where} {r.case.name}")
    passed = sum(r.passed for r in results)
    out.append(f"{passed} passed, {len(results) - passed} failed")
    return printable("\n".join(out) + "\n")


def coverage_table(cov: Coverage) -> str:
    """Coverage of the suite: every rule, recommendation, framework and agency, with totals."""
    out = []
    for what, label in (
        ("rules", "Rule"),
        ("recommendations", "Recommendation"),
        ("frameworks", "Framework"),
        ("agencies", "Agency"),
    ):
        table = getattr(cov, what)
        rows = [[k, "yes" if v else "NEVER"] for k, v in table.items()]
        out += [
            "",
            f"{what.upper()}  {sum(table.values())}/{len(table)} ({cov.percent(what):.1f}%)",
            _table(rows, [label, "Covered"], [60, 8]),
        ]
    return printable("\n".join(out).lstrip("\n") + "\n")


def mutation_table(plan: list[Mutant], strength: dict[int, tuple[int, int]]) -> str:
    rows = [
        [n, f"{k}/{t}", ", ".join(m.name for m in plan if n in m.recommendations and m.survived)]
        for n, (k, t) in strength.items()
    ]
    out = [
        "MUTANTS (one rule, or every rule of one recommendation, switched off)",
        _table(rows, ["Rec.", "Killed", "Survivors: no case notices their removal"], [4, 7, 80]),
    ]
    survivors = [m for m in plan if m.survived]
    out.append(f"{len(plan)} mutants, {len(plan) - len(survivors)} killed, {len(survivors)} survived")
    return printable("\n".join(out) + "\n")


# --- explain and query ----------------------------------------------------------------------


def render_why(target: Target, nodes: list[Node]) -> str:
    if not nodes:
        return printable(f"{target.label()} is not in this assessment (ask --why-not)\n")
    lines = [f"{target.label()} follows from {len(nodes)} rule{'s' if len(nodes) > 1 else ''}:"]

    def walk(node: Node, depth: int) -> None:
        pad = "  " * depth
        lines.append(
            f"{pad}- {node.rule} [{', '.join(node.citations)}] (step {node.step})"
            + (" (see above)" if node.repeated else f": {node.because}")
        )
        if node.repeated:
            return
        if node.quote:
            lines.extend(
                textwrap.wrap(
                    f"the document: \u201c{node.quote}\u201d",
                    WIDTH,
                    initial_indent=f"{pad}    ",
                    subsequent_indent=f"{pad}      ",
                )
            )
        if node.basis != "document":
            lines.extend(
                textwrap.wrap(
                    f"general knowledge, not the document: {node.note}",
                    WIDTH,
                    initial_indent=f"{pad}    ",
                    subsequent_indent=f"{pad}      ",
                )
            )
        for key, value in node.descriptor.items():
            if key == "unless":
                lines.append(f"{pad}    and no exception (unless) applies")
            elif key == "any":
                lines.append(f"{pad}    because the descriptor has: " + " or ".join(short(b) for b in value))
            else:
                lines.append(f"{pad}    because the descriptor's {key}: {short(value)}")
        for what, producers in node.needs:
            lines.append(f"{pad}    because of the {what}, concluded by:")
            for p in producers:
                walk(p, depth + 3)

    for n in nodes:
        walk(n, 1)
    return printable("\n".join(lines) + "\n")


def render_why_not(target: Target, present: bool, misses: list[Miss]) -> str:
    if present:
        return printable(f"{target.label()} is in this assessment (ask --why)\n")
    if not misses:
        return printable(f"{target.label()}: no rule of this rule base can conclude it\n")
    lines = [
        f"{target.label()} is not concluded; {len(misses)} rule{'s' if len(misses) > 1 else ''} "
        "could conclude it, nearest miss first:"
    ]

    def walk(m: Miss, pad: str) -> None:
        n = len(m.failing)
        lines.append(f"{pad}- {m.rule.id} [{', '.join(m.rule.cites)}]: {n} condition{'s' if n != 1 else ''} failed")
        for c in m.checks:
            mark = "ok  " if c.holds else "FAIL"
            now = f" (now: {c.now})" if c.now and not c.holds else ""
            lines.append(f"{pad}    {mark} {c.condition}{now}")
            if c.producers:
                lines.append(f"{pad}         it would need one of:")
                for sub in c.producers:
                    walk(sub, pad + "          ")

    for m in misses:
        walk(m, "")
    return printable("\n".join(lines) + "\n")


def render_what_if(rows: list[tuple[str, dict[str, Any]]]) -> str:
    from ..diff import describe

    if not rows:
        return "no single change of the descriptor alters the frameworks, agencies or recommendations\n"
    lines = []
    for label, changes in rows:
        lines.append(f"if {label}:")
        lines.extend(f"    {line}" for line in describe(changes))
    return printable("\n".join(lines) + "\n")


def render_query(target: Target, answers: list[tuple[Rule, list[str]]], summary: dict[str, list[str]]) -> str:
    """Reverse look-up: the rules that conclude the target and, for each, when they can fire."""
    if not answers:
        return printable(f"{target.label()}: no rule of this rule base concludes it\n")
    lines = [f"{target.label()} is concluded by {len(answers)} rule{'s' if len(answers) > 1 else ''}:"]
    for rule, alternatives in answers:
        lines.append(f"- {rule.id} [{', '.join(rule.cites)}]: {rule.because}")
        shown = alternatives[:8]
        for text in shown:
            lines.append(f"    when {text}")
        if len(alternatives) > len(shown):
            lines.append("    ... and more alternatives")
        if not alternatives:
            lines.append("    (its conditions can never hold)")
    lines.append("")
    for key, values in summary.items():
        lines.append(f"{key}: {', '.join(values) if values else '(none)'}")
    return printable("\n".join(lines) + "\n")


def matrix_table(rows: list[MatrixRow], catalog: Catalog, names: Names) -> str:
    """The role matrix: L lead, C coordinate, S support, P participate; rows with no lead or several are flagged.

    The document names which kinds of bodies act but assigns no lead: the leads shown are
    advisor's general knowledge, and the flags show where that reading leaves a gap or an overlap.
    """
    headers, body = matrix_rows(rows, catalog)
    # laid out by hand: tabulate's padding would push eleven agency columns past 100 columns
    widths = [max(len(str(row[i])) for row in [headers, *body]) for i in range(len(headers))]
    lines = [" ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [headers, *body]]
    lines.insert(1, " ".join("-" * w for w in widths))
    key = matrix_key(catalog, names)
    return printable(
        "\n".join(lines) + "\n\n" + "\n".join(textwrap.wrap(key, WIDTH)) + "\n" + matrix_summary(rows) + "\n"
    )
