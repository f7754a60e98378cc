"""Normalising the forgiving input of the descriptor (docs/contract.md), and its errors."""

import pytest

import advisor
from advisor.errors import DescriptorError

from conftest import threat_files


def parse(rulebase, raw):
    return advisor.parse_threat(raw, rulebase, path="t.json", default_id="t")


@pytest.mark.parametrize(
    "given, expected",
    [
        ("Cyber attack", "cyber_attack"),
        ("cyber-attack", "cyber_attack"),
        ("CYBER_ATTACK", "cyber_attack"),
        ("  piracy ", "piracy"),
        ("Armed robbery against ships", "piracy"),
        ("organised crime", "organized_crime"),
    ],
)
def test_type_aliases(rulebase, given, expected):
    assert parse(rulebase, {"type": given}).type == expected


@pytest.mark.parametrize(
    "given, expected",
    [
        ("Straits of Malacca", "malacca_strait"),
        ("the Strait of Malacca", "malacca_strait"),
        ("Korean Peninsula", "korean_peninsula"),
        ("Spratly Islands", "south_china_sea"),
        ("SLOC", "sea_lanes"),
    ],
)
def test_region_aliases(rulebase, given, expected):
    assert parse(rulebase, {"type": "piracy", "region": given}).region == expected


def test_state_names_and_codes(rulebase):
    d = parse(rulebase, {"type": "piracy", "states": ["North Korea", "DPRK", "kor", "Burma", "United States", "US"]})
    assert d.states == ["KOR", "MMR", "PRK", "USA"]


def test_defaults_and_sorting(rulebase):
    d = parse(rulebase, {"type": "piracy", "targets": ["tankers", "Sea lanes", "shipping"]})
    assert (d.id, d.actor, d.severity, d.region) == ("t", "unknown", "moderate", None)
    assert d.targets == ["sea_lanes", "shipping"]


def test_attributes_are_folded_and_kept(rulebase):
    d = parse(rulebase, {"type": "piracy", "attributes": {"Cross-border": True, "WMD": "yes", "odd_fact": False}})
    assert d.attributes == {"cross_border": True, "odd_fact": False, "wmd": True}
    a = advisor.assess(d, rulebase)
    assert [n for n in a.notes if n.startswith("attribute")] == [
        "attribute 'odd_fact' is not used by any rule",
        "attribute 'wmd' is not used by any rule",
    ]


def test_x_fields_are_kept(rulebase):
    d = parse(rulebase, {"type": "piracy", "x_source": "IMB report"})
    assert d.extensions == {"x_source": "IMB report"}
    assert d.to_output()["x_source"] == "IMB report"


@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_normalised_threat_is_valid_input_that_normalises_to_itself(rulebase, path):
    once = advisor.load_threat(path, rulebase)
    assert parse(rulebase, once.to_output()) == once


def messages(exc: DescriptorError) -> list[str]:
    return [p.render() for p in exc.problems]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            {"type": "piracy", "region": "Malaka Strait"},
            "t.json: region: unknown value 'Malaka Strait' (did you mean 'malacca_strait'?)",
        ),
        ({"type": "cyber atack"}, "t.json: type: unknown value 'cyber atack' (did you mean 'cyber_attack'?)"),
        (
            {"type": "piracy", "states": ["IDN", "Malaysa"]},
            "t.json: states: [1] unknown value 'Malaysa' (did you mean 'MYS' (Malaysia)?)",
        ),
        (
            {"type": "piracy", "regoin": "malacca_strait"},
            "t.json: regoin: unknown field; put extra facts under 'attributes' or prefix the name with 'x_' "
            "(did you mean 'region'?)",
        ),
    ],
)
def test_one_problem_one_message_with_the_nearest_value(rulebase, raw, expected):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, raw)
    assert messages(e.value) == [expected]


def test_missing_type(rulebase):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, {"region": "malacca_strait"})
    assert messages(e.value) == ['t.json: type: required field is missing (e.g. "type": "cyber_attack")']


def test_all_problems_reported_together(rulebase):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, {"type": "pirasy", "severity": "huge", "actor": 3, "attributes": {"armed": "maybe"}})
    fields = [p.loc for p in e.value.problems]
    assert fields == ["type", "actor", "severity", "attributes"]


@pytest.mark.parametrize("raw", [[], "piracy", 3, None])
def test_not_an_object(rulebase, raw):
    with pytest.raises(DescriptorError):
        parse(rulebase, raw)


def test_list_length_limit(rulebase):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, {"type": "piracy", "states": ["JPN"] * 61})
    assert "at most 60" in e.value.render()


def test_schema_lists_vocabularies(rulebase):
    from advisor.models import descriptor_schema

    schema = descriptor_schema(rulebase.catalog)
    assert schema["required"] == ["type"]
    assert "malacca_strait" in schema["properties"]["region"]["anyOf"][0]["enum"]
    assert "cyber_attack" in schema["properties"]["type"]["enum"]
    assert "extensions" not in schema["properties"]
