"""The network picture: stages, filters, the lead edge, new bodies marked, the matrix, and how dense it is."""

import re
import shutil
import xml.dom.minidom

import pytest

import advisor
from advisor.graph import DENSE, Graph, crossings, density, drawn_edges, network

from conftest import ROOT

KOREA = ROOT / "threats" / "korean_peninsula_exercise.json"
PIRACY = ROOT / "threats" / "malacca_piracy.json"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

# The Korean exercise's picture as first built (every membership an edge: 27 nodes, 54 edges, 267 crossings
# in Graphviz's layout), and the bounds the grouped picture must keep. Repeat the measurement with
#   .venv/bin/python -c "import advisor; from advisor.graph import *; rb = advisor.load_rulebase();
#     a = advisor.assess(advisor.load_threat('threats/korean_peninsula_exercise.json', rb), rb);
#     [print(density(g), crossings(g)) for g in (network(a, group=False), network(a))]"
BEFORE = {"edges": 54, "per_node": 2.0, "max_degree": 16, "crossings": 267}
BOUND = {"per_node": 1.1, "max_degree": 8, "crossings": 40}


@pytest.fixture(scope="module")
def korea(rulebase):
    return advisor.assess(advisor.load_threat(KOREA, rulebase), rulebase)


def test_the_korean_picture_is_less_dense(korea):
    full, shown = network(korea, group=False), network(korea)
    assert density(full).per_node > DENSE and shown.grouped  # dense, so grouped without being asked
    d = density(shown)
    assert d.nodes == density(full).nodes  # nothing dropped: every body is still drawn
    assert d.per_node <= BOUND["per_node"] < BEFORE["per_node"]
    assert d.max_degree <= BOUND["max_degree"] < BEFORE["max_degree"]


@needs_dot
def test_the_korean_picture_has_few_crossings(korea):
    assert (
        crossings(network(korea)) <= BOUND["crossings"] < BEFORE["crossings"] <= crossings(network(korea, group=False))
    )


def test_a_sparse_picture_is_not_grouped(rulebase):
    a = advisor.assess(advisor.load_threat(PIRACY, rulebase), rulebase)
    g = network(a)
    assert not g.grouped and density(g).per_node <= DENSE


def test_crossings_of_a_hand_made_layout():
    from advisor.graph import _cross

    assert _cross((0, 0), (2, 2), (0, 2), (2, 0)) and not _cross((0, 0), (1, 1), (1, 1), (2, 0))


def test_grouped_edges_come_from_the_clusters(korea):
    g = network(korea)
    assert ("@states", "arf", "member") in g.edges and ("@agencies", "JPN", "part of") in g.edges
    assert not [e for e in g.edges if e[1] == "arf" and e[0] in {c for c, _ in g.states}]
    mermaid = advisor.graph.to_mermaid(g)
    assert "  states --> f_arf" in mermaid and "  agencies --> s_JPN" in mermaid
    dot = advisor.graph.to_dot(g)
    assert "compound=true" in dot and "ltail=cluster_states" in dot


def test_states_linked_alike_become_one_node():
    g = Graph(
        states=[("CHN", "China (CHN)"), ("RUS", "Russia (RUS)"), ("KOR", "South Korea (KOR)")],
        frameworks=[("a", "A", "other_arrangements", "existing"), ("b", "B", "other_arrangements", "existing")],
        edges=[("CHN", "a", "member"), ("RUS", "a", "member"), ("KOR", "b", "member")],
    )
    shown = advisor.graph.grouped(g)
    assert ("CHN+RUS", "China, Russia (CHN, RUS)") in shown.states
    assert ("CHN+RUS", "a", "member") in shown.edges and len(shown.edges) == 2


# --- the lead edge ---------------------------------------------------------------------------------


def test_the_lead_agency_is_joined_to_the_frameworks_it_leads(korea):
    """MOFA leads under recommendation 2 (r02-diplomacy-lead): the frameworks serving 2 in the answer."""
    leads = sorted(dst for src, dst, kind in network(korea, group=False).edges if kind == "leads")
    assert leads == ["arf", "japan_us_alliance", "us_rok_alliance"]
    assert {src for src, _, kind in network(korea).edges if kind == "leads"} == {"ministry_of_foreign_affairs"}


def test_a_lead_in_every_framework_of_a_layer_is_one_edge_to_the_layer(invoke, rulebase):
    a = advisor.assess(advisor.load_threat(PIRACY, rulebase), rulebase)
    drawn = drawn_edges(network(a))
    assert ("maritime_safety_agency", "@layer:other_arrangements", "leads") in drawn
    mermaid = invoke(["graph", PIRACY]).stdout
    assert "a_maritime_safety_agency ==> other_arrangements" in mermaid
    assert "lhead=cluster_other_arrangements" in invoke(["graph", PIRACY, "--format", "dot"]).stdout


# --- stages ------------------------------------------------------------------------------------------


def test_stage_zero_is_the_start_and_marks_nothing(invoke):
    out = invoke(["graph", KOREA, "--stage", "0", "--no-group"]).stdout
    assert "new:" not in out and "f_kedo" not in out and "s_PRK --> f_arf" in out


def test_a_stage_shows_the_bodies_its_inject_brings(invoke):
    out = invoke(["graph", KOREA, "--stage", "1"]).stdout
    assert 'f_kedo["new: Korean Peninsula Energy Development Organization"]' in out
    assert re.search(r"class [a-z_,]*f_kedo[a-z_,]* new", out)
    dot = invoke(["graph", KOREA, "--stage", "3", "--format", "dot"]).stdout
    assert 'label="new: Self Defense Forces (support)", shape=box' in dot and 'penwidth=3, color="#c0392b"' in dot
    assert "stage 3: The regime collapses and refugees cross the borders" in dot


def test_stage_out_of_range_and_both_options(invoke):
    err = invoke(["graph", KOREA, "--stage", "4"], exit_code=2).stderr
    assert err == (
        "error: --stage: there is no stage 4: this scenario has stages 0 to 3 (0 is the start, then one per inject)\n"
    )
    assert (
        "give --stage N or --stages, not both"
        in invoke(["graph", KOREA, "--stage", "1", "--stages"], exit_code=2).stderr
    )


def test_stages_in_mermaid_are_one_block_each(invoke):
    out = invoke(["graph", KOREA, "--stages"]).stdout
    assert [line for line in out.splitlines() if line.startswith("```")] == ["```mermaid", "```"] * 4
    assert re.findall(r"^## .*stage (\d)", out, re.M) == ["0", "1", "2", "3"]
    assert out.count("new: ") == 9  # seven bodies at the nuclear test, two at the regime's collapse


def test_stages_in_dot_are_separate_graphs(invoke):
    out = invoke(["graph", KOREA, "--stages", "--format", "dot"]).stdout
    assert re.findall(r"^digraph (\w+) \{", out, re.M) == ["stage_0", "stage_1", "stage_2", "stage_3"]


@pytest.mark.slow
@needs_dot
def test_stages_in_svg_are_stacked_in_one_document(invoke, tmp_path):
    target = tmp_path / "stages.svg"
    invoke(["graph", KOREA, "--stages", "--format", "svg", "-o", target])
    doc = xml.dom.minidom.parse(str(target))
    outer = doc.documentElement
    inner = [n for n in outer.childNodes if getattr(n, "tagName", None) == "svg"]
    assert len(inner) == 4
    ys = [float(n.getAttribute("y")) for n in inner]
    assert ys == sorted(ys) and ys[0] == 0
    assert float(outer.getAttribute("height").removesuffix("pt")) >= ys[-1] + float(inner[-1].getAttribute("height"))


def test_a_scenario_without_injects_has_one_stage(invoke):
    out = invoke(["graph", PIRACY, "--stages", "--format", "dot"]).stdout
    assert re.findall(r"^digraph (\w+)", out, re.M) == ["stage_0"]


# --- filters ----------------------------------------------------------------------------------------


def test_state_filter(invoke):
    out = invoke(["graph", KOREA, "--state", "south korea", "--format", "dot"]).stdout
    assert "s_KOR [" in out and "s_JPN [" not in out and "f_us_rok_alliance [" in out
    assert "f_japan_us_alliance [" not in out and "f_mtcr [" not in out  # Korea is in neither
    assert "a_ministry_of_foreign_affairs [" in out  # it leads in the US-Korea alliance and the ARF
    assert "a_defense_agency [" not in out


def test_layer_filter(invoke):
    out = invoke(["graph", KOREA, "--layer", "alliances", "--layer", "japanese_coordination", "--no-group"]).stdout
    frameworks = set(re.findall(r"^    (f_\w+)\[", out, re.M))
    assert frameworks == {
        "f_japan_us_alliance",
        "f_us_rok_alliance",
        "f_alliance_network",
        "f_policy_coordination_committee",
        "f_east_asia_security_contact_group",
    }
    assert "s_PRK" not in out and "s_USA --> f_japan_us_alliance" in out
    assert "a_foreign_policy_bureau -.-> f_policy_coordination_committee" in out


def test_unknown_filters(invoke):
    assert (
        invoke(["graph", KOREA, "--layer", "aliances"], exit_code=2).stderr
        == "error: --layer: unknown layer 'aliances' (did you mean 'alliances'?)\n"
    )
    assert "error: --state: unknown state 'Koria'" in invoke(["graph", KOREA, "--state", "Koria"], exit_code=2).stderr


# --- the matrix and the note ------------------------------------------------------------------------


def test_matrix(invoke):
    out = invoke(["graph", KOREA, "--format", "matrix"]).stdout
    lines = out.splitlines()
    assert lines[2].startswith("| Framework | Layer | CHN | JPN | KOR | PRK | RUS | USA | MOFA |")
    assert "| Japan-US alliance | Alliances |  | M |  |  |  | M | L |" in out
    assert "| Four-Party Talks | Other security arrangements | M | p | M | M | p | M |" in out
    assert "M member, p takes part" in out


def test_a_dense_picture_suggests_the_matrix(invoke):
    err = invoke(["graph", KOREA]).stderr
    assert err.startswith("advisor: note: with every edge drawn this picture has 2.11 edges per node (over 1.5)")
    assert "--format matrix" in err
    assert invoke(["graph", PIRACY]).stderr == "" and invoke(["graph", KOREA, "--format", "matrix"]).stderr == ""


def test_labels_of_stages_stay_escaped(invoke, tmp_path):
    import json

    path = tmp_path / "evil.json"
    path.write_text(
        json.dumps(
            {
                "type": "piracy",
                "states": ["IDN"],
                "injects": [{"title": 'x"] --> y\n```\n<script>`', "changes": {"severity": "high"}}],
            }
        )
    )
    mermaid = invoke(["graph", path, "--stages"]).stdout
    assert [line for line in mermaid.splitlines() if line.startswith("```")] == ["```mermaid", "```"] * 2
    assert "<script" not in mermaid
    dot = invoke(["graph", path, "--stages", "--format", "dot"]).stdout
    assert 'stage 1: x\\"] --> y ``` <script>`"' in dot
