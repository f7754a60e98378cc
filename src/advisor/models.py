"""Typed models: the threat descriptor (CONTRACT.md section 1) and the assessment (section 2)."""
from __future__ import annotations

from typing import Any

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from .catalog import Catalog, fold
from .errors import DescriptorError, clip, suggest

MAX_LIST = 60
MAX_TEXT = 10_000
MAX_ID = 200
FIELDS = ("id", "title", "description", "type", "region", "states", "targets", "actor", "severity",
          "attributes", "injects")
CHANGEABLE = ("type", "region", "states", "targets", "actor", "severity", "attributes")
MAX_INJECTS = 20
TRUE_WORDS = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}


def _catalog(info: ValidationInfo) -> Catalog:
    return info.context["catalog"]


def _one(field: str, value: Any, catalog: Catalog) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__} {clip(repr(value))}")
    found = catalog.resolve(field, value)
    if found is None:
        raise ValueError(f"unknown value '{clip(value)}' (did you mean {catalog.hint(field, value[:200])}?)")
    return found


class Inject(BaseModel):
    """One stage of an escalating scenario: a title and the descriptor fields that change."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    changes: dict[str, Any] = Field(min_length=1, description="fields that change; attributes merge, others replace")

    @field_validator("changes")
    @classmethod
    def _changeable(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key not in CHANGEABLE:
                hint = suggest(key, CHANGEABLE)
                raise ValueError(f"an inject cannot change '{key}'" + (f" (did you mean {hint}?)" if hint else "")
                                 + "; it may change " + ", ".join(CHANGEABLE))
        return value


class Descriptor(BaseModel):
    """A threat as the rules see it: every value canonical, every list de-duplicated and sorted."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(default="threat", max_length=MAX_ID, description="stable identifier; default: the file's stem")
    title: str | None = Field(default=None, max_length=MAX_TEXT, description="free text for people; never matched")
    description: str | None = Field(default=None, max_length=MAX_TEXT, description="free text; never matched")
    type: str = Field(description="what kind of threat")
    region: str | None = Field(default=None, description="where")
    states: list[str] = Field(default=[], max_length=MAX_LIST, description="states involved, ISO 3166-1 alpha-3")
    targets: list[str] = Field(default=[], max_length=MAX_LIST, description="what is threatened")
    actor: str = Field(default="unknown", description="state, non_state or unknown")
    severity: str = Field(default="moderate", description="low, moderate, high or critical")
    attributes: dict[str, bool] = Field(default={}, max_length=MAX_LIST, description="extra facts")
    injects: list[Inject] = Field(default=[], max_length=MAX_INJECTS,
                                  description="stages of an escalating scenario, in order")
    extensions: dict[str, Any] = Field(default={}, description="the x_ fields, kept as given")

    @model_validator(mode="before")
    @classmethod
    def _split_extensions(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise ValueError(f"a descriptor is a JSON object, not {type(raw).__name__}")
        known, ext = {}, {}
        for key, value in raw.items():
            if isinstance(key, str) and key.startswith("x_"):
                ext[key] = value
            else:
                known[key] = value
        if ext:
            known["extensions"] = ext
        return known

    @field_validator("type", "actor", "severity", mode="before")
    @classmethod
    def _scalar(cls, value: Any, info: ValidationInfo) -> str:
        return _one(info.field_name, value, _catalog(info))

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: Any, info: ValidationInfo) -> str | None:
        return None if value is None else _one("region", value, _catalog(info))

    @field_validator("states", "targets", mode="before")
    @classmethod
    def _list(cls, value: Any, info: ValidationInfo) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError(f"expected a list of text, got {type(value).__name__}")
        if len(value) > MAX_LIST:
            raise ValueError(f"at most {MAX_LIST} entries, got {len(value)}")
        catalog = _catalog(info)
        problems, out = [], set()
        for i, item in enumerate(value):
            try:
                out.add(_one(info.field_name, item, catalog))
            except ValueError as exc:
                problems.append(f"[{i}] {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return sorted(out)

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, value: Any, info: ValidationInfo) -> dict[str, bool]:
        if not isinstance(value, dict):
            raise ValueError(f"expected an object of true/false values, got {type(value).__name__}")
        catalog = _catalog(info)
        out, problems = {}, []
        for key, flag in value.items():
            name = catalog.resolve("attributes", key) or fold(key)
            if isinstance(flag, str) and flag.strip().lower() in TRUE_WORDS:
                flag = TRUE_WORDS[flag.strip().lower()]
            if not isinstance(flag, bool):
                problems.append(f"{clip(key)}: expected true or false, got {clip(repr(flag))}")
                continue
            out[name] = flag
        if problems:
            raise ValueError("; ".join(problems))
        return dict(sorted(out.items()))

    @field_validator("id", "title", "description", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        return value

    def to_output(self) -> dict[str, Any]:
        """The normalised descriptor as JSON data, valid input again (x_ fields back at the top)."""
        out = self.model_dump(mode="json", exclude={"extensions"} | ({"injects"} if not self.injects else set()))
        out.update(self.extensions)
        return out

    def after(self, changes: dict[str, Any]) -> "Descriptor":
        """The descriptor once an inject's (normalised) changes apply: attributes merge, others replace."""
        update = dict(changes)
        if "attributes" in update:
            update["attributes"] = dict(sorted({**self.attributes, **update["attributes"]}.items()))
        return self.model_copy(update={**update, "injects": []})

    def stages(self) -> list["Descriptor"]:
        """The descriptor at each inject, in order (stage 1 is after the first inject)."""
        out, current = [], self
        for inject in self.injects:
            current = current.after(inject.changes)
            out.append(current)
        return out



def _problems(exc: ValidationError, path: str, prefix: str = "") -> list[DescriptorError]:
    problems = []
    for err in exc.errors():
        loc = prefix + ".".join(str(p) for p in err["loc"]) or None
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            alt = suggest(str(err["loc"][-1]), FIELDS)
            msg = "unknown field; put extra facts under 'attributes' or prefix the name with 'x_'"
            if alt:
                msg += f" (did you mean {alt}?)"
        elif err["type"] == "missing":
            msg = "required field is missing (e.g. \"type\": \"cyber_attack\")"
        problems.append(DescriptorError(msg, path=path, loc=loc))
    return problems


def parse_descriptor(raw: Any, catalog: Catalog, *, path: str, default_id: str) -> Descriptor:
    """Normalise a raw descriptor and each stage of its injects; every problem is reported together."""
    if isinstance(raw, dict) and "id" not in raw:
        raw = {"id": default_id, **raw}
    context = {"catalog": catalog}
    try:
        threat = Descriptor.model_validate(raw, context=context)
    except ValidationError as exc:
        raise DescriptorError("invalid descriptor", path=path, problems=_problems(exc, path)) from None
    if not threat.injects:
        return threat
    problems, injects, current = [], [], threat.model_copy(update={"injects": []})
    for i, inject in enumerate(threat.injects):
        raw_stage = current.to_output()
        for key, value in inject.changes.items():
            raw_stage[key] = {**current.attributes, **value} if key == "attributes" and isinstance(value, dict) \
                else value
        try:
            stage = Descriptor.model_validate(raw_stage, context=context)
        except ValidationError as exc:
            problems.extend(_problems(exc, path, prefix=f"injects.{i}.changes."))
            continue
        changes = {key: getattr(stage, key) if key != "attributes" else
                   {k: stage.attributes[k] for k in sorted(stage.attributes) if k in
                    {catalog.resolve("attributes", a) or fold(a) for a in inject.changes["attributes"]}}
                   for key in inject.changes}
        injects.append(inject.model_copy(update={"changes": changes}))
        current = stage
    if problems:
        raise DescriptorError("invalid descriptor", path=path, problems=problems)
    return threat.model_copy(update={"injects": injects})


def descriptor_schema(catalog: Catalog) -> dict:
    """JSON Schema of the canonical descriptor, with the vocabularies as enums."""
    schema = Descriptor.model_json_schema()
    props = schema["properties"]
    props.pop("extensions", None)
    for field in ("type", "actor", "severity"):
        props[field]["enum"] = catalog.canonical(field)
    props["region"] = {"anyOf": [{"enum": catalog.canonical("region")}, {"type": "null"}],
                       "default": None, "description": props["region"]["description"]}
    props["states"]["items"] = {"enum": catalog.canonical("states")}
    props["targets"]["items"] = {"enum": catalog.canonical("targets")}
    props["attributes"]["propertyNames"] = {"pattern": "^[a-z][a-z0-9_]*$"}
    props["attributes"]["description"] += "; rules use: " + ", ".join(catalog.vocabulary.attributes)
    schema["patternProperties"] = {"^x_": {}}
    schema["additionalProperties"] = False
    schema["title"] = "advisor threat descriptor"
    schema["description"] = ("A threat for `advisor assess`. advisor also accepts the aliases of "
                             "`advisor catalog` (case, spaces and hyphens are forgiven) and "
                             "normalises them to these canonical values.")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


# --- the assessment -----------------------------------------------------------

class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class RecommendationOut(_Out):
    number: int
    title: str
    group: str
    summary: str
    citations: list[str]
    rules: list[str]
    basis: str


class FrameworkOut(_Out):
    id: str
    name: str
    status: str
    layer: str
    family: str | None = None
    members: list[str]
    members_basis: str | None = None
    recommendations: list[int]
    rules: list[str]
    basis: str


class StateOut(_Out):
    code: str
    name: str
    frameworks: list[str]
    recommendations: list[int]
    rules: list[str]
    basis: str


class RoleOut(_Out):
    """One rule's role for an agency; `basis` is the rule's, `note` says why a general-knowledge role holds."""

    role: str
    rule: str
    basis: str
    note: str | None = None


class AgencyOut(_Out):
    """A Japanese body: its strongest role (`role`) and that role's basis, and every rule's role."""

    id: str
    name: str
    role: str
    role_basis: str
    roles: list[RoleOut]
    recommendations: list[int]
    rules: list[str]
    basis: str


class RemarkOut(_Out):
    id: str
    text: str
    citation: str
    recommendations: list[int]
    rules: list[str]
    basis: str


class Nature(_Out):
    category: str
    derived: list[str]


class TraceEntry(_Out):
    """One firing: the rule, why (`because`), on what basis, the document's words it rests on
    (`quote`), what in the descriptor or earlier conclusions matched, and what it concluded."""

    step: int
    rule: str
    recommendations: list[int]
    citations: list[str]
    because: str
    basis: str
    quote: str | None = None
    note: str | None = None
    matched: dict[str, Any]
    concluded: dict[str, Any]


class Meta(_Out):
    version: str
    rulebase: str
    rules: int


class StageOut(_Out):
    """One inject of an escalating scenario: what changed, what that added or removed, the new answer."""

    stage: int
    title: str
    description: str | None = None
    changes: dict[str, Any]
    delta: dict[str, Any]
    assessment: dict[str, Any]


class SinceOut(_Out):
    """What became of a body since 2002 (with --as-of today)."""

    kind: str
    id: str
    name: str
    became: str
    since: int


OPTIONAL_KEYS = ("stages", "since_2002")


class Assessment(_Out):
    """What `advisor assess` returns; keys of CONTRACT.md section 2 plus advisor's own."""

    threat: dict[str, Any]
    nature: Nature
    recommendations: list[RecommendationOut]
    frameworks: list[FrameworkOut]
    states: list[StateOut]
    agencies: list[AgencyOut]
    measures: list[RemarkOut]
    caveats: list[RemarkOut]
    trace: list[TraceEntry]
    notes: list[str]
    advisor: Meta
    stages: list[StageOut] | None = None
    since_2002: list[SinceOut] | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON data; the optional sections appear only when asked for or present."""
        data = self.model_dump(mode="json")
        for key in OPTIONAL_KEYS:
            if data.get(key) is None:
                data.pop(key, None)
        return data
