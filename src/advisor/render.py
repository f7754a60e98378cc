"""Every output format in one place: JSON, terminal tables and Markdown."""
from __future__ import annotations

import json
import re
import textwrap
from typing import Any

from .models import Assessment

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
    lines = [f"{title}", f"{t['type']}{where}, {a.nature.category.replace('_', '-')}, actor {t['actor']}, "
                         f"severity {t['severity']}{states}"]
    return [textwrap.fill(line, WIDTH) for line in lines]


def assessment_table(a: Assessment, names: Names = Names()) -> str:
    """The assessment as tables readable at 100 columns."""
    out = _threat_line(a)
    star = False

    def section(title: str, body: str) -> None:
        out.extend(["", title.upper(), body])

    section("Recommendations", _table(
        [[r.number, r.title, ", ".join(r.citations)] for r in a.recommendations],
        ["No.", "Title", "Cited"], [None, 78, 12]) if a.recommendations else "(none)")
    rows = []
    for f in a.frameworks:
        star |= f.basis != "document" or f.members_basis == "general_knowledge"
        rows.append([names("frameworks", f.id, f.name) + _basis(f.basis), f.status, f.layer.replace("_", " "),
                     _nums(f.recommendations)])
    section("Frameworks", _table(rows, ["Framework", "Status", "Layer", "Rec."], [52, 9, 20, 8]) if rows else "(none)")
    rows = []
    for s in a.states:
        star |= s.basis != "document"
        rows.append([s.code, names("states", s.code, s.name) + _basis(s.basis), ", ".join(s.frameworks),
                     _nums(s.recommendations)])
    section("States", _table(rows, ["Code", "Name", "Frameworks", "Rec."], [5, 22, 52, 12]) if rows else "(none)")
    rows = []
    for g in a.agencies:
        star |= g.basis != "document" or g.role_basis != "document"
        rows.append([names("agencies", g.id, g.name) + _basis(g.basis), g.role + _basis(g.role_basis),
                     _nums(g.recommendations)])
    section("Agencies", _table(rows, ["Agency", "Role", "Rec."], [55, 13, 20]) if rows else "(none)")
    if a.measures or a.caveats:
        rows = [["measure", m.text, m.citation] for m in a.measures]
        rows += [["caveat", c.text, c.citation] for c in a.caveats]
        section("Measures and caveats", _table(rows, ["", "Text", "Cited"], [8, 78, 6]))
    section("Trace", _table(
        [[e.step, e.rule + _basis(e.basis), _nums(e.recommendations), e.because] for e in a.trace],
        ["Step", "Rule", "Rec.", "Because"], [4, 34, 6, 46]) if a.trace else "(no rule fired)")
    if a.stages:
        section("Stages", "\n".join(_stage_lines(a)))
    if a.since_2002 is not None:
        section("Since 2002", _table([[x.name, x.since, x.became] for x in a.since_2002],
                                     ["Body", "Year", "What became of it"], [30, 4, 60]) if a.since_2002 else "(nothing recorded)")
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
        text = _MD_BLOCK.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3),
                             text.lstrip(" \t"))
    return text


def _md_code(text: str) -> _Markdown:
    """Text as a Markdown code span, fenced by one backtick more than the longest run inside it."""
    text = printable(_MD_BREAK.sub(" ", str(text))).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return _Markdown(f"{fence}{pad}{text}{pad}{fence}")


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    # a table cell can start no block, so only the inline escapes apply
    lines = ["| " + " | ".join(_md_escape(h, block=False) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_escape(c, block=False) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def assessment_markdown(a: Assessment, names: Names = Names()) -> str:
    """The assessment as Markdown that renders cleanly on a code-hosting site."""
    t = {k: _md_escape(v, block=False) if isinstance(v, str) else v for k, v in a.threat.items()}
    out = [f"# {_md_escape(a.threat.get('title') or a.threat['id'])}", ""]
    facts = [f"**Type:** {t['type']} ({a.nature.category.replace('_', '-')})"]
    if t.get("region"):
        facts.append(f"**Region:** {t['region']}")
    if t.get("states"):
        facts.append(f"**States:** {_md_escape(', '.join(t['states']), block=False)}")
    facts += [f"**Actor:** {t['actor']}", f"**Severity:** {t['severity']}"]
    out += [" · ".join(facts), ""]
    out += ["## Recommendations", "", _md_table(["No.", "Title", "Cited"],
            [[r.number, r.title, ", ".join(r.citations)] for r in a.recommendations]), ""]
    out += ["## Frameworks", "", _md_table(["Framework", "Status", "Layer", "Recommendations", "Basis"],
            [[names("frameworks", f.id, f.name), f.status, f.layer.replace("_", " "), _nums(f.recommendations), f.basis]
             for f in a.frameworks]), ""]
    out += ["## States", "", _md_table(["Code", "Name", "Frameworks", "Recommendations", "Basis"],
            [[s.code, names("states", s.code, s.name), ", ".join(s.frameworks), _nums(s.recommendations), s.basis]
             for s in a.states]), ""]
    out += ["## Japanese agencies", "", _md_table(["Agency", "Role", "Recommendations", "Basis", "Role basis"],
            [[names("agencies", g.id, g.name), g.role, _nums(g.recommendations), g.basis, g.role_basis]
             for g in a.agencies]), ""]
    e = _md_escape
    if a.measures:
        out += ["## Measures", ""] + [f"- {e(m.text)} ({e(m.citation, False)})" for m in a.measures] + [""]
    if a.caveats:
        out += ["## Caveats", ""] + [f"- {e(c.text)} ({e(c.citation, False)})" for c in a.caveats] + [""]
    out += ["## Trace", "", _md_table(["Step", "Rule", "Recommendations", "Because", "Basis"],
            [[x.step, _md_code(x.rule), ", ".join(x.citations), x.because, x.basis] for x in a.trace]), ""]
    if a.stages:
        # one line a stage: a wrapped line would start a list item of its own
        out += ["## Stages", ""] + ["        " + e(line[4:], False) if line.startswith("    ") else f"- {e(line)}"
                                     for line in _stage_lines(a, width=None)] + [""]
    if a.since_2002 is not None:
        out += ["## Since 2002", ""] + [f"- **{e(x.name)}** ({x.since}): {e(x.became, False)}"
                                        for x in a.since_2002] + [""]
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
        return (["No.", "Group", "Title", "Items"],
                [[r.number, r.group.replace("_", " "), r.title, ", ".join(f"{r.number}({i})" for i in r.items)]
                 for r in catalog.recommendations.values()], [3, 14, 56, 16])
    if what == "frameworks":
        return (["Id", "Name", "Status", "Layer"],
                [[k, f.name, f.status, f.layer.replace("_", " ")] for k, f in catalog.frameworks.items()],
                [41, 28, 8, 13])
    if what == "agencies":
        return (["Id", "Name", "Cited in"],
                [[k, a.name, _nums(a.cited_in)] for k, a in catalog.agencies.items()], [38, 48, 8])
    if what == "states":
        return (["Code", "Name", "E.A.", "Aliases"],
                [[k, s.name, "yes" if s.east_asia else "", ", ".join(s.aliases)] for k, s in catalog.states.items()],
                [4, 28, 4, 52])
    if what == "types":
        return (["Id", "Category", "Aliases"],
                [[k, t.category, ", ".join(t.aliases)] for k, t in v.types.items()], [26, 16, 56])
    if what == "regions":
        return (["Id", "Within", "Aliases"],
                [[k, ", ".join(r.within), ", ".join(r.aliases)] for k, r in v.regions.items()], [18, 26, 54])
    if what == "targets":
        return (["Id", "Label", "Aliases"], [[k, t.label, ", ".join(t.aliases)] for k, t in v.targets.items()],
                [26, 30, 40])
    if what == "attributes":
        return (["Id", "Meaning"], [[k, text] for k, text in v.attributes.items()], [22, 76])
    if what == "derived":
        return (["Id", "Meaning"], [[k + (" (distinction)" if e.distinction else ""), e.text]
                                    for k, e in v.derived.items()], [34, 64])
    raise KeyError(what)


def catalog_data(catalog, what: str) -> list[dict[str, Any]]:
    """One catalog listing as plain data, every entry with its id."""
    v = catalog.vocabulary
    if what == "recommendations":
        return [r.model_dump(mode="json") for r in catalog.recommendations.values()]
    tables = {"frameworks": catalog.frameworks, "agencies": catalog.agencies, "states": catalog.states,
              "types": v.types, "regions": v.regions, "targets": v.targets}
    if what in tables:
        return [{"id": k, **e.model_dump(mode="json", exclude={"id", "code"})} for k, e in tables[what].items()]
    if what == "derived":
        return [{"id": k, "meaning": e.text, "distinction": e.distinction, "note": e.note} for k, e in v.derived.items()]
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
        lines.extend(textwrap.wrap(f"because: {case.because}", WIDTH, initial_indent="    ",
                                   subsequent_indent="      "))
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
    data: dict[str, Any] = {"cases": [
        {"file": r.case.path, "line": r.case.line, "name": r.case.name, "passed": r.passed,
         "error": r.error or None,
         "mismatches": [{"what": m.what, "expected": m.expected, "actual": m.actual} for m in r.mismatches]}
        for r in results]}
    data["passed"] = sum(r.passed for r in results)
    data["failed"] = len(results) - data["passed"]
    if cov is not None:
        data["coverage"] = cov.to_dict()
    if plan is not None:
        data["mutants"] = [{"name": m.name, "removed": m.removed, "recommendations": m.recommendations,
                            "killed_by": m.killed_by or None} for m in plan]
    return to_json(data)


def coverage_table(cov) -> str:
    """Coverage of the suite: every rule, recommendation, framework and agency, with totals."""
    out = []
    for what, label in (("rules", "Rule"), ("recommendations", "Recommendation"), ("frameworks", "Framework"),
                        ("agencies", "Agency")):
        table = getattr(cov, what)
        rows = [[k, "yes" if v else "NEVER"] for k, v in table.items()]
        out += ["", f"{what.upper()}  {sum(table.values())}/{len(table)} ({cov.percent(what):.1f}%)",
                _table(rows, [label, "Covered"], [60, 8])]
    return printable("\n".join(out).lstrip("\n") + "\n")


def mutation_table(plan, strength: dict[int, tuple[int, int]]) -> str:
    rows = [[n, f"{k}/{t}", ", ".join(m.name for m in plan if n in m.recommendations and m.survived)]
            for n, (k, t) in strength.items()]
    out = ["MUTANTS (one rule, or every rule of one recommendation, switched off)",
           _table(rows, ["Rec.", "Killed", "Survivors: no case notices their removal"], [4, 7, 80])]
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
        lines.append(f"{pad}- {node.rule} [{', '.join(node.citations)}] (step {node.step})"
                     + (" (see above)" if node.repeated else f": {node.because}"))
        if node.repeated:
            return
        if node.quote:
            lines.extend(textwrap.wrap(f"the document: \u201c{node.quote}\u201d", WIDTH,
                                       initial_indent=f"{pad}    ", subsequent_indent=f"{pad}      "))
        if node.basis != "document":
            lines.extend(textwrap.wrap(f"general knowledge, not the document: {node.note}", WIDTH,
                                       initial_indent=f"{pad}    ", subsequent_indent=f"{pad}      "))
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
    lines = [f"{target.label()} is not concluded; {len(misses)} rule{'s' if len(misses) > 1 else ''} "
             "could conclude it, nearest miss first:"]

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


# --- tabletop: the brief, the MSEL, the matrix --------------------------------------------

def _nums_or_dash(numbers: list[int]) -> str:
    return _nums(numbers) if numbers else "-"


def brief_markdown(p, mermaid: str, facilitator: bool) -> str:
    """The packet as Markdown: clean on a code-hosting site, with the network as a Mermaid diagram."""
    e = _md_escape
    out = [f"# {e(p.title)}", "", f"*Tabletop exercise brief ({'facilitator' if facilitator else 'participant'} "
           "version), prepared with advisor from the JFIR Policy Council's 22nd Policy Recommendations (2002).*", ""]
    out += ["## The scenario", ""]
    if p.description:
        out += [e(p.description), ""]
    out += [f"- **{e(k)}:** {e(v, False)}" for k, v in p.scenario] + [""]
    out += ["## Its nature", "", f"This is {e(p.nature, False)}.", ""]
    out += [f"- {e(d)}" for d in p.derived] + [""]
    if p.families:
        out += ["### North Korea: deterrence and cooperation side by side", "",
                _md_table(["Deterrence (North Korea left out)", "Cooperation (North Korea engaged)"],
                          [[a, b] for a, b in _zip_longest(p.families["deterrence"], p.families["cooperation"])]), ""]
    out += ["## Frameworks, by layer of the multi-layered network", ""]
    for layer, existing, proposed in p.layers:
        out += [f"### {e(layer)}", ""]
        out += [f"- {e(name)} (existing; recommendations {_nums(recs)})" for _, name, recs in existing]
        out += [f"- *{e(name)}* (proposed; recommendations {_nums(recs)})" for _, name, recs in proposed]
        out += [""]
    out += ["## The network", "", "```mermaid", mermaid.rstrip(), "```", ""]
    out += ["## Participants", "", _md_table(["State", "Sits in"],
            [[f"{name} ({code})", ", ".join(fws) or "-"] for code, name, fws in p.participants]), ""]
    out += ["## Japanese agencies", ""]
    for role, group in p.agencies:
        out += [f"- **{e(role)}:** " + "; ".join(f"{e(name)} ({_nums(recs)})" for name, recs in group)]
    out += [""]
    if p.caveats:
        out += ["## Legal and institutional caveats", ""] + [f"- {e(text)} ({e(c, False)})" for text, c in p.caveats]
        out += [""]
    if p.measures:
        out += ["## What the document asks of Japan", ""] + [f"- {e(text)} ({e(c, False)})" for text, c in p.measures]
        out += [""]
    if p.stages:
        out += ["## Stages of the scenario", ""]
        for st in p.stages:
            out += [f"### Inject {st['stage']}: {e(st['title'], False)}", ""]
            if st["description"]:
                out += [e(st["description"]), ""]
            out += ["Changes: " + e("; ".join(f"{k} {_short(v)}" for k, v in st["changes"].items()), False), ""]
            if facilitator:
                # the lines are advisor's own ("+ frameworks: ..."), only their names need escaping
                out += [f"- {e(line, False)}" for line in st["delta"]] + [""]
    if facilitator and p.msel:
        out += ["## Master scenario events list (expected player actions)", "", msel_markdown(p.msel), ""]
    out += ["## Discussion questions", ""]
    for number, title, qs in p.questions:
        out += [f"**{number}. {e(title, False)}**", ""] + [f"- {e(q)}" for q in qs] + [""]
    if p.since_2002:
        out += ["## Since 2002", ""] + [f"- **{e(name)}** ({year}): {e(text, False)}"
                                        for name, year, text in p.since_2002] + [""]
    out += ["## References", ""] + [f"- Recommendation {n}: “{e(title, False)}”" for n, title in p.references]
    out += [""]
    if p.general_knowledge:
        out += ["*Some entries go beyond the document's text (general knowledge); the JSON assessment marks each.*", ""]
    return printable("\n".join(out))


def _zip_longest(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else "", b[i] if i < len(b) else "") for i in range(n)]


BRIEF_CSS = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d5dbe2; --accent: #1f5f8b; --lead: #f6d38a; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK JP", sans-serif;
       color: var(--ink); line-height: 1.5; margin: 0 auto; max-width: 62rem; padding: 2rem 1.5rem; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; color: var(--accent); }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; }
.sub { color: var(--muted); margin: 0 0 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .95rem; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f5f8; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.proposed { font-style: italic; }
.tag { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: .6rem; border: 1px solid var(--line);
       color: var(--muted); margin-left: .3rem; font-style: normal; }
.role-lead { background: var(--lead); }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.layer { border: 1px solid var(--line); border-radius: .4rem; padding: .2rem .8rem; margin: .6rem 0; }
figure { margin: 1rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
.note { color: var(--muted); font-size: .9rem; }
.delta { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; }
  table, figure, .layer, li { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  @page { margin: 16mm; }
}
"""


def brief_html(p, svg: str | None, facilitator: bool, lang: str = "en") -> str:
    """The packet as one self-contained HTML file: no network, no fonts or scripts, a print stylesheet."""
    from html import escape

    def e(text: str) -> str:
        return escape(printable(text))

    out = ["<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(p.title)}</title>", f"<style>{BRIEF_CSS}</style>", "</head>", "<body>",
           f"<h1>{e(p.title)}</h1>",
           f'<p class="sub">Tabletop exercise brief, {"facilitator" if facilitator else "participant"} version. '
           "Prepared with advisor from the JFIR Policy Council's 22nd Policy Recommendations (December 2002).</p>"]
    out.append("<section><h2>The scenario</h2>")
    if p.description:
        out.append(f"<p>{e(p.description)}</p>")
    out.append('<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in p.scenario) + "</dl>")
    out.append("</section>")
    out.append(f"<section><h2>Its nature</h2><p>This is {e(p.nature)}.</p><ul>"
               + "".join(f"<li>{e(d)}</li>" for d in p.derived) + "</ul>")
    if p.families:
        out.append('<h3>North Korea: deterrence and cooperation side by side</h3><div class="columns">')
        for fam, label in (("deterrence", "Deterrence (North Korea left out)"),
                           ("cooperation", "Cooperation (North Korea engaged)")):
            out.append(f"<div><strong>{label}</strong><ul>" + "".join(f"<li>{e(x)}</li>" for x in p.families[fam])
                       + "</ul></div>")
        out.append("</div>")
    out.append("</section>")
    out.append("<section><h2>Frameworks, by layer of the multi-layered network</h2>")
    for layer, existing, proposed in p.layers:
        items = [f"<li>{e(name)}<span class=\"tag\">existing</span><span class=\"tag\">{_nums(recs)}</span></li>"
                 for _, name, recs in existing]
        items += [f'<li class="proposed">{e(name)}<span class="tag">proposed</span><span class="tag">{_nums(recs)}</span></li>'
                  for _, name, recs in proposed]
        out.append(f'<div class="layer"><h3>{e(layer)}</h3><ul>{"".join(items)}</ul></div>')
    out.append("</section>")
    out.append("<section><h2>The network</h2>")
    if svg:
        out.append(f'<figure id="network">{svg}<figcaption class="note">States, frameworks and Japanese agencies; '
                   "solid arrows: membership; dashed: taking part; dotted: an agency acting in a framework; "
                   "dashed boxes: proposed frameworks.</figcaption></figure>")
    else:
        out.append('<p class="note" id="network-missing">The picture of the network needs Graphviz\'s '
                   "<code>dot</code> program, which is not installed here (apt-get install graphviz).</p>")
    out.append("</section>")
    out.append("<section><h2>Participants</h2><table><thead><tr><th>State</th><th>Sits in</th></tr></thead><tbody>"
               + "".join(f"<tr><td>{e(name)} ({e(code)})</td><td>{e(', '.join(fws) or '-')}</td></tr>"
                         for code, name, fws in p.participants) + "</tbody></table></section>")
    out.append("<section><h2>Japanese agencies</h2><table><thead><tr><th>Role</th><th>Agency</th>"
               "<th>Recommendations</th></tr></thead><tbody>")
    for role, group in p.agencies:
        for name, recs in group:
            out.append(f'<tr class="role-{role}"><td>{e(role)}</td><td>{e(name)}</td><td>{_nums(recs)}</td></tr>')
    out.append("</tbody></table></section>")
    if p.caveats:
        out.append("<section><h2>Legal and institutional caveats</h2><ul>"
                   + "".join(f"<li>{e(text)} ({e(c)})</li>" for text, c in p.caveats) + "</ul></section>")
    if p.measures:
        out.append("<section><h2>What the document asks of Japan</h2><ul>"
                   + "".join(f"<li>{e(text)} ({e(c)})</li>" for text, c in p.measures) + "</ul></section>")
    if p.stages:
        out.append("<section><h2>Stages of the scenario</h2>")
        for st in p.stages:
            out.append(f"<h3>Inject {st['stage']}: {e(st['title'])}</h3>")
            if st["description"]:
                out.append(f"<p>{e(st['description'])}</p>")
            out.append("<p>Changes: " + e("; ".join(f"{k} {_short(v)}" for k, v in st["changes"].items())) + "</p>")
            if facilitator:
                out.append('<ul class="delta">' + "".join(f"<li>{e(x)}</li>" for x in st["delta"]) + "</ul>")
        out.append("</section>")
    if facilitator and p.msel:
        out.append("<section><h2>Master scenario events list (expected player actions)</h2><table><thead><tr>"
                   "<th>Stage</th><th>Inject</th><th>Expected action</th><th>Who</th><th>Rec.</th></tr></thead><tbody>")
        for x in p.msel:
            out.append(f"<tr><td>{x.stage}</td><td>{e(x.inject)}</td><td>{e(x.action)}</td><td>{e(x.actor)}</td>"
                       f"<td>{_nums_or_dash(x.recommendations)}</td></tr>")
        out.append("</tbody></table></section>")
    out.append("<section><h2>Discussion questions</h2>")
    for number, title, qs in p.questions:
        out.append(f"<h3>{number}. {e(title)}</h3><ul>" + "".join(f"<li>{e(q)}</li>" for q in qs) + "</ul>")
    out.append("</section>")
    if p.since_2002:
        out.append("<section><h2>Since 2002</h2><ul>" + "".join(
            f"<li><strong>{e(name)}</strong> ({year}): {e(text)}</li>" for name, year, text in p.since_2002)
            + "</ul></section>")
    out.append("<section><h2>References</h2><ul>" + "".join(
        f"<li>Recommendation {n}: “{e(title)}”</li>" for n, title in p.references) + "</ul></section>")
    if p.general_knowledge:
        out.append('<p class="note">Some entries go beyond the document\'s text (general knowledge); '
                   "the JSON assessment marks each.</p>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def msel_markdown(actions) -> str:
    return _md_table(["Stage", "Inject", "Expected action", "Who", "Recommendations"],
                     [[x.stage, x.inject, x.action, x.actor, _nums_or_dash(x.recommendations)] for x in actions])


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
    return to_csv([["stage", "inject", "expected_action", "who", "recommendations"]]
                  + [[x.stage, x.inject, x.action, x.actor, " ".join(str(n) for n in x.recommendations)]
                     for x in actions])


def matrix_rows(rows, catalog, names) -> tuple[list[str], list[list[str]]]:
    agencies = list(catalog.agencies)
    short = [catalog.agencies[a].short or a for a in agencies]
    show_region = len({r.region for r in rows}) > 1
    headers = ["Type"] + (["Region"] if show_region else []) + short + ["Flag"]
    body = []
    for r in rows:
        cells = [{"lead": "L", "coordinate": "C", "support": "S", "participate": "P"}.get(r.roles.get(a, ""), "")
                 for a in agencies]
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
    key = ("L lead, C coordinate, S support, P takes part (named by the document, no role). Leads are general "
           "knowledge: the document assigns none. ") + ", ".join(
        f"{catalog.agencies[a].short or a} = {names('agencies', a, catalog.agencies[a].name)}" for a in catalog.agencies)
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
