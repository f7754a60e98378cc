"""JSON Schemas of what advisor reads and writes: the descriptor, rule files, policy-case files and
the assessment, each with a `$id`, for editors' completion and for other programs' validation.

The schemas are built from the same pydantic models that validate the files, with the
vocabularies of the catalog as enums where a value must come from one. A copy of each, for the
shipped catalog, is in the package (`advisor/schemas/`); a test keeps it equal to what this
module builds (`advisor schema --what X` prints it).
"""

from __future__ import annotations

from typing import Any

from . import __version__
from .catalog import Catalog

WHAT = ("descriptor", "rules", "cases", "assessment")
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_id(what: str) -> str:
    return f"urn:jfir-advisor:schema:{what}:{__version__}"


def schema_of(what: str, catalog: Catalog) -> dict[str, Any]:
    """The JSON Schema of `what` (one of WHAT)."""
    if what == "descriptor":
        from .models import descriptor_schema

        schema = descriptor_schema(catalog)
    elif what == "rules":
        schema = _rules(catalog)
    elif what == "cases":
        schema = _cases(catalog)
    elif what == "assessment":
        from .models import Assessment

        schema = Assessment.model_json_schema(mode="serialization")
        schema["title"] = "advisor assessment"
        schema["description"] = "What `advisor assess --format json` writes."
    else:
        raise ValueError(f"no schema of {what!r}; one of {', '.join(WHAT)}")
    return {"$schema": DRAFT, "$id": schema_id(what), **{k: v for k, v in schema.items() if k != "$schema"}}


def _enums(catalog: Catalog) -> dict[str, list[str]]:
    v = catalog.vocabulary
    return {
        "type": list(v.types),
        "category": sorted({t.category for t in v.types.values()}),
        "actor": list(v.actors),
        "severity": list(v.severities),
        "region": list(v.regions),
        "targets": list(v.targets),
        "attributes": list(v.attributes),
        "derived": list(v.derived),
        "frameworks": list(catalog.frameworks),
        "agencies": list(catalog.agencies),
        "roles": list(v.roles),
        "measures": list(catalog.measures),
        "caveats": list(catalog.caveats),
    }


def _rules(catalog: Catalog) -> dict[str, Any]:
    from .rules import Rule

    rule = Rule.model_json_schema()
    for internal in ("file", "line"):
        rule["properties"].pop(internal, None)
    enums = _enums(catalog)
    defs = rule.get("$defs", {})
    for model in defs.values():  # the tests of `when` (and its any/unless blocks) and the conclusions of `then`
        props = model.get("properties", {})
        for name in ("type", "category", "actor", "region", "derived"):
            if name in props:
                props[name] = _one_or_list(enums[name], props[name])
        for name in ("frameworks", "measures", "caveats", "derive"):
            if name in props:
                props[name] = {
                    "type": "array",
                    "items": {"enum": enums["derived" if name == "derive" else name]},
                    "description": props[name].get("description", ""),
                }
        if "agencies" in props and model.get("title") == "Then":
            role = {"enum": enums["roles"]}
            with_note = {
                "type": "object",
                "additionalProperties": False,
                "required": ["role"],
                "properties": {"role": role, "note": {"type": "string"}},
            }
            props["agencies"] = {
                "type": "object",
                "propertyNames": {"enum": enums["agencies"]},
                "additionalProperties": {"anyOf": [role, with_note]},
                "description": "agency -> its role, or {role, note} when the role rests on general knowledge",
            }
    defs["Rule"] = {k: v for k, v in rule.items() if k != "$defs"}
    _widen(defs)
    return {
        "title": "advisor rule file",
        "description": "A YAML file of rules (`rules/*.yaml`); see docs/rule-language.md.",
        "type": "object",
        "additionalProperties": False,
        "required": ["rules"],
        "properties": {
            "about": {"type": "string", "description": "What the file's rules encode, in words."},
            "rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Rule"}},
        },
        "$defs": defs,
    }


def _one_or_list(values: list[str], original: dict[str, Any]) -> dict[str, Any]:
    return {
        "anyOf": [{"enum": values}, {"type": "array", "items": {"enum": values}}],
        "description": original.get("description", ""),
    }


def _cases(catalog: Catalog) -> dict[str, Any]:
    from .policy import CaseModel

    case = CaseModel.model_json_schema()
    defs = case.pop("$defs", {})
    defs["Case"] = case
    _widen(defs)
    return {
        "title": "advisor policy-case file",
        "description": "A YAML file of policy test cases (`advisor test`); see the README's Policy test cases.",
        "type": "object",
        "additionalProperties": False,
        "required": ["cases"],
        "properties": {
            "about": {"type": "string"},
            "rules": {"type": "string", "description": "The rule base to test (a directory), relative to the file."},
            "cases": {"type": "array", "items": {"$ref": "#/$defs/Case"}},
        },
        "$defs": defs,
    }


# The shorthands the loaders accept before validating (see `_as_list` and the `before` validators of
# rules.py and policy.py): a set test or expectation given as a bare value or list, a severity test
# as a level or list of levels, and one `any:`/`unless:` block where a list of them is expected.
_SHORTHAND = {
    "SetTest": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    "SetExpect": [{"type": ["string", "integer"]}, {"type": "array", "items": {"type": ["string", "integer"]}}],
    "SeverityTest": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
}


def _widen(defs: dict[str, Any]) -> None:
    """Let the schema accept the shorthands the loaders accept, so an editor does not flag them."""
    for model in defs.values():
        for name, prop in model.get("properties", {}).items():
            alternatives = prop.get("anyOf", [prop])
            more = []
            for alt in alternatives:
                ref = alt.get("$ref", "").rsplit("/", 1)[-1]
                more += _SHORTHAND.get(ref, [])
                if alt.get("type") == "array" and "$ref" in alt.get("items", {}):
                    more.append(alt["items"])  # one block where a list of them is expected
            if more:
                kept = {k: v for k, v in prop.items() if k in ("default", "description", "title")}
                model["properties"][name] = {**kept, "anyOf": [*alternatives, *more]}
