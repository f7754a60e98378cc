"""The exercise documents as Markdown, HTML, CSV, XLSX and DOCX: MSEL, EEGs, hot wash (AAR/IP), role cards.

User text (titles, descriptions, inject fields, x_ fields, players' roles, notes) is shown, never acted
on: Markdown and HTML escaped as `render` does, terminal controls made visible in every format, and a
spreadsheet cell that could start a formula gets a leading apostrophe (and is stored as text in XLSX).
"""
from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

from .exercise import ENGLISH, RATINGS, Card, Guide, MselRow, Report, Words, msel_columns
from .render import _Markdown, _md_escape, _md_table, printable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BREAK = re.compile("\r\n?")


def cell_text(value: Any) -> str:
    """A spreadsheet cell's text: controls visible, CR/CRLF as LF, never the start of a formula."""
    if isinstance(value, (list, tuple)):
        value = "\n".join(str(v) for v in value)
    text = printable(_BREAK.sub("\n", str(value)))
    return "'" + text if text.startswith(FORMULA_START) else text


def _nums(numbers) -> str:
    return ", ".join(str(n) for n in numbers)


def _head(exercise: dict[str, Any], title: str, what: str, words: Words = ENGLISH) -> list[str]:
    """The document's heading lines (Markdown): marking, exercise, scenario."""
    marking = exercise.get("marking", "FOR EXERCISE USE ONLY") if exercise else "FOR EXERCISE USE ONLY"
    lines = [f"**{_md_escape(marking, block=False)}**", "", f"# {what}: {_md_escape(exercise.get('name') or title, block=False)}", ""]
    facts = [(words("scenario"), title), (words("sponsor"), exercise.get("sponsor")),
             (words("dates"), exercise.get("dates"))]
    lines += [f"- **{k}:** {_md_escape(v, block=False)}" for k, v in facts if v]
    return lines + [""]


# --- the MSEL ----------------------------------------------------------------------------------

def _md_lines(values: list[str]) -> _Markdown:
    """Several values in one Markdown table cell, one per line."""
    return _Markdown("<br>".join(_md_escape(v, block=False) for v in values))


def msel_markdown(rows: list[MselRow], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> str:
    body = []
    for r in rows:
        cells = r.cells()
        body.append([_md_lines(c) if isinstance(c, list) else c for c in cells])
    return "\n".join(_head(exercise, title, words("title"), words) + [_md_table(msel_columns(words), body)]) + "\n"


def msel_csv(rows: list[MselRow], words: Words = ENGLISH) -> str:
    """The MSEL as CSV for spreadsheets: a BOM (so Excel reads UTF-8), CRLF rows, quoted line breaks."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(msel_columns(words))
    writer.writerows([[cell_text(c) for c in r.cells()] for r in rows])
    return "\ufeff" + buf.getvalue()


WIDTHS = (7, 14, 10, 32, 48, 14, 22, 22, 36, 70, 12, 16, 36)


def msel_xlsx(rows: list[MselRow], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> bytes:
    """The MSEL as an Excel workbook: every cell text (no formulas), the header bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "MSEL"
    ws.append(msel_columns(words))
    for r in rows:
        ws.append([cell_text(c) for c in r.cells()])
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows():
        for cell in row:
            cell.data_type = "s"  # openpyxl reads a string starting with '=' as a formula; this is text
            cell.alignment = wrap
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.auto_filter.ref = ws.dimensions
    marking = cell_text((exercise or {}).get("marking", "FOR EXERCISE USE ONLY"))
    ws.oddHeader.center.text = marking.replace("&", "&&")
    ws.oddFooter.center.text = marking.replace("&", "&&")
    wb.properties.title = cell_text(f"MSEL: {(exercise or {}).get('name') or title}")[:250]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- HTML ---------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.4; color: #111; }
.marking { text-align: center; font-weight: bold; letter-spacing: .05em; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid #999; padding: .3rem .5rem; vertical-align: top; text-align: left; }
th { background: #eee; }
.write-in { height: 4rem; }
.card { break-after: page; page-break-after: always; }
.card:last-of-type { break-after: auto; page-break-after: auto; }
.guide { break-after: page; page-break-after: always; }
.meta { color: #444; font-size: .9em; }
@media print { body { margin: 0; max-width: none; } }
"""


def _h(value: Any) -> str:
    return html.escape(printable(str(value)))


def _html_page(title: str, marking: str, body: list[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{_h(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f'<p class="marking">{_h(marking)}</p>', *body, f'<p class="marking">{_h(marking)}</p>',
        "</body>", "</html>", ""])


def _html_table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{_h(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f"<td>{'<br>'.join(_h(v) for v in c) if isinstance(c, list) else _h(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _marking(exercise: dict[str, Any]) -> str:
    return (exercise or {}).get("marking", "FOR EXERCISE USE ONLY")


# --- Exercise Evaluation Guides ---------------------------------------------------------------------

def _task_rows(g: Guide) -> list[list[Any]]:
    return [[i, t.module, t.action + (" (continuing)" if t.continuing else ""), _nums(t.recommendations),
             ", ".join(t.rules), t.basis.replace("_", " "), "", ""] for i, t in enumerate(g.tasks, start=1)]


TASK_HEADERS = ["#", "Module", "Critical task (expected action)", "Rec.", "Rule", "Basis", "Observations", "Rating"]
RATING_KEY = "Rating: " + "; ".join(f"{k} = {v}" for k, v in RATINGS)


def eeg_markdown(guides: list[Guide], exercise: dict[str, Any], title: str) -> str:
    out = _head(exercise, title, "Exercise Evaluation Guides")
    out += [f"_{_md_escape(RATING_KEY, block=False)}_", ""]
    if not guides:
        out += ["The descriptor has no exercise objectives: add `exercise.objectives` to get a guide per objective.", ""]
    for g in guides:
        out += [f"## Objective {_md_escape(g.id, block=False)}: {_md_escape(g.text, block=False)}", "",
                f"- **Recommendations:** {_nums(g.recommendations) or '-'}",
                f"- **Modules:** {_md_escape(', '.join(g.modules) or '-', block=False)}", ""]
        out += [_md_table(TASK_HEADERS, _task_rows(g)) if g.tasks else "No module tests this objective.", ""]
        out += ["**Reasons behind the tasks:**", ""]
        seen = set()
        for t in g.tasks:
            for rule in t.rules[:1]:
                if rule not in seen and t.because:
                    seen.add(rule)
                    out.append(f"- `{rule}`: {_md_escape(t.because, block=False)}")
        out += ["", "**Observations (strengths, areas for improvement):**", "", "&nbsp;", "", "&nbsp;", "",
                "**Overall rating of the objective (P / S / M / U):** ____  **Evaluator:** ____________", ""]
    return "\n".join(out)


def eeg_html(guides: list[Guide], exercise: dict[str, Any], title: str) -> str:
    name = exercise.get("name") or title
    body = [f"<h1>Exercise Evaluation Guides: {_h(name)}</h1>", f'<p class="meta">Scenario: {_h(title)}</p>',
            f"<p><em>{_h(RATING_KEY)}</em></p>"]
    for g in guides:
        body += ['<section class="guide">', f"<h2>Objective {_h(g.id)}: {_h(g.text)}</h2>",
                 f'<p class="meta">Recommendations: {_h(_nums(g.recommendations) or "-")}; modules: '
                 f'{_h(", ".join(g.modules) or "-")}</p>',
                 _html_table(TASK_HEADERS, _task_rows(g)),
                 "<h3>Observations</h3>", '<div class="write-in"></div>',
                 "<p>Overall rating (P / S / M / U): ____ &nbsp; Evaluator: ____________</p>", "</section>"]
    return _html_page(f"EEG: {name}", _marking(exercise), body)


# --- DOCX ---------------------------------------------------------------------------------------

def _docx_text(value: Any) -> str:
    """Text for Word: controls visible (XML cannot hold most of them anyway)."""
    if isinstance(value, (list, tuple)):
        value = "\n".join(str(v) for v in value)
    return printable(str(value))


def _docx() -> Any:
    from docx import Document

    return Document()


def _docx_table(doc, headers: list[str], rows: list[list[Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers):
        cell.text = ""
        cell.paragraphs[0].add_run(_docx_text(text)).bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = _docx_text(value)


def _docx_head(doc, exercise: dict[str, Any], title: str, what: str) -> None:
    marking = _docx_text(_marking(exercise))
    section = doc.sections[0]
    section.header.paragraphs[0].text = marking
    section.footer.paragraphs[0].text = marking
    doc.add_heading(_docx_text(f"{what}: {exercise.get('name') or title}"), level=0)
    for k, v in (("Scenario", title), ("Sponsor", exercise.get("sponsor")), ("Dates", exercise.get("dates"))):
        if v:
            p = doc.add_paragraph()
            p.add_run(f"{k}: ").bold = True
            p.add_run(_docx_text(v))


def _docx_bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def eeg_docx(guides: list[Guide], exercise: dict[str, Any], title: str) -> bytes:
    doc = _docx()
    _docx_head(doc, exercise, title, "Exercise Evaluation Guides")
    doc.add_paragraph(RATING_KEY)
    for i, g in enumerate(guides):
        if i:
            doc.add_page_break()
        doc.add_heading(_docx_text(f"Objective {g.id}: {g.text}"), level=1)
        doc.add_paragraph(_docx_text(f"Recommendations: {_nums(g.recommendations) or '-'}; modules: "
                                     f"{', '.join(g.modules) or '-'}"))
        _docx_table(doc, TASK_HEADERS, _task_rows(g))
        doc.add_heading("Observations", level=2)
        doc.add_paragraph("\n\n")
        doc.add_paragraph("Overall rating (P / S / M / U): ____    Evaluator: ____________")
    return _docx_bytes(doc)


# --- the hot wash: scores, AAR and Improvement Plan ----------------------------------------------------

SCORE_HEADERS = ["Module", "Result", "Action", "Rec.", "Rule"]
PLAN_HEADERS = ["Issue", "Recommendation", "Corrective action", "Responsible agency", "Due"]


def _score_rows(r: Report) -> list[list[Any]]:
    rows = []
    for s in r.scores:
        m = s.module
        for x in s.done:
            rows.append([m.label, "expected, done", x.action, _nums(x.recommendations), ", ".join(x.rules[:2])])
        for x, when in s.late:
            rows.append([m.label, f"expected, done late ({when})", x.action, _nums(x.recommendations),
                         ", ".join(x.rules[:2])])
        for x in s.missed:
            rows.append([m.label, "expected, missed", x.action, _nums(x.recommendations), ", ".join(x.rules[:2])])
        for u in s.unexpected:
            rows.append([m.label, "done, not expected", u.name + (f" ({u.role})" if u.role else ""),
                         _nums(u.recommendations), ", ".join(u.rules[:2]) or "no rule concludes it"])
    return rows


def _plan_rows(r: Report) -> list[list[Any]]:
    return [[p.issue, p.recommendation, p.corrective_action, p.responsible, p.due] for p in r.plan]


def _summary(r: Report) -> str:
    done, late, missed, extra = r.totals
    return (f"{done} expected actions done, {late} done late, {missed} missed, {extra} done but not expected.")


def hotwash_markdown(r: Report) -> str:
    out = _head(r.exercise, r.title, "After-Action Report / Improvement Plan")
    out += ["## Hot wash: decisions against the rule-derived expectations", "", _md_escape(_summary(r)), "",
            _md_table(SCORE_HEADERS, _score_rows(r)), ""]
    notes = [(s.module.label, s.notes) for s in r.scores if s.notes]
    if notes:
        out += ["### Players' notes", ""] + [f"- **{_md_escape(k, block=False)}:** {_md_escape(v, block=False)}"
                                            for k, v in notes] + [""]
    out += ["## Strengths", ""] + ([f"- {_md_escape(x, block=False)}" for x in r.strengths] or ["- (none recorded)"])
    out += ["", "## Areas for improvement", ""]
    out += [f"- {_md_escape(x, block=False)}" for x in r.improvements] or ["- (none)"]
    out += ["", "## Improvement Plan", "",
            _md_table(PLAN_HEADERS, _plan_rows(r)) if r.plan else "No corrective action: every expected action was done.",
            "", "_Due dates are left for the planners._", ""]
    return "\n".join(out)


def hotwash_html(r: Report) -> str:
    name = r.exercise.get("name") or r.title
    body = [f"<h1>After-Action Report / Improvement Plan: {_h(name)}</h1>", f'<p class="meta">Scenario: {_h(r.title)}</p>',
            "<h2>Hot wash: decisions against the rule-derived expectations</h2>", f"<p>{_h(_summary(r))}</p>",
            _html_table(SCORE_HEADERS, _score_rows(r)), "<h2>Strengths</h2>",
            "<ul>" + "".join(f"<li>{_h(x)}</li>" for x in r.strengths) + "</ul>",
            "<h2>Areas for improvement</h2>", "<ul>" + "".join(f"<li>{_h(x)}</li>" for x in r.improvements) + "</ul>",
            "<h2>Improvement Plan</h2>", _html_table(PLAN_HEADERS, _plan_rows(r)),
            "<p><em>Due dates are left for the planners.</em></p>"]
    return _html_page(f"AAR/IP: {name}", _marking(r.exercise), body)


def hotwash_docx(r: Report) -> bytes:
    doc = _docx()
    _docx_head(doc, r.exercise, r.title, "After-Action Report / Improvement Plan")
    doc.add_heading("Hot wash: decisions against the rule-derived expectations", level=1)
    doc.add_paragraph(_summary(r))
    _docx_table(doc, SCORE_HEADERS, _score_rows(r))
    doc.add_heading("Strengths", level=1)
    for x in r.strengths or ["(none recorded)"]:
        doc.add_paragraph(_docx_text(x), style="List Bullet")
    doc.add_heading("Areas for improvement", level=1)
    for x in r.improvements or ["(none)"]:
        doc.add_paragraph(_docx_text(x), style="List Bullet")
    doc.add_heading("Improvement Plan", level=1)
    _docx_table(doc, PLAN_HEADERS, _plan_rows(r))
    doc.add_paragraph("Due dates are left for the planners.")
    return _docx_bytes(doc)


# --- role cards ----------------------------------------------------------------------------------

def _card_sections(c: Card) -> list[tuple[str, list[str]]]:
    roles = [f"{module}: {role} (rule {rule}; rec. {_nums(recs)}; basis: {basis.replace('_', ' ')})"
             + (f": {note}" if note else "") for module, role, rule, basis, recs, note in c.roles]
    return [("What the document asks of you", roles),
            ("Measures that name you or your sector", [f"{t} ({cit})" for t, cit in c.measures] or ["(none)"]),
            ("Frameworks you work in", c.frameworks or ["(none named)"]),
            ("States you work with", c.states or ["(none named)"]),
            ("Your legal limits", [f"{t} ({cit})" for t, cit in c.caveats] or ["(none in this scenario)"])]


def rolecards_markdown(cards: list[Card], exercise: dict[str, Any], title: str) -> str:
    out = _head(exercise, title, "Role cards")
    for i, c in enumerate(cards):
        if i:
            out += ['<div style="break-after: page"></div>', ""]
        out += [f"## {_md_escape(c.name, block=False)}", ""]
        if c.player:
            out += [f"**Player:** {_md_escape(c.player, block=False)}", ""]
        for head, items in _card_sections(c):
            out += [f"### {head}", ""] + [f"- {_md_escape(x, block=False)}" for x in items] + [""]
    return "\n".join(out)


def rolecards_html(cards: list[Card], exercise: dict[str, Any], title: str) -> str:
    name = exercise.get("name") or title
    body = [f"<h1>Role cards: {_h(name)}</h1>", f'<p class="meta">Scenario: {_h(title)}</p>']
    for c in cards:
        body += ['<section class="card">', f"<h2>{_h(c.name)}</h2>"]
        if c.player:
            body.append(f'<p class="meta">Player: {_h(c.player)}</p>')
        for head, items in _card_sections(c):
            body += [f"<h3>{_h(head)}</h3>", "<ul>" + "".join(f"<li>{_h(x)}</li>" for x in items) + "</ul>"]
        body.append("</section>")
    return _html_page(f"Role cards: {name}", _marking(exercise), body)
