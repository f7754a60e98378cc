"""Safe text: what a descriptor says reaches every output format shown, never acted on.

Each test writes a descriptor (or a rule base) full of attacks, runs the real command and checks
that the dangerous form is gone while the text is still there to read.
"""

import csv
import io
import json
import re
import shutil

import pytest

from conftest import ROOT

PIRACY = ROOT / "threats" / "malacca_piracy.json"

# one string with every attack: terminal escapes, bidi override, HTML, Markdown, a formula, line breaks
ATTACK = (
    "\x1b]0;pwned\x07 \x1b[31mred \u202eevil <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "![x](http://evil/x.png) [click](javascript:alert(1)) a\rb a\nb |col| END"
)
FORMULA = '=HYPERLINK("http://evil","x")'
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # all that may not go out raw
# a line that Markdown would read as a heading, a quote, a list item or a fence made of the attack
LINK = re.compile(r"(?<!\\)\]\((?:javascript|http)")  # a link or image, `]` right before `(`
BLOCK = re.compile(r"^\s*(?:[-+*]\s+|\d+[.)]\s+)*(?:#{1,6}\s+Heading|>|- list|```|~~~)")


def descriptor(**extra) -> dict:
    return {
        "id": "evil",
        "title": "# Heading " + ATTACK,
        "description": "# Heading\n> quote\n```\n" + ATTACK,
        "type": "piracy",
        "region": "malacca_strait",
        "states": ["IDN"],
        "actor": "non_state",
        "attributes": {"armed": True, "x\x1b[31m<script>|": True},
        "injects": [
            {
                "title": FORMULA + " " + ATTACK,
                "description": "- list\n# Heading " + ATTACK,
                "changes": {"severity": "high", "attributes": {"y\u202e<img src=x>": True}},
            }
        ],
        **extra,
    }


@pytest.fixture()
def evil(tmp_path):
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(descriptor()), encoding="utf-8")
    return path


def assert_no_raw_controls(text: str) -> None:
    assert not RAW.search(text), repr(RAW.search(text).group())


def assert_safe_markdown(md: str) -> None:
    assert_no_raw_controls(md)
    for raw in ("<script", "<img", "![x](", "|col|"):
        assert raw not in md, raw
    assert not LINK.search(md)
    text = re.sub(r"^```mermaid\n.*?^```$", "", md, flags=re.S | re.M)  # the brief's own fence
    assert [line for line in text.splitlines() if BLOCK.match(line)] == []
    # still there to read: shown, not obeyed
    for seen in (
        "&lt;script>alert(1)&lt;/script>",
        r"!\[x\](http://evil/x.png)",
        r"\[click\](javascript:alert(1))",
        r"\|col\|",
        r"\\x1b\]0;pwned\\x07",
        r"\\u202eevil",
        "a b",
    ):
        assert seen in md, seen


# --- the terminal ---------------------------------------------------------------------------------


def test_printable_shows_controls_as_escapes():
    from advisor.render.safe import printable

    assert (
        printable("a\x1b[31mb\x07\rc\x7f\x85\u202ed\u2066\n\te") == "a\\x1b[31mb\\x07\\rc\\x7f\\x85\\u202ed\\u2066\n\te"
    )
    assert printable("Japan's SDF (2002) – 防衛省") == "Japan's SDF (2002) – 防衛省"


@pytest.mark.slow
def test_table_shows_escapes_not_controls(invoke, evil):
    out = invoke(["assess", evil, "--format", "table"]).stdout
    assert_no_raw_controls(out)
    assert "\\x1b]0;pwned\\x07" in out and "\\x1b[31mred" in out and "\\u202eevil" in out
    assert "# Heading" in out and "Stage 1: " + FORMULA in out
    assert "{y\\u202e<img_src=x>:" in out  # attribute names: what the inject changes, and a note
    assert "note: attribute 'x\\x1b[31m<script>|' is not used by any rule" in out
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.slow
def test_explain_shows_escapes_not_controls(invoke, evil):
    out = invoke(["explain", evil, "--why-not", "collective_self_defense", "--what-if"]).stdout
    assert_no_raw_controls(out)
    assert "(now: armed=True, x\\x1b[31m<script>|=True)" in out


def test_policy_report_shows_escapes_not_controls(invoke, tmp_path, evil):
    case = tmp_path / "test_evil.yaml"
    case.write_text(
        json.dumps(
            {
                "cases": [
                    {
                        "name": "bell\x07 and \x1b[2J clear",
                        "because": "\u202eevil",
                        "threat": str(evil),
                        "expect": {"frameworks": ["tcog"]},
                    }
                ]
            }
        )
    )
    out = invoke(["test", case], exit_code=1).stdout
    assert_no_raw_controls(out)
    assert "bell\\x07 and \\x1b[2J clear" in out and "because: \\u202eevil" in out


# --- Markdown -------------------------------------------------------------------------------------


def test_assessment_markdown(invoke, evil):
    md = invoke(["assess", evil, "--format", "markdown"]).stdout
    assert_safe_markdown(md)
    assert md.startswith("# \\# Heading \\\\x1b")


def test_assessment_markdown_of_an_id_without_title(invoke, tmp_path):
    path = tmp_path / "evil.json"
    path.write_text(json.dumps({"id": "1. <b>bold</b> *x*", "type": "piracy"}))
    md = invoke(["assess", path, "--format", "markdown"]).stdout
    assert md.startswith("# 1\\. &lt;b>bold&lt;/b> \\*x\\*\n")


@pytest.mark.parametrize("facilitator", [[], ["--facilitator"]], ids=["participant", "facilitator"])
def test_brief_markdown(invoke, evil, facilitator):
    md = invoke(["brief", evil, *facilitator]).stdout
    assert_safe_markdown(md)
    assert [line for line in md.splitlines() if line.startswith("```")] == ["```mermaid", "```"]
    assert "\\- list # Heading" in md and "\\# Heading &gt; quote" not in md and "\\# Heading > quote" in md


def test_msel_markdown(invoke, evil):
    md = invoke(["msel", evil]).stdout
    assert_safe_markdown(md)
    rows = [line for line in md.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2 and all(line.endswith(" |") and line.count(" | ") == 12 for line in rows)  # 13 cells


def test_ordinary_titles_stay_readable(invoke, tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"title": "Japan's role (2002) - sdf_deployment & 3 > 2!", "type": "piracy"}))
    md = invoke(["assess", path, "--format", "markdown"]).stdout
    assert md.startswith("# Japan's role (2002) - sdf_deployment &amp; 3 > 2!\n")


# --- rule-base text: the catalog listing and the Mermaid picture ------------------------------------


@pytest.fixture(scope="module")
def evil_rules(tmp_path_factory):
    """The shipped rule base with one framework's name made of attacks."""
    rules = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "catalog" / "frameworks.yaml"
    name = 'WPNS "]\n```\n<script>alert(1)</script> `code` #quot; [a](javascript:alert(1)) \x1b[31m|x|'
    text = path.read_text(encoding="utf-8")
    assert 'name: "Western Pacific Naval Symposium"' in text
    path.write_text(
        text.replace('name: "Western Pacific Naval Symposium"', "name: " + json.dumps(name), 1), encoding="utf-8"
    )
    return rules


@pytest.mark.slow
def test_catalog_markdown(invoke, evil_rules):
    md = invoke(["catalog", "frameworks", "--format", "markdown", "--rules", evil_rules]).stdout
    assert_no_raw_controls(md)
    row = next(line for line in md.splitlines() if line.startswith("| wpns |"))
    assert row.count(" | ") == 3 and "<script" not in row and not LINK.search(row) and "```" not in row
    assert "&lt;script>alert(1)&lt;/script>" in row and "\\x1b" in row


def test_mermaid_labels_stay_in_their_quotes(invoke, evil_rules):
    mermaid = invoke(["graph", PIRACY, "--rules", evil_rules]).stdout
    assert_no_raw_controls(mermaid)
    node = next(line for line in mermaid.splitlines() if line.strip().startswith("f_wpns"))
    label = node.strip()[len('f_wpns["') : -len('"]')]
    assert node.strip().startswith('f_wpns["') and node.endswith('"]')
    for raw in ('"', "`", "<", ">", "\n"):
        assert raw not in label, raw
    assert "#quot;]" in label and "#lt;script#gt;alert(1)" in label and "#35;quot;" in label


def test_mermaid_stays_in_its_fence_in_the_brief(invoke, evil_rules):
    md = invoke(["brief", PIRACY, "--rules", evil_rules]).stdout
    assert [line for line in md.splitlines() if line.startswith("```")] == ["```mermaid", "```"]
    assert "<script" not in md


# --- CSV ------------------------------------------------------------------------------------------


def test_msel_csv_has_no_formula_and_keeps_its_rows(invoke, evil):
    text = invoke(["msel", evil, "--format", "csv"]).stdout_bytes.decode("utf-8")
    assert text.startswith("\ufeff") and "\x1b" not in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert all(len(row) == 13 for row in rows)
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    inject = [row[3] for row in rows if row[0] == "2"][0]
    assert inject.startswith("'" + FORMULA) and "\\x1b]0;pwned\\x07" in inject and "a\nb a\nb" in inject


def test_csv_cells_are_neutralised():
    from advisor.render.csv import to_csv

    text = to_csv([["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "a\rb", "ok, fine", "1"]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "a\nb", "ok, fine", "1"]
    ]


# --- JSON, HTML, DOT and SVG ----------------------------------------------------------------------


def test_json_escapes_what_json_lets_through(invoke, tmp_path):
    title = "del\x7f c1\x85 ls\u2028 rlo\u202e"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps({"title": title, "type": "piracy"}))
    out = invoke(["assess", path, "--format", "json"]).stdout
    assert_no_raw_controls(out)
    assert "\u2028" not in out
    assert "del\\u007f c1\\u0085 ls\\u2028 rlo\\u202e" in out
    assert json.loads(out)["threat"]["title"] == title


def test_html_brief(invoke, evil, tmp_path):
    target = tmp_path / "brief.html"
    invoke(["brief", evil, "--format", "html", "--facilitator", "-o", target])
    html = target.read_text(encoding="utf-8")
    assert_no_raw_controls(html)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "\\x1b]0;pwned\\x07" in html


def test_dot_label_is_one_quoted_line(invoke, evil):
    dot = invoke(["graph", evil, "--format", "dot"]).stdout
    assert_no_raw_controls(dot)
    line = next(line for line in dot.splitlines() if "Heading" in line)
    assert 'label="# Heading \\\\x1b]0;pwned\\\\x07' in line and 'a b |col| END", labelloc=t' in line


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_title_is_text(invoke, evil):
    svg = invoke(["graph", evil, "--format", "svg"]).stdout
    assert_no_raw_controls(svg)
    assert "<script" not in svg and "&lt;script&gt;alert(1)" in svg


def test_docx_text_shows_what_xml_cannot_hold():
    """U+FFFE and U+FFFF are not XML 1.0 characters: python-docx refuses them, so they are shown escaped."""
    from advisor.render.safe import docx_text

    assert docx_text("a\uffff\ufffe\x07b") == "a\\xffff\\xfffe\\x07b"


@pytest.mark.parametrize("text", [" =1+1", "\n=cmd|' /C calc'!A0", "\r\n@SUM(A1)", "＝1+1", "＋1", "－1", "＠SUM(A1)"])
def test_cell_text_guards_formulas_behind_spaces_and_full_width(text):
    from advisor.render.safe import cell_text

    assert cell_text(text).startswith("'")


def test_cell_text_leaves_plain_text():
    from advisor.render.safe import cell_text

    assert cell_text(" a = b") == " a = b" and cell_text("Sea of Japan") == "Sea of Japan"
