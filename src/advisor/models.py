"""Typed models: the threat descriptor and the assessment (docs/contract.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .catalog import Catalog, fold
from .errors import DescriptorError, clip, nearest, suggest

MAX_LIST = 60
MAX_TEXT = 10_000
MAX_ID = 200
FIELDS = (
    "id",
    "title",
    "description",
    "type",
    "region",
    "states",
    "targets",
    "actor",
    "severity",
    "attributes",
    "injects",
    "exercise",
)
CHANGEABLE = ("type", "region", "states", "targets", "actor", "severity", "attributes")
MAX_INJECTS = 20
TRUE_WORDS = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}


def _catalog(info: ValidationInfo) -> Catalog:
    assert info.context is not None  # descriptors are always validated with their catalog
    return info.context["catalog"]


def _one(field: str, value: Any, catalog: Catalog) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__} {clip(repr(value))}")
    found = catalog.resolve(field, value)
    if found is None:
        raise ValueError(f"unknown value '{clip(value)}' (did you mean {catalog.hint(field, value[:200])}?)")
    return found


def _split_x(raw: Any, what: str) -> Any:
    """Move the `x_` fields of a raw object under `extensions`, kept as given."""
    if not isinstance(raw, dict):
        raise ValueError(f"{what} is a JSON object, not {type(raw).__name__}")
    known: dict[str, Any] = {}
    ext: dict[str, Any] = {}
    for key, value in raw.items():
        (ext if isinstance(key, str) and key.startswith("x_") else known)[key] = value
    if ext:
        known["extensions"] = ext
    return known


class Inject(BaseModel):
    """One stage of an escalating scenario: what the players are told, when and how, and what changes.

    `changes` change the situation (attributes merge, others replace); an inject that changes
    the type starts a new line of events, and what earlier stages brought stays in play until
    an inject `resolves` it (the stage numbers whose situation ends; 0 is the start; "all").
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    time: str | None = Field(default=None, max_length=60, description="scenario time, e.g. 'D+1 06:00'")
    delivery: str | None = Field(
        default=None, max_length=60, description="how it reaches the players: phone, e-mail, news report, briefing, ..."
    )
    sender: str | None = Field(default=None, alias="from", max_length=200, description="who sends it (in the scenario)")
    to: str | None = Field(default=None, max_length=200, description="who receives it")
    objectives: list[str] = Field(
        default=[], max_length=MAX_LIST, description="ids of the exercise objectives it tests"
    )
    changes: dict[str, Any] = Field(default={}, description="fields that change; attributes merge, others replace")
    resolves: list[int] | Literal["all"] = Field(
        default=[],
        max_length=MAX_INJECTS + 1,
        description="earlier stages whose situation this inject ends (0: the start), or 'all'",
    )
    extensions: dict[str, Any] = Field(default={}, description="the x_ fields, kept as given")

    @model_validator(mode="before")
    @classmethod
    def _split_extensions(cls, raw: Any) -> Any:
        return _split_x(raw, "an inject")

    @field_validator("resolves", mode="before")
    @classmethod
    def _resolves(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "all":
            return "all"
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
            raise ValueError(
                f"expected the numbers of earlier stages (0 is the start), or 'all'; got {clip(json_text(value), 40)}"
            )
        return value

    @field_validator("changes")
    @classmethod
    def _changeable(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key not in CHANGEABLE:
                hint = suggest(key, CHANGEABLE)
                raise ValueError(
                    f"an inject cannot change '{key}'"
                    + (f" (did you mean {hint}?)" if hint else "")
                    + "; it may change "
                    + ", ".join(CHANGEABLE)
                )
        return value

    def to_output(self) -> dict[str, Any]:
        """The inject as JSON data, valid input again."""
        out = self.model_dump(mode="json", by_alias=True, include={"title", "description"})
        extra = self.model_dump(
            mode="json", by_alias=True, exclude={"title", "description", "extensions"}, exclude_defaults=True
        )
        out.update({"changes": self.changes, **extra})
        out.update(self.extensions)
        return out


class Objective(BaseModel):
    """An exercise objective, tied to the recommendations whose answers it tests."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_.-]+$")
    text: str = Field(min_length=1, max_length=500)
    recommendations: list[StrictInt] = Field(default=[], max_length=15)

    @field_validator("recommendations")
    @classmethod
    def _known(cls, value: list[int], info: ValidationInfo) -> list[int]:
        numbers = _catalog(info).recommendations
        bad = [n for n in value if n not in numbers]
        if bad:
            raise ValueError(f"no recommendation {bad[0]} in the document (1 to {max(numbers)})")
        return sorted(set(value))


class Player(BaseModel):
    """A player role, and the Japanese agency it stands for (if any)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    role: str = Field(min_length=1, max_length=200)
    agency: str | None = None

    @field_validator("agency", mode="before")
    @classmethod
    def _agency(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        catalog = _catalog(info)
        names = {fold(k): k for k in catalog.agencies} | {fold(a.name): k for k, a in catalog.agencies.items()}
        found = names.get(fold(value)) if isinstance(value, str) else None
        if found is None:
            raise ValueError(f"unknown agency '{clip(value)}' (did you mean {nearest(str(value), catalog.agencies)}?)")
        return found


class Exercise(BaseModel):
    """What makes a scenario an exercise: its name, sponsor, dates, objectives and players."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = Field(min_length=1, max_length=200)
    sponsor: str | None = Field(default=None, max_length=200)
    dates: str | None = Field(default=None, max_length=100)
    marking: str = Field(default="FOR EXERCISE USE ONLY", max_length=100)
    objectives: list[Objective] = Field(default=[], max_length=MAX_LIST)
    players: list[Player] = Field(default=[], max_length=MAX_LIST)

    @model_validator(mode="after")
    def _unique(self) -> Exercise:
        ids = [o.id for o in self.objectives]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"objective id '{twice[0]}' is given twice")
        return self


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
    injects: list[Inject] = Field(
        default=[], max_length=MAX_INJECTS, description="stages of an escalating scenario, in order"
    )
    exercise: Exercise | None = Field(
        default=None, description="name, sponsor, dates, objectives and players of a tabletop exercise on this scenario"
    )
    extensions: dict[str, Any] = Field(default={}, description="the x_ fields, kept as given")

    @model_validator(mode="before")
    @classmethod
    def _split_extensions(cls, raw: Any) -> Any:
        return _split_x(raw, "a descriptor")

    @model_validator(mode="after")
    def _objectives_known(self) -> Descriptor:
        known = {o.id for o in self.exercise.objectives} if self.exercise else set()
        for i, inject in enumerate(self.injects):
            for ref in inject.objectives:
                if ref not in known:
                    raise ValueError(
                        f"injects.{i}.objectives: no objective '{clip(ref)}' in exercise.objectives"
                        + (f" (did you mean {nearest(ref, known)}?)" if known else "")
                    )
            late = [n for n in inject.resolves if n < 0 or n > i] if inject.resolves != "all" else []
            if late:
                raise ValueError(
                    f"injects.{i}.resolves: stage {late[0]} is not before this inject (stage {i + 1}); "
                    f"give stages 0 to {i}"
                )
        return self

    @field_validator("type", "actor", "severity", mode="before")
    @classmethod
    def _scalar(cls, value: Any, info: ValidationInfo) -> str:
        return _one(str(info.field_name), value, _catalog(info))

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
                out.add(_one(str(info.field_name), item, catalog))
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
        out = self.model_dump(
            mode="json", exclude={"extensions", "injects"} | ({"exercise"} if self.exercise is None else set())
        )
        if self.exercise is not None:
            out["exercise"] = self.exercise.model_dump(mode="json")
        if self.injects:
            out["injects"] = [i.to_output() for i in self.injects]
        out.update(self.extensions)
        return out

    def after(self, changes: dict[str, Any]) -> Descriptor:
        """The descriptor once an inject's (normalised) changes apply: attributes merge, others replace."""
        update = dict(changes)
        if "attributes" in update:
            update["attributes"] = dict(sorted({**self.attributes, **update["attributes"]}.items()))
        return self.model_copy(update={**update, "injects": []})

    def stages(self) -> list[Descriptor]:
        """The descriptor at each inject, in order (stage 1 is after the first inject)."""
        out, current = [], self
        for inject in self.injects:
            current = current.after(inject.changes)
            out.append(current)
        return out


MISSING_EXAMPLES = {
    "type": '"type": "cyber_attack"',
    "name": '"name": "Exercise Morning Calm"',
    "text": '"text": "Coordinate the ministries"',
    "role": '"role": "Defense Agency desk"',
    "title": '"title": "A missile is fired over Japan"',
    "id": '"id": "O1"',
}


def json_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


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
            field = str(err["loc"][-1]) if err["loc"] else "type"
            example = MISSING_EXAMPLES.get(field)
            msg = "required field is missing" + (f" (e.g. {example})" if example else "")
        problems.append(DescriptorError(msg, path=path, loc=loc))
    return problems


def load_descriptor(path: str | Path, catalog: Catalog) -> Descriptor:
    """Read and normalise one descriptor file; its id defaults to the file's stem."""
    from .source import read_json

    p = Path(path)
    return parse_descriptor(read_json(p), catalog, path=str(p), default_id=p.stem)


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
            raw_stage[key] = (
                {**current.attributes, **value} if key == "attributes" and isinstance(value, dict) else value
            )
        try:
            stage = Descriptor.model_validate(raw_stage, context=context)
        except ValidationError as exc:
            problems.extend(_problems(exc, path, prefix=f"injects.{i}.changes."))
            continue
        changes = {
            key: getattr(stage, key)
            if key != "attributes"
            else {
                k: stage.attributes[k]
                for k in sorted(stage.attributes)
                if k in {catalog.resolve("attributes", a) or fold(a) for a in inject.changes["attributes"]}
            }
            for key in inject.changes
        }
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
    props["region"] = {
        "anyOf": [{"enum": catalog.canonical("region")}, {"type": "null"}],
        "default": None,
        "description": props["region"]["description"],
    }
    props["states"]["items"] = {"enum": catalog.canonical("states")}
    props["targets"]["items"] = {"enum": catalog.canonical("targets")}
    props["attributes"]["propertyNames"] = {"pattern": "^[a-z][a-z0-9_]*$"}
    props["attributes"]["description"] += "; rules use: " + ", ".join(catalog.vocabulary.attributes)
    schema["patternProperties"] = {"^x_": {}}
    schema["additionalProperties"] = False
    schema["title"] = "advisor threat descriptor"
    schema["description"] = (
        "A threat for `advisor assess`. advisor also accepts the aliases of "
        "`advisor catalog` (case, spaces and hyphens are forgiven) and "
        "normalises them to these canonical values."
    )
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

    model_config = ConfigDict(extra="forbid", defer_build=True, serialize_by_alias=True)

    stage: int
    title: str
    description: str | None = None
    time: str | None = None
    delivery: str | None = None
    sender: str | None = Field(default=None, serialization_alias="from")
    to: str | None = None
    objectives: list[str] = []
    changes: dict[str, Any]
    resolves: list[int] = []
    in_play: list[int] = Field(
        default=[],
        description="the stages whose situations the answer covers: the start "
        "(0) and each inject that began a line of events, unless resolved",
    )
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
    """What `advisor assess` returns: the keys of docs/contract.md, plus advisor's own."""

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
