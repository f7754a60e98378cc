"""CONTRACT.md section 2 on every example, and what a careful reader expects of each."""

import pytest
import yaml

import advisor

from conftest import DATA, threat_files

EXPECT = yaml.safe_load((DATA / "expectations.yaml").read_text())
CONTRACT_TYPES = [
    "armed_attack",
    "military_tension",
    "missile_launch",
    "missile_deployment",
    "wmd_proliferation",
    "territorial_dispute",
    "terrorism",
    "terrorist_financing",
    "cyber_attack",
    "piracy",
    "regime_collapse",
    "secessionist_conflict",
    "refugee_crisis",
    "energy_supply_disruption",
    "nuclear_safety",
    "hi_tech_crime",
    "money_laundering",
    "drug_trafficking",
    "human_trafficking",
    "illegal_immigration",
    "organized_crime",
    "natural_disaster",
]


@pytest.fixture(scope="module")
def assessments(rulebase):
    return {
        p.stem: advisor.assess(advisor.load_threat(p, rulebase), rulebase).model_dump(mode="json")
        for p in threat_files()
    }


def test_contract_vocabulary_is_kept(rulebase):
    v = rulebase.catalog.vocabulary
    assert set(CONTRACT_TYPES) <= set(v.types)
    assert {
        "korean_peninsula",
        "taiwan_strait",
        "south_china_sea",
        "east_china_sea",
        "malacca_strait",
        "sea_lanes",
        "northeast_asia",
        "southeast_asia",
        "east_asia",
        "japan",
        "cyberspace",
    } <= set(v.regions)
    assert {
        "japan_territory",
        "us_forces",
        "information_infrastructure",
        "sea_lanes",
        "shipping",
        "energy_supply",
        "financial_system",
        "population",
        "government",
        "nationals_abroad",
    } <= set(v.targets)


def test_an_example_for_every_type(rulebase):
    types = {advisor.load_threat(p, rulebase).type for p in threat_files()}
    assert set(rulebase.catalog.vocabulary.types) <= types
    assert len(threat_files()) >= 22


def test_examples_reach_all_fifteen(assessments):
    reached = {r["number"] for a in assessments.values() for r in a["recommendations"]}
    assert reached == set(range(1, 16))


def test_every_recommendation_is_cited_by_a_rule(rulebase):
    cited = {n for r in rulebase.rules for n in r.numbers}
    assert cited == set(range(1, 16))


@pytest.mark.parametrize("stem", [p.stem for p in threat_files()])
def test_contract_shape(stem, assessments):
    a = assessments[stem]
    assert list(a)[:6] == ["threat", "nature", "recommendations", "frameworks", "states", "agencies"]
    assert "trace" in a and a["trace"]
    assert [r["number"] for r in a["recommendations"]] == sorted(r["number"] for r in a["recommendations"])
    for r in a["recommendations"]:
        assert r["title"] and r["number"] in range(1, 16)
    for f in a["frameworks"]:
        assert {"id", "name", "status", "recommendations"} <= set(f) and f["status"] in ("existing", "proposed")
    for s in a["states"]:
        assert {"code", "name"} <= set(s) and len(s["code"]) == 3
    for g in a["agencies"]:
        assert {"id", "name", "recommendations", "role"} <= set(g)
    for e in a["trace"]:
        assert {"rule", "recommendations", "matched"} <= set(e) and e["recommendations"]


@pytest.mark.parametrize("stem", [p.stem for p in threat_files()])
def test_every_output_is_justified_by_the_trace(stem, assessments, rulebase):
    a = assessments[stem]
    premises = set(rulebase.distinction_rules)  # the document's distinctions reach no recommendation
    trace = {e["rule"]: e for e in a["trace"]}
    for kind, key in (("frameworks", "id"), ("states", "code"), ("agencies", "id")):
        for item in a[kind]:
            assert item["rules"], (kind, item[key])
            for rule in item["rules"]:
                concluded = trace[rule]["concluded"].get(kind, [])
                assert item[key] in concluded, (kind, item[key], rule)
            cited = {n for rule in item["rules"] for n in trace[rule]["recommendations"]}
            assert set(item["recommendations"]) == cited
    reached = {n for e in a["trace"] if e["rule"] not in premises for n in e["recommendations"]}
    assert reached == {r["number"] for r in a["recommendations"]}
    for e in a["trace"]:
        assert e["basis"] == "general_knowledge" or e["quote"], e["rule"]
        assert e["basis"] == "document" or e["note"], e["rule"]
    for g in a["agencies"]:
        for r in g["roles"]:
            assert r["role"] != "lead" or r["basis"] == "general_knowledge", (g["id"], r["rule"])
    assert sum(g["role"] == "lead" for g in a["agencies"]) <= 1


def test_general_knowledge_is_marked(assessments):
    """An answer that goes beyond the document says so: the littoral states of Malacca."""
    a = assessments["malacca_piracy"]
    rule = next(e for e in a["trace"] if e["rule"] == "r12-malacca-littoral-states")
    assert rule["basis"] == "general_knowledge"
    arf = next(f for f in a["frameworks"] if f["id"] == "arf")
    assert arf["members_basis"] == "general_knowledge"


@pytest.mark.parametrize("stem", sorted(EXPECT))
def test_careful_reader(stem, assessments):
    a = assessments[stem]
    got = {
        "recommendations": {r["number"] for r in a["recommendations"]},
        "frameworks": {f["id"] for f in a["frameworks"]},
        "states": {s["code"] for s in a["states"]},
        "agencies": {g["id"]: g["role"] for g in a["agencies"]},
        "caveats": {c["id"] for c in a["caveats"]},
    }
    for kind, want in EXPECT[stem].get("has", {}).items():
        if isinstance(want, dict):
            for agency, role in want.items():
                assert got[kind].get(agency) == role, (kind, agency, got[kind].get(agency))
        else:
            assert set(want) <= set(got[kind]), (kind, set(want) - set(got[kind]))
    for kind, banned in EXPECT[stem].get("not", {}).items():
        assert not set(banned) & set(got[kind]), (kind, set(banned) & set(got[kind]))


def test_expectations_cover_every_example():
    assert sorted(EXPECT) == sorted(p.stem for p in threat_files())
