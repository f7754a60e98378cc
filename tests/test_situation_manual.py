"""The exercise packet: the Participant Situation Manual, the Facilitator/Controller guide, the one-page
handout, printing (A4 and Letter, the marking and page numbers on every page) and the packet in Japanese."""

import json
import re
import shutil
import subprocess

import pytest

import advisor
from advisor.phrases import BRIEF_LABELS

from conftest import ROOT

EXERCISE = ROOT / "threats" / "korean_peninsula_exercise.json"
ESCALATION = ROOT / "threats" / "malacca_piracy_escalation.json"
MARKING = "FOR EXERCISE USE ONLY"


@pytest.fixture(scope="module")
def assessed(rulebase):
    return advisor.assess(advisor.load_threat(EXERCISE, rulebase), rulebase)


def _modules(md: str) -> dict[int, str]:
    """The Markdown of each module, by number."""
    parts = re.split(r"^## (Start|Module \d+)", md, flags=re.M)  # Start is module 0, as in the MSEL
    return {
        0 if n == "Start" else int(n.split()[1]): body.split("\n## References")[0]
        for n, body in zip(parts[1::2], parts[2::2])
    }


# --- the participants' manual ---------------------------------------------------------------------


def test_manual_has_cover_objectives_and_every_module(invoke):
    md = invoke(["brief", EXERCISE]).stdout
    raw = json.loads(EXERCISE.read_text())
    assert md.startswith(f"**{MARKING}**\n\n# Exercise Morning Calm\n\n## Participant Situation Manual\n")
    assert md.rstrip().endswith(f"**{MARKING}**")
    assert "- **Sponsor:** Policy planning staff (tabletop)" in md and "- **Dates:** Day 1 and Day 2" in md
    for o in raw["exercise"]["objectives"]:
        assert f"- **{o['id']}** {o['text']}" in md
    assert "## Starting situation" in md and "North Korea test-fires ballistic missiles" in md
    modules = _modules(md)
    assert sorted(modules) == [0, 1, 2, 3]
    assert modules[0].startswith(": Starting situation")
    for number, inject in enumerate(raw["injects"], start=1):
        body = modules[number]
        assert body.startswith(f": {inject['title']}")
        for label, key in (("Time", "time"), ("Delivery", "delivery"), ("From", "from"), ("To", "to")):
            assert f"- **{label}:** {inject[key]}" in body, (number, key)
        assert inject["description"] in body
        assert "### Key issues" in body


@pytest.mark.slow
def test_questions_enter_at_the_module_whose_inject_brings_their_recommendation(invoke, rulebase, assessed):
    modules = _modules(invoke(["brief", EXERCISE]).stdout)
    questions = rulebase.catalog.questions
    # the missile over Japan raises collective self-defence: recommendation 15 enters at module 2
    assert assessed.stages[1].delta["recommendations"]["added"] == ["15"]
    for q in questions[15]:
        assert q in modules[2] and q not in modules[0] and q not in modules[1]
    for n in (6, 11):  # the regime's collapse (module 3)
        assert all(q in modules[3] for q in questions[n]) and questions[n][0] not in modules[0]
    for r in assessed.recommendations:  # the starting situation's own
        assert all(q in modules[0] for q in questions[r.number])
    assert "No new issue enters here" in modules[1]  # the nuclear test brings no new recommendation


def test_manual_gives_no_answers(invoke, rulebase, assessed):
    md = invoke(["brief", EXERCISE]).stdout
    cat = rulebase.catalog
    # what players are asked to find: framework names (but those the questions, titles or scenario
    # text themselves name), roles, measures, caveats, what the stage changed
    given = (
        md.split("## Start")[0]
        + "".join(q for qs in cat.questions.values() for q in qs)
        + "".join(r.title for r in cat.recommendations.values())
    )
    frameworks = {f["name"] for st in assessed.stages for f in st.assessment["frameworks"]}
    hidden = [name for name in frameworks if name not in given]
    assert len(hidden) >= 10
    for name in hidden:
        assert name not in md, name
    for role in ("lead", "coordinate", "support"):
        assert f"**{role}:**" not in md and f"({role})" not in md
    for m in cat.measures.values():
        assert m.text not in md
    for c in cat.caveats.values():
        assert c.text not in md
    for heading in (
        "Answer key",
        "What the document asks of Japan",
        "Frameworks to invoke",
        "Japanese agencies",
        "Master scenario events list",
        "Lines of events in play",
        "Players",
        "basis",
    ):
        assert heading not in md, heading


# --- the facilitator's guide -------------------------------------------------------------------------


def test_guide_has_an_answer_key_per_module_with_basis_and_quotes(invoke, rulebase, assessed):
    md = invoke(["brief", EXERCISE, "--facilitator"]).stdout
    modules = _modules(md)
    assert all("### Answer key" in body for body in modules.values())
    key = {n: body.split("### Answer key")[1] for n, body in modules.items()}
    assert "#### Frameworks to invoke" in key[0] and "*alliances*" in key[0]
    # a framework with its status, recommendations, basis and the document's words
    assert (
        "- Japan-US alliance (existing; 2, 4) [document]\n  - Source: “the Japan-US alliance not only "
        "maintains the function of the deterrence"
    ) in key[0]
    # agencies by role, each role's basis, and the note where it goes beyond the document
    assert (
        "- **lead:** Ministry of Foreign Affairs (2, 7, 14) [general knowledge] — the document gives no body the lead"
    ) in key[0]
    assert "#### Participants" in key[0] and "```mermaid" in key[0] and "#### What the document asks of Japan" in key[0]
    # module 2: what the missile over Japan added, kept and dropped, by name, and the lines in play
    assert "**Lines of events in play:** Starting situation; North Korea announces a nuclear test" in key[2]
    assert "**Added**\n\n- recommendations: 15. Carrying out institutional and legal reforms" in key[2]
    assert "- caveats: collective self defense" in key[2]
    assert "**Kept**\n\n- recommendations: 2, 4, 5, 7, 9, 14\n- frameworks: Japan-US alliance;" in key[2]
    caveat = rulebase.catalog.caveats["collective_self_defense"].text
    assert f"#### Caveats this stage raises\n\n- {caveat} (15) [document]\n  - Source: “" in key[2]
    assert caveat not in key[0] and caveat not in key[1]
    # the collapse: the Self Defense Forces enter, with what the document asks and its caveats
    assert "- agencies: Self Defense Forces" in key[3] and "PKO Five Principles" in key[3]
    # each concluded measure appears with its basis
    for m in assessed.measures:
        assert f"{m.text} ({m.citation}) [" in key[0]
    assert "## Master scenario events list (expected player actions)" in md
    assert "## Players" in md and "| Defense Agency, Defense Policy Bureau | Defense Agency |" in md


def test_guide_says_when_nothing_changed(invoke):
    md = invoke(["brief", ESCALATION, "--facilitator"]).stdout
    escort = _modules(md)[2]  # escorting tankers changes no answer
    assert "No change in the answer: the players continue the current response." in escort
    assert "**What the inject changes:** attributes {sdf_deployment: true}" in escort


@pytest.mark.slow
def test_as_of_today_notes_at_the_module_where_the_body_appears(invoke):
    plain = _modules(invoke(["brief", EXERCISE, "--facilitator"]).stdout)
    today = _modules(invoke(["brief", EXERCISE, "--facilitator", "--as-of", "today"]).stdout)
    note = "**collective self defense** (2015): A 2014 cabinet decision and the 2015 Legislation for Peace and Security"
    assert note in today[2] and note not in today[0] + today[1] + today[3]
    assert "Since 2002" not in "".join(plain.values())
    assert "**Defense Agency** (2007): Became the Ministry of Defense" in today[0]
    assert "**Korean Peninsula Energy Development Organization** (2006)" in today[1]  # KEDO enters with the test
    assert "PKO Five Principles** (2015)" not in today[2] and "**pko five principles** (2015)" in today[3]


# --- the handout -----------------------------------------------------------------------------------


def test_handout_has_the_schedule_and_no_questions(invoke, rulebase):
    md = invoke(["brief", EXERCISE, "--handout"]).stdout
    assert md.startswith(f"**{MARKING}**\n\n# Exercise Morning Calm\n\n*Exercise handout*")
    assert "## Objectives" in md and "## Starting situation" in md and "## Module schedule" in md
    assert "| 2 | D+1 14:30 | phone | Defense Agency operations centre | Cabinet Secretariat | A missile is fired" in md
    assert "| Start | - | - | - | - | Starting situation |" in md
    assert rulebase.catalog.questions[2][0] not in md and "Answer key" not in md
    invoke(["brief", EXERCISE, "--handout", "--facilitator"], exit_code=2)


def test_marking_from_the_descriptor_and_default(invoke, tmp_path):
    raw = json.loads(EXERCISE.read_text())
    raw["exercise"]["marking"] = "SECRET // EXERCISE </style>"
    path = tmp_path / "marked.json"
    path.write_text(json.dumps(raw))
    md = invoke(["brief", path]).stdout
    assert md.startswith("**SECRET // EXERCISE &lt;/style>**")
    html = invoke(["brief", path, "--format", "html"]).stdout
    page = html.split("@page")[1].split("</style>")[0]
    # in the page margins as a CSS string of escapes: nothing can close the string or the style element
    assert (
        "SECRET \\00002f \\00002f  EXERCISE \\00003c \\00002f style\\00003e " in page
    )  # each escape ends with a space
    assert html.count("</style>") == 1
    plain = invoke(["brief", ROOT / "threats" / "malacca_piracy.json"]).stdout
    assert plain.startswith(f"**{MARKING}**\n\n# Armed robbery against tankers")


# --- Japanese --------------------------------------------------------------------------------------


def test_every_label_and_text_has_its_japanese(rulebase):
    cat = rulebase.catalog
    assert set(cat.text_ja.labels) == set(BRIEF_LABELS)
    assert sorted(cat.questions_ja) == sorted(cat.questions)
    assert all(len(cat.questions_ja[n]) == len(cat.questions[n]) for n in cat.questions)
    assert all(m.text_ja for m in cat.measures.values()) and all(c.text_ja for c in cat.caveats.values())
    assert sorted(cat.text_ja.recommendations) == sorted(cat.recommendations)
    japanese = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
    texts = [
        *cat.text_ja.labels.values(),
        *(q for qs in cat.questions_ja.values() for q in qs),
        *(m.text_ja for m in cat.measures.values()),
        *(c.text_ja for c in cat.caveats.values()),
    ]
    # a phrase with no words of its own ("{field}：{value}", "；") has nothing to translate
    assert (
        all(
            japanese.search(t)
            for t in texts
            if t not in ("{page} / {pages} ページ",) and re.search("[A-Za-z]", re.sub(r"\{\w+\}", "", t))
        )
        and len(texts) > 150
    )


@pytest.mark.slow
def test_old_catalogs_without_japanese_still_load(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "catalog" / "text_ja.yaml").unlink()
    q = rules / "catalog" / "questions.yaml"
    q.write_text(q.read_text().split("questions_ja:")[0])
    for name in ("measures", "caveats"):
        f = rules / "catalog" / f"{name}.yaml"
        f.write_text("\n".join(line for line in f.read_text().splitlines() if "text_ja:" not in line) + "\n")
    cat = advisor.load_rulebase(rules).catalog
    assert not cat.questions_ja and not cat.text_ja.labels and cat.measures["energy_dialogue"].text_ja is None


def test_japanese_questions_with_too_few_entries_are_refused(tmp_path):
    from advisor.errors import CatalogError

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    q = rules / "catalog" / "questions.yaml"
    text = q.read_text().replace('    - "誤算を防ぐには、防衛当局者間でどのような交流が役立つか。"\n', "")
    q.write_text(text)
    with pytest.raises(CatalogError) as e:
        advisor.load_rulebase(rules)
    assert "questions_ja.6: 2 questions, but 3 in English" in str(e.value.problems[0])


@pytest.mark.slow
def test_packet_in_japanese(invoke, rulebase):
    md = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja", "--as-of", "today"]).stdout
    cat = rulebase.catalog
    for heading in (
        "## ファシリテーター／コントローラー用ガイド",
        "## 演習目標",
        "## 初期状況",
        "## モジュール 2",
        "### 主要論点",
        "### 討議課題",
        "### 解答例",
        "#### 日本の関係機関（役割別）",
        "#### 提言が日本に求めること",
        "## 参照した提言",
    ):
        assert heading in md, heading
    for q in cat.questions_ja[15]:
        assert q in md
    assert cat.questions[15][0] not in md
    assert cat.measures["reinterpret_collective_defense"].text_ja in md
    assert cat.caveats["collective_self_defense"].text_ja in md
    assert cat.measures["reinterpret_collective_defense"].text not in md
    assert "- **主導:** 外務省 (2, 7, 14) [一般知識]" in md
    assert "- **種類:** ミサイル発射（国家間）" in md and "- **関係国:** 日本、韓国、北朝鮮、アメリカ合衆国" in md
    assert "**集団的自衛権** (2015): 2014年の閣議決定と2015年の平和安全法制" in md
    participant = invoke(["brief", EXERCISE, "--lang", "ja"]).stdout
    assert "## 参加者用状況マニュアル" in participant and "解答例" not in participant


# --- printing --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_html_print_stylesheet(invoke):
    html = invoke(["brief", EXERCISE, "--format", "html"]).stdout
    assert "@page { size: A4;" in html and '@top-center { content: "FOR EXERCISE USE ONLY"' in html
    assert 'counter(page) " of " counter(pages)' in html
    assert "break-after: avoid" in html and "break-inside: avoid" in html
    assert "break-before: page" not in html and "page-break-before" not in html  # no forced breaks
    letter = invoke(["brief", EXERCISE, "--format", "html", "--paper", "letter"]).stdout
    assert "@page { size: letter;" in letter
    assert html.count('<section class="module"') == 4


needs_print = pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("pdftotext") is None,
    reason="Chromium and poppler-utils are not installed",
)


def _print(html_path, tmp_path) -> "Pdf":
    out = html_path.with_suffix(".pdf")
    run = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={out}",
            "--no-pdf-header-footer",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0 and out.exists(), run.stderr[-2000:]
    return Pdf(out)


class Pdf:
    def __init__(self, path):
        self.path = path
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        self.pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
        self.size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M).groups()

    def text(self, page: int, layout: bool = True) -> str:
        return subprocess.run(
            ["pdftotext", *(["-layout"] if layout else []), "-f", str(page), "-l", str(page), str(self.path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def _body(text: str, marking: str = MARKING) -> str:
    """A page's text without its margin boxes (the marking, the page number)."""
    lines = [
        line
        for line in text.splitlines()
        if line.strip()
        and not re.fullmatch(rf"\s*({re.escape(marking)})?\s*(Page \d+ of \d+|\d+ ?/ ?\d+ ページ)?\s*", line)
    ]
    return "\n".join(lines)


@pytest.mark.slow
@needs_print
def test_guide_prints_with_marking_page_numbers_and_the_picture(invoke, tmp_path):
    target = tmp_path / "guide.html"
    invoke(["brief", EXERCISE, "--format", "html", "--facilitator", "--as-of", "today", "-o", target])
    pdf = _print(target, tmp_path)
    assert 12 <= pdf.pages <= 40
    assert pdf.size == ("594.96", "841.92")  # A4
    pages = [pdf.text(i) for i in range(1, pdf.pages + 1)]
    for i, text in enumerate(pages, start=1):
        assert text.count(MARKING) >= 2, i  # the header and the footer
        assert f"Page {i} of {pdf.pages}" in text, i
        assert len(_body(text).split()) >= 40, f"page {i} is (nearly) blank"
    everything = "\n".join(pages)
    assert "Answer key" in everything and "Module 3: The regime collapses" in everything
    assert "(lead)" in everything and "Japanese agencies" in everything  # the network picture's labels
    # no heading left alone at the foot of a page
    for text in pages:
        last = _body(text).splitlines()[-1].strip()
        assert last not in ("Answer key", "Key issues", "Discussion questions"), last


@pytest.mark.slow
@needs_print
def test_manual_prints_without_answers_and_the_handout_on_one_page(invoke, tmp_path):
    manual = tmp_path / "manual.html"
    invoke(["brief", EXERCISE, "--format", "html", "-o", manual])
    pdf = _print(manual, tmp_path)
    assert 3 <= pdf.pages <= 12
    text = "\n".join(pdf.text(i) for i in range(1, pdf.pages + 1))
    assert "Participant Situation Manual" in text and "Answer key" not in text and "(lead)" not in text
    assert "North Korea (PRK)" in text  # the parties picture
    handout = tmp_path / "handout.html"
    invoke(["brief", EXERCISE, "--format", "html", "--handout", "-o", handout])
    one = _print(handout, tmp_path)
    assert one.pages == 1
    page = " ".join(one.text(1, layout=False).split())
    assert "Module schedule" in page and "The regime collapses and refugees cross the borders" in page
    assert "Page 1 of 1" in page and page.count(MARKING) >= 2


@pytest.mark.slow
@needs_print
def test_letter_and_a4_page_sizes(invoke, tmp_path):
    sizes = {}
    for paper in ("a4", "letter"):
        target = tmp_path / f"handout-{paper}.html"
        invoke(["brief", ESCALATION, "--format", "html", "--handout", "--paper", paper, "-o", target])
        pdf = _print(target, tmp_path)
        assert pdf.pages == 1
        sizes[paper] = pdf.size
    assert sizes == {"a4": ("594.96", "841.92"), "letter": ("612", "792")}


@pytest.mark.slow
@needs_print
def test_japanese_packet_prints_its_glyphs(invoke, tmp_path):
    target = tmp_path / "guide-ja.html"
    invoke(["brief", EXERCISE, "--format", "html", "--facilitator", "--lang", "ja", "-o", target])
    pdf = _print(target, tmp_path)
    assert 12 <= pdf.pages <= 40
    first, text = " ".join(pdf.text(1).split()), "\n".join(pdf.text(i) for i in range(1, pdf.pages + 1))
    assert "ファシリテーター／コントローラー用ガイド" in first and re.search(rf"1 ?/ ?{pdf.pages} ページ", first)
    # the glyphs came out as text (a missing font would print boxes, which pdftotext cannot read back)
    assert "集団的自衛権の行使を禁じる解釈を変更する。" in text.replace(" ", "").replace("\n", "")
    assert "討議課題" in text and "解答例" in text


# --- safe text -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["--facilitator"], ["--handout"]], ids=["manual", "guide", "handout"])
def test_exercise_fields_are_shown_not_obeyed(invoke, tmp_path, args):
    from test_safe_text import ATTACK, assert_safe_markdown, descriptor

    short = "<img src=x> \x1b[31m |col2|"  # for the fields of at most 60 characters
    raw = descriptor(
        exercise={
            "name": "# Heading " + ATTACK,
            "sponsor": ATTACK,
            "dates": "- list " + short,
            "marking": "</style><script>x</script>\u202e",
            "objectives": [{"id": "O1", "text": "> quote " + ATTACK, "recommendations": [12]}],
            "players": [{"role": "|col| " + ATTACK}],
        }
    )
    raw["injects"][0].update(
        {
            "time": "# Heading " + short,
            "delivery": "- list " + short,
            "from": "> quote " + ATTACK,
            "to": "```\n" + ATTACK,
            "objectives": ["O1"],
        }
    )
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    md = invoke(["brief", path, *args]).stdout
    assert_safe_markdown(md)
    html = invoke(["brief", path, "--format", "html", *args]).stdout
    assert "<script" not in html and "<img" not in html and html.count("</style>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "\\u202e" in html


def test_marking_in_the_page_css_reads_back_exactly(invoke, tmp_path):
    """The marking goes into CSS as hex escapes; CSS swallows one space after an escape, so each escape
    carries its own: read back by CSS's rules, the marking is the one written."""
    raw = json.loads(EXERCISE.read_text())
    raw["exercise"]["marking"] = 'SECRET (REL JPN) & NOFORN "quoted" </style>'
    path = tmp_path / "marked.json"
    path.write_text(json.dumps(raw))
    html = invoke(["brief", path, "--format", "html"]).stdout
    literal = re.search(r'@top-center\s*\{\s*content:\s*("(?:[^"\\]|\\[0-9a-f]{1,6}\s?)*")', html)
    assert literal, "no marking in the page's top margin"
    decoded = re.sub(r"\\([0-9a-f]{1,6})[ \t\n]?", lambda m: chr(int(m.group(1), 16)), literal.group(1)[1:-1])
    assert decoded == raw["exercise"]["marking"]
