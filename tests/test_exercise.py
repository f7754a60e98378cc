"""The exercise-grade tabletop: the controller's MSEL, EEGs, the hot wash (AAR/IP) and role cards."""

import csv
import io
import json

import pytest

from conftest import DATA, THREATS

EXERCISE = THREATS / "korean_peninsula_exercise.json"
DECISIONS = DATA / "korean_peninsula_decisions.yaml"
COLUMNS = [
    "Event",
    "Scenario time",
    "Module",
    "Inject",
    "Inject text",
    "Delivery method",
    "From",
    "To",
    "Responsible player/agency",
    "Expected action(s)",
    "Objective(s)",
    "Recommendation(s)",
    "Notes",
]
FORMULA = '=HYPERLINK("http://evil","x")'
ATTACK = "\x1b]0;pwned\x07 <script>alert(1)</script> a\rb"


@pytest.fixture()
def evil(tmp_path):
    raw = json.loads(EXERCISE.read_text())
    raw["title"] = FORMULA + " " + ATTACK
    raw["exercise"]["name"] = "-" + ATTACK
    raw["exercise"]["players"][0]["role"] = "@" + ATTACK
    inject = raw["injects"][0]
    inject.update(
        {
            "title": FORMULA,
            "description": "+" + ATTACK,
            "time": "=1+1",
            "delivery": "\tphone",
            "from": "@SUM(A1)",
            "to": "-2",
            "x_controller_note": FORMULA,
        }
    )
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


# --- the MSEL -----------------------------------------------------------------------------------


def test_msel_has_the_hseep_columns_and_one_row_per_inject_and_the_start(invoke):
    text = invoke(["msel", EXERCISE, "--format", "csv"]).stdout
    rows = read_csv(text)
    assert rows[0] == COLUMNS
    body = rows[1:]
    assert [r[0] for r in body] == ["1", "2", "3", "4"]  # the start is event 1, then the three injects
    assert [r[2] for r in body] == ["Start", "Module 1", "Module 2", "Module 3"]
    assert body[1][3] == "North Korea announces a nuclear test"
    assert body[1][1:2] + body[1][5:8] == ["D+1 07:00", "news report", "Simulated news agency", "All players"]
    assert [r[10] for r in body] == ["O1\nO2", "O1", "O1\nO2", "O2\nO3"]
    assert "15" in body[2][11].split(", ")  # the missile over Japan brings recommendation 15


def test_msel_names_the_responsible_body_never_bare_japan(invoke):
    rows = read_csv(invoke(["msel", EXERCISE, "--format", "csv"]).stdout)[1:]
    for row in rows:
        assert row[8] and row[8] != "Japan" and not row[8].startswith("Japan ")
    # the player role standing for the lead agency
    assert rows[0][8].startswith(
        "Ministry of Foreign Affairs, Asian and Oceanian Affairs Bureau (lead); "
        "Cabinet Secretariat (crisis management) (Prime Minister's Office) (coordinate)"
    )


def test_msel_expected_actions_are_together_in_one_cell(invoke):
    rows = read_csv(invoke(["msel", EXERCISE, "--format", "csv"]).stdout)[1:]
    missile = rows[2][9].split("\n")
    assert (
        missile[0]
        == "Change the interpretation that bans the exercise of the right of collective self-defence. (rec. 15)"
    )
    assert missile[1].startswith("Weigh: The government's interpretation bars")
    assert missile[-1] == "Still in play from start, module 1: 23 frameworks, Ministry of Foreign Affairs leading"
    collapse = rows[3][9].split("\n")
    assert "Self Defense Forces supports (rec. 6)" in collapse
    assert rows[3][12] == "basis: general knowledge for host state consent"


def test_msel_csv_is_for_spreadsheets(invoke, evil):
    raw = invoke(["msel", evil, "--format", "csv"]).stdout_bytes  # .stdout would turn CRLF into LF
    text = raw.decode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.split(b"\n")[0].endswith(b"\r") and raw.endswith(b"\r\n") and raw.count(b"\r\n") == 5
    rows = read_csv(text)
    assert all(len(r) == len(COLUMNS) for r in rows) and len(rows) == 5
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "\x1b" not in text and "\r" not in "".join(cells)
    row = rows[2]
    assert row[3] == "'" + FORMULA and row[1] == "'=1+1" and row[5] == "'\tphone" and row[6] == "'@SUM(A1)"
    assert row[7] == "'-2" and row[4].startswith("'+\\x1b]0;pwned\\x07 <script>")
    assert "x_controller_note: " + FORMULA in row[12]


@pytest.mark.slow
def test_msel_xlsx_cells_are_text_and_the_header_is_frozen(invoke, evil, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "msel.xlsx"
    invoke(["msel", evil, "--format", "xlsx", "-o", out])
    ws = load_workbook(out).active
    assert [c.value for c in ws[1]] == COLUMNS
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 5
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    assert not [c for c in cells if str(c.value)[:1] in ("=", "+", "-", "@", "\t")]
    assert ws["D3"].value == "'" + FORMULA and "\x1b" not in "".join(str(c.value) for c in cells)
    assert ws.column_dimensions["J"].width > 40


def test_msel_xlsx_goes_to_a_file_or_a_pipe_never_a_terminal(invoke, monkeypatch):
    import sys

    from advisor.errors import OutputError
    from advisor.output import write_bytes

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    with pytest.raises(OutputError, match="binary and would garble the terminal"):
        write_bytes(b"PK", None, what="XLSX")
    piped = invoke(["msel", EXERCISE, "--format", "xlsx"]).stdout_bytes
    assert piped.startswith(b"PK")  # a zip: the workbook, piped


def test_msel_xlsx_never_overwrites_its_input_or_follows_a_link(invoke, tmp_path):
    link = tmp_path / "link.xlsx"
    link.symlink_to(tmp_path / "target.xlsx")
    result = invoke(["msel", EXERCISE, "--format", "xlsx", "-o", link], exit_code=2)
    assert "is a symbolic link" in result.stderr
    copy = tmp_path / "scenario.json"
    copy.write_text(EXERCISE.read_text())
    result = invoke(["msel", copy, "--format", "xlsx", "-o", copy], exit_code=2)
    assert "never writes over its input" in result.stderr
    assert json.loads(copy.read_text())["id"] == "korean_peninsula_exercise"


def test_msel_markdown_keeps_one_row_per_inject(invoke, evil):
    md = invoke(["msel", evil]).stdout
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Event")]
    assert len(rows) == 4 and all(line.count(" | ") == 12 for line in rows)
    assert "<script" not in md and "\x1b" not in md and "&lt;script>" in md
    assert md.startswith("**FOR EXERCISE USE ONLY**")


# --- Exercise Evaluation Guides ---------------------------------------------------------------------


def test_eeg_has_a_guide_per_objective_with_its_tasks(invoke):
    md = invoke(["eeg", EXERCISE]).stdout
    heads = [line for line in md.splitlines() if line.startswith("## Objective")]
    assert [h.split(":")[0] for h in heads] == ["## Objective O1", "## Objective O2", "## Objective O3"]
    o3 = md.split("## Objective O3")[1]
    assert "- **Modules:** Module 3" in o3
    assert (
        "| 1 | Module 3 | Propose “coalition of the willing” for crises of state governance | 11 | "
        "r11-governance-crisis | document |  |  |"
    ) in o3
    assert "Rating: P = Performed without challenges; S = Performed with some challenges" in md


def test_eeg_tasks_come_from_the_rules(rulebase):
    import advisor
    from advisor.exercise import guides
    from advisor.render.names import Names

    a = advisor.assess(advisor.load_threat(EXERCISE, rulebase), rulebase)
    found = {g.id: g for g in guides(a, rulebase.catalog, Names(rulebase.catalog), rulebase)}
    assert set(found) == {"O1", "O2", "O3"}
    for g in found.values():
        assert g.tasks
        for t in g.tasks:
            assert set(t.recommendations) & set(g.recommendations)
            assert (
                t.rules and all(r in rulebase.by_id for r in t.rules) and t.basis in ("document", "general_knowledge")
            )
    # the missile over Japan tests O2 but adds nothing for 14: the players keep the coordination going
    assert [t.continuing for t in found["O2"].tasks if t.module == "Module 2"] and all(
        t.continuing for t in found["O2"].tasks if t.module == "Module 2"
    )


@pytest.mark.slow
def test_eeg_docx_and_html(invoke, tmp_path, evil):
    from docx import Document

    out = tmp_path / "eeg.docx"
    invoke(["eeg", evil, "--format", "docx", "-o", out])
    doc = Document(out)
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert [h for h in heads if h.startswith("Objective")][:3] == [
        "Objective O1: Decide which alliance and dialogue frameworks Japan invokes as the missile crisis grows.",
        "Objective O2: Coordinate the ministries and agencies across diplomacy, defence, police and economics.",
        "Objective O3: Prepare Japan's part in a regional response if the North Korean regime collapses.",
    ]
    assert doc.tables[0].rows[0].cells[7].text == "Rating"
    title = next(p.text for p in doc.paragraphs if p.style.name == "Title")
    assert title.startswith("Exercise Evaluation Guides: -\\x1b]0;pwned\\x07 <script>") and "\x1b" not in title
    page = invoke(["eeg", evil, "--format", "html"]).stdout
    assert "<script" not in page and "&lt;script&gt;" in page and "\x1b" not in page


# --- the hot wash -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(rulebase):
    import advisor
    from advisor.exercise import modules, read_decisions, score
    from advisor.render.names import Names

    names = Names(rulebase.catalog)
    a = advisor.assess(advisor.load_threat(EXERCISE, rulebase), rulebase)
    decisions = read_decisions(DECISIONS, rulebase.catalog, modules(a, rulebase.catalog, names))
    return score(a, decisions, rulebase.catalog, names, rulebase)


def test_hotwash_scores_done_missed_and_unexpected(report):
    by = {s.module.label: s for s in report.scores}
    start = by["Start"]
    assert {(x.kind, x.id) for x in start.done} >= {
        ("frameworks", "japan_us_alliance"),
        ("frameworks", "tcog"),
        ("agencies", "ministry_of_foreign_affairs"),
        ("states", "USA"),
    }
    assert ("frameworks", "us_rok_alliance") in {(x.kind, x.id) for x in start.missed}
    assert [(x.id, when) for x, when in start.late] == [("four_party_talks", "Module 1"), ("CHN", "Module 1")]
    assert [(u.kind, u.id) for u in by["Module 2"].unexpected] == [
        ("frameworks", "anti_piracy_conference"),
        ("agencies", "maritime_safety_agency"),
    ]
    piracy = by["Module 2"].unexpected[0]
    assert piracy.recommendations == [12] and piracy.rules == ["r12-anti-piracy-conference"]
    sdf = next(x for x in by["Module 3"].done if x.id == "self_defense_forces")
    assert sdf.recommendations == [6] and sdf.rules == ["r06-mootw-humanitarian"]
    assert all(x.recommendations and x.rules for s in report.scores for x in s.done + s.missed)
    assert report.totals[0] == 12 and report.totals[3] == 2


def test_hotwash_drafts_the_aar_and_improvement_plan(invoke):
    md = invoke(["hotwash", EXERCISE, DECISIONS]).stdout
    for head in (
        "# After-Action Report / Improvement Plan: Exercise Morning Calm",
        "## Strengths",
        "## Areas for improvement",
        "## Improvement Plan",
    ):
        assert head in md.splitlines()
    assert "| Start | expected, missed | Invoke US-South Korea alliance | 2, 4 | r04-us-rok-alliance |" in md
    assert (
        "| Module 2 | done, not expected | Asian Cooperation Conference on Combating Piracy and Armed Robbery "
        "against Ships | 12 | r12-anti-piracy-conference |"
    ) in md
    assert "| Issue | Recommendation | Corrective action | Responsible agency | Due |" in md
    plan = [line for line in md.split("## Improvement Plan")[1].splitlines() if line.startswith("| Start: Invoke US")]
    assert plan and plan[0].endswith(" |  |")  # due left blank for the planners
    assert "recommendations 2, 4 ask for it (rule r04-us-rok-alliance)" in md


@pytest.mark.slow
def test_hotwash_docx_has_the_headings_and_the_plan_table(invoke, tmp_path, report):
    from docx import Document

    out = tmp_path / "aar.docx"
    invoke(["hotwash", EXERCISE, DECISIONS, "--format", "docx", "-o", out])
    doc = Document(out)
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]
    assert heads == [
        "After-Action Report / Improvement Plan: Exercise Morning Calm",
        "Hot wash: decisions against the rule-derived expectations",
        "Strengths",
        "Areas for improvement",
        "Improvement Plan",
    ]
    plan = doc.tables[-1]
    assert [c.text for c in plan.rows[0].cells] == [
        "Issue",
        "Recommendation",
        "Corrective action",
        "Responsible agency",
        "Due",
    ]
    assert len(plan.rows) == len(report.plan) + 1
    first = [c.text for c in plan.rows[1].cells]
    assert first[0] == "Start: Invoke US-South Korea alliance was not done"
    assert first[1].startswith("2, 4: ") and first[3] and first[4] == ""
    assert doc.sections[0].header.paragraphs[0].text == "FOR EXERCISE USE ONLY"


def test_hotwash_reads_csv_decisions(invoke, tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text(
        "module,kind,id,role\r\nstart,framework,Japan-US alliance,\r\n0,agency,MOFA,lead\r\n"
        "module 2,framework,anti_piracy_conference,\r\n",
        encoding="utf-8-sig",
    )
    md = invoke(["hotwash", EXERCISE, path]).stdout
    assert "| Start | expected, done | Invoke Japan-US alliance |" in md
    assert "| Start | expected, done | Ministry of Foreign Affairs leads Japan's response |" in md
    assert "| Module 2 | done, not expected | Asian Cooperation Conference" in md


def test_bad_decisions_name_file_line_field_and_suggest(invoke, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("start:\n  frameworks: [Japan-US alliace]\n  bogus: 1\nmodule 9: {}\n")
    result = invoke(["hotwash", EXERCISE, path], exit_code=2)
    assert result.stderr.splitlines() == [
        f"error: {path}:2: start.frameworks[0]: unknown framework 'Japan-US alliace' (did you mean 'japan_us_alliance'?)",
        f"error: {path}:3: start.bogus: unknown field (did you mean one of 'coordinate', 'frameworks', 'lead', "
        "'measures', 'notes', 'states', ...?)",
        f"error: {path}:4: module 9: unknown module (did you mean 'Module 3' or 'Module 2' or 'Module 1'?)",
    ]
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("module,kind,id,role\nstart,agency,Defence Agency,boss\nstart,framwork,arf,\n")
    result = invoke(["hotwash", EXERCISE, bad_csv], exit_code=2)
    assert result.stderr.splitlines() == [
        f"error: {bad_csv}:2: role: unknown role 'boss' (did you mean one of 'coordinate', 'lead', 'participate', "
        "'support'?)",
        f"error: {bad_csv}:3: kind: unknown kind 'framwork' (did you mean 'framework'?)",
    ]


def test_hotwash_html_is_escaped(invoke, tmp_path, evil):
    path = tmp_path / "d.yaml"
    path.write_text('start:\n  notes: "<script>alert(1)</script>"\n  frameworks: [arf]\n')
    page = invoke(["hotwash", evil, path, "--format", "html"]).stdout
    assert "<script" not in page and "\x1b" not in page and "&lt;script&gt;" in page
    md = invoke(["hotwash", evil, path]).stdout
    assert "<script" not in md and "&lt;script>alert(1)&lt;/script>" in md


# --- role cards ----------------------------------------------------------------------------------


def test_rolecards_one_section_per_agency_with_page_breaks(invoke):
    page = invoke(["rolecards", EXERCISE, "--format", "html"]).stdout
    assert page.count('<section class="card">') == 6
    assert ".card { break-after: page;" in page
    for name in (
        "Ministry of Foreign Affairs",
        "Prime Minister&#x27;s Office",
        "Defense Agency",
        "Self Defense Forces",
        "Ministry of Economy, Trade and Industry",
    ):
        assert f"<h2>{name}</h2>" in page


def test_rolecards_say_what_is_asked_partners_and_limits(rulebase):
    import advisor
    from advisor.exercise import role_cards
    from advisor.render.names import Names

    a = advisor.assess(advisor.load_threat(EXERCISE, rulebase), rulebase)
    cards = {c.id: c for c in role_cards(a, rulebase.catalog, Names(rulebase.catalog), rulebase)}
    sdf = cards["self_defense_forces"]
    assert [(m, role, rule) for m, role, rule, _b, _r, _n in sdf.roles] == [
        ("Module 3", "support", "r06-mootw-humanitarian")
    ]
    limits = " ".join(t for t, _cit in sdf.caveats)
    assert "PKO Five Principles" in limits and "consent of the host state" in limits
    assert any("SDF for humanitarian help" in t for t, _cit in sdf.measures)
    mofa = cards["ministry_of_foreign_affairs"]
    assert mofa.player == "Ministry of Foreign Affairs, Asian and Oceanian Affairs Bureau"
    assert "Japan-US alliance" in mofa.frameworks and "United States" in mofa.states
    assert any("collective self-defence" in t for t, _cit in cards["defense_agency"].caveats)


def test_rolecards_markdown_is_escaped(invoke, evil):
    md = invoke(["rolecards", evil]).stdout
    assert "<script" not in md and "\x1b" not in md
    assert "**Player:** @\\\\x1b\\]0;pwned\\\\x07 &lt;script>" in md


# --- what an attack on the decisions file found ------------------------------------------------------


def test_csv_decisions_with_any_line_ends_or_a_huge_cell_are_read_or_refused_clearly(invoke, tmp_path):
    cr = tmp_path / "cr.csv"
    cr.write_bytes(b"module,kind,id,role\rstart,framework,tcog,\r")  # old Mac line ends
    assert "TCOG" in invoke(["hotwash", EXERCISE, cr]).stdout  # read (exit 0), not an internal error
    huge = tmp_path / "huge.csv"
    huge.write_text('module,kind,id,role\nstart,framework,"' + "a" * 200_000 + '"\n')
    err = invoke(["hotwash", EXERCISE, huge], exit_code=2).stderr
    assert err.startswith(f"error: {huge}: not valid CSV: field larger than field limit") and "internal" not in err


def test_one_module_given_twice_under_two_spellings_is_refused(invoke, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("start:\n  frameworks: [tcog]\n0:\n  frameworks: [kedo]\n")
    err = invoke(["hotwash", EXERCISE, path], exit_code=2).stderr
    assert f"{path}:3: 0: the same module as 'start': give each module once" in err


def test_notes_must_be_text_and_messages_use_the_files_words(invoke, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("start:\n  notes: [a, b]\n  frameworks: {a: 1}\n")
    err = invoke(["hotwash", EXERCISE, path], exit_code=2).stderr
    assert "start.notes: expected text, got a list" in err and "got a mapping" in err
    assert "LineList" not in err and "LineDict" not in err


@pytest.mark.slow
def test_many_problems_are_cut_to_a_readable_report(invoke, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("".join(f"module {i}:\n  frameworks: [tcog]\n" for i in range(4, 500)))
    err = invoke(["hotwash", EXERCISE, path], exit_code=2).stderr
    assert err.count("\n") == 21 and "... and 476 more problems" in err
