"""Word (DOCX): the exercise documents: Exercise Evaluation Guides, hot wash (AAR/IP), role cards."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from . import documents
from .names import exercise_words
from .safe import docx_text

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

    from ..exercise import Card, Guide, Report, Words


def _docx() -> DocxDocument:
    from docx import Document

    return Document()


def _docx_table(doc: DocxDocument, headers: list[str], rows: list[list[Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers):
        cell.text = ""
        cell.paragraphs[0].add_run(docx_text(text)).bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = docx_text(value)


def _docx_head(doc: DocxDocument, exercise: dict[str, Any], title: str, what: str, words: Words) -> None:
    marking = docx_text(documents.marking(exercise))
    section = doc.sections[0]
    section.header.paragraphs[0].text = marking
    section.footer.paragraphs[0].text = marking
    doc.add_heading(docx_text(words("page_title", what=what, name=exercise.get("name") or title)), level=0)
    for k, v in (("scenario", title), ("sponsor", exercise.get("sponsor")), ("dates", exercise.get("dates"))):
        if v:
            _labelled(doc, words("labelled", label=words(k), value=""), v)


def _labelled(doc: DocxDocument, label: str, value: Any) -> None:
    """A paragraph: the label in bold, then the value."""
    p = doc.add_paragraph()
    p.add_run(label).bold = True
    p.add_run(docx_text(value))


def _docx_bytes(doc: DocxDocument) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def eeg_docx(guides: list[Guide], exercise: dict[str, Any], title: str, words: Words | None = None) -> bytes:
    w = exercise_words(words)
    doc = _docx()
    _docx_head(doc, exercise, title, w("eeg_title"), w)
    doc.add_paragraph(documents.rating_key(w))
    for i, g in enumerate(guides):
        if i:
            doc.add_page_break()
        doc.add_heading(docx_text(w("objective", id=g.id, text=g.text)), level=1)
        doc.add_paragraph(docx_text(documents.guide_meta(g, w)))
        _docx_table(doc, documents.task_headers(w), documents.task_rows(g, w))
        doc.add_heading(w("observations"), level=2)
        doc.add_paragraph("\n\n")
        doc.add_paragraph(f"{w('overall_rating_short')} ____    {w('evaluator')} ____________")
    return _docx_bytes(doc)


def hotwash_docx(r: Report, words: Words | None = None) -> bytes:
    w = exercise_words(words)
    doc = _docx()
    _docx_head(doc, r.exercise, r.title, w("aar_title"), w)
    doc.add_heading(w("hotwash"), level=1)
    doc.add_paragraph(documents.hotwash_summary(r, w))
    _docx_table(doc, documents.score_headers(w), documents.score_rows(r, w))
    doc.add_heading(w("strengths"), level=1)
    for x in r.strengths or [w("none_recorded")]:
        doc.add_paragraph(docx_text(x), style="List Bullet")
    doc.add_heading(w("improvements"), level=1)
    for x in r.improvements or [w("none")]:
        doc.add_paragraph(docx_text(x), style="List Bullet")
    doc.add_heading(w("improvement_plan"), level=1)
    _docx_table(doc, documents.plan_headers(w), documents.plan_rows(r))
    doc.add_paragraph(w("due_note"))
    return _docx_bytes(doc)


def rolecards_docx(cards: list[Card], exercise: dict[str, Any], title: str, words: Words | None = None) -> bytes:
    """The role cards as a Word document, one card a page."""
    w = exercise_words(words)
    doc = _docx()
    _docx_head(doc, exercise, title, w("cards_title"), w)
    for i, c in enumerate(cards):
        if i:
            doc.add_page_break()
        doc.add_heading(docx_text(c.name), level=1)
        if c.player:
            _labelled(doc, w("labelled", label=w("player"), value=""), c.player)
        for head, items in documents.card_sections(c, w):
            doc.add_heading(head, level=2)
            for x in items:
                doc.add_paragraph(docx_text(x), style="List Bullet")
    return _docx_bytes(doc)
