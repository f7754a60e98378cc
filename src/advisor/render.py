"""Every output format in one place: JSON, terminal tables and Markdown."""

from __future__ import annotations

import json
import re
import textwrap
from typing import TYPE_CHECKING, Any

from .models import Assessment

if TYPE_CHECKING:
    from .explain import Node

WIDTH = 100

# Safe text. Titles, ids, descriptions, inject texts and attribute names come from descriptor files
# that anyone may write, so every format neutralises what it prints (rule-base text gets the same
# treatment: it costs nothing and a rule base can come from --rules):
# - terminal text (tables, explain, policy reports, and every other format too, since it may be
#   printed): `printable` turns control characters (C0 but newline and tab, DEL, C1) and the bidi
#   embeddings, overrides and isolates into visible escapes, `\x1b`, `\r`, `\u202e`, so no escape
#   sequence reaches the terminal and no text is reordered;
# - Markdown: `_md_escape` flattens line breaks to spaces; turns `&` and `<` into entities (no raw
#   HTML, no autolink); backslash-escapes `\`, `` ` ``, `*`, `[`, `]`, `|` and `$` everywhere, and `_`
#   and `~` where they could open or close emphasis or strikethrough; and, where the text may begin a
#   block (a paragraph, a list item), escapes a leading `#`, `>`, `-`, `+`, `=`, `~` or `1.`, so no
#   heading, quote, list, table, code fence, link or image can be made. `(`, `)`, `!`, `'`, `>` and a
#   `#` inside a line are left as they are (with `[` escaped they make no link or image, and `>` makes
#   no tag without `<`), so ordinary titles stay readable;
# - CSV: CR and CRLF inside a cell become LF, which the csv module quotes (with a "\n" line end it
#   would not quote a bare CR), and a cell that begins with `=`, `+`, `-`, `@` or a tab gets a leading
#   `'` so no spreadsheet reads it as a formula (OWASP's advice on CSV injection);
# - JSON: json escapes C0 itself; DEL, C1, the bidi controls and U+2028/U+2029 (which split lines for
#   some readers of JSON Lines) are written as \u escapes too, the same data;
# - HTML: html.escape on `printable` text; DOT and Mermaid labels: see graph.py.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return "\\r" if code == 0x0D else f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Text safe to print on a terminal: control and bidi characters shown as escapes (`\\x1b`, `\\r`,
    `\\u202e`); newlines and tabs kept."""
    return _UNPRINTABLE.sub(_visible, str(text))


def to_json(data: Any) -> str:
    """Stable JSON: two-space indent, UTF-8 kept, a final newline."""
    if hasattr(data, "to_data"):
        data = data.to_data()
    elif hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    return json_safe(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def json_safe(text: str) -> str:
    """JSON text with DEL, C1, the bidi controls and U+2028/2029 as \\u escapes: the same data, safe to
    print and to read line by line (these characters only ever occur inside JSON strings)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_unsafe(text: str) -> bool:
    """Whether `json_safe` would change anything in `text` (a search, no copy)."""
    return _JSON_UNSAFE.search(text) is not None


def _table(rows: list[list[Any]], headers: list[str], widths: list[int | None]) -> str:
    from tabulate import tabulate

    # escaped before tabulate measures the cells, so the columns stay aligned
    rows = [[printable(c) if isinstance(c, str) else c for c in row] for row in rows]
    return tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=widths, disable_numparse=True)


def _nums(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _basis(basis: str) -> str:
    return "" if basis == "document" else " *"


class Names:
    """Display names of frameworks, agencies and states: English, or Japanese where the catalog has them
    (today's Japanese name, where it changed, with `as_of="today"`: 防衛省 for the Defense Agency)."""

    def __init__(self, catalog=None, lang: str = "en", as_of: str = "2002"):
        self.catalog, self.lang, self.as_of = catalog, lang, as_of

    def __call__(self, kind: str, ref: str, default: str) -> str:
        if self.catalog is None or self.lang == "en":
            return default
        return self.catalog.name_ja(kind, ref, self.as_of) or default


def localise(data: dict[str, Any], catalog, as_of: str = "2002") -> dict[str, Any]:
    """JSON data with a `name_ja` beside each name the catalog knows in Japanese."""
    for kind, key in (("frameworks", "id"), ("agencies", "id"), ("states", "code")):
        for item in data.get(kind, []):
            ja = catalog.name_ja(kind, item[key], as_of)
            if ja:
                item["name_ja"] = ja
    for stage in data.get("stages", []):
        localise(stage["assessment"], catalog, as_of)
    return data


def _stage_lines(a: Assessment, width: int | None = WIDTH) -> list[str]:
    """Each stage's title and changes (wrapped at `width`, or one line), then what changed, indented."""
    from .diff import describe

    lines = []
    for st in a.stages or []:
        changes = ", ".join(f"{k} {_short(v)}" for k, v in st.changes.items())
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
                _nums(f.recommendations),
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
                _nums(s.recommendations),
            ]
        )
    section("States", _table(rows, ["Code", "Name", "Frameworks", "Rec."], [5, 22, 52, 12]) if rows else "(none)")
    rows = []
    for g in a.agencies:
        star |= g.basis != "document" or g.role_basis != "document"
        rows.append(
            [names("agencies", g.id, g.name) + _basis(g.basis), g.role + _basis(g.role_basis), _nums(g.recommendations)]
        )
    section("Agencies", _table(rows, ["Agency", "Role", "Rec."], [55, 13, 20]) if rows else "(none)")
    if a.measures or a.caveats:
        rows = [["measure", m.text, m.citation] for m in a.measures]
        rows += [["caveat", c.text, c.citation] for c in a.caveats]
        section("Measures and caveats", _table(rows, ["", "Text", "Cited"], [8, 78, 6]))
    section(
        "Trace",
        _table(
            [[e.step, e.rule + _basis(e.basis), _nums(e.recommendations), e.because] for e in a.trace],
            ["Step", "Rule", "Rec.", "Because"],
            [4, 34, 6, 46],
        )
        if a.trace
        else "(no rule fired)",
    )
    if a.stages:
        section("Stages", "\n".join(_stage_lines(a)))
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


_MD_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")
# `_` between two letters or digits, and `~` between two spaces, open and close nothing
# (sdf_deployment and "~ role of" stay as they are)
_MD_INLINE = re.compile(r"[\\`*\[\]|$]|(?<![^\W_])_|_(?![^\W_])|(?<=\S)~|~(?=\S)")
_MD_BLOCK = re.compile(r"^(?:([#>+=~-])|(\d+)([.)]))")


class _Markdown(str):
    """Text that is Markdown already: `_md_table` puts it in as it is."""


def _md_escape(text: Any, block: bool = True) -> str:
    """Text as Markdown that shows it and does nothing else: one line, no HTML, no links, images or
    emphasis; with `block`, also nothing a line can start (heading, quote, list), for text that may begin
    a paragraph or a list item."""
    if isinstance(text, _Markdown):
        return text
    text = printable(_MD_BREAK.sub(" ", str(text)))
    text = text.replace("&", "&amp;").replace("<", "&lt;")  # `>` makes no HTML without `<`
    text = _MD_INLINE.sub(lambda m: "\\" + m.group(), text)
    if block:
        text = _MD_BLOCK.sub(
            lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), text.lstrip(" \t")
        )
    return text


def _md_code(text: str) -> _Markdown:
    """Text as a Markdown code span, fenced by one backtick more than the longest run inside it."""
    text = printable(_MD_BREAK.sub(" ", str(text))).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return _Markdown(f"{fence}{pad}{text}{pad}{fence}")


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    # a table cell can start no block, so only the inline escapes apply
    lines = [
        "| " + " | ".join(_md_escape(h, block=False) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(_md_escape(c, block=False) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def assessment_markdown(a: Assessment, names: Names | None = None) -> str:
    """The assessment as Markdown that renders cleanly on a code-hosting site."""
    names = names or Names()
    t = {k: _md_escape(v, block=False) if isinstance(v, str) else v for k, v in a.threat.items()}
    out = [f"# {_md_escape(a.threat.get('title') or a.threat['id'])}", ""]
    facts = [f"**Type:** {t['type']} ({a.nature.category.replace('_', '-')})"]
    if t.get("region"):
        facts.append(f"**Region:** {t['region']}")
    if t.get("states"):
        facts.append(f"**States:** {_md_escape(', '.join(t['states']), block=False)}")
    facts += [f"**Actor:** {t['actor']}", f"**Severity:** {t['severity']}"]
    out += [" · ".join(facts), ""]
    out += [
        "## Recommendations",
        "",
        _md_table(["No.", "Title", "Cited"], [[r.number, r.title, ", ".join(r.citations)] for r in a.recommendations]),
        "",
    ]
    out += [
        "## Frameworks",
        "",
        _md_table(
            ["Framework", "Status", "Layer", "Recommendations", "Basis"],
            [
                [
                    names("frameworks", f.id, f.name),
                    f.status,
                    f.layer.replace("_", " "),
                    _nums(f.recommendations),
                    f.basis,
                ]
                for f in a.frameworks
            ],
        ),
        "",
    ]
    out += [
        "## States",
        "",
        _md_table(
            ["Code", "Name", "Frameworks", "Recommendations", "Basis"],
            [
                [s.code, names("states", s.code, s.name), ", ".join(s.frameworks), _nums(s.recommendations), s.basis]
                for s in a.states
            ],
        ),
        "",
    ]
    out += [
        "## Japanese agencies",
        "",
        _md_table(
            ["Agency", "Role", "Recommendations", "Basis", "Role basis"],
            [
                [names("agencies", g.id, g.name), g.role, _nums(g.recommendations), g.basis, g.role_basis]
                for g in a.agencies
            ],
        ),
        "",
    ]
    e = _md_escape
    if a.measures:
        out += ["## Measures", ""] + [f"- {e(m.text)} ({e(m.citation, False)})" for m in a.measures] + [""]
    if a.caveats:
        out += ["## Caveats", ""] + [f"- {e(c.text)} ({e(c.citation, False)})" for c in a.caveats] + [""]
    out += [
        "## Trace",
        "",
        _md_table(
            ["Step", "Rule", "Recommendations", "Because", "Basis"],
            [[x.step, _md_code(x.rule), ", ".join(x.citations), x.because, x.basis] for x in a.trace],
        ),
        "",
    ]
    if a.stages:
        # one line a stage: a wrapped line would start a list item of its own
        out += (
            ["## Stages", ""]
            + [
                "        " + e(line[4:], False) if line.startswith("    ") else f"- {e(line)}"
                for line in _stage_lines(a, width=None)
            ]
            + [""]
        )
    if a.since_2002 is not None:
        out += (
            ["## Since 2002", ""]
            + [f"- **{e(x.name)}** ({x.since}): {e(x.became, False)}" for x in a.since_2002]
            + [""]
        )
    if a.notes:
        out += ["## Notes", ""] + [f"- {e(n)}" for n in a.notes] + [""]
    return printable("\n".join(out))


def render_assessment(a: Assessment, fmt: str, catalog=None, lang: str = "en") -> str:
    as_of = "today" if a.since_2002 is not None else "2002"
    if fmt == "json":
        return to_json(localise(a.to_data(), catalog, as_of) if lang == "ja" and catalog else a)
    names = Names(catalog, lang, as_of)
    return {"table": assessment_table, "markdown": assessment_markdown}[fmt](a, names)


def catalog_rows(catalog, what: str) -> tuple[list[str], list[list[Any]], list[int | None]]:
    """Headers, rows and column widths of one `advisor catalog` listing."""
    v = catalog.vocabulary
    if what == "recommendations":
        return (
            ["No.", "Group", "Title", "Items"],
            [
                [r.number, r.group.replace("_", " "), r.title, ", ".join(f"{r.number}({i})" for i in r.items)]
                for r in catalog.recommendations.values()
            ],
            [3, 14, 56, 16],
        )
    if what == "frameworks":
        return (
            ["Id", "Name", "Status", "Layer"],
            [[k, f.name, f.status, f.layer.replace("_", " ")] for k, f in catalog.frameworks.items()],
            [41, 28, 8, 13],
        )
    if what == "agencies":
        return (
            ["Id", "Name", "Cited in"],
            [[k, a.name, _nums(a.cited_in)] for k, a in catalog.agencies.items()],
            [38, 48, 8],
        )
    if what == "states":
        return (
            ["Code", "Name", "E.A.", "Aliases"],
            [[k, s.name, "yes" if s.east_asia else "", ", ".join(s.aliases)] for k, s in catalog.states.items()],
            [4, 28, 4, 52],
        )
    if what == "types":
        return (
            ["Id", "Category", "Aliases"],
            [[k, t.category, ", ".join(t.aliases)] for k, t in v.types.items()],
            [26, 16, 56],
        )
    if what == "regions":
        return (
            ["Id", "Within", "Aliases"],
            [[k, ", ".join(r.within), ", ".join(r.aliases)] for k, r in v.regions.items()],
            [18, 26, 54],
        )
    if what == "targets":
        return (
            ["Id", "Label", "Aliases"],
            [[k, t.label, ", ".join(t.aliases)] for k, t in v.targets.items()],
            [26, 30, 40],
        )
    if what == "attributes":
        return (["Id", "Meaning"], [[k, text] for k, text in v.attributes.items()], [22, 76])
    if what == "derived":
        return (
            ["Id", "Meaning"],
            [[k + (" (distinction)" if e.distinction else ""), e.text] for k, e in v.derived.items()],
            [34, 64],
        )
    raise KeyError(what)


def catalog_data(catalog, what: str) -> list[dict[str, Any]]:
    """One catalog listing as plain data, every entry with its id."""
    v = catalog.vocabulary
    if what == "recommendations":
        return [r.model_dump(mode="json") for r in catalog.recommendations.values()]
    tables = {
        "frameworks": catalog.frameworks,
        "agencies": catalog.agencies,
        "states": catalog.states,
        "types": v.types,
        "regions": v.regions,
        "targets": v.targets,
    }
    if what in tables:
        return [{"id": k, **e.model_dump(mode="json", exclude={"id", "code"})} for k, e in tables[what].items()]
    if what == "derived":
        return [
            {"id": k, "meaning": e.text, "distinction": e.distinction, "note": e.note} for k, e in v.derived.items()
        ]
    return [{"id": k, "meaning": text} for k, text in v.attributes.items()]


def render_catalog(catalog, what: str, fmt: str) -> str:
    if fmt == "json":
        return to_json(catalog_data(catalog, what))
    headers, rows, widths = catalog_rows(catalog, what)
    if fmt == "markdown":
        return printable(_md_table(headers, rows) + "\n")
    return printable(_table(rows, headers, widths) + "\n")


# --- policy tests ----------------------------------------------------------------------


def trace_lines(a: Assessment, indent: str = "    ") -> list[str]:
    """The trace, one line a rule: step, rule, recommendations, and what matched."""
    out = []
    for e in a.trace:
        matched = ", ".join(f"{k}={_short(v)}" for k, v in e.matched.items())
        out.append(f"{indent}{e.step} {e.rule} [{', '.join(e.citations)}] {matched}")
    return out


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def policy_failure(result) -> str:
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
    lines.append("    trace:")
    lines.extend(trace_lines(result.assessment, "      ") or ["      (no rule fired)"])
    return printable("\n".join(lines))


def policy_report(results, verbose: bool = False) -> str:
    out = []
    for r in results:
        if not r.passed:
            out.append(policy_failure(r))
        elif verbose:
            out.append(f"PASS {r.case.where} {r.case.name}")
    passed = sum(r.passed for r in results)
    out.append(f"{passed} passed, {len(results) - passed} failed")
    return printable("\n".join(out) + "\n")


def policy_json(results, cov=None, plan=None, rulebase=None) -> str:
    data: dict[str, Any] = {
        "cases": [
            {
                "file": r.case.path,
                "line": r.case.line,
                "name": r.case.name,
                "passed": r.passed,
                "error": r.error or None,
                "mismatches": [{"what": m.what, "expected": m.expected, "actual": m.actual} for m in r.mismatches],
            }
            for r in results
        ]
    }
    data["passed"] = sum(r.passed for r in results)
    data["failed"] = len(results) - data["passed"]
    if cov is not None:
        data["coverage"] = cov.to_dict()
    if plan is not None:
        data["mutants"] = [
            {
                "name": m.name,
                "removed": m.removed,
                "recommendations": m.recommendations,
                "killed_by": m.killed_by or None,
            }
            for m in plan
        ]
    return to_json(data)


def coverage_table(cov) -> str:
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


def mutation_table(plan, strength: dict[int, tuple[int, int]]) -> str:
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


def render_why(target, nodes) -> str:
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
                lines.append(f"{pad}    because the descriptor has: " + " or ".join(_short(b) for b in value))
            else:
                lines.append(f"{pad}    because the descriptor's {key}: {_short(value)}")
        for what, producers in node.needs:
            lines.append(f"{pad}    because of the {what}, concluded by:")
            for p in producers:
                walk(p, depth + 3)

    for n in nodes:
        walk(n, 1)
    return printable("\n".join(lines) + "\n")


def render_why_not(target, present: bool, misses) -> str:
    if present:
        return printable(f"{target.label()} is in this assessment (ask --why)\n")
    if not misses:
        return printable(f"{target.label()}: no rule of this rule base can conclude it\n")
    lines = [
        f"{target.label()} is not concluded; {len(misses)} rule{'s' if len(misses) > 1 else ''} "
        "could conclude it, nearest miss first:"
    ]

    def walk(m, pad: str) -> None:
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


def render_what_if(rows) -> str:
    from .diff import describe

    if not rows:
        return "no single change of the descriptor alters the frameworks, agencies or recommendations\n"
    lines = []
    for label, changes in rows:
        lines.append(f"if {label}:")
        lines.extend(f"    {line}" for line in describe(changes))
    return printable("\n".join(lines) + "\n")


def render_query(target, answers, summary) -> str:
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


def why_data(target, nodes) -> dict[str, Any]:
    """`explain --why` as JSON data: the chains of rules, each with what it needed and who gave it."""

    def node(n) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": n.rule, "citations": list(n.citations), "step": n.step, "basis": n.basis}
        if n.repeated:
            return {**out, "repeated": True}
        out.update(because=n.because, quote=n.quote, note=n.note, descriptor=dict(n.descriptor))
        out["needs"] = [{"what": what, "given_by": [node(p) for p in producers]} for what, producers in n.needs]
        return out

    return {"kind": target.kind, "id": target.ref, "present": bool(nodes), "rules": [node(n) for n in nodes]}


def why_not_data(target, present: bool, misses) -> dict[str, Any]:
    """`explain --why-not` as JSON data: each rule that could conclude the target, nearest miss first."""

    def miss(m) -> dict[str, Any]:
        return {
            "rule": m.rule.id,
            "citations": list(m.rule.cites),
            "failed": len(m.failing),
            "conditions": [
                {
                    "condition": c.condition,
                    "holds": c.holds,
                    "now": c.now or None,
                    "would_need_one_of": [miss(p) for p in c.producers],
                }
                for c in m.checks
            ],
        }

    return {"kind": target.kind, "id": target.ref, "present": present, "could_conclude": [miss(m) for m in misses]}


def what_if_data(rows) -> list[dict[str, Any]]:
    """`explain --what-if` as JSON data: each one-value change and what it changes."""
    return [{"if": label, "changes": changes} for label, changes in rows]


def query_data(target, answers, summary) -> dict[str, Any]:
    """`advisor query` as JSON data: the rules that conclude the target and when each can fire."""
    return {
        "kind": target.kind,
        "id": target.ref,
        "rules": [
            {"rule": rule.id, "citations": list(rule.cites), "because": rule.because, "when": list(alternatives)}
            for rule, alternatives in answers
        ],
        "summary": summary,
    }


def policy_junit(results) -> str:
    """Policy test results as JUnit XML (one testsuite per case file), as CI systems read it."""
    import xml.etree.ElementTree as ET

    suites = ET.Element(
        "testsuites",
        name="advisor policy tests",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
    )
    by_file: dict[str, list] = {}
    for r in results:
        by_file.setdefault(r.case.path, []).append(r)
    for path, group in by_file.items():
        suite = ET.SubElement(
            suites, "testsuite", name=path, tests=str(len(group)), failures=str(sum(not r.passed for r in group))
        )
        for r in group:
            case = ET.SubElement(
                suite, "testcase", classname=path, name=_xml_text(r.case.name), file=path, line=str(r.case.line)
            )
            if r.error:
                ET.SubElement(case, "failure", message=_xml_text(r.error), type="error").text = _xml_text(r.error)
            elif r.mismatches:
                lines = [f"{m.what}: expected {m.expected}, got {m.actual}" for m in r.mismatches]
                ET.SubElement(case, "failure", message=_xml_text(lines[0]), type="mismatch").text = _xml_text(
                    "\n".join(lines)
                )
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: other control characters shown as \\xNN (as printable() shows them)."""
    return "".join(
        c if c in "\t\n\r" or (" " <= c and c not in "\ufffe\uffff") else f"\\x{ord(c):02x}" for c in str(text)
    )


def findings_sarif(findings, rules_dir: str) -> str:
    """`rules check` findings as SARIF 2.1.0, which code-scanning tools (GitHub's among them) display."""
    rules = sorted({f.code for f in findings})
    results = []
    for f in findings:
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": f.path or rules_dir}}}
        if f.line:
            location["physicalLocation"]["region"] = {"startLine": f.line}
        results.append(
            {
                "ruleId": f.code,
                "level": "error" if f.level == "error" else "warning",
                "message": {"text": (f"{f.rule}: " if f.rule else "") + f.message},
                "locations": [location],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "advisor rules check",
                        "informationUri": "https://pypi.org/project/jfir-advisor/",
                        "rules": [{"id": code} for code in rules],
                    }
                },
                "results": results,
            }
        ],
    }
    return to_json(sarif)


def findings_github(findings) -> str:
    """`rules check` findings as GitHub Actions workflow commands (annotations on the lines of the rule files)."""

    def data(text: str) -> str:
        return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    lines = []
    for f in findings:
        where = f"file={prop(f.path)}" + (f",line={f.line}" if f.line else "")
        title = prop(f"advisor {f.code}")
        lines.append(
            f"::{'error' if f.level == 'error' else 'warning'} {where},title={title}::"
            f"{data((f.rule + ': ' if f.rule else '') + f.message)}"
        )
    return "\n".join(lines) + ("\n" if lines else "")


# --- tabletop: the brief, the MSEL, the matrix --------------------------------------------


def _nums_or_dash(numbers: list[int]) -> str:
    return _nums(numbers) if numbers else "-"


BRIEF_LABELS = {
    # headings
    "participant_manual": "Participant Situation Manual",
    "facilitator_guide": "Facilitator/Controller Guide",
    "handout": "Exercise handout",
    "prepared": "Prepared with advisor from the JFIR Policy Council's 22nd Policy Recommendations (December 2002).",
    "sponsor": "Sponsor",
    "dates": "Dates",
    "scenario_title": "Scenario",
    "objectives": "Objectives",
    "players": "Players",
    "player_role": "Role",
    "player_agency": "Agency it stands for",
    "starting_situation": "Starting situation",
    "schedule": "Module schedule",
    "module": "Module",
    "start": "Start",
    "inject": "Inject",
    "time": "Time",
    "delivery": "Delivery",
    "from": "From",
    "to": "To",
    "title": "Title",
    "objectives_tested": "Objectives tested",
    "key_issues": "Key issues",
    "questions": "Discussion questions",
    "no_new_issues": "No new issue enters here: the questions of the earlier modules still apply to the situation as it now is.",
    "answer_key": "Answer key",
    "nature": "Nature of the threat",
    "side_by_side": "North Korea: deterrence and cooperation side by side",
    "deterrence": "Deterrence (North Korea left out)",
    "cooperation": "Cooperation (North Korea engaged)",
    "in_play": "Lines of events in play",
    "changes": "What the inject changes",
    "added": "Added",
    "kept": "Kept",
    "dropped": "Dropped",
    "roles_changed": "Roles changed",
    "nothing_changed": "No change in the answer: the players continue the current response.",
    "frameworks": "Frameworks to invoke",
    "new_frameworks": "Frameworks this stage adds",
    "agencies": "Japanese agencies, by role",
    "measures": "What the document asks of Japan",
    "new_measures": "What the document now also asks of Japan",
    "caveats": "Legal and institutional caveats",
    "new_caveats": "Caveats this stage raises",
    "since_2002": "Since 2002 (as of today)",
    "network": "The network",
    "network_caption": "States, frameworks and Japanese agencies; solid arrows: membership; dashed: taking part; "
    "dotted: an agency acting in a framework; dashed boxes: proposed frameworks.",
    "network_missing": "The picture of the network needs Graphviz's dot program, which is not installed here "
    "(apt-get install graphviz).",
    "participants": "Participants",
    "parties": "The parties",
    "state": "State",
    "sits_in": "Sits in",
    "source": "Source",
    "msel": "Master scenario events list (expected player actions)",
    "references": "References",
    "recommendation": "Recommendation",
    "basis_document": "document",
    "basis_general_knowledge": "general knowledge",
    "basis_legend": "Each answer is marked with its basis: “document” where the 2002 document says it, "
    "“general knowledge” where advisor goes beyond the document's text (the JSON assessment "
    "says why); a quotation is the document's words the rule rests on.",
    "page_of": "Page {page} of {pages}",
    # the catalog's words that the packet shows as labels
    "fact_type": "Type",
    "fact_region": "Region",
    "fact_states": "States",
    "fact_targets": "Threatened",
    "fact_actor": "Actor",
    "fact_severity": "Severity",
    "fact_also": "Also",
    "category_inter_state": "inter-state",
    "category_non_traditional": "non-traditional",
    "status_existing": "existing",
    "status_proposed": "proposed",
    "role_lead": "lead",
    "role_coordinate": "coordinate",
    "role_support": "support",
    "role_participate": "participate",
    "kind_recommendations": "recommendations",
    "kind_frameworks": "frameworks",
    "kind_states": "states",
    "kind_agencies": "agencies",
    "kind_measures": "measures",
    "kind_caveats": "caveats",
    # the master scenario events list at the end of the guide: headers and phrases
    "msel_stage": "Stage",
    "msel_inject": "Inject",
    "msel_action": "Expected action",
    "msel_who": "Who",
    "msel_recommendations": "Recommendations",
    "msel_rec": "Rec.",
    "msel_invoke": "Invoke: {name}",
    "msel_lead": "Lead Japan's response",
    "msel_coordinate": "Coordinate the ministries",
    "msel_keep_in_mind": "Keep in mind: {text}",
    "msel_no_change": "No new framework or lead: continue the current response",
    # the network picture's clusters (the layers' titles are the vocabulary's)
    "graph_agencies": "Japanese agencies",
    "graph_states": "States",
    # the pictures' titles with --stages, and the membership matrix (graph --format matrix)
    "graph_stage_titled": "{title} - stage {number}: {head}",
    "graph_stage": "Stage {number}: {head}",
    "graph_start": "the start",
    "graph_framework": "Framework",
    "graph_layer": "Layer",
    "graph_new": "{name} (new)",
    "graph_proposed": "{name} (proposed)",
    "graph_no_frameworks": "No frameworks in this picture.",
    "graph_marks": "M member, p takes part (a rule names the state with the framework), L leads Japan's part, a acts in.",
    "graph_marks_agencies": "{marks} Agencies: {agencies}.",
    "graph_agency_key": "{short} = {name} ({role})",
    "graph_role_new": "{role}, new",
    "graph_sep": "; ",
    # what an inject changes, in the guide (the fields are the descriptor's; the Japanese names them)
    "change": "{field} {value}",
    "change_sep": "; ",
    "change_off": "not {name}",
}


def _brief_label(p, key: str) -> str:
    return p.labels.get(key) or BRIEF_LABELS[key]


def _brief_module_heading(p, m) -> str:
    L = lambda k: _brief_label(p, k)  # noqa: E731
    if m.stage == 0:
        return f"{L('start')}: {m.title}"
    return f"{L('module')} {m.number}: {m.title}"  # module N is inject N, as in the MSEL


def _brief_module_number(p, m) -> str:
    """Start, then Module 1, 2, ...: the numbering of the MSEL, the evaluation guides and the hot wash."""
    return _brief_label(p, "start") if m.stage == 0 else str(m.number)


def _brief_header_facts(p, m) -> list[tuple[str, str]]:
    L = lambda k: _brief_label(p, k)  # noqa: E731
    return [(L(k), v) for k, v in (("time", m.time), ("delivery", m.delivery), ("from", m.sender), ("to", m.to)) if v]


def _brief_basis(p, basis: str) -> str:
    return _brief_label(p, f"basis_{basis}") if f"basis_{basis}" in BRIEF_LABELS else basis


def brief_markdown(p, mermaid: str, facilitator: bool) -> str:
    """The participants' situation manual as Markdown, or with `facilitator` the controller's guide (the
    same modules, each with its answer key); the network as a Mermaid diagram."""
    e = _md_escape
    L = lambda k: _brief_label(p, k)  # noqa: E731
    sep = "：" if p.lang == "ja" else ": "
    marking = f"**{e(p.marking, False)}**"
    out = [
        marking,
        "",
        f"# {e(p.exercise or p.title)}",
        "",
        f"## {L('facilitator_guide' if facilitator else 'participant_manual')}",
        "",
    ]
    facts = [(L("scenario_title"), p.title)] if p.exercise else []
    facts += [(L(k), v) for k, v in (("sponsor", p.sponsor), ("dates", p.dates)) if v]
    out += [f"- **{e(k)}:** {e(v, False)}" for k, v in facts] + ([""] if facts else [])
    out += [f"*{e(L('prepared'), False)}*", ""]
    if p.objectives:
        out += [f"## {L('objectives')}", ""] + [f"- **{e(i)}** {e(text, False)}" for i, text in p.objectives] + [""]
    if facilitator and p.players:
        out += [
            f"## {L('players')}",
            "",
            _md_table([L("player_role"), L("player_agency")], [[r, g or "-"] for r, g in p.players]),
            "",
        ]
    out += [f"## {L('starting_situation')}", ""]
    if p.description:
        out += [e(p.description), ""]
    out += [f"- **{e(k)}:** {e(v, False)}" for k, v in p.scenario] + [""]
    if facilitator:
        out += [f"*{e(L('basis_legend'), False)}*", ""]
    elif mermaid:  # the participants' picture: the parties only (the facilitator's is the network)
        out += [f"### {L('parties')}", "", "```mermaid", mermaid.rstrip(), "```", ""]
    for m in p.modules:
        out += [f"## {e(_brief_module_heading(p, m), False)}", ""]
        out += [f"- **{e(k)}:** {e(v, False)}" for k, v in _brief_header_facts(p, m)]
        out += [""] if _brief_header_facts(p, m) else []
        if m.stage and m.description:
            out += [e(m.description), ""]
        if m.objectives:
            out += [f"**{L('objectives_tested')}:**", ""] + [f"- {e(i)} {e(t, False)}" for i, t in m.objectives] + [""]
        out += [f"### {L('key_issues')}", ""]
        if m.issues:
            out += [f"- {n}. {e(title, False)}" for n, title in m.issues] + [""]
            out += [f"### {L('questions')}", ""]
            for n, title, qs in m.questions:
                out += [f"**{n}. {e(title, False)}**", ""] + [f"- {e(q)}" for q in qs] + [""]
        else:
            out += [e(L("no_new_issues")), ""]
        if facilitator:
            out += _brief_answers_markdown(p, m, mermaid, sep)
    if facilitator and p.msel:
        out += [f"## {L('msel')}", "", msel_markdown(p.msel, L), ""]
    out += [f"## {L('references')}", ""] + [
        f"- {L('recommendation')} {n}: “{e(title, False)}”" for n, title in p.references
    ]
    out += ["", marking, ""]
    return printable("\n".join(out))


def _brief_answers_markdown(p, m, mermaid: str, sep: str) -> list[str]:
    e = _md_escape
    L = lambda k: _brief_label(p, k)  # noqa: E731

    def answer(a, lead: str = "") -> list[str]:
        line = f"- {lead}{e(a.text, False)} ({e(a.detail, False)}) [{e(_brief_basis(p, a.basis), False)}]"
        if a.note and a.basis != "document":
            line += f" — {e(a.note, False)}"
        return [line] + ([f"  - {L('source')}{sep}“{e(a.quote, False)}”"] if a.quote else [])

    out = [f"### {L('answer_key')}", ""]
    if m.stage == 0:
        out += [f"**{L('nature')}:** {e(p.nature, False)}", ""] + [f"- {e(d)}" for d in p.derived] + [""]
        if p.families:
            out += [
                f"**{L('side_by_side')}**",
                "",
                _md_table(
                    [L("deterrence"), L("cooperation")],
                    [[a, b] for a, b in _zip_longest(p.families["deterrence"], p.families["cooperation"])],
                ),
                "",
            ]
    else:
        if m.changes:
            out += [f"**{L('changes')}:** {e(m.changes, False)}", ""]
        out += [f"**{L('in_play')}:** " + "; ".join(e(x, False) for x in m.in_play), ""]
        for key, rows in (("added", m.added), ("kept", m.kept), ("dropped", m.dropped)):
            if rows:
                out += (
                    [f"**{L(key)}**", ""]
                    + [f"- {L('kind_' + kind)}: " + "; ".join(e(x, False) for x in refs) for kind, refs in rows]
                    + [""]
                )
        if m.roles_changed:
            out += [
                f"**{L('roles_changed')}:** " + "; ".join(f"{e(g, False)}: {b} → {a}" for g, b, a in m.roles_changed),
                "",
            ]
        if not m.added and not m.dropped and not m.roles_changed:
            out += [e(L("nothing_changed")), ""]
    if m.frameworks:
        out += [f"#### {L('frameworks' if m.stage == 0 else 'new_frameworks')}", ""]
        for layer, answers in m.frameworks:
            out += [f"*{e(layer, False)}*", ""] + [line for a in answers for line in answer(a)] + [""]
    if m.agencies:
        out += [f"#### {L('agencies')}", ""]
        for role, answers in m.agencies:
            out += [line for a in answers for line in answer(a, f"**{L('role_' + role)}:** ")]
        out += [""]
    for key, new_key, items in (("measures", "new_measures", m.measures), ("caveats", "new_caveats", m.caveats)):
        if items:
            out += (
                [f"#### {L(key if m.stage == 0 else new_key)}", ""] + [line for a in items for line in answer(a)] + [""]
            )
    if m.since:
        out += (
            [f"#### {L('since_2002')}", ""]
            + [f"- **{e(name, False)}** ({year}): {e(text, False)}" for name, year, text in m.since]
            + [""]
        )
    if m.stage == 0:
        out += [
            f"#### {L('participants')}",
            "",
            _md_table(
                [L("state"), L("sits_in")],
                [[f"{name} ({code})", ", ".join(fws) or "-"] for code, name, fws in p.participants],
            ),
            "",
        ]
        out += [f"#### {L('network')}", "", "```mermaid", mermaid.rstrip(), "```", ""]
    return out


def brief_handout_markdown(p) -> str:
    """The one-page handout: the exercise, its marking and objectives, the starting situation, the schedule."""
    e = _md_escape
    L = lambda k: _brief_label(p, k)  # noqa: E731
    marking = f"**{e(p.marking, False)}**"
    out = [marking, "", f"# {e(p.exercise or p.title)}", "", f"*{L('handout')}*", ""]
    facts = [(L(k), v) for k, v in (("sponsor", p.sponsor), ("dates", p.dates)) if v]
    out += [f"- **{e(k)}:** {e(v, False)}" for k, v in facts] + ([""] if facts else [])
    if p.objectives:
        out += [f"## {L('objectives')}", ""] + [f"- **{e(i)}** {e(text, False)}" for i, text in p.objectives] + [""]
    out += [f"## {L('starting_situation')}", ""] + ([e(p.description), ""] if p.description else [])
    out += [f"- **{e(k)}:** {e(v, False)}" for k, v in p.scenario] + [""]
    out += [
        f"## {L('schedule')}",
        "",
        _md_table(
            [L("module"), L("time"), L("delivery"), L("from"), L("to"), L("title")],
            [
                [_brief_module_number(p, m), m.time or "-", m.delivery or "-", m.sender or "-", m.to or "-", m.title]
                for m in p.modules
            ],
        ),
        "",
    ]
    out += [marking, ""]
    return printable("\n".join(out))


def _zip_longest(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else "", b[i] if i < len(b) else "") for i in range(n)]


BRIEF_PAPER = {"a4": "A4", "letter": "letter"}

BRIEF_CSS = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d5dbe2; --accent: #1f5f8b; --lead: #f6d38a; --key: #f4f7fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK JP", sans-serif;
       color: var(--ink); line-height: 1.5; margin: 0 auto; max-width: 62rem; padding: 2rem 1.5rem; }
:lang(ja) body, body:lang(ja) { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic",
       sans-serif; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; color: var(--accent); }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; }
h4 { font-size: .95rem; margin: 1rem 0 .2rem; }
.marking { text-align: center; font-weight: 700; letter-spacing: .05em; border: 2px solid var(--ink);
           padding: .2rem .5rem; margin: 0 0 1rem; }
.cover .doc { font-size: 1.3rem; color: var(--muted); margin: 0 0 1rem; }
.sub { color: var(--muted); margin: 0 0 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .95rem; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f5f8; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.tag { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: .6rem; border: 1px solid var(--line);
       color: var(--muted); margin-left: .3rem; font-style: normal; }
.basis-general_knowledge { border-style: dashed; }
.role-lead { background: var(--lead); }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.key { background: var(--key); border-left: 4px solid var(--accent); padding: .2rem .9rem .4rem; margin: .8rem 0; }
.key h3 { color: var(--accent); }
blockquote { margin: .1rem 0 .3rem 1rem; color: var(--muted); font-size: .9rem; }
figure { margin: 1rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
.note { color: var(--muted); font-size: .9rem; }
.handout { font-size: .92rem; }
.handout h2 { margin: 1rem 0 .3rem; }
.handout td:last-child { width: 38%; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  .handout { font-size: 9pt; line-height: 1.35; }
  h1, h2, h3, h4, figcaption, .caption { break-after: avoid; }
  table, figure, .layer, li, dl.facts, blockquote, tr { break-inside: avoid; }
  figure svg { max-height: 200mm; }
  .screen-marking { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def _css_string(text: str) -> str:
    """A CSS string literal for user text: every character but letters, digits and spaces as a hex escape,
    so no quote, backslash or `</style>` can end it. Each escape ends with a space, which CSS takes as
    part of the escape: a real space after it survives (without it, "(REL JPN) & NOFORN" printed as
    "(REL JPN)&NOFORN")."""
    return (
        '"'
        + "".join(c if c.isalnum() and c.isascii() or c == " " else f"\\{ord(c):06x} " for c in printable(text))
        + '"'
    )


def _brief_page_css(p, paper: str) -> str:
    """The @page rule: paper size, and the marking and page numbers in the margin boxes (Chromium 131+)."""
    L = lambda k: _brief_label(p, k)  # noqa: E731
    mark = _css_string(p.marking)
    # "Page {page} of {pages}" -> "Page " counter(page) " of " counter(pages)
    numbers = " ".join(
        f"counter({part[1:-1]})" if part in ("{page}", "{pages}") else _css_string(part)
        for part in re.split(r"(\{pages?\})", L("page_of"))
        if part
    )
    return (
        f"@page {{ size: {BRIEF_PAPER[paper]}; margin: 18mm 16mm 18mm;\n"
        f"  @top-center {{ content: {mark}; font: 700 8pt sans-serif; letter-spacing: .05em; }}\n"
        f"  @bottom-left {{ content: {mark}; font: 700 8pt sans-serif; }}\n"
        f"  @bottom-right {{ content: {numbers}; font: 8pt sans-serif; }}\n}}\n"
    )


def _brief_html_head(p, title: str, paper: str) -> list[str]:
    from html import escape

    return [
        "<!DOCTYPE html>",
        f'<html lang="{escape(p.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(printable(title))}</title>",
        f"<style>{BRIEF_CSS}{_brief_page_css(p, paper)}</style>",
        "</head>",
    ]


def brief_html(p, svg: str | None, facilitator: bool, lang: str = "en", paper: str = "a4") -> str:
    """The manual (or with `facilitator` the guide) as one self-contained HTML file: no network, fonts or
    scripts; printed on A4 or Letter with the marking and page numbers on every page."""
    from html import escape

    def e(text: str) -> str:
        return escape(printable(text))

    L = lambda k: e(_brief_label(p, k))  # noqa: E731
    doc = L("facilitator_guide" if facilitator else "participant_manual")
    out = _brief_html_head(
        p,
        f"{p.exercise or p.title}: {_brief_label(p, 'facilitator_guide' if facilitator else 'participant_manual')}",
        paper,
    )
    out += [
        '<body class="brief">',
        '<section class="cover">',
        f'<p class="marking">{e(p.marking)}</p>',
        f"<h1>{e(p.exercise or p.title)}</h1>",
        f'<p class="doc">{doc}</p>',
    ]
    facts = [(L("scenario_title"), p.title)] if p.exercise else []
    facts += [(L(k), v) for k, v in (("sponsor", p.sponsor), ("dates", p.dates)) if v]
    if facts:
        out.append('<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{e(v)}</dd>" for k, v in facts) + "</dl>")
    out.append(f'<p class="sub">{L("prepared")}</p>')
    if p.objectives:
        out.append(
            f'<h2>{L("objectives")}</h2><ul class="objectives">'
            + "".join(f"<li><strong>{e(i)}</strong> {e(t)}</li>" for i, t in p.objectives)
            + "</ul>"
        )
    if facilitator and p.players:
        out.append(
            f"<h2>{L('players')}</h2><table><thead><tr><th>{L('player_role')}</th><th>{L('player_agency')}"
            "</th></tr></thead><tbody>"
            + "".join(f"<tr><td>{e(r)}</td><td>{e(g or '-')}</td></tr>" for r, g in p.players)
            + "</tbody></table>"
        )
    out.append("</section>")
    out.append(f'<section class="situation"><h2>{L("starting_situation")}</h2>')
    if p.description:
        out.append(f"<p>{e(p.description)}</p>")
    out.append('<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in p.scenario) + "</dl>")
    if facilitator:
        out.append(f'<p class="note">{L("basis_legend")}</p>')
    elif svg:  # the participants' picture: the parties only (the facilitator's is the network)
        out.append(f'<figure id="parties"><figcaption class="caption">{L("parties")}</figcaption>{svg}</figure>')
    out.append("</section>")
    for m in p.modules:
        out.append(f'<section class="module" id="module-{m.number}"><h2>{e(_brief_module_heading(p, m))}</h2>')
        head = _brief_header_facts(p, m)
        if head:
            out.append('<dl class="facts inject">' + "".join(f"<dt>{k}</dt><dd>{e(v)}</dd>" for k, v in head) + "</dl>")
        if m.stage and m.description:
            out.append(f"<p>{e(m.description)}</p>")
        if m.objectives:
            out.append(
                f'<p class="caption"><strong>{L("objectives_tested")}:</strong></p><ul>'
                + "".join(f"<li><strong>{e(i)}</strong> {e(t)}</li>" for i, t in m.objectives)
                + "</ul>"
            )
        out.append(f"<h3>{L('key_issues')}</h3>")
        if m.issues:
            out.append("<ul>" + "".join(f"<li>{n}. {e(t)}</li>" for n, t in m.issues) + "</ul>")
            out.append(f"<h3>{L('questions')}</h3>")
            for n, title, qs in m.questions:
                out.append(
                    f'<h4>{n}. {e(title)}</h4><ol class="questions">'
                    + "".join(f"<li>{e(q)}</li>" for q in qs)
                    + "</ol>"
                )
        else:
            out.append(f"<p>{L('no_new_issues')}</p>")
        if facilitator:
            out += _brief_answers_html(p, m, svg)
        out.append("</section>")
    if facilitator and p.msel:
        out.append(
            f"<section><h2>{L('msel')}</h2><table><thead><tr>"
            + "".join(f"<th>{L(k)}</th>" for k in ("msel_stage", "msel_inject", "msel_action", "msel_who", "msel_rec"))
            + "</tr></thead><tbody>"
        )
        for x in p.msel:
            out.append(
                f"<tr><td>{x.stage}</td><td>{e(x.inject)}</td><td>{e(x.action)}</td><td>{e(x.actor)}</td>"
                f"<td>{_nums_or_dash(x.recommendations)}</td></tr>"
            )
        out.append("</tbody></table></section>")
    out.append(
        f"<section><h2>{L('references')}</h2><ul>"
        + "".join(f"<li>{L('recommendation')} {n}: “{e(title)}”</li>" for n, title in p.references)
        + "</ul></section>"
    )
    out += [f'<p class="marking screen-marking">{e(p.marking)}</p>', "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _brief_answers_html(p, m, svg: str | None) -> list[str]:
    from html import escape

    def e(text: str) -> str:
        return escape(printable(text))

    L = lambda k: e(_brief_label(p, k))  # noqa: E731

    def answer(a, lead: str = "", cls: str = "") -> str:
        basis = f'<span class="tag basis-{e(a.basis)}">{e(_brief_basis(p, a.basis))}</span>'
        note = f' — <span class="note">{e(a.note)}</span>' if a.note and a.basis != "document" else ""
        quote = f"<blockquote>{L('source')}: “{e(a.quote)}”</blockquote>" if a.quote else ""
        return f'<li{cls}>{lead}{e(a.text)} <span class="tag">{e(a.detail)}</span>{basis}{note}{quote}</li>'

    out = [f'<div class="key"><h3>{L("answer_key")}</h3>']
    if m.stage == 0:
        out.append(
            f"<p><strong>{L('nature')}:</strong> {e(p.nature)}</p><ul>"
            + "".join(f"<li>{e(d)}</li>" for d in p.derived)
            + "</ul>"
        )
        if p.families:
            out.append(f'<h4>{L("side_by_side")}</h4><div class="columns">')
            for fam in ("deterrence", "cooperation"):
                out.append(
                    f"<div><strong>{L(fam)}</strong><ul>"
                    + "".join(f"<li>{e(x)}</li>" for x in p.families[fam])
                    + "</ul></div>"
                )
            out.append("</div>")
    else:
        if m.changes:
            out.append(f"<p><strong>{L('changes')}:</strong> {e(m.changes)}</p>")
        out.append(f"<p><strong>{L('in_play')}:</strong> " + "; ".join(e(x) for x in m.in_play) + "</p>")
        for key, rows in (("added", m.added), ("kept", m.kept), ("dropped", m.dropped)):
            if rows:
                out.append(
                    f'<p class="delta delta-{key}"><strong>{L(key)}:</strong></p><ul>'
                    + "".join(f"<li>{L('kind_' + kind)}: {e('; '.join(refs))}</li>" for kind, refs in rows)
                    + "</ul>"
                )
        if m.roles_changed:
            out.append(
                f"<p><strong>{L('roles_changed')}:</strong> "
                + "; ".join(f"{e(g)}: {e(b)} → {e(a)}" for g, b, a in m.roles_changed)
                + "</p>"
            )
        if not m.added and not m.dropped and not m.roles_changed:
            out.append(f"<p>{L('nothing_changed')}</p>")
    if m.frameworks:
        out.append(f"<h4>{L('frameworks' if m.stage == 0 else 'new_frameworks')}</h4>")
        for layer, answers in m.frameworks:
            out.append(
                f'<p class="caption"><em>{e(layer)}</em></p><ul>' + "".join(answer(a) for a in answers) + "</ul>"
            )
    if m.agencies:
        out.append(f"<h4>{L('agencies')}</h4><ul>")
        for role, answers in m.agencies:
            out += [answer(a, f"<strong>{L('role_' + role)}:</strong> ", f' class="role-{e(role)}"') for a in answers]
        out.append("</ul>")
    for key, new_key, items in (("measures", "new_measures", m.measures), ("caveats", "new_caveats", m.caveats)):
        if items:
            out.append(
                f"<h4>{L(key if m.stage == 0 else new_key)}</h4><ul>" + "".join(answer(a) for a in items) + "</ul>"
            )
    if m.since:
        out.append(
            f'<h4>{L("since_2002")}</h4><ul class="since">'
            + "".join(f"<li><strong>{e(name)}</strong> ({year}): {e(text)}</li>" for name, year, text in m.since)
            + "</ul>"
        )
    if m.stage == 0:
        out.append(
            f"<h4>{L('participants')}</h4><table><thead><tr><th>{L('state')}</th><th>{L('sits_in')}</th></tr>"
            "</thead><tbody>"
            + "".join(
                f"<tr><td>{e(name)} ({e(code)})</td><td>{e(', '.join(fws) or '-')}</td></tr>"
                for code, name, fws in p.participants
            )
            + "</tbody></table>"
        )
        out.append(f"<h4>{L('network')}</h4>")
        if svg:
            out.append(
                f'<figure id="network">{svg}<figcaption class="note">{L("network_caption")}</figcaption></figure>'
            )
        else:
            out.append(f'<p class="note" id="network-missing">{L("network_missing")}</p>')
    out.append("</div>")
    return out


def brief_handout_html(p, paper: str = "a4") -> str:
    """The one-page handout as self-contained HTML: the exercise, marking, objectives, starting situation
    and the schedule of modules."""
    from html import escape

    def e(text: str) -> str:
        return escape(printable(text))

    L = lambda k: e(_brief_label(p, k))  # noqa: E731
    out = _brief_html_head(p, f"{p.exercise or p.title}: {_brief_label(p, 'handout')}", paper)
    out += [
        '<body class="brief handout">',
        f'<p class="marking">{e(p.marking)}</p>',
        f"<h1>{e(p.exercise or p.title)}</h1>",
        f'<p class="doc">{L("handout")}</p>',
    ]
    facts = [(L("scenario_title"), p.title)] if p.exercise else []
    facts += [(L(k), v) for k, v in (("sponsor", p.sponsor), ("dates", p.dates)) if v]
    if facts:
        out.append('<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{e(v)}</dd>" for k, v in facts) + "</dl>")
    if p.objectives:
        out.append(
            f"<h2>{L('objectives')}</h2><ul>"
            + "".join(f"<li><strong>{e(i)}</strong> {e(t)}</li>" for i, t in p.objectives)
            + "</ul>"
        )
    out.append(f"<h2>{L('starting_situation')}</h2>" + (f"<p>{e(p.description)}</p>" if p.description else ""))
    out.append('<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in p.scenario) + "</dl>")
    out.append(
        f"<h2>{L('schedule')}</h2><table><thead><tr>"
        + "".join(f"<th>{L(k)}</th>" for k in ("module", "time", "delivery", "from", "to", "title"))
        + "</tr></thead><tbody>"
    )
    for m in p.modules:
        out.append(
            f"<tr><td>{e(_brief_module_number(p, m))}</td>"
            + "".join(f"<td>{e(x or '-')}</td>" for x in (m.time, m.delivery, m.sender, m.to, m.title))
            + "</tr>"
        )
    out += ["</tbody></table>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def msel_markdown(actions, label=BRIEF_LABELS.__getitem__) -> str:
    """The guide's MSEL as a Markdown table; `label` gives the headers (a brief's labels, English by default)."""
    return _md_table(
        [label(k) for k in ("msel_stage", "msel_inject", "msel_action", "msel_who", "msel_recommendations")],
        [[x.stage, x.inject, x.action, x.actor, _nums_or_dash(x.recommendations)] for x in actions],
    )


_CSV_BREAK = re.compile("\r\n?")


def _csv_cell(value: Any) -> str:
    # a bare CR would end the row for some readers and the csv module quotes only LF here
    text = printable(_CSV_BREAK.sub("\n", str(value)))
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t")) else text


def to_csv(rows: list[list[Any]]) -> str:
    """Rows as CSV no spreadsheet runs: no cell starts a formula, a line break in a cell is quoted."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[_csv_cell(c) for c in row] for row in rows])
    return buf.getvalue()


def msel_csv(actions) -> str:
    return to_csv(
        [["stage", "inject", "expected_action", "who", "recommendations"]]
        + [[x.stage, x.inject, x.action, x.actor, " ".join(str(n) for n in x.recommendations)] for x in actions]
    )


def matrix_rows(rows, catalog, names) -> tuple[list[str], list[list[str]]]:
    agencies = list(catalog.agencies)
    short = [catalog.agencies[a].short or a for a in agencies]
    show_region = len({r.region for r in rows}) > 1
    headers = ["Type"] + (["Region"] if show_region else []) + short + ["Flag"]
    body = []
    for r in rows:
        cells = [
            {"lead": "L", "coordinate": "C", "support": "S", "participate": "P"}.get(r.roles.get(a, ""), "")
            for a in agencies
        ]
        body.append([r.type] + ([r.region or "-"] if show_region else []) + cells + [r.flag])
    return headers, body


def matrix_text(rows, catalog, names, fmt: str) -> str:
    """The role matrix: L lead, C coordinate, S support, P participate; rows with no lead or several are flagged.

    The document names which kinds of bodies act but assigns no lead: the leads shown are
    advisor's general knowledge, and the flags show where that reading leaves a gap or an overlap.
    """
    headers, body = matrix_rows(rows, catalog, names)
    if fmt == "csv":
        return to_csv([headers, *body])
    key = (
        "L lead, C coordinate, S support, P takes part (named by the document, no role). Leads are general "
        "knowledge: the document assigns none. "
    ) + ", ".join(
        f"{catalog.agencies[a].short or a} = {names('agencies', a, catalog.agencies[a].name)}" for a in catalog.agencies
    )
    gaps = sum(1 for r in rows if r.flag == "no lead")
    overlaps = sum(1 for r in rows if r.flag.endswith("leads"))
    summary = f"{len(rows)} combinations: {gaps} with no lead, {overlaps} with more than one lead"
    if fmt == "markdown":
        return printable(_md_table(headers, body) + "\n\n" + _md_escape(key) + "\n\n" + summary + "\n")
    # laid out by hand: tabulate's padding would push eleven agency columns past 100 columns
    widths = [max(len(str(row[i])) for row in [headers, *body]) for i in range(len(headers))]
    lines = [" ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [headers, *body]]
    lines.insert(1, " ".join("-" * w for w in widths))
    return printable("\n".join(lines) + "\n\n" + "\n".join(textwrap.wrap(key, WIDTH)) + "\n" + summary + "\n")
