"""Markdown: the assessment, catalog listings, the tabletop brief and handout, the matrix, the exercise documents.

Every piece of user text goes through `safe.md_escape` (or `md_code`); a table cell can start no block,
so only the inline escapes apply there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import documents
from .names import (
    Names,
    brief_basis,
    brief_label,
    cover_facts,
    exercise_words,
    header_facts,
    module_heading,
    module_number,
)
from .rows import catalog_rows, matrix_key, matrix_rows, matrix_summary, nums, nums_or_dash
from .safe import Markdown, md_code, md_escape, printable
from .text import stage_lines

if TYPE_CHECKING:
    from ..brief import Answer, MatrixRow, Packet, PacketModule
    from ..catalog import Catalog
    from ..exercise import Card, Guide, MselRow, Report, Words
    from ..models import Assessment


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table, every cell escaped (a cell can start no block, so only the inline escapes apply)."""
    lines = [
        "| " + " | ".join(md_escape(h, block=False) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(md_escape(c, block=False) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _section(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A section of the assessment: its heading and its table."""
    return [f"## {title}", "", md_table(headers, rows), ""]


def assessment_markdown(a: Assessment, names: Names | None = None) -> str:
    """The assessment as Markdown that renders cleanly on a code-hosting site."""
    names = names or Names()
    t = {k: md_escape(v, block=False) if isinstance(v, str) else v for k, v in a.threat.items()}
    out = [f"# {md_escape(a.threat.get('title') or a.threat['id'])}", ""]
    facts = [f"**Type:** {t['type']} ({a.nature.category.replace('_', '-')})"]
    if t.get("region"):
        facts.append(f"**Region:** {t['region']}")
    if t.get("states"):
        facts.append(f"**States:** {md_escape(', '.join(t['states']), block=False)}")
    facts += [f"**Actor:** {t['actor']}", f"**Severity:** {t['severity']}"]
    out += [" · ".join(facts), ""]
    out += _section(
        "Recommendations",
        ["No.", "Title", "Cited"],
        [[r.number, r.title, ", ".join(r.citations)] for r in a.recommendations],
    )
    out += _section(
        "Frameworks",
        ["Framework", "Status", "Layer", "Recommendations", "Basis"],
        [
            [names("frameworks", f.id, f.name), f.status, f.layer.replace("_", " "), nums(f.recommendations), f.basis]
            for f in a.frameworks
        ],
    )
    out += _section(
        "States",
        ["Code", "Name", "Frameworks", "Recommendations", "Basis"],
        [
            [s.code, names("states", s.code, s.name), ", ".join(s.frameworks), nums(s.recommendations), s.basis]
            for s in a.states
        ],
    )
    out += _section(
        "Japanese agencies",
        ["Agency", "Role", "Recommendations", "Basis", "Role basis"],
        [[names("agencies", g.id, g.name), g.role, nums(g.recommendations), g.basis, g.role_basis] for g in a.agencies],
    )
    e = md_escape
    if a.measures:
        out += ["## Measures", ""] + [f"- {e(m.text)} ({e(m.citation, False)})" for m in a.measures] + [""]
    if a.caveats:
        out += ["## Caveats", ""] + [f"- {e(c.text)} ({e(c.citation, False)})" for c in a.caveats] + [""]
    out += _section(
        "Trace",
        ["Step", "Rule", "Recommendations", "Because", "Basis"],
        [[x.step, md_code(x.rule), ", ".join(x.citations), x.because, x.basis] for x in a.trace],
    )
    if a.stages:
        # one line a stage: a wrapped line would start a list item of its own
        out += (
            ["## Stages", ""]
            + [
                "        " + e(line[4:], False) if line.startswith("    ") else f"- {e(line)}"
                for line in stage_lines(a, width=None)
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


def catalog_markdown(catalog: Catalog, what: str) -> str:
    """One `advisor catalog` listing as a Markdown table."""
    headers, rows, _ = catalog_rows(catalog, what)
    return printable(md_table(headers, rows) + "\n")


def matrix_markdown(rows: list[MatrixRow], catalog: Catalog, names: Names) -> str:
    """The role matrix as a Markdown table, with its key and a summary of the flags."""
    headers, body = matrix_rows(rows, catalog)
    return printable(
        md_table(headers, body) + "\n\n" + md_escape(matrix_key(catalog, names)) + "\n\n" + matrix_summary(rows) + "\n"
    )


# --- the tabletop brief ------------------------------------------------------------------------------


def brief_markdown(p: Packet, mermaid: str, facilitator: bool) -> str:
    """The participants' situation manual as Markdown, or with `facilitator` the controller's guide (the
    same modules, each with its answer key); the network as a Mermaid diagram."""
    e = md_escape
    L = lambda k: brief_label(p, k)  # noqa: E731
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
    facts = cover_facts(p)
    out += _facts(facts) + ([""] if facts else [])
    out += [f"*{e(L('prepared'), False)}*", ""]
    out += _brief_objectives(p)
    if facilitator and p.players:
        out += [
            f"## {L('players')}",
            "",
            md_table([L("player_role"), L("player_agency")], [[r, g or "-"] for r, g in p.players]),
            "",
        ]
    out += _situation(p)
    if facilitator:
        out += [f"*{e(L('basis_legend'), False)}*", ""]
    elif mermaid:  # the participants' picture: the parties only (the facilitator's is the network)
        out += [f"### {L('parties')}", "", "```mermaid", mermaid.rstrip(), "```", ""]
    for m in p.modules:
        out += [f"## {e(module_heading(p, m), False)}", ""]
        head = header_facts(p, m)
        out += _facts(head) + ([""] if head else [])
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
        out += [f"## {L('msel')}", "", _brief_msel(p), ""]
    out += [f"## {L('references')}", ""] + [
        f"- {L('recommendation')} {n}: “{e(title, False)}”" for n, title in p.references
    ]
    out += ["", marking, ""]
    return printable("\n".join(out))


def _brief_answers_markdown(p: Packet, m: PacketModule, mermaid: str, sep: str) -> list[str]:
    e = md_escape
    L = lambda k: brief_label(p, k)  # noqa: E731

    def answer(a: Answer, lead: str = "") -> list[str]:
        line = f"- {lead}{e(a.text, False)} ({e(a.detail, False)}) [{e(brief_basis(p, a.basis), False)}]"
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
                md_table(
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
            md_table(
                [L("state"), L("sits_in")],
                [[f"{name} ({code})", ", ".join(fws) or "-"] for code, name, fws in p.participants],
            ),
            "",
        ]
        out += [f"#### {L('network')}", "", "```mermaid", mermaid.rstrip(), "```", ""]
    return out


def brief_handout_markdown(p: Packet) -> str:
    """The one-page handout: the exercise, its marking and objectives, the starting situation, the schedule."""
    e = md_escape
    L = lambda k: brief_label(p, k)  # noqa: E731
    marking = f"**{e(p.marking, False)}**"
    out = [marking, "", f"# {e(p.exercise or p.title)}", "", f"*{L('handout')}*", ""]
    facts = [(L(k), v) for k, v in (("sponsor", p.sponsor), ("dates", p.dates)) if v]
    out += _facts(facts) + ([""] if facts else [])
    out += _brief_objectives(p)
    out += _situation(p)
    out += [
        f"## {L('schedule')}",
        "",
        md_table(
            [L("module"), L("time"), L("delivery"), L("from"), L("to"), L("title")],
            [
                [module_number(p, m), m.time or "-", m.delivery or "-", m.sender or "-", m.to or "-", m.title]
                for m in p.modules
            ],
        ),
        "",
    ]
    out += [marking, ""]
    return printable("\n".join(out))


def _facts(pairs: list[tuple[str, str]]) -> list[str]:
    """Labelled facts, one list item each."""
    return [f"- **{md_escape(k)}:** {md_escape(v, False)}" for k, v in pairs]


def _brief_objectives(p: Packet) -> list[str]:
    if not p.objectives:
        return []
    items = [f"- **{md_escape(i)}** {md_escape(text, False)}" for i, text in p.objectives]
    return [f"## {brief_label(p, 'objectives')}", ""] + items + [""]


def _situation(p: Packet) -> list[str]:
    """The starting situation: its description and the scenario's facts."""
    out = [f"## {brief_label(p, 'starting_situation')}", ""] + ([md_escape(p.description), ""] if p.description else [])
    return out + _facts(p.scenario) + [""]


def _zip_longest(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else "", b[i] if i < len(b) else "") for i in range(n)]


def _brief_msel(p: Packet) -> str:
    """The guide's MSEL as a Markdown table, headed in the brief's language."""
    return md_table(
        [brief_label(p, k) for k in ("msel_stage", "msel_inject", "msel_action", "msel_who", "msel_recommendations")],
        [[x.stage, x.inject, x.action, x.actor, nums_or_dash(x.recommendations)] for x in p.msel],
    )


# --- the exercise documents: MSEL, EEGs, hot wash, role cards -----------------------------------------


def _exercise_head(exercise: dict[str, Any], title: str, what: str, words: Words) -> list[str]:
    """The document's heading lines (Markdown): marking, exercise, scenario."""
    lines = [
        f"**{md_escape(documents.marking(exercise), block=False)}**",
        "",
        f"# {what}: {md_escape(exercise.get('name') or title, block=False)}",
        "",
    ]
    facts = [
        (words("scenario"), title),
        (words("sponsor"), exercise.get("sponsor")),
        (words("dates"), exercise.get("dates")),
    ]
    lines += [f"- **{k}:** {md_escape(v, block=False)}" for k, v in facts if v]
    return lines + [""]


def _md_lines(values: list[str]) -> Markdown:
    """Several values in one Markdown table cell, one per line."""
    return Markdown("<br>".join(md_escape(v, block=False) for v in values))


def msel_markdown(rows: list[MselRow], exercise: dict[str, Any], title: str, words: Words | None = None) -> str:
    """The master scenario events list as a Markdown table, the actions of a module one per line."""
    from ..exercise import msel_columns

    words = exercise_words(words)
    body = []
    for r in rows:
        cells = r.cells()
        body.append([_md_lines(c) if isinstance(c, list) else c for c in cells])
    return (
        "\n".join(_exercise_head(exercise, title, words("title"), words) + [md_table(msel_columns(words), body)]) + "\n"
    )


def eeg_markdown(guides: list[Guide], exercise: dict[str, Any], title: str, words: Words | None = None) -> str:
    w = exercise_words(words)
    out = _exercise_head(exercise, title, w("eeg_title"), w)
    out += [f"_{md_escape(documents.rating_key(w), block=False)}_", ""]
    if not guides:
        out += [w("no_objectives"), ""]
    for g in guides:
        out += [
            f"## {md_escape(w('objective', id=g.id, text=g.text), block=False)}",
            "",
            f"- **{w('recommendations')}:** {nums(g.recommendations) or '-'}",
            f"- **{w('modules')}:** {md_escape(w('comma').join(g.modules) or '-', block=False)}",
            "",
        ]
        out += [md_table(documents.task_headers(w), documents.task_rows(g, w)) if g.tasks else w("no_tasks"), ""]
        out += [f"**{w('reasons')}**", ""]
        seen = set()
        for t in g.tasks:
            for rule in t.rules[:1]:
                if rule not in seen and t.because:
                    seen.add(rule)
                    out.append(f"- `{rule}`: {md_escape(t.because, block=False)}")
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


def hotwash_markdown(r: Report, words: Words | None = None) -> str:
    w = exercise_words(words)
    out = _exercise_head(r.exercise, r.title, w("aar_title"), w)
    out += [
        f"## {w('hotwash')}",
        "",
        md_escape(documents.hotwash_summary(r, w)),
        "",
        md_table(documents.score_headers(w), documents.score_rows(r, w)),
        "",
    ]
    notes = [(s.module.label, s.notes) for s in r.scores if s.notes]
    if notes:
        out += (
            [f"### {w('players_notes')}", ""]
            + [f"- **{md_escape(k, block=False)}:** {md_escape(v, block=False)}" for k, v in notes]
            + [""]
        )
    out += [f"## {w('strengths')}", ""] + (
        [f"- {md_escape(x, block=False)}" for x in r.strengths] or [f"- {w('none_recorded')}"]
    )
    out += ["", f"## {w('improvements')}", ""]
    out += [f"- {md_escape(x, block=False)}" for x in r.improvements] or [f"- {w('none')}"]
    out += [
        "",
        f"## {w('improvement_plan')}",
        "",
        md_table(documents.plan_headers(w), documents.plan_rows(r)) if r.plan else w("no_corrective"),
        "",
        f"_{w('due_note')}_",
        "",
    ]
    return "\n".join(out)


def rolecards_markdown(cards: list[Card], exercise: dict[str, Any], title: str, words: Words | None = None) -> str:
    w = exercise_words(words)
    out = _exercise_head(exercise, title, w("cards_title"), w)
    for i, c in enumerate(cards):
        if i:
            out += ['<div style="break-after: page"></div>', ""]
        out += [f"## {md_escape(c.name, block=False)}", ""]
        if c.player:
            out += [f"**{w('player')}:** {md_escape(c.player, block=False)}", ""]
        for head, items in documents.card_sections(c, w):
            out += [f"### {head}", ""] + [f"- {md_escape(x, block=False)}" for x in items] + [""]
    return "\n".join(out)
