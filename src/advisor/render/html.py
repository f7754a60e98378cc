"""HTML: the tabletop brief and handout (self-contained, printable), and the exercise documents.

Every piece of user text goes through `safe.html_text`; the marking in the page margins through
`safe.css_string`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import documents
from .names import brief_basis, brief_label, cover_facts, exercise_words, header_facts, module_heading, module_number
from .rows import nums_or_dash
from .safe import css_string, html_text

if TYPE_CHECKING:
    from ..brief import Answer, Packet, PacketModule
    from ..exercise import Card, Guide, Report, Words

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


def _brief_page_css(p: Packet, paper: str) -> str:
    """The @page rule: paper size, and the marking and page numbers in the margin boxes (Chromium 131+)."""
    L = lambda k: brief_label(p, k)  # noqa: E731
    mark = css_string(p.marking)
    # "Page {page} of {pages}" -> "Page " counter(page) " of " counter(pages)
    numbers = " ".join(
        f"counter({part[1:-1]})" if part in ("{page}", "{pages}") else css_string(part)
        for part in re.split(r"(\{pages?\})", L("page_of"))
        if part
    )
    return (
        f"@page {{ size: {BRIEF_PAPER[paper]}; margin: 18mm 16mm 18mm;\n"
        f"  @top-center {{ content: {mark}; font: 700 8pt sans-serif; letter-spacing: .05em; }}\n"
        f"  @bottom-left {{ content: {mark}; font: 700 8pt sans-serif; }}\n"
        f"  @bottom-right {{ content: {numbers}; font: 8pt sans-serif; }}\n}}\n"
    )


def _brief_html_head(p: Packet, doc: str, paper: str) -> list[str]:
    """The page's head: its title (the exercise and `doc`, which document this is) and its style."""
    title = f"{p.exercise or p.title}: {doc}"
    return [
        "<!DOCTYPE html>",
        f'<html lang="{html_text(p.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html_text(title)}</title>",
        f"<style>{BRIEF_CSS}{_brief_page_css(p, paper)}</style>",
        "</head>",
    ]


def _cover(p: Packet, doc: str) -> list[str]:
    """The cover's lines: the marking, the exercise, which document this is (`doc`), the scenario,
    sponsor and dates."""
    e = html_text
    out = [
        f'<p class="marking">{e(p.marking)}</p>',
        f"<h1>{e(p.exercise or p.title)}</h1>",
        f'<p class="doc">{e(doc)}</p>',
    ]
    facts = [(e(k), v) for k, v in cover_facts(p)]
    return out + [_facts(facts)] if facts else out


def _facts(pairs: list[tuple[str, str]], cls: str = "facts") -> str:
    """A definition list: each label (HTML already) with its value."""
    return f'<dl class="{cls}">' + "".join(f"<dt>{k}</dt><dd>{html_text(v)}</dd>" for k, v in pairs) + "</dl>"


def _objectives(objectives: list[tuple[str, str]]) -> str:
    """Objectives as list items: the id in bold, then the text."""
    return "".join(f"<li><strong>{html_text(i)}</strong> {html_text(t)}</li>" for i, t in objectives)


def brief_html(p: Packet, svg: str | None, facilitator: bool, lang: str = "en", paper: str = "a4") -> str:
    """The manual (or with `facilitator` the guide) as one self-contained HTML file: no network, fonts or
    scripts; printed on A4 or Letter with the marking and page numbers on every page."""
    e = html_text
    L = lambda k: e(brief_label(p, k))  # noqa: E731
    doc = brief_label(p, "facilitator_guide" if facilitator else "participant_manual")
    out = _brief_html_head(p, doc, paper)
    out += ['<body class="brief">', '<section class="cover">', *_cover(p, doc)]
    out.append(f'<p class="sub">{L("prepared")}</p>')
    if p.objectives:
        out.append(f'<h2>{L("objectives")}</h2><ul class="objectives">' + _objectives(p.objectives) + "</ul>")
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
    out.append(_facts([(e(k), v) for k, v in p.scenario]))
    if facilitator:
        out.append(f'<p class="note">{L("basis_legend")}</p>')
    elif svg:  # the participants' picture: the parties only (the facilitator's is the network)
        out.append(f'<figure id="parties"><figcaption class="caption">{L("parties")}</figcaption>{svg}</figure>')
    out.append("</section>")
    for m in p.modules:
        out.append(f'<section class="module" id="module-{m.number}"><h2>{e(module_heading(p, m))}</h2>')
        head = header_facts(p, m)
        if head:
            out.append(_facts(head, "facts inject"))
        if m.stage and m.description:
            out.append(f"<p>{e(m.description)}</p>")
        if m.objectives:
            out.append(
                f'<p class="caption"><strong>{L("objectives_tested")}:</strong></p><ul>'
                + _objectives(m.objectives)
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
                f"<td>{nums_or_dash(x.recommendations)}</td></tr>"
            )
        out.append("</tbody></table></section>")
    out.append(
        f"<section><h2>{L('references')}</h2><ul>"
        + "".join(f"<li>{L('recommendation')} {n}: “{e(title)}”</li>" for n, title in p.references)
        + "</ul></section>"
    )
    out += [f'<p class="marking screen-marking">{e(p.marking)}</p>', "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _brief_answers_html(p: Packet, m: PacketModule, svg: str | None) -> list[str]:
    e = html_text
    L = lambda k: e(brief_label(p, k))  # noqa: E731

    def answer(a: Answer, lead: str = "", cls: str = "") -> str:
        basis = f'<span class="tag basis-{e(a.basis)}">{e(brief_basis(p, a.basis))}</span>'
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


def brief_handout_html(p: Packet, paper: str = "a4") -> str:
    """The one-page handout as self-contained HTML: the exercise, marking, objectives, starting situation
    and the schedule of modules."""
    e = html_text
    L = lambda k: e(brief_label(p, k))  # noqa: E731
    doc = brief_label(p, "handout")
    out = _brief_html_head(p, doc, paper)
    out += ['<body class="brief handout">', *_cover(p, doc)]
    if p.objectives:
        out.append(f"<h2>{L('objectives')}</h2><ul>" + _objectives(p.objectives) + "</ul>")
    out.append(f"<h2>{L('starting_situation')}</h2>" + (f"<p>{e(p.description)}</p>" if p.description else ""))
    out.append(_facts([(e(k), v) for k, v in p.scenario]))
    out.append(
        f"<h2>{L('schedule')}</h2><table><thead><tr>"
        + "".join(f"<th>{L(k)}</th>" for k in ("module", "time", "delivery", "from", "to", "title"))
        + "</tr></thead><tbody>"
    )
    for m in p.modules:
        out.append(
            f"<tr><td>{e(module_number(p, m))}</td>"
            + "".join(f"<td>{e(x or '-')}</td>" for x in (m.time, m.delivery, m.sender, m.to, m.title))
            + "</tr>"
        )
    out += ["</tbody></table>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- the exercise documents: EEGs, hot wash, role cards -----------------------------------------------

EXERCISE_CSS = """
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


def _exercise_page(exercise: dict[str, Any], title: str, what: str, page: str, body: list[str], words: Words) -> str:
    """An exercise document as one HTML page: the marking above and below, headed "`what`: the exercise"
    over the scenario's title, then `body`; the window titled "`page`: the exercise"."""
    w = words
    name = exercise.get("name") or title
    marking = documents.marking(exercise)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{"ja" if w.ja else "en"}">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html_text(w('page_title', what=page, name=name))}</title>",
            f"<style>{EXERCISE_CSS}</style>",
            "</head>",
            "<body>",
            f'<p class="marking">{html_text(marking)}</p>',
            f"<h1>{html_text(w('page_title', what=what, name=name))}</h1>",
            f'<p class="meta">{html_text(w("labelled", label=w("scenario"), value=title))}</p>',
            *body,
            f'<p class="marking">{html_text(marking)}</p>',
            "</body>",
            "</html>",
            "",
        ]
    )


def _html_table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html_text(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        out.append(
            "<tr>"
            + "".join(
                f"<td>{'<br>'.join(html_text(v) for v in c) if isinstance(c, list) else html_text(c)}</td>" for c in row
            )
            + "</tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html_text(x)}</li>" for x in items) + "</ul>"


def eeg_html(guides: list[Guide], exercise: dict[str, Any], title: str, words: Words | None = None) -> str:
    w = exercise_words(words)
    body = [f"<p><em>{html_text(documents.rating_key(w))}</em></p>"]
    for g in guides:
        body += [
            '<section class="guide">',
            f"<h2>{html_text(w('objective', id=g.id, text=g.text))}</h2>",
            f'<p class="meta">{html_text(documents.guide_meta(g, w))}</p>',
            _html_table(documents.task_headers(w), documents.task_rows(g, w)),
            f"<h3>{html_text(w('observations'))}</h3>",
            '<div class="write-in"></div>',
            f"<p>{html_text(w('overall_rating_short'))} ____ &nbsp; {html_text(w('evaluator'))} ____________</p>",
            "</section>",
        ]
    return _exercise_page(exercise, title, w("eeg_title"), w("eeg_page"), body, w)


def hotwash_html(r: Report, words: Words | None = None) -> str:
    w = exercise_words(words)
    body = [
        f"<h2>{html_text(w('hotwash'))}</h2>",
        f"<p>{html_text(documents.hotwash_summary(r, w))}</p>",
        _html_table(documents.score_headers(w), documents.score_rows(r, w)),
        f"<h2>{html_text(w('strengths'))}</h2>",
        _list(r.strengths),
        f"<h2>{html_text(w('improvements'))}</h2>",
        _list(r.improvements),
        f"<h2>{html_text(w('improvement_plan'))}</h2>",
        _html_table(documents.plan_headers(w), documents.plan_rows(r)),
        f"<p><em>{html_text(w('due_note'))}</em></p>",
    ]
    return _exercise_page(r.exercise, r.title, w("aar_title"), w("aar_page"), body, w)


def rolecards_html(cards: list[Card], exercise: dict[str, Any], title: str, words: Words | None = None) -> str:
    w = exercise_words(words)
    body: list[str] = []
    for c in cards:
        body += ['<section class="card">', f"<h2>{html_text(c.name)}</h2>"]
        if c.player:
            body.append(f'<p class="meta">{html_text(w("labelled", label=w("player"), value=c.player))}</p>')
        for head, items in documents.card_sections(c, w):
            body += [f"<h3>{html_text(head)}</h3>", _list(items)]
        body.append("</section>")
    return _exercise_page(exercise, title, w("cards_title"), w("cards_title"), body, w)
