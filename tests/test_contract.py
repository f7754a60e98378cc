"""The assessment of docs/contract.md on every example, and what a careful reader expects of each."""

import pytest
import yaml

import advisor

from conftest import DATA, threat_files


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice (safe_load keeps the last: a second entry for an
    example would silently replace the first)."""


def _mapping_without_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_expectations(text: str) -> dict:
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects


EXPECT = load_expectations((DATA / "expectations.yaml").read_text(encoding="utf-8"))
# what test_careful_reader compares; agencies may be given as {id: role}
READER_KINDS = ("recommendations", "frameworks", "states", "agencies", "caveats")
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


def reader_problems(entry: dict, a: dict) -> list[str]:
    """Where an assessment (as JSON data) falls short of a careful reader's expectations."""
    got = {
        "recommendations": {r["number"] for r in a["recommendations"]},
        "frameworks": {f["id"] for f in a["frameworks"]},
        "states": {s["code"] for s in a["states"]},
        "agencies": {g["id"]: g["role"] for g in a["agencies"]},
        "caveats": {c["id"] for c in a["caveats"]},
    }
    problems = []
    for kind, want in entry.get("has", {}).items():
        if isinstance(want, dict):
            problems += [
                f"has {kind}: {key} as {role}, got {got[kind].get(key)}"
                for key, role in want.items()
                if got[kind].get(key) != role
            ]
        elif set(want) - set(got[kind]):
            problems.append(f"has {kind}: missing {sorted(set(want) - set(got[kind]), key=str)}")
    for kind, banned in entry.get("not", {}).items():
        if set(banned) & set(got[kind]):
            problems.append(f"not {kind}: present {sorted(set(banned) & set(got[kind]), key=str)}")
    return problems


@pytest.mark.parametrize("stem", [p.stem for p in threat_files()])
def test_careful_reader(stem, assessments):
    """One case per example (not per entry), so an example without expectations fails by name."""
    assert stem in EXPECT, f"no expectations for {stem} in tests/data/expectations.yaml"
    assert reader_problems(EXPECT[stem], assessments[stem]) == []


def test_reader_problems_names_each_shortfall(assessments):
    entry = {
        "has": {
            "recommendations": [12, 9],
            "frameworks": ["wpns"],
            "agencies": {"maritime_safety_agency": "support"},
        },
        "not": {"frameworks": ["wpns", "tcog"], "states": ["MYS"]},
    }
    assert reader_problems(entry, assessments["malacca_piracy"]) == [
        "has recommendations: missing [9]",
        "has agencies: maritime_safety_agency as support, got lead",
        "not frameworks: present ['wpns']",
        "not states: present ['MYS']",
    ]


def coverage_problems(expect: dict, stems: list[str]) -> list[str]:
    """What keeps the expectations from covering the examples: an example without an entry, an entry
    for no example, and an entry that does not say both which recommendations a careful reader
    expects and which they would strike out, or says something test_careful_reader does not read."""
    problems = [f"{stem}: no expectations" for stem in stems if stem not in expect]
    problems += [f"{stem}: not an example in threats/" for stem in expect if stem not in stems]
    for stem, entry in expect.items():
        if not isinstance(entry, dict):
            problems.append(f"{stem}: expected `has` and `not`, got {entry!r}")
            continue
        problems += [f"{stem}: unknown section {key!r}" for key in entry if key not in ("has", "not")]
        for side in ("has", "not"):
            section = entry.get(side) or {}
            if not section.get("recommendations"):
                problems.append(f"{stem}: no recommendations under `{side}`")
            for kind, value in section.items():
                if kind not in READER_KINDS:
                    problems.append(f"{stem}: {side}: unknown kind {kind!r}")
                elif isinstance(value, dict) and (kind != "agencies" or side != "has"):
                    problems.append(f"{stem}: {side}: {kind}: roles are given only under `has` for agencies")
    return problems


def unknown_ids(expect: dict, catalog) -> list[str]:
    """Ids the catalog does not know: a misspelt id under `not` would pass unnoticed."""
    known = {
        "recommendations": set(catalog.recommendations),
        "frameworks": set(catalog.frameworks),
        "states": set(catalog.states),
        "agencies": set(catalog.agencies),
        "caveats": set(catalog.caveats),
    }
    roles = set(catalog.vocabulary.roles)
    out = []
    for stem, entry in expect.items():
        for side in ("has", "not"):
            for kind, ids in (entry.get(side) or {}).items():
                out += [f"{stem}: {side}: {kind}: {x!r}" for x in ids if x not in known.get(kind, ())]
                if isinstance(ids, dict):
                    out += [f"{stem}: {side}: {kind}: role {r!r}" for r in ids.values() if r not in roles]
    return out


def test_expectations_cover_every_example():
    assert coverage_problems(EXPECT, [p.stem for p in threat_files()]) == []


def test_expectations_name_known_ids(rulebase):
    assert unknown_ids(EXPECT, rulebase.catalog) == []


def test_the_coverage_check_fails_on_a_gap():
    stems = [p.stem for p in threat_files()]
    assert coverage_problems({k: v for k, v in EXPECT.items() if k != "pandemic"}, stems) == [
        "pandemic: no expectations"
    ]
    assert coverage_problems({**EXPECT, "tsunami": EXPECT["pandemic"]}, stems) == [
        "tsunami: not an example in threats/"
    ]
    hollow = {**EXPECT, "pandemic": {"has": {"frameworks": ["arf"]}, "nott": {"recommendations": [1]}}}
    assert coverage_problems(hollow, stems) == [
        "pandemic: unknown section 'nott'",
        "pandemic: no recommendations under `has`",
        "pandemic: no recommendations under `not`",
    ]
    assert coverage_problems({**EXPECT, "pandemic": None}, stems) == ["pandemic: expected `has` and `not`, got None"]
    odd = {
        "has": {"recommendations": [3], "framework": ["arf"]},
        "not": {"recommendations": [1], "agencies": {"x": "lead"}},
    }
    assert coverage_problems({**EXPECT, "pandemic": odd}, stems) == [
        "pandemic: has: unknown kind 'framework'",
        "pandemic: not: agencies: roles are given only under `has` for agencies",
    ]


def test_unknown_ids_are_reported(rulebase):
    typo = {"x": {"has": {"agencies": {"national_police_agency": "leader"}}, "not": {"frameworks": ["wnps"]}}}
    assert unknown_ids(typo, rulebase.catalog) == ["x: has: agencies: role 'leader'", "x: not: frameworks: 'wnps'"]


def test_an_expectation_given_twice_is_refused():
    with pytest.raises(yaml.YAMLError, match="duplicate key 'pandemic'"):
        load_expectations("pandemic: {has: {recommendations: [3]}}\npandemic: {not: {recommendations: [1]}}\n")
