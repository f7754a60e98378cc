"""Word (DOCX): the tabletop brief and handout, and the exercise documents: Exercise Evaluation Guides,
hot wash (AAR/IP), role cards."""

from __future__ import annotations

import io
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from . import documents
from .names import brief_basis, brief_label, cover_facts, exercise_words, header_facts, module_heading, module_number
from .rows import nums_or_dash
from .safe import docx_text

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

    from ..brief import Answer, Packet, PacketModule
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


# the date every part of the package carries (the ZIP format's earliest), instead of the time of saving
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _docx_bytes(doc: DocxDocument) -> bytes:
    """The document as the bytes of a .docx file, the same bytes for the same document: python-docx
    stamps each part of the package with the time of saving, so the parts are written again with one
    fixed date (the core properties, dates included, are the template's own and fixed already)."""
    import zipfile

    saved = io.BytesIO()
    doc.save(saved)
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            part = zipfile.ZipInfo(item.filename, date_time=_ZIP_DATE)
            part.compress_type = zipfile.ZIP_DEFLATED
            part.create_system = 3  # as on Unix wherever it is written: the same bytes on every system
            part.external_attr = 0o600 << 16
            dst.writestr(part, src.read(item))
    return out.getvalue()


# --- the tabletop brief ------------------------------------------------------------------------------


def brief_docx(p: Packet, facilitator: bool, parties: str | None = None) -> bytes:
    """The participants' situation manual as a Word document, or with `facilitator` the controller's guide:
    the content of `markdown.brief_markdown`, in its order, with the handling marking also in every page's
    header and footer.

    Word cannot show a Mermaid picture, so the pictures become words. The facilitator's network is a table
    of who belongs to what, under the network's heading: each framework of the answer, layer by layer (the
    existing, then the proposed, marked as the picture marks them), with its layer and the states that are
    members of it; the agencies and their roles are the answer key's. The participants' picture of the
    parties (`parties`, the Mermaid text of `brief.parties(..., "markdown")`) becomes the list of the
    states it shows, under the same heading as in Markdown; without it there is no such section."""
    L = lambda k: brief_label(p, k)  # noqa: E731
    doc = _docx()
    _brief_marking(doc, p.marking)
    doc.add_heading(docx_text(p.exercise or p.title), level=0)
    doc.add_heading(docx_text(L("facilitator_guide" if facilitator else "participant_manual")), level=1)
    _brief_facts(doc, cover_facts(p))
    _styled(doc, L("prepared"), italic=True)
    _brief_objectives(doc, p)
    if facilitator and p.players:
        doc.add_heading(docx_text(L("players")), level=1)
        _docx_table(doc, [L("player_role"), L("player_agency")], [[r, g or "-"] for r, g in p.players])
    _brief_situation(doc, p)
    if facilitator:
        _styled(doc, L("basis_legend"), italic=True)
    else:
        shown = _mermaid_states(parties or "")
        if shown:  # the participants' picture: the parties only (the facilitator's is the network)
            doc.add_heading(docx_text(L("parties")), level=2)
            for name in shown:
                _bullet(doc, name)
    for m in p.modules:
        doc.add_heading(docx_text(module_heading(p, m)), level=1)
        _brief_facts(doc, header_facts(p, m))
        if m.stage and m.description:
            doc.add_paragraph(docx_text(m.description))
        if m.objectives:
            _styled(doc, f"{L('objectives_tested')}:", bold=True)
            for i, t in m.objectives:
                _bullet(doc, f"{i} {t}")
        doc.add_heading(docx_text(L("key_issues")), level=2)
        if m.issues:
            for n, title in m.issues:
                _bullet(doc, f"{n}. {title}")
            doc.add_heading(docx_text(L("questions")), level=2)
            for n, title, qs in m.questions:
                _styled(doc, f"{n}. {title}", bold=True)
                for q in qs:
                    _bullet(doc, q)
        else:
            doc.add_paragraph(docx_text(L("no_new_issues")))
        if facilitator:
            _brief_answers(doc, p, m)
    if facilitator and p.msel:
        doc.add_heading(docx_text(L("msel")), level=1)
        _docx_table(
            doc,
            [L(k) for k in ("msel_stage", "msel_inject", "msel_action", "msel_who", "msel_recommendations")],
            [[x.stage, x.inject, x.action, x.actor, nums_or_dash(x.recommendations)] for x in p.msel],
        )
    doc.add_heading(docx_text(L("references")), level=1)
    for n, title in p.references:
        _bullet(doc, f"{L('recommendation')} {n}: “{title}”")
    _styled(doc, p.marking, bold=True)
    return _docx_bytes(doc)


def _brief_answers(doc: DocxDocument, p: Packet, m: PacketModule) -> None:
    """A module's answer key (the facilitator's guide only), as `markdown.brief_markdown` has it."""
    L = lambda k: brief_label(p, k)  # noqa: E731
    sep = "：" if p.lang == "ja" else ": "

    def answer(a: Answer, lead: str = "") -> None:
        line = f"{a.text} ({a.detail}) [{brief_basis(p, a.basis)}]"
        if a.note and a.basis != "document":
            line += f" — {a.note}"
        _bullet(doc, line, lead)
        if a.quote:
            _bullet(doc, f"{L('source')}{sep}“{a.quote}”", level=2)

    doc.add_heading(docx_text(L("answer_key")), level=2)
    if m.stage == 0:
        _lead(doc, f"{L('nature')}:", p.nature)
        for d in p.derived:
            _bullet(doc, d)
        if p.families:
            _styled(doc, L("side_by_side"), bold=True)
            pairs = zip_longest(p.families["deterrence"], p.families["cooperation"], fillvalue="")
            _docx_table(doc, [L("deterrence"), L("cooperation")], [list(pair) for pair in pairs])
    else:
        if m.changes:
            _lead(doc, f"{L('changes')}:", m.changes)
        _lead(doc, f"{L('in_play')}:", "; ".join(m.in_play))
        for key, rows in (("added", m.added), ("kept", m.kept), ("dropped", m.dropped)):
            if rows:
                _styled(doc, L(key), bold=True)
                for kind, refs in rows:
                    _bullet(doc, f"{L('kind_' + kind)}: " + "; ".join(refs))
        if m.roles_changed:
            _lead(doc, f"{L('roles_changed')}:", "; ".join(f"{g}: {b} → {a}" for g, b, a in m.roles_changed))
        if not m.added and not m.dropped and not m.roles_changed:
            doc.add_paragraph(docx_text(L("nothing_changed")))
    if m.frameworks:
        doc.add_heading(docx_text(L("frameworks" if m.stage == 0 else "new_frameworks")), level=3)
        for layer, answers in m.frameworks:
            _styled(doc, layer, italic=True)
            for a in answers:
                answer(a)
    if m.agencies:
        doc.add_heading(docx_text(L("agencies")), level=3)
        for role, answers in m.agencies:
            for a in answers:
                answer(a, f"{L('role_' + role)}: ")
    for key, new_key, items in (("measures", "new_measures", m.measures), ("caveats", "new_caveats", m.caveats)):
        if items:
            doc.add_heading(docx_text(L(key if m.stage == 0 else new_key)), level=3)
            for a in items:
                answer(a)
    if m.since:
        doc.add_heading(docx_text(L("since_2002")), level=3)
        for name, year, text in m.since:
            _bullet(doc, f" ({year}): {text}", name)
    if m.stage == 0:
        doc.add_heading(docx_text(L("participants")), level=3)
        _docx_table(
            doc,
            [L("state"), L("sits_in")],
            [[f"{name} ({code})", ", ".join(fws) or "-"] for code, name, fws in p.participants],
        )
        doc.add_heading(docx_text(L("network")), level=3)
        _docx_table(doc, [L("graph_framework"), L("graph_layer"), L("graph_states")], _network_rows(p))


def _network_rows(p: Packet) -> list[list[str]]:
    """The network in words: each framework of the answer, layer by layer (the existing, then the proposed),
    with its layer and the states that are members of it."""
    rows = []
    for layer, existing, proposed in p.layers:
        for fws, marked in ((existing, False), (proposed, True)):
            for _, name, _ in fws:
                members = [f"{state} ({code})" for code, state, sits_in in p.participants if name in sits_in]
                shown = brief_label(p, "graph_proposed").format(name=name) if marked else name
                rows.append([shown, layer, ", ".join(members) or "-"])
    return rows


def _mermaid_states(mermaid: str) -> list[str]:
    """The labels of the state nodes of a Mermaid picture that `graph.to_mermaid` wrote, as it shows them."""
    import re

    from ..graph import _MERMAID_ENTITIES

    plain = {entity: char for char, entity in _MERMAID_ENTITIES.items()}
    entity = re.compile("|".join(re.escape(e) for e in plain))
    return [
        entity.sub(lambda m: plain[m.group()], label)
        for label in re.findall(r'^ *s_\w+\(\["(.*)"\]\)$', mermaid, flags=re.M)
    ]


def brief_handout_docx(p: Packet) -> bytes:
    """The one-page handout as a Word document, as `markdown.brief_handout_markdown` has it: the exercise,
    its marking (also in the page's header and footer) and objectives, the starting situation, the schedule."""
    L = lambda k: brief_label(p, k)  # noqa: E731
    doc = _docx()
    _brief_marking(doc, p.marking)
    doc.add_heading(docx_text(p.exercise or p.title), level=0)
    _styled(doc, L("handout"), italic=True)
    _brief_facts(doc, [(L(k), v) for k, v in (("sponsor", p.sponsor), ("dates", p.dates)) if v])
    _brief_objectives(doc, p)
    _brief_situation(doc, p)
    doc.add_heading(docx_text(L("schedule")), level=1)
    _docx_table(
        doc,
        [L(k) for k in ("module", "time", "delivery", "from", "to", "title")],
        [
            [module_number(p, m), m.time or "-", m.delivery or "-", m.sender or "-", m.to or "-", m.title]
            for m in p.modules
        ],
    )
    _styled(doc, p.marking, bold=True)
    return _docx_bytes(doc)


def _brief_marking(doc: DocxDocument, marking: str) -> None:
    """The handling marking in every page's header and footer, and in bold at the top of the first."""
    section = doc.sections[0]
    section.header.paragraphs[0].text = docx_text(marking)
    section.footer.paragraphs[0].text = docx_text(marking)
    _styled(doc, marking, bold=True)


def _brief_facts(doc: DocxDocument, pairs: list[tuple[str, str]]) -> None:
    """Labelled facts, one bullet each: the label in bold."""
    for k, v in pairs:
        _bullet(doc, v, f"{k}: ")


def _brief_objectives(doc: DocxDocument, p: Packet) -> None:
    if p.objectives:
        doc.add_heading(docx_text(brief_label(p, "objectives")), level=1)
        for i, text in p.objectives:
            _bullet(doc, f" {text}", i)


def _brief_situation(doc: DocxDocument, p: Packet) -> None:
    """The starting situation: its description and the scenario's facts."""
    doc.add_heading(docx_text(brief_label(p, "starting_situation")), level=1)
    if p.description:
        doc.add_paragraph(docx_text(p.description))
    _brief_facts(doc, p.scenario)


def _styled(doc: DocxDocument, text: Any, bold: bool = False, italic: bool = False) -> None:
    """A paragraph of one run, in bold or italics."""
    run = doc.add_paragraph().add_run(docx_text(text))
    run.bold, run.italic = bold or None, italic or None


def _lead(doc: DocxDocument, label: str, text: Any) -> None:
    """A paragraph: the label in bold, a space, then the text."""
    p = doc.add_paragraph()
    p.add_run(docx_text(label)).bold = True
    p.add_run(" " + docx_text(text))


def _bullet(doc: DocxDocument, text: Any, lead: Any = "", level: int = 1) -> None:
    """A bullet (`level` 2: one under the bullet before), with `lead` in bold before the text."""
    p = doc.add_paragraph(style="List Bullet" if level == 1 else f"List Bullet {level}")
    if lead:
        p.add_run(docx_text(lead)).bold = True
    p.add_run(docx_text(text))


# --- the exercise documents: EEGs, hot wash, role cards -----------------------------------------------


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
