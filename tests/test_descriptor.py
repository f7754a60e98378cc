"""Normalising the forgiving input of CONTRACT.md section 1, and its errors."""
import pytest

import advisor
from advisor.errors import DescriptorError


def parse(rulebase, raw):
    return advisor.parse_threat(raw, rulebase, path="t.json", default_id="t")


@pytest.mark.parametrize("given, expected", [
    ("Cyber attack", "cyber_attack"), ("cyber-attack", "cyber_attack"), ("CYBER_ATTACK", "cyber_attack"),
    ("  piracy ", "piracy"), ("Armed robbery against ships", "piracy"), ("organised crime", "organized_crime"),
])
def test_type_aliases(rulebase, given, expected):
    assert parse(rulebase, {"type": given}).type == expected


@pytest.mark.parametrize("given, expected", [
    ("Straits of Malacca", "malacca_strait"), ("the Strait of Malacca", "malacca_strait"),
    ("Korean Peninsula", "korean_peninsula"), ("Spratly Islands", "south_china_sea"), ("SLOC", "sea_lanes"),
])
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
    assert d.unused_attributes(rulebase.catalog) == ["odd_fact"]


def test_x_fields_are_kept(rulebase):
    d = parse(rulebase, {"type": "piracy", "x_source": "IMB report"})
    assert d.extensions == {"x_source": "IMB report"}


def messages(exc: DescriptorError) -> list[str]:
    return [p.render() for p in exc.problems]


def test_unknown_value_suggests_closest(rulebase):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, {"type": "piracy", "region": "Malaka Strait"})
    assert messages(e.value) == ["t.json: region: unknown value 'Malaka Strait' (did you mean 'malacca_strait'?)"]


def test_unknown_type_suggests(rulebase):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, {"type": "cyber atack"})
    assert messages(e.value) == ["t.json: type: unknown value 'cyber atack' (did you mean 'cyber_attack'?)"]


def test_unknown_state_in_list_names_the_item(rulebase):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, {"type": "piracy", "states": ["IDN", "Malaysa"]})
    assert messages(e.value) == ["t.json: states: [1] unknown value 'Malaysa' (did you mean 'MYS' (Malaysia)?)"]


def test_unknown_field_is_an_error_with_hint(rulebase):
    with pytest.raises(DescriptorError) as e:
        parse(rulebase, {"type": "piracy", "regoin": "malacca_strait"})
    assert messages(e.value) == [
        "t.json: regoin: unknown field; put extra facts under 'attributes' or prefix the name with 'x_' "
        "(did you mean 'region'?)"]


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
