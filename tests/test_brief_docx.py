"""The tabletop brief as a Word document: the Markdown's content in the Markdown's order, the answer key
in the guide alone, the handout, Japanese, the same bytes every time, and descriptor text shown as text."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.table import Table

import advisor
from advisor.brief import packet, parties
from advisor.graph import network, to_mermaid
from advisor.phrases import BRIEF_LABELS
from advisor.render.docx import brief_docx, brief_handout_docx
from advisor.render.markdown import brief_handout_markdown, brief_markdown
from advisor.render.names import Names, brief_label

from conftest import THREATS

KOREA = THREATS / "korean_peninsula_exercise.json"
PIRACY = THREATS / "malacca_piracy.json"
ESCALATION = THREATS / "malacca_piracy_escalation.json"
# (threat, lang, as_of): an exercise with objectives and players, a plain threat, one with injects,
# the exercise in Japanese, and as of today (the "since 2002" lists)
CASES = [
    (KOREA, "en", "2002"),
    (PIRACY, "en", "2002"),
    (ESCALATION, "en", "2002"),
    (KOREA, "ja", "2002"),
    (KOREA, "en", "today"),
]
CASE_IDS = ["korea", "piracy", "escalation", "korea-ja", "korea-today"]
JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


def build(rulebase, source: Path | dict[str, Any], lang: str = "en", as_of: str = "2002"):
    """What `advisor brief` builds: the packet, the parties' picture (Mermaid, or None) and the network's."""
    raw = json.loads(source.read_text(encoding="utf-8")) if isinstance(source, Path) else source
    a = advisor.assess(advisor.parse_threat(raw, rulebase), rulebase, as_of=as_of)
    names = Names(rulebase.catalog, lang, as_of)
    p = packet(a, rulebase.catalog, names, lang, as_of)
    return p, parties(a, rulebase.catalog, names, "markdown"), to_mermaid(network(a, names))


# --- both documents read as blocks: ("h", level, text), ("li", level, text), ("p", text),
# ("table", rows), ("picture", mermaid) -----------------------------------------------------------

_MD_TOKEN = re.compile(r"\\(.)|\*\*|\*|&amp;|&lt;")


def _space(text: str) -> str:
    return " ".join(text.split())


def md_plain(text: str) -> str:
    """Markdown's text as it reads: escapes undone, emphasis marks dropped, spaces collapsed."""
    return _space(
        _MD_TOKEN.sub(
            lambda m: m.group(1) if m.group(1) is not None else {"&amp;": "&", "&lt;": "<"}.get(m.group(), ""), text
        )
    )


def _md_cells(line: str) -> list[str]:
    cells, cell = [], ""
    for token in re.findall(r"\\.|\||[^\\|]+", line.strip()[1:-1]):
        if token == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += token
    return cells + [cell]


def md_blocks(md: str) -> list[tuple]:
    out: list[tuple] = []
    lines = iter(md.splitlines())
    for line in lines:
        if not line.strip():
            continue
        if line.startswith("```"):
            picture = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                picture.append(inner)
            out.append(("picture", "\n".join(picture)))
        elif line.startswith("|"):
            cells = _md_cells(line)
            if out and out[-1][0] == "table" and len(out[-1][1]) == 1 and all(c.strip() == "---" for c in cells):
                continue  # the line under the header
            row = [md_plain(c) for c in cells]
            if out and out[-1][0] == "table":
                out[-1][1].append(row)
            else:
                out.append(("table", [row]))
        elif heading := re.match(r"(#+) (.*)", line):
            out.append(("h", len(heading.group(1)), md_plain(heading.group(2))))
        elif line.startswith("- "):
            out.append(("li", 1, md_plain(line[2:])))
        elif line.startswith("  - "):
            out.append(("li", 2, md_plain(line[4:])))
        else:
            out.append(("p", md_plain(line)))
    return out


def docx_blocks(data: bytes) -> list[tuple]:
    """The document's body in order; its title and headings at the Markdown's levels (Title is `#`)."""
    out: list[tuple] = []
    for item in Document(io.BytesIO(data)).iter_inner_content():
        if isinstance(item, Table):
            out.append(("table", [[_space(c.text) for c in row.cells] for row in item.rows]))
            continue
        style, text = item.style.name, _space(item.text)
        if style == "Title":
            out.append(("h", 1, text))
        elif style.startswith("Heading "):
            out.append(("h", int(style.split()[1]) + 1, text))
        elif style == "List Bullet":
            out.append(("li", 1, text))
        elif style == "List Bullet 2":
            out.append(("li", 2, text))
        elif text:
            out.append(("p", text))
    return out


def headings(data: bytes) -> list[str]:
    return [b[2] for b in docx_blocks(data) if b[0] == "h"]


def texts(data: bytes) -> list[str]:
    """Every paragraph's and table cell's text."""
    return [b[2] if b[0] in ("h", "li") else b[1] for b in docx_blocks(data) if b[0] != "table"] + [
        cell for b in docx_blocks(data) if b[0] == "table" for row in b[1] for cell in row
    ]


def split_at_picture(md: list[tuple], docx: list[tuple]) -> list[tuple]:
    """Check that the DOCX is the Markdown block for block but for the picture, and give what the DOCX
    has in its place."""
    where = [i for i, b in enumerate(md) if b[0] == "picture"]
    assert len(where) == 1, where
    i = where[0]
    before, after = md[:i], md[i + 1 :]
    assert docx[:i] == before
    assert docx[len(docx) - len(after) :] == after
    return docx[i : len(docx) - len(after)]


# --- the manual and the guide ---------------------------------------------------------------------


def test_the_block_readers_see_what_they_must():
    """The comparisons below are only as good as these readers."""
    assert md_blocks(
        "**M**\n\n# T \\* x\n\n- **a:** b &amp; &lt;c>\n  - d\n\n| A | B \\| C |\n|---|---|\n| 1 | - |\n"
    ) == [
        ("p", "M"),
        ("h", 1, "T * x"),
        ("li", 1, "a: b & <c>"),
        ("li", 2, "d"),
        ("table", [["A", "B | C"], ["1", "-"]]),
    ]


@pytest.mark.parametrize(("threat", "lang", "as_of"), CASES, ids=CASE_IDS)
def test_the_manual_is_the_markdown_s_with_the_parties_in_words(rulebase, threat, lang, as_of):
    p, party, _ = build(rulebase, threat, lang, as_of)
    assert party  # every example names its states
    md = md_blocks(brief_markdown(p, party, False))
    instead = split_at_picture(md, docx_blocks(brief_docx(p, False, party)))
    # the parties' heading stays the Markdown's; the picture becomes the states it shows, as the
    # starting situation names them (the picture adds each state's code)
    assert md[[b[0] for b in md].index("picture") - 1] == ("h", 3, brief_label(p, "parties"))
    assert instead and all(b[:2] == ("li", 1) for b in instead)
    states = dict(p.scenario)[brief_label(p, "fact_states")]
    comma = "、" if lang == "ja" else ", "
    assert comma.join(re.sub(r" \([A-Z]{3}\)$", "", b[2]) for b in instead) == states
    assert all(re.search(r" \([A-Z]{3}\)$", b[2]) for b in instead)


@pytest.mark.parametrize(("threat", "lang", "as_of"), CASES, ids=CASE_IDS)
def test_the_guide_is_the_markdown_s_with_the_network_as_a_table(rulebase, threat, lang, as_of):
    p, party, net = build(rulebase, threat, lang, as_of)
    md = md_blocks(brief_markdown(p, net, True))
    instead = split_at_picture(md, docx_blocks(brief_docx(p, True, party)))
    L = lambda k: brief_label(p, k)  # noqa: E731
    assert md[[b[0] for b in md].index("picture") - 1] == ("h", 4, L("network"))
    assert [b[0] for b in instead] == ["table"]
    header, *rows = instead[0][1]
    assert header == [L("graph_framework"), L("graph_layer"), L("graph_states")]
    # every framework of the answer once, in its layer, the proposed marked as proposed
    proposed = L("graph_proposed").format(name="")
    expected = [
        (name, layer, status)
        for layer, existing, later in p.layers
        for status, fws in (("existing", existing), ("proposed", later))
        for _, name, _ in fws
    ]
    assert sorted((r[0].removesuffix(proposed), r[1]) for r in rows) == sorted((n, lay) for n, lay, _ in expected)
    assert sum(r[0].endswith(proposed) for r in rows) == sum(s == "proposed" for _, _, s in expected)
    # and its members: just the states the participants table seats in it
    seats = {(f"{name} ({code})", fw) for code, name, fws in p.participants for fw in fws}
    shown = {
        (state.strip(), row[0].removesuffix(proposed))
        for row in rows
        for state in re.findall(r"[^,]+? \([A-Z]{3}\)", row[2])
    }
    assert shown == seats and shown
    assert all(row[2] == "-" or row[2].endswith(")") for row in rows)


def test_the_parties_read_as_the_picture_shows_them_whatever_their_names(rulebase):
    """A name the picture had to escape (quotes, #, <, >, &, backquotes) reads as itself."""
    from advisor.graph import Graph

    p, _, _ = build(rulebase, PIRACY)
    odd = 'Japan "#1" <&amp;> `x` #quot;'
    picture = to_mermaid(Graph(states=[("JPN", odd), ("A+B", "Two & more")]))
    assert "#quot;#35;1#quot;" in picture  # escaped in the picture
    blocks = docx_blocks(brief_docx(p, False, picture))
    at = blocks.index(("h", 3, brief_label(p, "parties")))
    assert blocks[at + 1 : at + 3] == [("li", 1, odd + " (JPN)"), ("li", 1, "Two & more")]


def test_without_states_the_manual_has_no_parties_and_is_the_markdown_s_throughout(rulebase):
    raw = json.loads(PIRACY.read_text(encoding="utf-8"))
    del raw["states"]
    p, party, _ = build(rulebase, raw)
    assert party is None
    data = brief_docx(p, False, party)
    assert docx_blocks(data) == md_blocks(brief_markdown(p, "", False))
    assert brief_label(p, "parties") not in headings(data)


def test_only_the_guide_has_the_answer_key(rulebase):
    p, party, _ = build(rulebase, KOREA)
    L = lambda k: brief_label(p, k)  # noqa: E731
    guide, manual = brief_docx(p, True, party), brief_docx(p, False, party)
    # one answer key a module, the MSEL and the network: the guide's alone
    assert headings(guide).count(L("answer_key")) == len(p.modules) > 1
    for key in ("answer_key", "msel", "network", "participants", "players"):
        assert L(key) in headings(guide) and L(key) not in headings(manual), key
    sources = [
        f"{L('source')}: “{a.quote}”"
        for m in p.modules
        for a in [a for _, answers in m.frameworks + m.agencies for a in answers] + m.measures + m.caveats
        if a.quote
    ]
    caveats = [a.text for m in p.modules for a in m.caveats]
    assert sources and caveats
    guide_text, manual_text = "\n".join(texts(guide)), "\n".join(texts(manual))
    assert all(s in guide_text for s in sources) and all(c in guide_text for c in caveats)
    assert not any(s in manual_text for s in sources) and not any(c in manual_text for c in caveats)
    assert L("basis_legend") in guide_text and L("basis_legend") not in manual_text
    # the MSEL's rows: one a player action
    msel = [b[1] for b in docx_blocks(guide) if b[0] == "table" and b[1][0][0] == L("msel_stage")]
    assert len(msel) == 1 and len(msel[0]) == len(p.msel) + 1
    assert [row[2] for row in msel[0][1:]] == [x.action for x in p.msel]


def test_the_marking_heads_and_foots_every_page(rulebase):
    p, party, _ = build(rulebase, KOREA)
    for data in (brief_docx(p, False, party), brief_docx(p, True, party), brief_handout_docx(p)):
        doc = Document(io.BytesIO(data))
        assert [s.header.paragraphs[0].text for s in doc.sections] == [p.marking]
        assert [s.footer.paragraphs[0].text for s in doc.sections] == [p.marking]
        assert doc.paragraphs[0].text == doc.paragraphs[-1].text == p.marking


# --- the handout ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("threat", "lang", "as_of"), CASES, ids=CASE_IDS)
def test_the_handout_is_the_markdown_s(rulebase, threat, lang, as_of):
    p, _, _ = build(rulebase, threat, lang, as_of)
    data = brief_handout_docx(p)
    assert docx_blocks(data) == md_blocks(brief_handout_markdown(p))
    schedule = [b[1] for b in docx_blocks(data) if b[0] == "table"]
    assert len(schedule) == 1 and [row[-1] for row in schedule[0][1:]] == [m.title for m in p.modules]


# --- Japanese -------------------------------------------------------------------------------------


def test_lang_ja_gives_japanese_headings(rulebase):
    p, party, _ = build(rulebase, KOREA, "ja")
    for data, doc_key in (
        (brief_docx(p, False, party), "participant_manual"),
        (brief_docx(p, True, party), "facilitator_guide"),
    ):
        heads = headings(data)
        assert brief_label(p, doc_key) in heads and BRIEF_LABELS[doc_key] not in heads
        # every heading the document itself words (not the scenario's own titles) is Japanese
        own = [h for h in heads if h not in {p.exercise, p.title}]
        assert own and all(JAPANESE.search(h) for h in own), [h for h in own if not JAPANESE.search(h)]
        for key in ("starting_situation", "key_issues", "references"):
            assert brief_label(p, key) != BRIEF_LABELS[key] and brief_label(p, key) in heads
    handout = headings(brief_handout_docx(p))
    assert brief_label(p, "schedule") in handout and BRIEF_LABELS["schedule"] not in handout


# --- the same bytes -------------------------------------------------------------------------------


def test_two_renders_are_the_same_bytes_even_a_year_apart(rulebase, monkeypatch):
    p, party, _ = build(rulebase, KOREA)
    first = [brief_docx(p, False, party), brief_docx(p, True, party), brief_handout_docx(p)]
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 400 * 86400 + 3.5)  # the time a ZIP part is stamped with
    again = [brief_docx(p, False, party), brief_docx(p, True, party), brief_handout_docx(p)]
    assert first == again
    parts = zipfile.ZipFile(io.BytesIO(first[1])).infolist()
    assert {x.date_time for x in parts} == {(1980, 1, 1, 0, 0, 0)}
    assert "word/document.xml" in {x.filename for x in parts}


# --- descriptor text ------------------------------------------------------------------------------

EVIL = "\x07<b>&amp; \x1b[31mred\u202e **x** # y\uffff"


@pytest.fixture(scope="module")
def evil(rulebase):
    raw = json.loads(KOREA.read_text(encoding="utf-8"))
    raw["title"] = "T " + EVIL
    raw["description"] = "D\n" + EVIL
    ex = raw["exercise"]
    ex.update({"name": "N " + EVIL, "marking": "M " + EVIL, "sponsor": "S " + EVIL, "dates": "\x00" + EVIL})
    ex["objectives"][0]["text"] = "O " + EVIL
    ex["players"][0]["role"] = "R " + EVIL
    raw["injects"][0].update({"title": "I " + EVIL, "description": "ID " + EVIL, "from": "F " + EVIL})
    return build(rulebase, raw)


SHOWN = "\\x07<b>&amp; \\x1b[31mred\\u202e **x** # y\\xffff"  # what the reader sees, controls as escapes


def test_descriptor_text_with_controls_and_markup_is_shown_not_obeyed(evil):
    p, party, _ = evil
    for data in (brief_docx(p, False, party), brief_docx(p, True, party), brief_handout_docx(p)):
        doc = Document(io.BytesIO(data))  # python-docx refuses to write a control character at all
        assert doc.paragraphs[1].text == "N " + SHOWN  # the title, as it was typed, controls visible
        assert doc.sections[0].header.paragraphs[0].text == "M " + SHOWN
        every = "\n".join(texts(data))
        for prefix in ("M ", "S ", "\\x00", "O ", "D "):  # the description's line break: a break in Word
            assert prefix + SHOWN in every, prefix
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\ufffe\uffff]", every)
        # markup stays text: the tag and the entity are characters of the document
        xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
        assert "&lt;b&gt;&amp;amp;" in xml and "<b>" not in xml
    guide = "\n".join(texts(brief_docx(p, True, party)))
    for prefix in ("R ", "ID ", "F ", "T "):
        assert prefix + SHOWN in guide, prefix
    assert any(h.endswith(": I " + SHOWN) for h in headings(brief_docx(p, True, party)))  # module 1's heading
