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
    lines = [
        f"**{_md_escape(marking, block=False)}**",
        "",
        f"# {what}: {_md_escape(exercise.get('name') or title, block=False)}",
        "",
    ]
    facts = [
        (words("scenario"), title),
        (words("sponsor"), exercise.get("sponsor")),
        (words("dates"), exercise.get("dates")),
    ]
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


def _html_page(title: str, marking: str, body: list[str], words: Words = ENGLISH) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{"ja" if words.ja else "en"}">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{_h(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f'<p class="marking">{_h(marking)}</p>',
            *body,
            f'<p class="marking">{_h(marking)}</p>',
            "</body>",
            "</html>",
            "",
        ]
    )


def _html_table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{_h(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        out.append(
            "<tr>"
            + "".join(f"<td>{'<br>'.join(_h(v) for v in c) if isinstance(c, list) else _h(c)}</td>" for c in row)
            + "</tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _marking(exercise: dict[str, Any]) -> str:
    return (exercise or {}).get("marking", "FOR EXERCISE USE ONLY")


# --- Exercise Evaluation Guides ---------------------------------------------------------------------


def _task_rows(g: Guide, words: Words = ENGLISH) -> list[list[Any]]:
    return [
        [
            i,
            t.module,
            words("continuing", action=t.action) if t.continuing else t.action,
            _nums(t.recommendations),
            ", ".join(t.rules),
            words.basis(t.basis),
            "",
            "",
        ]
        for i, t in enumerate(g.tasks, start=1)
    ]


def _task_headers(words: Words = ENGLISH) -> list[str]:
    return ["#"] + [
        words(k) for k in ("col_module", "task_action", "rec", "rule", "task_basis", "observations", "task_rating")
    ]


def _rating_key(words: Words = ENGLISH) -> str:
    return words(
        "rating_key",
        ratings=words("sep").join(words("rating_item", letter=k, text=words(f"rating_{k.lower()}")) for k in RATINGS),
    )


def eeg_markdown(guides: list[Guide], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> str:
    w = words
    out = _head(exercise, title, w("eeg_title"), w)
    out += [f"_{_md_escape(_rating_key(w), block=False)}_", ""]
    if not guides:
        out += [w("no_objectives"), ""]
    for g in guides:
        out += [
            f"## {_md_escape(w('objective', id=g.id, text=g.text), block=False)}",
            "",
            f"- **{w('recommendations')}:** {_nums(g.recommendations) or '-'}",
            f"- **{w('modules')}:** {_md_escape(w('comma').join(g.modules) or '-', block=False)}",
            "",
        ]
        out += [_md_table(_task_headers(w), _task_rows(g, w)) if g.tasks else w("no_tasks"), ""]
        out += [f"**{w('reasons')}**", ""]
        seen = set()
        for t in g.tasks:
            for rule in t.rules[:1]:
                if rule not in seen and t.because:
                    seen.add(rule)
                    out.append(f"- `{rule}`: {_md_escape(t.because, block=False)}")
        out += [
            "",
            f"**{w('observations_write_in')}**",
            "",
            "&nbsp;",
            "",
            "&nbsp;",
            "",
            f"**{w('overall_rating')}** ____  **{w('evaluator')}** ____________",
            "",
        ]
    return "\n".join(out)


def eeg_html(guides: list[Guide], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> str:
    w = words
    name = exercise.get("name") or title
    body = [
        f"<h1>{_h(w('page_title', what=w('eeg_title'), name=name))}</h1>",
        f'<p class="meta">{_h(w("labelled", label=w("scenario"), value=title))}</p>',
        f"<p><em>{_h(_rating_key(w))}</em></p>",
    ]
    for g in guides:
        body += [
            '<section class="guide">',
            f"<h2>{_h(w('objective', id=g.id, text=g.text))}</h2>",
            f'<p class="meta">{_h(_guide_meta(g, w))}</p>',
            _html_table(_task_headers(w), _task_rows(g, w)),
            f"<h3>{_h(w('observations'))}</h3>",
            '<div class="write-in"></div>',
            f"<p>{_h(w('overall_rating_short'))} ____ &nbsp; {_h(w('evaluator'))} ____________</p>",
            "</section>",
        ]
    return _html_page(w("page_title", what=w("eeg_page"), name=name), _marking(exercise), body, w)


def _guide_meta(g: Guide, words: Words = ENGLISH) -> str:
    return words(
        "guide_meta", recommendations=_nums(g.recommendations) or "-", modules=words("comma").join(g.modules) or "-"
    )


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


def _docx_head(doc, exercise: dict[str, Any], title: str, what: str, words: Words = ENGLISH) -> None:
    marking = _docx_text(_marking(exercise))
    section = doc.sections[0]
    section.header.paragraphs[0].text = marking
    section.footer.paragraphs[0].text = marking
    doc.add_heading(_docx_text(words("page_title", what=what, name=exercise.get("name") or title)), level=0)
    for k, v in (("scenario", title), ("sponsor", exercise.get("sponsor")), ("dates", exercise.get("dates"))):
        if v:
            p = doc.add_paragraph()
            p.add_run(words("labelled", label=words(k), value="")).bold = True
            p.add_run(_docx_text(v))


def _docx_bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def eeg_docx(guides: list[Guide], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> bytes:
    w = words
    doc = _docx()
    _docx_head(doc, exercise, title, w("eeg_title"), w)
    doc.add_paragraph(_rating_key(w))
    for i, g in enumerate(guides):
        if i:
            doc.add_page_break()
        doc.add_heading(_docx_text(w("objective", id=g.id, text=g.text)), level=1)
        doc.add_paragraph(_docx_text(_guide_meta(g, w)))
        _docx_table(doc, _task_headers(w), _task_rows(g, w))
        doc.add_heading(w("observations"), level=2)
        doc.add_paragraph("\n\n")
        doc.add_paragraph(f"{w('overall_rating_short')} ____    {w('evaluator')} ____________")
    return _docx_bytes(doc)


# --- the hot wash: scores, AAR and Improvement Plan ----------------------------------------------------


def _score_headers(words: Words = ENGLISH) -> list[str]:
    return [words(k) for k in ("col_module", "result", "action", "rec", "rule")]


def _plan_headers(words: Words = ENGLISH) -> list[str]:
    return [words(k) for k in ("plan_issue", "plan_recommendation", "plan_action", "plan_responsible", "plan_due")]


def _score_rows(r: Report, words: Words = ENGLISH) -> list[list[Any]]:
    w = words
    rows = []
    for s in r.scores:
        m = s.module
        for x in s.done:
            rows.append([m.label, w("result_done"), x.action, _nums(x.recommendations), ", ".join(x.rules[:2])])
        for x, when in s.late:
            rows.append(
                [m.label, w("result_late", when=when), x.action, _nums(x.recommendations), ", ".join(x.rules[:2])]
            )
        for x in s.missed:
            rows.append([m.label, w("result_missed"), x.action, _nums(x.recommendations), ", ".join(x.rules[:2])])
        for u in s.unexpected:
            rows.append(
                [
                    m.label,
                    w("result_unexpected"),
                    w("with_role", name=u.name, role=w.role(u.role)) if u.role else u.name,
                    _nums(u.recommendations),
                    ", ".join(u.rules[:2]) or w("no_rule"),
                ]
            )
    return rows


def _plan_rows(r: Report) -> list[list[Any]]:
    return [[p.issue, p.recommendation, p.corrective_action, p.responsible, p.due] for p in r.plan]


def _summary(r: Report, words: Words = ENGLISH) -> str:
    done, late, missed, extra = r.totals
    return words("summary", done=done, late=late, missed=missed, extra=extra)


def hotwash_markdown(r: Report, words: Words = ENGLISH) -> str:
    w = words
    out = _head(r.exercise, r.title, w("aar_title"), w)
    out += [
        f"## {w('hotwash')}",
        "",
        _md_escape(_summary(r, w)),
        "",
        _md_table(_score_headers(w), _score_rows(r, w)),
        "",
    ]
    notes = [(s.module.label, s.notes) for s in r.scores if s.notes]
    if notes:
        out += (
            [f"### {w('players_notes')}", ""]
            + [f"- **{_md_escape(k, block=False)}:** {_md_escape(v, block=False)}" for k, v in notes]
            + [""]
        )
    out += [f"## {w('strengths')}", ""] + (
        [f"- {_md_escape(x, block=False)}" for x in r.strengths] or [f"- {w('none_recorded')}"]
    )
    out += ["", f"## {w('improvements')}", ""]
    out += [f"- {_md_escape(x, block=False)}" for x in r.improvements] or [f"- {w('none')}"]
    out += [
        "",
        f"## {w('improvement_plan')}",
        "",
        _md_table(_plan_headers(w), _plan_rows(r)) if r.plan else w("no_corrective"),
        "",
        f"_{w('due_note')}_",
        "",
    ]
    return "\n".join(out)


def hotwash_html(r: Report, words: Words = ENGLISH) -> str:
    w = words
    name = r.exercise.get("name") or r.title
    body = [
        f"<h1>{_h(w('page_title', what=w('aar_title'), name=name))}</h1>",
        f'<p class="meta">{_h(w("labelled", label=w("scenario"), value=r.title))}</p>',
        f"<h2>{_h(w('hotwash'))}</h2>",
        f"<p>{_h(_summary(r, w))}</p>",
        _html_table(_score_headers(w), _score_rows(r, w)),
        f"<h2>{_h(w('strengths'))}</h2>",
        "<ul>" + "".join(f"<li>{_h(x)}</li>" for x in r.strengths) + "</ul>",
        f"<h2>{_h(w('improvements'))}</h2>",
        "<ul>" + "".join(f"<li>{_h(x)}</li>" for x in r.improvements) + "</ul>",
        f"<h2>{_h(w('improvement_plan'))}</h2>",
        _html_table(_plan_headers(w), _plan_rows(r)),
        f"<p><em>{_h(w('due_note'))}</em></p>",
    ]
    return _html_page(w("page_title", what=w("aar_page"), name=name), _marking(r.exercise), body, w)


def hotwash_docx(r: Report, words: Words = ENGLISH) -> bytes:
    w = words
    doc = _docx()
    _docx_head(doc, r.exercise, r.title, w("aar_title"), w)
    doc.add_heading(w("hotwash"), level=1)
    doc.add_paragraph(_summary(r, w))
    _docx_table(doc, _score_headers(w), _score_rows(r, w))
    doc.add_heading(w("strengths"), level=1)
    for x in r.strengths or [w("none_recorded")]:
        doc.add_paragraph(_docx_text(x), style="List Bullet")
    doc.add_heading(w("improvements"), level=1)
    for x in r.improvements or [w("none")]:
        doc.add_paragraph(_docx_text(x), style="List Bullet")
    doc.add_heading(w("improvement_plan"), level=1)
    _docx_table(doc, _plan_headers(w), _plan_rows(r))
    doc.add_paragraph(w("due_note"))
    return _docx_bytes(doc)


# --- role cards ----------------------------------------------------------------------------------


def _card_sections(c: Card, words: Words = ENGLISH) -> list[tuple[str, list[str]]]:
    w = words
    roles = []
    for module, role, rule, basis, recs, note in c.roles:
        text = w("card_role", module=module, role=w.role(role), rule=rule, numbers=_nums(recs), basis=w.basis(basis))
        roles.append(w("card_note", text=text, note=note) if note else text)
    return [
        (w("card_asks"), roles),
        (w("card_measures"), [w("card_cited", text=t, citation=cit) for t, cit in c.measures] or [w("none")]),
        (w("card_frameworks"), c.frameworks or [w("none_named")]),
        (w("card_states"), c.states or [w("none_named")]),
        (w("card_limits"), [w("card_cited", text=t, citation=cit) for t, cit in c.caveats] or [w("none_in_scenario")]),
    ]


def rolecards_markdown(cards: list[Card], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> str:
    w = words
    out = _head(exercise, title, w("cards_title"), w)
    for i, c in enumerate(cards):
        if i:
            out += ['<div style="break-after: page"></div>', ""]
        out += [f"## {_md_escape(c.name, block=False)}", ""]
        if c.player:
            out += [f"**{w('player')}:** {_md_escape(c.player, block=False)}", ""]
        for head, items in _card_sections(c, w):
            out += [f"### {head}", ""] + [f"- {_md_escape(x, block=False)}" for x in items] + [""]
    return "\n".join(out)


def rolecards_html(cards: list[Card], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> str:
    w = words
    name = exercise.get("name") or title
    body = [
        f"<h1>{_h(w('page_title', what=w('cards_title'), name=name))}</h1>",
        f'<p class="meta">{_h(w("labelled", label=w("scenario"), value=title))}</p>',
    ]
    for c in cards:
        body += ['<section class="card">', f"<h2>{_h(c.name)}</h2>"]
        if c.player:
            body.append(f'<p class="meta">{_h(w("labelled", label=w("player"), value=c.player))}</p>')
        for head, items in _card_sections(c, w):
            body += [f"<h3>{_h(head)}</h3>", "<ul>" + "".join(f"<li>{_h(x)}</li>" for x in items) + "</ul>"]
        body.append("</section>")
    return _html_page(w("page_title", what=w("cards_title"), name=name), _marking(exercise), body, w)


def rolecards_docx(cards: list[Card], exercise: dict[str, Any], title: str, words: Words = ENGLISH) -> bytes:
    """The role cards as a Word document, one card a page."""
    w = words
    doc = _docx()
    _docx_head(doc, exercise, title, w("cards_title"), w)
    for i, c in enumerate(cards):
        if i:
            doc.add_page_break()
        doc.add_heading(_docx_text(c.name), level=1)
        if c.player:
            p = doc.add_paragraph()
            p.add_run(w("labelled", label=w("player"), value="")).bold = True
            p.add_run(_docx_text(c.player))
        for head, items in _card_sections(c, w):
            doc.add_heading(head, level=2)
            for x in items:
                doc.add_paragraph(_docx_text(x), style="List Bullet")
    return _docx_bytes(doc)
