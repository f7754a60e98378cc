"""The JSON Schemas advisor ships (`advisor schema --what ...`): what they accept is what advisor reads.

When a model or the catalog changes on purpose, write the shipped copies again and review:

    for w in descriptor rules cases assessment; do advisor schema --what $w > src/advisor/schemas/$w.schema.json; done
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import advisor
from advisor.schema import WHAT, schema_of

from conftest import ROOT, threat_files

SHIPPED = Path(advisor.__file__).parent / "schemas"


@pytest.fixture(scope="module")
def schemas(rulebase):
    return {what: schema_of(what, rulebase.catalog) for what in WHAT}


@pytest.mark.slow
@pytest.mark.parametrize("what", WHAT)
def test_the_shipped_schema_is_the_one_advisor_builds(what, schemas, invoke):
    shipped = json.loads((SHIPPED / f"{what}.schema.json").read_text(encoding="utf-8"))
    assert shipped == schemas[what], f"regenerate src/advisor/schemas/{what}.schema.json (see this file's docstring)"
    assert json.loads(invoke(["schema", "--what", what]).stdout) == shipped
    jsonschema.Draft202012Validator.check_schema(shipped)
    assert shipped["$id"].startswith("urn:jfir-advisor:schema:" + what)


def _errors(schema, data) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]


@pytest.mark.slow
def test_every_shipped_file_is_valid_under_its_schema(schemas):
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        assert _errors(schemas["rules"], yaml.safe_load(path.read_text())) == [], path
    for path in sorted((ROOT / "tests" / "policy").glob("*.yaml")):
        assert _errors(schemas["cases"], yaml.safe_load(path.read_text())) == [], path
    for path in threat_files():
        assert _errors(schemas["descriptor"], json.loads(path.read_text())) == [], path


@pytest.mark.parametrize("path", threat_files()[:6], ids=lambda p: p.stem)
def test_an_assessment_is_valid_under_its_schema(path, schemas, rulebase):
    data = advisor.assess(advisor.load_threat(path, rulebase), rulebase, as_of="today").to_data()
    assert _errors(schemas["assessment"], data) == []


RULE = {
    "id": "r12-example",
    "cites": ["12"],
    "basis": "general_knowledge",
    "note": "an example",
    "because": "Piracy is met by the coast guards of the region.",
    "when": {"type": "piracy", "states": ["IDN"], "unless": {"actor": "state"}},
    "then": {"frameworks": ["wpns"], "agencies": {"maritime_safety_agency": "lead"}},
}


def test_the_rule_schema_accepts_the_shorthands_and_flags_mistakes(schemas):
    assert _errors(schemas["rules"], {"rules": [RULE]}) == []
    assert _errors(schemas["rules"], {"rules": [{**RULE, "becuase": "typo"}]})  # an unknown key
    assert _errors(schemas["rules"], {"rules": [{**RULE, "then": {"frameworks": ["wpnz"]}}]})  # an unknown framework
    assert _errors(schemas["rules"], {"rules": [{**RULE, "when": {"type": "piracyy"}}]})  # an unknown type
    bad_role = {**RULE, "then": {"agencies": {"maritime_safety_agency": "boss"}}}
    assert _errors(schemas["rules"], {"rules": [bad_role]})
