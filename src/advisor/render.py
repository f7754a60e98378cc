"""Every output format in one place: JSON, terminal tables and Markdown."""
from __future__ import annotations

import json
import textwrap
from typing import Any

from .models import Assessment

WIDTH = 100


def to_json(data: Any) -> str:
    """Stable JSON: two-space indent, UTF-8 kept, a final newline."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _table(rows: list[list[Any]], headers: list[str], widths: list[int | None]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=widths, disable_numparse=True)


def _nums(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _basis(basis: str) -> str:
    return "" if basis == "document" else " *"


def _threat_line(a: Assessment) -> list[str]:
    t = a.threat
    title = t.get("title") or t["id"]
    where = f" in {t['region']}" if t.get("region") else ""
    states = f"; states {', '.join(t['states'])}" if t.get("states") else ""
    lines = [f"{title}", f"{t['type']}{where}, {a.nature.category.replace('_', '-')}, actor {t['actor']}, "
                         f"severity {t['severity']}{states}"]
    return [textwrap.fill(line, WIDTH) for line in lines]


def assessment_table(a: Assessment) -> str:
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
        rows.append([f.name + _basis(f.basis), f.status, f.layer.replace("_", " "), _nums(f.recommendations)])
    section("Frameworks", _table(rows, ["Framework", "Status", "Layer", "Rec."], [52, 9, 20, 8]) if rows else "(none)")
    rows = []
    for s in a.states:
        star |= s.basis != "document"
        rows.append([s.code, s.name + _basis(s.basis), ", ".join(s.frameworks), _nums(s.recommendations)])
    section("States", _table(rows, ["Code", "Name", "Frameworks", "Rec."], [5, 22, 52, 12]) if rows else "(none)")
    rows = []
    for g in a.agencies:
        star |= g.basis != "document"
        rows.append([g.name + _basis(g.basis), g.role, _nums(g.recommendations)])
    section("Agencies", _table(rows, ["Agency", "Role", "Rec."], [55, 11, 20]) if rows else "(none)")
    if a.measures or a.caveats:
        rows = [["measure", m.text, m.citation] for m in a.measures]
        rows += [["caveat", c.text, c.citation] for c in a.caveats]
        section("Measures and caveats", _table(rows, ["", "Text", "Cited"], [8, 78, 6]))
    section("Trace", _table(
        [[e.step, e.rule + _basis(e.basis), _nums(e.recommendations), e.because] for e in a.trace],
        ["Step", "Rule", "Rec.", "Because"], [4, 34, 6, 46]) if a.trace else "(no rule fired)")
    for note in a.notes:
        out.append(f"note: {note}")
    if star:
        out.extend(["", "* goes beyond the document's text (general knowledge); see the JSON output's basis fields"])
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def assessment_markdown(a: Assessment) -> str:
    """The assessment as Markdown that renders cleanly on a code-hosting site."""
    t = a.threat
    out = [f"# {t.get('title') or t['id']}", ""]
    facts = [f"**Type:** {t['type']} ({a.nature.category.replace('_', '-')})"]
    if t.get("region"):
        facts.append(f"**Region:** {t['region']}")
    if t.get("states"):
        facts.append(f"**States:** {', '.join(t['states'])}")
    facts += [f"**Actor:** {t['actor']}", f"**Severity:** {t['severity']}"]
    out += [" · ".join(facts), ""]
    out += ["## Recommendations", "", _md_table(["No.", "Title", "Cited"],
            [[r.number, r.title, ", ".join(r.citations)] for r in a.recommendations]), ""]
    out += ["## Frameworks", "", _md_table(["Framework", "Status", "Layer", "Recommendations", "Basis"],
            [[f.name, f.status, f.layer.replace("_", " "), _nums(f.recommendations), f.basis]
             for f in a.frameworks]), ""]
    out += ["## States", "", _md_table(["Code", "Name", "Frameworks", "Recommendations", "Basis"],
            [[s.code, s.name, ", ".join(s.frameworks), _nums(s.recommendations), s.basis] for s in a.states]), ""]
    out += ["## Japanese agencies", "", _md_table(["Agency", "Role", "Recommendations", "Basis"],
            [[g.name, g.role, _nums(g.recommendations), g.basis] for g in a.agencies]), ""]
    if a.measures:
        out += ["## Measures", ""] + [f"- {m.text} ({m.citation})" for m in a.measures] + [""]
    if a.caveats:
        out += ["## Caveats", ""] + [f"- {c.text} ({c.citation})" for c in a.caveats] + [""]
    out += ["## Trace", "", _md_table(["Step", "Rule", "Recommendations", "Because", "Basis"],
            [[e.step, f"`{e.rule}`", ", ".join(e.citations), e.because, e.basis] for e in a.trace]), ""]
    if a.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in a.notes] + [""]
    return "\n".join(out)


def render_assessment(a: Assessment, fmt: str) -> str:
    return {"json": to_json, "table": assessment_table, "markdown": assessment_markdown}[fmt](a)


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
                [26, 30, 42])
    if what == "attributes":
        return (["Id", "Meaning"], [[k, text] for k, text in v.attributes.items()], [22, 76])
    if what == "derived":
        return (["Id", "Meaning"], [[k, text] for k, text in v.derived.items()], [34, 64])
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
    texts = {"attributes": v.attributes, "derived": v.derived}[what]
    return [{"id": k, "meaning": text} for k, text in texts.items()]


def render_catalog(catalog, what: str, fmt: str) -> str:
    if fmt == "json":
        return to_json(catalog_data(catalog, what))
    headers, rows, widths = catalog_rows(catalog, what)
    if fmt == "markdown":
        return _md_table(headers, rows) + "\n"
    return _table(rows, headers, widths) + "\n"


# --- policy tests ----------------------------------------------------------------------

def trace_lines(a: Assessment, indent: str = "    ") -> list[str]:
    """The trace, one line a rule: step, rule, recommendations, and what matched."""
    out = []
    for e in a.trace:
        matched = ", ".join(f"{k}={_short(v)}" for k, v in e.matched.items())
        out.append(f"{indent}{e.step} {e.rule} [{', '.join(e.citations)}] {matched}")
    return out


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def policy_failure(result) -> str:
    """One failed case: where, what was expected against what came out, and the trace."""
    case = result.case
    lines = [f"FAIL {case.where} {case.name}"]
    if result.error:
        lines.append(f"    error: {result.error}")
        return "\n".join(lines)
    width = max(len(m.what) for m in result.mismatches)
    for m in result.mismatches:
        lines.append(f"    {m.what.ljust(width)}  - expected: {m.expected}")
        lines.append(f"    {' ' * width}  + actual:   {m.actual}")
    lines.append("    trace:")
    lines.extend(trace_lines(result.assessment, "      ") or ["      (no rule fired)"])
    return "\n".join(lines)


def policy_report(results, verbose: bool = False) -> str:
    out = []
    for r in results:
        if not r.passed:
            out.append(policy_failure(r))
        elif verbose:
            out.append(f"PASS {r.case.where} {r.case.name}")
    passed = sum(r.passed for r in results)
    out.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(out) + "\n"


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
    return "\n".join(out).lstrip("\n") + "\n"


def mutation_table(plan, strength: dict[int, tuple[int, int]]) -> str:
    rows = [[n, f"{k}/{t}", ", ".join(m.name for m in plan if n in m.recommendations and m.survived)]
            for n, (k, t) in strength.items()]
    out = ["MUTANTS (one rule, or every rule of one recommendation, switched off)",
           _table(rows, ["Rec.", "Killed", "Survivors: no case notices their removal"], [4, 7, 80])]
    survivors = [m for m in plan if m.survived]
    out.append(f"{len(plan)} mutants, {len(plan) - len(survivors)} killed, {len(survivors)} survived")
    return "\n".join(out) + "\n"


# --- explain and query ----------------------------------------------------------------------

def render_why(target, nodes) -> str:
    if not nodes:
        return f"{target.label()} is not in this assessment (ask --why-not)\n"
    lines = [f"{target.label()} follows from {len(nodes)} rule{'s' if len(nodes) > 1 else ''}:"]

    def walk(node: Node, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}- {node.rule} [{', '.join(node.citations)}] (step {node.step})"
                     + (" (see above)" if node.repeated else f": {node.because}"))
        if node.repeated:
            return
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
    return "\n".join(lines) + "\n"


def render_why_not(target, present: bool, misses) -> str:
    if present:
        return f"{target.label()} is in this assessment (ask --why)\n"
    if not misses:
        return f"{target.label()}: no rule of this rule base can conclude it\n"
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
    return "\n".join(lines) + "\n"


def render_what_if(rows) -> str:
    from .diff import describe

    if not rows:
        return "no single change of the descriptor alters the frameworks, agencies or recommendations\n"
    lines = []
    for label, changes in rows:
        lines.append(f"if {label}:")
        lines.extend(f"    {line}" for line in describe(changes))
    return "\n".join(lines) + "\n"


def render_query(target, answers, summary) -> str:
    """Reverse look-up: the rules that conclude the target and, for each, when they can fire."""
    if not answers:
        return f"{target.label()}: no rule of this rule base concludes it\n"
    lines = [f"{target.label()} is concluded by {len(answers)} rule{'s' if len(answers) > 1 else ''}:"]
    for rule, alternatives in answers:
        lines.append(f"- {rule.id} [{', '.join(rule.cites)}]: {rule.because}")
        shown = alternatives[:8]
        for text in shown:
            lines.append(f"    when {text}")
        if len(alternatives) > len(shown):
            lines.append(f"    ... and {len(alternatives) - len(shown)} more alternatives")
        if not alternatives:
            lines.append("    (its conditions can never hold)")
    lines.append("")
    for key, values in summary.items():
        lines.append(f"{key}: {', '.join(values) if values else '(none)'}")
    return "\n".join(lines) + "\n"
