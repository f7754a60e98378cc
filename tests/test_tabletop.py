"""Tabletop preparation: injects and stages, the brief, the network picture, the MSEL, the matrix,
then-and-now, Japanese names and the guided start."""

import json
import os
import shutil
import subprocess

import pytest

import advisor
from advisor.errors import DescriptorError

from conftest import ROOT, threat_files

PIRACY = ROOT / "threats" / "malacca_piracy.json"
ESCALATION = ROOT / "threats" / "malacca_piracy_escalation.json"
KOREA = ROOT / "threats" / "korean_peninsula_escalation.json"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@pytest.mark.skipif(not os.environ.get("CI"), reason="outside CI the print tests skip when a tool is missing")
def test_ci_has_the_system_packages():
    """.ci/run (which sets CI) installs Graphviz, Chromium and poppler; in CI their tests must not be skipped."""
    assert shutil.which("dot") and shutil.which("chromium") and shutil.which("pdftotext")


# --- injects ---------------------------------------------------------------------------------


def test_at_least_four_scenarios_with_injects(rulebase):
    with_injects = [p for p in threat_files() if advisor.load_threat(p, rulebase).injects]
    assert len(with_injects) >= 4


def test_stages_show_what_each_inject_changes(invoke):
    out = json.loads(invoke(["assess", ESCALATION]).stdout)
    stages = out["stages"]
    assert [s["title"] for s in stages] == [
        "A tanker with a Japanese crew is hijacked",
        "The SDF is asked to escort tankers",
        "Tanker traffic halts and oil supply to Japan is disrupted",
    ]
    assert stages[0]["delta"]["frameworks"]["added"] == ["east_asia_energy_forum", "regional_oil_stockpiling"]
    assert stages[1]["delta"] == {}  # escorting tankers against pirates: no collective-defence question, no new answer
    # the oil supply is cut while the piracy goes on: a new line of events beside the first, which stays
    assert stages[2]["in_play"] == [0, 3] and stages[1]["in_play"] == [0]
    assert not stages[2]["delta"].get("frameworks", {}).get("removed")
    assert {"anti_piracy_conference", "imb_kuala_lumpur"} <= {f["id"] for f in stages[2]["assessment"]["frameworks"]}
    assert stages[2]["assessment"]["threat"]["type"] == "energy_supply_disruption"
    # the pirates are still armed: the coast guard keeps the lead, the energy ministry supports it
    roles = {g["id"]: g["role"] for g in stages[2]["assessment"]["agencies"]}
    assert roles["maritime_safety_agency"] == "lead" and roles["ministry_of_economy_trade_and_industry"] == "support"


def test_injects_merge_attributes_and_replace_the_rest(rulebase):
    t = advisor.load_threat(ESCALATION, rulebase)
    second = t.stages()[1]
    assert second.attributes == {
        "armed": True,
        "cross_border": True,
        "japanese_nationals": True,
        "japanese_ships": True,
        "sdf_deployment": True,
    }
    assert second.severity == "high"


def test_stage_with_one_line_in_play_equals_assessing_that_stage_alone(rulebase):
    """An inject that changes the situation without changing its type updates the one line of events."""
    t = advisor.load_threat(ESCALATION, rulebase)
    second = advisor.assess(t, rulebase).stages[1]
    assert second.in_play == [0]
    assert second.assessment == advisor.assess(t.stages()[1], rulebase).to_data()


def _ids(data, kind):
    return {x["id"] for x in data[kind]}


def test_stages_accumulate_until_an_inject_resolves_them(rulebase):
    """A new type of event starts a line beside the earlier ones, whose answers stay in play (a nuclear
    test does not end the armed incident) until an inject resolves them."""
    t = advisor.load_threat(KOREA, rulebase)
    a = advisor.assess(t, rulebase)
    last = a.stages[-1]
    # the missile over Japan (stage 2) is the missile crisis of the start, escalated: one line
    assert [st.in_play for st in a.stages] == [[0, 1], [0, 1], [0, 1, 3]]
    situations = t.stages()  # stage 1, 2 (the missile line as it now is) and 3 are in play at the end
    alone = {n: advisor.assess(s, rulebase).to_data() for n, s in zip((1, 2, 3), situations)}
    for kind in ("frameworks", "agencies", "measures", "caveats"):
        assert _ids(last.assessment, kind) == set().union(*(_ids(x, kind) for x in alone.values())), kind
    raw = json.loads(KOREA.read_text())
    raw["injects"][-1]["resolves"] = "all"
    ended = advisor.assess(advisor.parse_threat(raw, rulebase), rulebase).stages[-1]
    assert ended.in_play == [3] and ended.resolves == [0, 1, 2]
    assert ended.assessment == alone[3]
    raw["injects"][-1]["resolves"] = [2]  # the missile crisis is over as the regime collapses
    partly = advisor.assess(advisor.parse_threat(raw, rulebase), rulebase).stages[-1]
    assert partly.in_play == [1, 3]
    kept = [alone[1], alone[3]]
    only_the_missile = _ids(alone[2], "frameworks") - set().union(*(_ids(x, "frameworks") for x in kept))
    assert _ids(partly.assessment, "frameworks") == set().union(*(_ids(x, "frameworks") for x in kept))
    assert only_the_missile and not only_the_missile & _ids(partly.assessment, "frameworks")


def test_resolves_names_earlier_stages_only(rulebase):
    raw = {"type": "piracy", "injects": [{"title": "x", "changes": {"severity": "high"}, "resolves": [1]}]}
    with pytest.raises(DescriptorError, match="injects.0.resolves: stage 1 is not before this inject"):
        advisor.parse_threat(raw, rulebase)


@pytest.mark.slow
def test_table_shows_stages(invoke):
    out = invoke(["assess", ESCALATION, "--format", "table"]).stdout
    assert "STAGES" in out and "Stage 2: The SDF is asked to escort tankers" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_bad_inject_names_the_stage(rulebase):
    raw = {
        "type": "piracy",
        "injects": [{"title": "x", "changes": {"severity": "high"}}, {"title": "y", "changes": {"region": "Malaka"}}],
    }
    with pytest.raises(DescriptorError) as e:
        advisor.parse_threat(raw, rulebase, path="t.json")
    assert (
        e.value.render() == "t.json: injects.1.changes.region: unknown value 'Malaka' (did you mean 'malacca_strait'?)"
    )
    raw["injects"][1] = {"title": "z", "changes": {"colour": "red"}}
    with pytest.raises(DescriptorError) as e:
        advisor.parse_threat(raw, rulebase, path="t.json")
    assert e.value.render().startswith("t.json: injects.1.changes: an inject cannot change 'colour'; it may change")


def test_schema_describes_injects(invoke):
    schema = json.loads(invoke(["schema"]).stdout)
    assert "injects" in schema["properties"]
    assert "Inject" in json.dumps(schema["$defs"])


def test_no_injects_no_stages_key(invoke):
    assert "stages" not in json.loads(invoke(["assess", PIRACY]).stdout)


# --- the brief ---------------------------------------------------------------------------------


def test_markdown_brief_sections(invoke):
    """The participants' manual: scenario, modules, questions; the facilitator's guide adds the answers:
    frameworks by layer, existing and proposed marked apart, the network, participants, agencies."""
    out = invoke(["brief", PIRACY]).stdout
    for heading in (
        "# Armed robbery against tankers in the Malacca Strait",
        "## Participant Situation Manual",
        "## Starting situation",
        "### The parties",
        "```mermaid",
        "## Start: Starting situation",
        "### Key issues",
        "### Discussion questions",
        "## References",
    ):
        assert heading in out, heading
    assert "**12. Strengthening regimes for maritime security cooperation" in out
    assert "- Recommendation 3: “Promoting security cooperation" in out
    assert "Western Pacific Naval Symposium" not in out and "**lead:**" not in out
    guide = invoke(["brief", PIRACY, "--facilitator"]).stdout
    for heading in (
        "## Facilitator/Controller Guide",
        "### Answer key",
        "#### Frameworks to invoke",
        "*other security arrangements*",
        "#### Participants",
        "#### The network",
        "flowchart LR",
        "#### Japanese agencies, by role",
    ):
        assert heading in guide, heading
    assert (
        "- communication among the maritime security and police agencies of the region (proposed; 12) [document]"
        in guide
    )
    assert "- Western Pacific Naval Symposium (existing; 12) [document]" in guide
    assert "- **lead:** Maritime Safety Agency (12) [general knowledge]" in guide
    assert "North Korea: deterrence and cooperation" not in guide


def test_korean_brief_puts_both_families_side_by_side(invoke):
    out = invoke(["brief", ROOT / "threats" / "north_korea_nuclear_crisis.json", "--facilitator"]).stdout
    assert "**North Korea: deterrence and cooperation side by side**" in out
    table = out.split("side by side**")[1].split("####")[0]
    assert "Japan-US-South Korea Trilateral Coordination and Oversight Group" in table
    assert "Four-Party Talks" in table


def test_caveats_of_15_in_the_brief(invoke):
    out = invoke(["brief", ROOT / "threats" / "peacekeeping_after_independence.json", "--facilitator"]).stdout
    assert "#### Legal and institutional caveats" in out and "PKO Five Principles" in out.split("#### Legal")[1]


@pytest.mark.slow
def test_participant_and_facilitator_versions(invoke):
    participant = invoke(["brief", ESCALATION]).stdout
    facilitator = invoke(["brief", ESCALATION, "--facilitator"]).stdout
    assert "## Module 2: The SDF is asked to escort tankers" in participant
    assert "Master scenario events list" not in participant and "**Added**" not in participant
    assert "## Master scenario events list (expected player actions)" in facilitator
    assert "**Added**\n\n- frameworks: forum to promote energy dialogue among the countries of East Asia" in facilitator
    assert (
        "**What the inject changes:** attributes {sdf_deployment: true}\n\n**Lines of events in play:** "
        "Starting situation\n\n**Kept**"
    ) in facilitator
    assert "No change in the answer: the players continue the current response." in facilitator


def test_discussion_questions_come_from_the_catalog(rulebase, invoke):
    out = invoke(["brief", PIRACY]).stdout
    for q in rulebase.catalog.questions[12]:
        assert q in out
    assert all(len(qs) >= 3 for qs in rulebase.catalog.questions.values())
    assert sorted(rulebase.catalog.questions) == list(range(1, 16))


@needs_dot
def test_html_brief_is_self_contained_with_the_picture(invoke, tmp_path):
    target = tmp_path / "brief.html"
    invoke(["brief", PIRACY, "--format", "html", "--facilitator", "-o", target])
    html = target.read_text()
    assert html.startswith("<!DOCTYPE html>") and '<figure id="network"><svg' in html
    assert "@media print" in html
    for forbidden in ("<script", "http://", "https://", "@import", "<link"):
        assert forbidden not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
            'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
        ), forbidden


def test_html_brief_without_graphviz_has_a_note(invoke, tmp_path, monkeypatch):
    monkeypatch.setattr("advisor.graph.shutil.which", lambda name: None)
    target = tmp_path / "brief.html"
    invoke(["brief", PIRACY, "--format", "html", "--facilitator", "-o", target])
    html = target.read_text()
    assert 'id="network-missing"' in html and "<svg" not in html


@pytest.mark.slow
@needs_dot
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_html_brief_renders_in_headless_chromium(invoke, tmp_path):
    target = tmp_path / "brief.html"
    invoke(["brief", ESCALATION, "--format", "html", "--facilitator", "-o", target])
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        ["chromium", *flags, "--dump-dom", target.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<svg" in dom.stdout and "Master scenario events list" in dom.stdout and "Answer key" in dom.stdout
    assert dom.stdout.count('<g id="node') >= 10  # the picture's nodes made it into the page
    shot = tmp_path / "brief.png"
    run = subprocess.run(
        ["chromium", *flags, f"--screenshot={shot}", "--window-size=1280,2000", target.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and shot.exists() and shot.stat().st_size > 20_000


# --- the picture -------------------------------------------------------------------------------


def test_graph_mermaid_and_dot(invoke):
    mermaid = invoke(["graph", PIRACY]).stdout
    assert mermaid.startswith("flowchart LR") and 's_MYS(["Malaysia (MYS)"])' in mermaid
    assert "s_MYS --> f_arf" in mermaid and "a_maritime_safety_agency --> s_JPN" in mermaid
    dot = invoke(["graph", PIRACY, "--format", "dot"]).stdout
    assert dot.startswith("digraph network {") and "subgraph cluster_other_arrangements" in dot


@pytest.mark.slow
@needs_dot
def test_graph_svg(invoke):
    svg = invoke(["graph", PIRACY, "--format", "svg"]).stdout
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg') and "Malaysia (MYS)" in svg


def test_graph_svg_without_graphviz_is_a_clear_error(invoke, monkeypatch):
    monkeypatch.setattr("advisor.graph.shutil.which", lambda name: None)
    err = invoke(["graph", PIRACY, "--format", "svg"], exit_code=2).stderr
    assert "SVG needs Graphviz's dot program" in err


# --- the MSEL and the matrix -------------------------------------------------------------------------


def test_matrix_flags_gaps_and_overlaps(invoke):
    out = invoke(["matrix"]).stdout
    assert out.splitlines()[0].split()[:3] == ["Type", "PMO", "MOFA"]
    assert "pandemic" in out and "no lead" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    attack = invoke(["matrix", "--types", "armed_attack", "--regions", "japan"]).stdout
    row = attack.splitlines()[2].split()
    assert row[:5] == ["armed_attack", "S", "C", "L", "S"]  # MOFA supports, the Defense Agency leads
    assert "0 with more than one lead" in attack


def test_matrix_csv_and_markdown(invoke, rulebase):
    csv_text = invoke(["matrix", "--types", "piracy,terrorism", "--regions", "all", "--format", "csv"]).stdout
    assert csv_text.splitlines()[0].startswith("Type,Region,PMO,MOFA")
    assert len(csv_text.splitlines()) == 1 + 2 * len(rulebase.catalog.vocabulary.regions)
    assert "terrorism,europe," in csv_text and csv_text.splitlines()[-1].endswith("no lead")
    assert invoke(["matrix", "--types", "piracy", "--format", "markdown"]).stdout.startswith("| Type |")


def test_matrix_unknown_type(invoke):
    assert "unknown type 'pirates!'" in invoke(["matrix", "--types", "pirates!"], exit_code=2).stderr


# --- then and now, Japanese names ------------------------------------------------------------------


@pytest.mark.slow
def test_as_of_today_adds_without_rewriting(invoke):
    plain = invoke(["assess", KOREA]).stdout
    today = json.loads(invoke(["assess", KOREA, "--as-of", "today"]).stdout)
    assert "since_2002" not in json.loads(plain)
    became = {x["id"]: x["became"] for x in today["since_2002"]}
    assert "Ministry of Defense" in became["defense_agency"]
    assert "ReCAAP" not in " ".join(became.values())
    today.pop("since_2002")
    assert json.dumps(today, indent=2, ensure_ascii=False) + "\n" == plain


def test_as_of_today_in_the_brief(invoke):
    out = invoke(["brief", PIRACY, "--as-of", "today", "--facilitator"]).stdout
    assert "#### Since 2002 (as of today)" in out and "ReCAAP" in out
    assert "ReCAAP" not in invoke(["brief", PIRACY, "--as-of", "today"]).stdout  # an answer: not for players


def test_japanese_names(invoke):
    table = invoke(["assess", PIRACY, "--format", "table", "--lang", "ja"]).stdout
    assert "海上保安庁" in table and "西太平洋海軍シンポジウム" in table and "マレーシア" in table
    data = json.loads(invoke(["assess", PIRACY, "--lang", "ja"]).stdout)
    msa = next(g for g in data["agencies"] if g["id"] == "maritime_safety_agency")
    assert msa["name"] == "Maritime Safety Agency" and msa["name_ja"] == "海上保安庁"
    assert "外務省" in invoke(["brief", PIRACY, "--lang", "ja", "--facilitator"]).stdout


def test_japanese_names_of_2002_and_of_today(invoke):
    """The Defense Agency (防衛庁) became the Ministry of Defense (防衛省) in 2007."""
    attack = ROOT / "threats" / "armed_attack.json"
    then = json.loads(invoke(["assess", attack, "--lang", "ja"]).stdout)
    now = json.loads(invoke(["assess", attack, "--lang", "ja", "--as-of", "today"]).stdout)
    name = {
        d: next(g["name_ja"] for g in x["agencies"] if g["id"] == "defense_agency")
        for d, x in (("then", then), ("now", now))
    }
    assert name == {"then": "防衛庁", "now": "防衛省"}
    assert "防衛省" in invoke(["brief", attack, "--lang", "ja", "--as-of", "today", "--facilitator"]).stdout


def test_every_agency_has_its_official_japanese_name(rulebase):
    assert set(rulebase.catalog.names_ja["agencies"]) == set(rulebase.catalog.agencies)


# --- the guided start --------------------------------------------------------------------------------

ANSWERS = (
    "\n".join(
        [
            "Pirates near Singapore",
            "pirates",
            "Malaka",
            "Malacca",
            "Indonesia, Singapre",
            "Indonesia, Singapore",
            "tankers, sloc",
            "non state",
            "high",
            "armed",
            "",
        ]
    )
    + "\n"
)


@pytest.mark.slow
def test_new_asks_validates_and_writes_json(invoke, tmp_path):
    target = tmp_path / "mine.json"
    result = invoke(["new", "-o", target], input=ANSWERS)
    assert "unknown region 'Malaka' (did you mean 'malacca_strait'?)" in result.stderr
    assert "unknown state 'Singapre' (did you mean 'SGP' (Singapore)?)" in result.stderr
    data = json.loads(target.read_text())
    assert data["id"] == "pirates_near_singapore" and data["type"] == "piracy"
    assert data["region"] == "malacca_strait" and data["states"] == ["IDN", "SGP"]
    assert data["targets"] == ["sea_lanes", "shipping"] and data["attributes"] == {"armed": True}
    assert invoke(["validate", target]).stdout.endswith("ok (piracy)\n")


def test_new_then_assess(invoke):
    out = invoke(["new", "--assess"], input=ANSWERS).stdout
    assert "Western Pacific Naval Symposium" in out and out.startswith("Pirates near Singapore")
