"""The knowledge base: recommendations, frameworks, agencies, states and vocabularies, loaded from YAML."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import CatalogError, nearest
from .source import read_yaml

Basis = Literal["document", "general_knowledge"]
CITATION = re.compile(r"^(\d{1,2})(?:\((\d{1,2})\))?$")


class Strict(BaseModel):
    """A model that refuses unknown keys and is never changed after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Group(Strict):
    id: str
    title: str
    recommendations: list[int]


class Recommendation(Strict):
    number: int
    title: str
    summary: str
    items: dict[int, str] = {}
    group: str = ""


class Framework(Strict):
    id: str = ""
    name: str
    short: str | None = None
    status: Literal["existing", "proposed"]
    layer: str
    family: str | None = None  # one of the vocabulary's families
    members: list[str] = []
    basis: Basis | None = None
    note: str | None = None
    cited_in: list[int]


class Agency(Strict):
    """A Japanese government body. `assigned` holds the only roles the document itself gives it
    (role -> recommendations); every other role a rule gives is general knowledge."""

    id: str = ""
    name: str
    short: str | None = None
    part_of: str | None = None
    sector: str
    named_in: dict[int, str] = {}  # recommendation -> the document's words for this kind of body
    assigned: dict[str, list[int]] = {}
    basis: Basis = "document"  # general_knowledge: a body the document does not name
    note: str | None = None
    cited_in: list[int]


class State(Strict):
    code: str = ""
    name: str
    east_asia: bool = False
    aliases: list[str] = []


class TypeEntry(Strict):
    category: str
    label: str
    aliases: list[str] = []
    note: str | None = None


class RegionEntry(Strict):
    label: str
    within: list[str] = []
    aliases: list[str] = []


class Labelled(Strict):
    label: str
    aliases: list[str] = []


class Severity(Strict):
    rank: int
    aliases: list[str] = []


class Remark(Strict):
    """A caveat or a measure: a sentence in the project's words tied to a citation."""

    id: str = ""
    recommendation: str
    text: str
    text_ja: str | None = None  # the Japanese text, for --lang ja


class Since(Strict):
    """What became of a body after 2002 (general knowledge), for --as-of today."""

    became: str
    since: int
    became_ja: str | None = None


class DerivedEntry(Strict):
    """A fact rules derive for other rules. A `distinction` is one of the document's distinctions,
    derived from the descriptor alone before any recommendation applies; a `note` is added to
    the output's notes whenever the fact is derived."""

    text: str
    distinction: bool = False
    note: str | None = None
    text_ja: str | None = None  # the fact in Japanese, for --lang ja


class LayerEntry(Strict):
    label: str
    multilateral: bool = False  # its frameworks are multi-national diplomacy (14)


class SectorEntry(Strict):
    label: str
    beyond_diplomacy_and_defense: bool = False  # the kinds of work rec 14 names beyond the two


class TextJa(Strict):
    """Japanese display text (text_ja.yaml) for --lang ja: the brief's headings and labels, the
    recommendations' titles, the vocabulary's labels and the exercise documents' headers and phrases. What it
    lacks prints in English."""

    labels: dict[str, str] = {}
    recommendations: dict[int, str] = {}
    vocabulary: dict[str, dict[str, str]] = {}  # section (types, regions, ...) -> id -> label
    caveats: dict[str, str] = {}  # caveat id -> a short name
    exercise: dict[str, str] = {}  # the exercise documents' headers and phrases (msel, eeg, hotwash, rolecards), by key


def _entries(value, key: str):
    """Accept `name: "text"` as shorthand for `name: {key: "text"}`."""
    if isinstance(value, dict):
        return {k: {key: v} if isinstance(v, str) else v for k, v in value.items()}
    return value


class Vocabulary(Strict):
    categories: dict[str, str]
    types: dict[str, TypeEntry]
    regions: dict[str, RegionEntry]
    targets: dict[str, Labelled]
    actors: dict[str, Labelled]
    severities: dict[str, Severity]
    attributes: dict[str, str]
    derived: dict[str, DerivedEntry]
    roles: dict[str, str]  # strongest first
    layers: dict[str, LayerEntry]
    sectors: dict[str, SectorEntry]
    families: dict[str, str]

    @field_validator("derived", mode="before")
    @classmethod
    def _derived(cls, value):
        return _entries(value, "text")

    @field_validator("layers", "sectors", mode="before")
    @classmethod
    def _labelled(cls, value):
        return _entries(value, "label")

    @cached_property
    def distinctions(self) -> list[str]:
        return [k for k, e in self.derived.items() if e.distinction]

    def role_rank(self, role: str) -> int:
        """0 for the strongest role (lead)."""
        return list(self.roles).index(role)


# The lists of the knowledge base that `advisor catalog` and GET /v1/catalog/{kind} show.
LISTS = ("recommendations", "frameworks", "agencies", "states", "types", "regions", "targets", "attributes", "derived")

# The kinds of entry a rule concludes and an answer lists, spelled as the assessment's keys spell
# them (the one spelling in code), with the word for one of each (the spelling people read and type).
KINDS = {
    "recommendations": "recommendation",
    "frameworks": "framework",
    "agencies": "agency",
    "states": "state",
    "derived": "derived",
    "caveats": "caveat",
    "measures": "measure",
}


def word(kind: str) -> str:
    """The word for one entry of a kind: "framework" for `frameworks`."""
    return KINDS[kind]


def kind_named(word_: str) -> str:
    """The kind a word names: `frameworks` for "framework"."""
    return next(k for k, w in KINDS.items() if w == word_)


def fold(text: str) -> str:
    """Fold what a person types into the form of a canonical id (case, spaces, hyphens)."""
    out = re.sub(r"[\s\-]+", "_", str(text).strip().lower())
    return out[4:] if out.startswith("the_") else out


class Catalog(BaseModel):
    """Everything the rules may refer to, with look-ups that forgive what people type."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    groups: list[Group]
    recommendations: dict[int, Recommendation]
    frameworks: dict[str, Framework]
    agencies: dict[str, Agency]
    states: dict[str, State]
    state_groups: dict[str, list[str]]
    vocabulary: Vocabulary
    caveats: dict[str, Remark]
    measures: dict[str, Remark]
    questions: dict[int, list[str]] = {}
    questions_ja: dict[int, list[str]] = {}  # the same questions in Japanese, in the same order
    text_ja: TextJa = TextJa()
    since_2002: dict[str, dict[str, Since]] = {}
    names_ja: dict[str, dict[str, str]] = {}
    names_ja_today: dict[str, dict[str, str]] = {}  # names changed since 2002 (--as-of today)
    source: str = ""

    # --- vocabulary look-ups ----------------------------------------------------

    @cached_property
    def _aliases(self) -> dict[str, dict[str, str]]:
        v = self.vocabulary
        table: dict[str, dict[str, str]] = {}
        for field, entries in (
            ("type", v.types),
            ("region", v.regions),
            ("targets", v.targets),
            ("actor", v.actors),
            ("severity", v.severities),
        ):
            names: dict[str, str] = {}
            for key, entry in entries.items():
                names[fold(key)] = key
                for alias in entry.aliases:
                    names.setdefault(fold(alias), key)
            table[field] = names
        states: dict[str, str] = {}
        for code, state in self.states.items():
            states[fold(code)] = code
            states.setdefault(fold(state.name), code)
            for alias in state.aliases:
                states.setdefault(fold(alias), code)
        table["states"] = states
        table["attributes"] = {fold(k): k for k in v.attributes}
        return table

    def canonical(self, field: str) -> list[str]:
        """The canonical ids of a descriptor field's vocabulary."""
        v = self.vocabulary
        tables: dict[str, Mapping[str, Any]] = {
            "type": v.types,
            "region": v.regions,
            "targets": v.targets,
            "actor": v.actors,
            "severity": v.severities,
            "states": self.states,
            "attributes": v.attributes,
        }
        return list(tables[field])

    def resolve(self, field: str, value: str) -> str | None:
        """The canonical id for what a person typed in `field`, or None."""
        return self._aliases[field].get(fold(value))

    def hint(self, field: str, value: str) -> str:
        """The nearest valid values for an unknown one, matched against ids and aliases."""
        names = self._aliases[field]
        close = nearest(fold(value), names)
        if close.startswith("one of"):
            return close
        ids = dict.fromkeys(names[q.strip("'")] for q in close.split(" or "))
        if field == "states":
            return " or ".join(f"'{c}' ({self.states[c].name})" for c in ids)
        return " or ".join(f"'{c}'" for c in ids)

    def regions_around(self, region: str) -> list[str]:
        """The region and every region it lies within, nearest first."""
        out, todo = [], [region]
        while todo:
            r = todo.pop(0)
            if r not in out:
                out.append(r)
                todo.extend(self.vocabulary.regions[r].within)
        return out

    def expand_states(self, codes: list[str]) -> list[str]:
        """State codes with group names (e.g. `asean`) replaced by their members."""
        out: list[str] = []
        for code in codes:
            for c in self.state_groups.get(code, [code]):
                if c not in out:
                    out.append(c)
        return out

    def citation(self, text: str) -> tuple[int, int | None]:
        """Parse and check a citation such as `12` or `12(2)`; raise ValueError if unknown."""
        m = CITATION.match(str(text).strip())
        if not m:
            raise ValueError(f"'{text}' is not a citation like '12' or '12(2)'")
        number, item = int(m.group(1)), m.group(2)
        if number not in self.recommendations:
            raise ValueError(f"there is no recommendation {number} (there are 1 to {len(self.recommendations)})")
        if item is not None:
            items = self.recommendations[number].items
            if int(item) not in items:
                valid = ", ".join(f"{number}({i})" for i in items) or "none"
                raise ValueError(f"recommendation {number} has no item ({item}) (its items: {valid})")
            return number, int(item)
        return number, None

    def tally_keys(self, kind: str, ref: str) -> list[str]:
        """The counts a concluded framework or agency adds to (what a rule's `count` may test)."""
        if kind == "frameworks":
            layer = self.frameworks[ref].layer
            keys = ["frameworks", layer]
            if self.vocabulary.layers[layer].multilateral:
                keys.append("multilateral")
            return keys
        sector = self.agencies[ref].sector
        keys = ["agencies", sector]
        if self.vocabulary.sectors[sector].beyond_diplomacy_and_defense:
            keys.append("beyond_diplomacy_and_defense")
        return keys

    def count_keys(self) -> list[str]:
        """Every name a rule's `count` may use."""
        v = self.vocabulary
        return [
            "agencies",
            "frameworks",
            "states",
            "sectors",
            "multilateral",
            "beyond_diplomacy_and_defense",
            *v.layers,
            *v.sectors,
        ]

    def state_name(self, code: str) -> str:
        return self.states[code].name if code in self.states else code

    def name_ja(self, kind: str, ref: str, as_of: str = "2002") -> str | None:
        """The Japanese name of a framework, agency or state (today's where it changed and asked for)."""
        if as_of == "today" and ref in self.names_ja_today.get(kind, {}):
            return self.names_ja_today[kind][ref]
        return self.names_ja.get(kind, {}).get(ref)

    def name(self, kind: str, ref: str, lang: str = "en", as_of: str = "2002") -> str:
        """The display name of a framework, agency or state, in Japanese where asked and known."""
        ja = self.name_ja(kind, ref, as_of) if lang == "ja" else None
        if ja:
            return ja
        tables: dict[str, Mapping[str, Any]] = {
            "frameworks": self.frameworks,
            "agencies": self.agencies,
            "states": self.states,
        }
        table = tables[kind]
        return table[ref].name if ref in table else ref


def _check(catalog: Catalog) -> list[str]:
    """Cross-references inside the catalog; returns problems as text."""
    v = catalog.vocabulary
    problems = []
    for key, fw in catalog.frameworks.items():
        if fw.layer not in v.layers:
            problems.append(
                f"frameworks.yaml: {key}: unknown layer '{fw.layer}' (did you mean {nearest(fw.layer, v.layers)}?)"
            )
        if fw.family is not None and fw.family not in v.families:
            problems.append(
                f"frameworks.yaml: {key}: unknown family '{fw.family}' (did you mean {nearest(fw.family, v.families)}?)"
            )
        for code in fw.members:
            if code not in catalog.states:
                problems.append(f"frameworks.yaml: {key}: unknown member state '{code}'")
        if fw.members and fw.basis is None and fw.members != ["JPN"]:
            problems.append(f"frameworks.yaml: {key}: a member list needs a basis (document or general_knowledge)")
        for n in fw.cited_in:
            if n not in catalog.recommendations:
                problems.append(f"frameworks.yaml: {key}: cited_in names no recommendation {n}")
    for key, t in v.types.items():
        if t.category not in v.categories:
            problems.append(f"vocabulary.yaml: types.{key}: unknown category '{t.category}'")
    for key, r in v.regions.items():
        for w in r.within:
            if w not in v.regions:
                problems.append(f"vocabulary.yaml: regions.{key}: within unknown region '{w}'")
    for name, members in catalog.state_groups.items():
        for code in members:
            if code not in catalog.states:
                problems.append(f"states.yaml: groups.{name}: unknown state '{code}'")
    for kind, remarks in (("caveats", catalog.caveats), ("measures", catalog.measures)):
        for key, remark in remarks.items():
            try:
                catalog.citation(remark.recommendation)
            except ValueError as exc:
                problems.append(f"{kind}.yaml: {key}: {exc}")
    by_field: dict[str, Mapping[str, Any]] = {
        "type": v.types,
        "region": v.regions,
        "targets": v.targets,
        "actor": v.actors,
        "severity": v.severities,
        "states": catalog.states,
    }
    for field, entries in by_field.items():
        owner: dict[str, str] = {}
        for key, entry in entries.items():
            names = [key, *entry.aliases] + ([entry.name] if field == "states" else [])
            for name in names:
                other = owner.setdefault(fold(name), key)
                if other != key:
                    problems.append(f"alias '{name}' of {field} means both '{other}' and '{key}'")
    tables: dict[str, Mapping[str, Any]] = {
        "frameworks": catalog.frameworks,
        "agencies": catalog.agencies,
        "states": catalog.states,
        "caveats": catalog.caveats,
    }
    for fname, section in (
        ("since_2002", catalog.since_2002),
        ("names_ja", catalog.names_ja),
        ("names_ja", catalog.names_ja_today),
    ):
        for kind, entries in section.items():
            if kind not in tables:
                problems.append(f"{fname}.yaml: unknown section '{kind}'")
                continue
            for ref in entries:
                if ref not in tables[kind]:
                    problems.append(
                        f"{fname}.yaml: {kind}: unknown id '{ref}' (did you mean {nearest(ref, tables[kind])}?)"
                    )
    for number in catalog.questions:
        if number not in catalog.recommendations:
            problems.append(f"questions.yaml: there is no recommendation {number}")
    for number, qs in catalog.questions_ja.items():
        if len(qs) != len(catalog.questions.get(number, [])):
            problems.append(
                f"questions.yaml: questions_ja.{number}: {len(qs)} questions, but "
                f"{len(catalog.questions.get(number, []))} in English"
            )
    for ref in catalog.text_ja.caveats:
        if ref not in catalog.caveats:
            problems.append(
                f"text_ja.yaml: caveats: unknown id '{ref}' (did you mean {nearest(ref, catalog.caveats)}?)"
            )
    for number in catalog.text_ja.recommendations:
        if number not in catalog.recommendations:
            problems.append(f"text_ja.yaml: recommendations: there is no recommendation {number}")
    for vocabulary_section, words in catalog.text_ja.vocabulary.items():
        known = getattr(v, vocabulary_section, None) if vocabulary_section in Vocabulary.model_fields else None
        if known is None:
            problems.append(f"text_ja.yaml: vocabulary: unknown section '{vocabulary_section}'")
            continue
        for key in words:
            if key not in known:
                problems.append(
                    f"text_ja.yaml: vocabulary.{vocabulary_section}: unknown id '{key}' "
                    f"(did you mean {nearest(key, known)}?)"
                )
    problems += _check_phrases(catalog.text_ja)
    numbers = sorted(n for g in catalog.groups for n in g.recommendations)
    if numbers != sorted(catalog.recommendations):
        problems.append("recommendations.yaml: the groups do not cover each recommendation exactly once")
    for key, agency in catalog.agencies.items():
        if agency.part_of and agency.part_of not in catalog.agencies:
            problems.append(f"agencies.yaml: {key}: part_of unknown agency '{agency.part_of}'")
        if agency.sector not in v.sectors:
            problems.append(
                f"agencies.yaml: {key}: unknown sector '{agency.sector}' (did you mean {nearest(agency.sector, v.sectors)}?)"
            )
        for n in agency.named_in:
            if n not in catalog.recommendations:
                problems.append(f"agencies.yaml: {key}: named_in: there is no recommendation {n}")
        for role, numbers in agency.assigned.items():
            if role not in v.roles:
                problems.append(
                    f"agencies.yaml: {key}: assigned: unknown role '{role}' (did you mean {nearest(role, v.roles)}?)"
                )
            for n in numbers:
                if n not in catalog.recommendations:
                    problems.append(f"agencies.yaml: {key}: assigned: there is no recommendation {n}")
        if agency.basis == "general_knowledge" and not agency.note:
            problems.append(
                f"agencies.yaml: {key}: a body the document does not name needs a note saying why it is here"
            )
    for name, entry in v.derived.items():
        if entry.note is not None and not entry.note.strip():
            problems.append(f"vocabulary.yaml: derived.{name}: an empty note")
    return problems


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _check_phrases(tj: TextJa) -> list[str]:
    """The Japanese labels and MSEL phrases: known keys, and the same {fields} as the English ones."""
    from .phrases import BRIEF_LABELS, EXERCISE_TEXT

    problems = []
    for section, english, entries in (("labels", BRIEF_LABELS, tj.labels), ("exercise", EXERCISE_TEXT, tj.exercise)):
        for key, text in entries.items():
            if key not in english:
                problems.append(f"text_ja.yaml: {section}: unknown key '{key}' (did you mean {nearest(key, english)}?)")
                continue
            try:
                fields = _fields(text)
            except ValueError as exc:
                problems.append(f"text_ja.yaml: {section}.{key}: {exc}")
                continue
            if fields != _fields(english[key]):
                want = ", ".join(f"{{{f}}}" for f in sorted(_fields(english[key]))) or "none"
                problems.append(f"text_ja.yaml: {section}.{key}: its fields must be those of the English ({want})")
    return problems


FILES = ("recommendations", "frameworks", "agencies", "states", "vocabulary", "caveats", "measures")
OPTIONAL = ("questions", "since_2002", "names_ja", "text_ja")  # tabletop and display data; a rule base may omit them


def load_catalog(directory: Path) -> Catalog:
    """Load and cross-check the catalog YAML files of `directory`."""
    raw = {}
    for name in FILES:
        path = directory / f"{name}.yaml"
        raw[name] = read_yaml(path, error=CatalogError)
    for name in OPTIONAL:
        path = directory / f"{name}.yaml"
        raw[name] = read_yaml(path, error=CatalogError) if path.exists() else {}
    try:
        groups = [Group.model_validate(g) for g in raw["recommendations"]["groups"]]
        group_of = {n: g.id for g in groups for n in g.recommendations}
        recs = {}
        for r in raw["recommendations"]["recommendations"]:
            rec = Recommendation.model_validate({**r, "group": group_of.get(r.get("number"), "")})
            recs[rec.number] = rec
        catalog = Catalog(
            groups=groups,
            recommendations=recs,
            frameworks={
                k: Framework.model_validate({**f, "id": k}) for k, f in raw["frameworks"]["frameworks"].items()
            },
            agencies={k: Agency.model_validate({**a, "id": k}) for k, a in raw["agencies"]["agencies"].items()},
            states={k: State.model_validate({**s, "code": k}) for k, s in raw["states"]["states"].items()},
            state_groups=raw["states"].get("groups", {}),
            vocabulary=Vocabulary.model_validate(raw["vocabulary"]),
            caveats={k: Remark.model_validate({**c, "id": k}) for k, c in raw["caveats"]["caveats"].items()},
            measures={k: Remark.model_validate({**c, "id": k}) for k, c in raw["measures"]["measures"].items()},
            questions=raw["questions"].get("questions", {}),
            questions_ja=raw["questions"].get("questions_ja", {}),
            text_ja=TextJa.model_validate(raw["text_ja"]),
            since_2002={
                kind: {k: Since.model_validate(v) for k, v in entries.items()}
                for kind, entries in raw["since_2002"].items()
            },
            names_ja={k: v for k, v in raw["names_ja"].items() if k != "today"},
            names_ja_today=raw["names_ja"].get("today", {}),
            source=str(directory),
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CatalogError(f"{err['msg']}", path=str(directory), loc=".".join(map(str, err["loc"]))) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise CatalogError(f"malformed catalog: {exc}", path=str(directory)) from None
    problems = _check(catalog)
    if problems:
        raise CatalogError("catalog is inconsistent", problems=[CatalogError(p, path=str(directory)) for p in problems])
    return catalog
