"""An exercise-grade tabletop (HSEEP-style): the controller's MSEL, evaluation guides, hot wash and role cards.

Nothing here re-derives policy: every expected action is a conclusion of the assessment (and its
stages), with the rules and recommendations behind it; the catalog supplies names. The players'
decisions are read from a small YAML or CSV file and scored against those expectations.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import KINDS, fold
from .errors import InputError, clip, nearest
from .phrases import EXERCISE_TEXT

ACTION_KINDS = ("frameworks", "agencies", "states", "measures", "caveats")  # what a module asks of the players
RATINGS = ("P", "S", "M", "U")  # HSEEP's ratings; their meanings are EXERCISE_TEXT's rating_p, ...
HOME = "JPN"  # the players are Japan; engaging Japan itself is no decision


class Words:
    """The MSEL's phrases, and the measures' and caveats' texts, in one language: Japanese where
    text_ja.yaml (and the measures and caveats files) have them and --lang ja asks, English otherwise."""

    def __init__(self, catalog=None, lang: str = "en"):
        self.catalog = catalog
        self.ja = lang == "ja" and catalog is not None

    def __call__(self, key: str, **fields: Any) -> str:
        text = (self.catalog.text_ja.exercise.get(key) if self.ja else None) or EXERCISE_TEXT[key]
        return text.format(**fields)

    def __contains__(self, key: str) -> bool:
        """Whether there is a phrase for `key` (a role of a rule base's own vocabulary may have none)."""
        return key in EXERCISE_TEXT

    def basis(self, basis: str) -> str:
        return self(f"basis_{basis}") if f"basis_{basis}" in self else basis.replace("_", " ")

    def title(self, number: int, english: str) -> str:
        """A recommendation's title (`english` is the catalog's)."""
        return (self.catalog.text_ja.recommendations.get(number) if self.ja else None) or english

    def remark(self, kind: str, ref: str, english: str) -> str:
        entry = getattr(self.catalog, kind).get(ref) if self.ja else None
        return (entry.text_ja if entry is not None else None) or english

    def caveat_name(self, ref: str) -> str:
        return (self.catalog.text_ja.caveats.get(ref) if self.ja else None) or ref.replace("_", " ")

    def role(self, role: str) -> str:
        return (self.catalog.text_ja.labels.get(f"role_{role}") if self.ja else None) or role


ENGLISH = Words()


# --- expected actions, per module ------------------------------------------------------------


@dataclass
class ExpectedAction:
    """One expected player action: a conclusion of the rules, with what stands behind it."""

    kind: str  # frameworks | agencies | states | measures | caveats
    id: str
    name: str
    action: str  # the sentence a controller reads
    recommendations: list[int]
    rules: list[str]
    basis: str
    because: str = ""  # the first rule's reason
    role: str | None = None  # agencies: the role the rules give


@dataclass
class Module:
    """The starting situation (module 0) or one inject, with what the players are expected to do."""

    number: int
    label: str
    title: str
    description: str | None
    time: str | None
    delivery: str | None
    sender: str | None
    to: str | None
    objectives: list[str]
    data: dict[str, Any]  # the whole answer at this module (every line of events in play)
    added: list[ExpectedAction]  # what this module adds (at the start: everything)
    removed: list[tuple[str, str]]  # (kind, name) no longer in play
    in_play: list[int]
    kept: str  # what earlier lines keep in play, briefly
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def expected(self) -> list[ExpectedAction]:
        """What the players are expected to decide (caveats are limits to weigh, not decisions)."""
        return [x for x in self.added if x.kind != "caveats"]

    def in_play_ids(self, kind: str) -> set[str]:
        key = "code" if kind == "states" else "id"
        return {str(item[key]) for item in self.data.get(kind, [])}


def _nums(numbers) -> str:
    return ", ".join(str(n) for n in numbers)


def module_label(number: int, words: Words = ENGLISH) -> str:
    return words("start") if number == 0 else words("module", number=number)


def _because(data: dict[str, Any], rulebase, rules: list[str]) -> str:
    for rule in rules:
        if rulebase is not None and rule in rulebase.by_id:
            return rulebase.by_id[rule].because
        for t in data.get("trace", []):
            if t["rule"] == rule:
                return t["because"]
    return ""


def _expects(
    data: dict[str, Any], names, rulebase, only: dict[str, set[str]] | None, words: Words = ENGLISH
) -> list[ExpectedAction]:
    """The conclusions of one answer as expected actions; `only`: per kind, the ids to keep (None: all)."""

    def keep(kind: str, ref: str) -> bool:
        return only is None or ref in only.get(kind, set())

    out: list[ExpectedAction] = []
    for f in data["frameworks"]:
        if keep("frameworks", f["id"]):
            name = names("frameworks", f["id"], f["name"])
            verb = "invoke" if f["status"] == "existing" else "propose"
            out.append(
                ExpectedAction(
                    "frameworks",
                    f["id"],
                    name,
                    words(verb, name=name),
                    f["recommendations"],
                    f["rules"],
                    f["basis"],
                    _because(data, rulebase, f["rules"]),
                )
            )
    for g in data["agencies"]:  # strongest role first, as the assessment lists them
        if keep("agencies", g["id"]):
            name = names("agencies", g["id"], g["name"])
            rules = [r["rule"] for r in g["roles"] if r["role"] == g["role"]] or g["rules"]
            action = words(f"role_{g['role']}", name=name) if f"role_{g['role']}" in words else f"{name} {g['role']}"
            out.append(
                ExpectedAction(
                    "agencies",
                    g["id"],
                    name,
                    action,
                    g["recommendations"],
                    rules,
                    g["role_basis"],
                    _because(data, rulebase, rules),
                    role=g["role"],
                )
            )
    for s in data["states"]:
        if s["code"] != HOME and keep("states", s["code"]):
            name = names("states", s["code"], s["name"])
            out.append(
                ExpectedAction(
                    "states",
                    s["code"],
                    name,
                    words("engage", name=name),
                    s["recommendations"],
                    s["rules"],
                    s["basis"],
                    _because(data, rulebase, s["rules"]),
                )
            )
    for m in data["measures"]:
        if keep("measures", m["id"]):
            text = words.remark("measures", m["id"], m["text"])
            out.append(
                ExpectedAction(
                    "measures",
                    m["id"],
                    text,
                    text,
                    m["recommendations"],
                    m["rules"],
                    m["basis"],
                    _because(data, rulebase, m["rules"]),
                )
            )
    for c in data["caveats"]:
        if keep("caveats", c["id"]):
            out.append(
                ExpectedAction(
                    "caveats",
                    c["id"],
                    words.caveat_name(c["id"]),
                    words("weigh", text=words.remark("caveats", c["id"], c["text"])),
                    c["recommendations"],
                    c["rules"],
                    c["basis"],
                    _because(data, rulebase, c["rules"]),
                )
            )
    return out


def _name_of(data: dict[str, Any], kind: str, ref: str, catalog, names, words: Words = ENGLISH) -> str:
    if kind in ("frameworks", "agencies", "states"):
        return names(kind, ref, catalog.name(kind, ref))
    if kind == "measures" and ref in catalog.measures:
        return words.remark("measures", ref, catalog.measures[ref].text)
    if kind == "caveats":
        return words.caveat_name(ref)
    return ref.replace("_", " ")


def modules(a, catalog, names, rulebase=None, words: Words = ENGLISH) -> list[Module]:
    """The start and each inject as modules: what each adds, drops and keeps in play (in the
    language of `words`)."""
    start = a.to_data()
    start.pop("stages", None)
    exercise = a.threat.get("exercise") or {}
    out = [
        Module(
            0,
            module_label(0, words),
            words("starting_situation"),
            a.threat.get("description"),
            None,
            None,
            None,
            None,
            [],
            start,
            _expects(start, names, rulebase, None, words),
            [],
            [0],
            "",
        )
    ]
    previous = start
    for st in a.stages or []:
        delta = st.delta
        only = {kind: set(delta.get(kind, {}).get("added", [])) for kind in ACTION_KINDS}
        only["agencies"] |= set(delta.get("roles", {}))
        removed = [
            (kind, _name_of(previous, kind, ref, catalog, names, words))
            for kind in ACTION_KINDS
            for ref in delta.get(kind, {}).get("removed", [])
        ]
        data = st.assessment
        added = _expects(data, names, rulebase, only, words)
        earlier = [n for n in st.in_play if n != st.stage]
        leads = [names("agencies", g["id"], g["name"]) for g in data["agencies"] if g["role"] == "lead"]
        kept = ""
        if earlier:
            n_fw = len([f for f in data["frameworks"] if f["id"] not in only["frameworks"]])
            kept = words(
                "still_in_play",
                count=n_fw,
                modules=words("comma").join(module_label(n, words).lower() for n in earlier),
            ) + (words("leading", names=words("and").join(leads)) if leads else "")
        inject_ext = {}
        for raw in a.threat.get("injects", [])[st.stage - 1 : st.stage]:
            inject_ext = {k: v for k, v in raw.items() if isinstance(k, str) and k.startswith("x_")}
        out.append(
            Module(
                st.stage,
                module_label(st.stage, words),
                st.title,
                st.description,
                st.time,
                st.delivery,
                st.sender,
                st.to,
                list(st.objectives),
                data,
                added,
                removed,
                list(st.in_play),
                kept,
                inject_ext,
            )
        )
        previous = data
    # the start tests the objectives whose recommendations its expectations touch
    touched = {n for x in out[0].added for n in x.recommendations}
    out[0].objectives = [o["id"] for o in exercise.get("objectives", []) if set(o.get("recommendations", [])) & touched]
    return out


# --- who is responsible ----------------------------------------------------------------------


def players_by_agency(threat: dict[str, Any]) -> dict[str, list[str]]:
    """Agency id -> the player roles standing for it."""
    out: dict[str, list[str]] = {}
    for p in (threat.get("exercise") or {}).get("players", []):
        if p.get("agency"):
            out.setdefault(p["agency"], []).append(p["role"])
    return out


def who(agency_id: str, name: str, players: dict[str, list[str]]) -> str:
    """An agency as the players know it: the player role standing for it, with the agency's name."""
    roles = players.get(agency_id)
    if not roles:
        return name
    return roles[0] if fold(name) in fold(roles[0]) else f"{roles[0]} ({name})"


def responsible(module: Module, players: dict[str, list[str]], names, words: Words = ENGLISH) -> tuple[str, list[str]]:
    """The body responsible for a module: whoever the module makes lead or coordinate, else the current leads.

    Returns the display text and the agency ids. Only when no agency leads, coordinates or supports
    does it fall back to the inject's addressee (or 'All players').
    """
    agencies = module.data["agencies"]
    changed = {x.id for x in module.added if x.kind == "agencies"}
    for pool in (
        [g for g in agencies if g["id"] in changed and g["role"] in ("lead", "coordinate")],
        [g for g in agencies if g["role"] in ("lead", "coordinate")],
        [g for g in agencies if g["role"] == "support"],
    ):
        if pool:
            text = "; ".join(
                words(
                    "responsible",
                    who=who(g["id"], names("agencies", g["id"], g["name"]), players),
                    role=words.role(g["role"]),
                )
                for g in pool
            )
            return text, [g["id"] for g in pool]
    return module.to or words("all_players"), []


# --- the controller's MSEL -------------------------------------------------------------------

MSEL_KEYS = (
    "col_event",
    "col_time",
    "col_module",
    "col_inject",
    "col_text",
    "col_delivery",
    "col_from",
    "col_to",
    "col_responsible",
    "col_actions",
    "col_objectives",
    "col_recommendations",
    "col_notes",
)
MSEL_COLUMNS = tuple(EXERCISE_TEXT[k] for k in MSEL_KEYS)


def msel_columns(words: Words = ENGLISH) -> list[str]:
    """The MSEL's column headers (HSEEP's) in the language of `words`."""
    return [words(k) for k in MSEL_KEYS]


@dataclass
class MselRow:
    event: int
    time: str
    module: str
    inject: str
    text: str
    delivery: str
    sender: str
    to: str
    responsible: str
    actions: list[str]  # one line each, shown together in one cell
    objectives: list[str]
    recommendations: list[int]
    notes: list[str]

    def cells(self) -> list[Any]:
        """The row as MSEL_COLUMNS, lists kept as lists (each renderer joins them its own way)."""
        return [
            self.event,
            self.time,
            self.module,
            self.inject,
            self.text,
            self.delivery,
            self.sender,
            self.to,
            self.responsible,
            self.actions,
            self.objectives,
            _nums(self.recommendations),
            self.notes,
        ]


def _action_line(x: ExpectedAction, words: Words = ENGLISH) -> str:
    return (
        words("with_recommendations", action=x.action, numbers=_nums(x.recommendations))
        if x.recommendations
        else x.action
    )


def msel_rows(a, catalog, names, rulebase=None, lang: str = "en") -> list[MselRow]:
    """One row per module (the start is event 1), its expected actions together in one cell; the
    phrases in Japanese with `lang` ja (text_ja.yaml's `exercise`)."""
    words = Words(catalog, lang)
    players = players_by_agency(a.threat)
    rows = []
    for m in modules(a, catalog, names, rulebase, words):
        actions = [_action_line(x, words) for x in m.added]
        actions += [words("no_longer_in_play", name=name) for _kind, name in m.removed]
        if m.kept:
            actions.append(m.kept)
        if not m.added and not m.removed:
            actions.insert(0, words("no_change"))
        notes = []
        # a measure by its id in English (its text is long), by its text in Japanese (its id is English)
        gk = [
            x.id.replace("_", " ") if x.kind == "measures" and not words.ja else x.name
            for x in m.added
            if x.basis != "document"
        ]
        if gk:
            notes.append(words("general_knowledge", names=words("comma").join(gk)))
        for key, value in m.extensions.items():
            notes.append(f"{key}: {value if isinstance(value, str) else _json(value)}")
        recs = sorted({n for x in m.added for n in x.recommendations})
        rows.append(
            MselRow(
                m.number + 1,
                m.time or (words("startex") if m.number == 0 else ""),
                m.label,
                m.title,
                m.description or "",
                m.delivery or (words("briefing") if m.number == 0 else ""),
                m.sender or (words("exercise_control") if m.number == 0 else ""),
                m.to or (words("all_players") if m.number == 0 else ""),
                responsible(m, players, names, words)[0],
                actions,
                m.objectives,
                recs,
                notes,
            )
        )
    return rows


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- Exercise Evaluation Guides ---------------------------------------------------------------


@dataclass
class Task:
    module: str
    inject: str
    action: str
    recommendations: list[int]
    rules: list[str]
    basis: str
    because: str
    continuing: bool = False


@dataclass
class Guide:
    """One Exercise Evaluation Guide: an objective and its critical tasks, module by module."""

    id: str
    text: str
    recommendations: list[int]
    modules: list[str]
    tasks: list[Task]


def _task(m: Module, x: ExpectedAction, continuing: bool = False) -> Task:
    return Task(m.label, m.title, x.action, x.recommendations, x.rules, x.basis, x.because, continuing)


def guides(a, catalog, names, rulebase=None, words: Words = ENGLISH) -> list[Guide]:
    """An EEG per objective: the expected actions of its modules that serve its recommendations."""
    exercise = a.threat.get("exercise") or {}
    mods = modules(a, catalog, names, rulebase, words)
    out = []
    for o in exercise.get("objectives", []):
        recs = set(o.get("recommendations", []))
        tasks, labels = [], []
        for m in mods:
            if o["id"] not in m.objectives:
                continue
            labels.append(m.label)
            fits = [x for x in m.added if not recs or set(x.recommendations) & recs]
            if fits:
                tasks += [_task(m, x) for x in fits]
            else:  # the inject tests the objective with nothing new: the players keep what is in play
                kept = [x for x in _expects(m.data, names, rulebase, None, words) if set(x.recommendations) & recs]
                tasks += [_task(m, x, continuing=True) for x in kept]
        out.append(Guide(o["id"], o["text"], sorted(recs), labels, tasks))
    return out


# --- the players' decisions --------------------------------------------------------------------

DECISION_FIELDS = ("frameworks", "lead", "coordinate", "support", "states", "measures", "notes")
CSV_KINDS = ("frameworks", "agencies", "states", "measures")  # the kinds a decision names, as catalog.KINDS spells them
MAX_DECISIONS_BYTES = 1_000_000


@dataclass
class Decision:
    module: int
    kind: str  # frameworks | agencies | states | measures
    id: str
    role: str | None = None  # agencies
    line: int | None = None


@dataclass
class Decisions:
    path: str
    items: list[Decision]
    notes: dict[int, str] = field(default_factory=dict)

    def at(self, module: int, kind: str | None = None) -> list[Decision]:
        return [d for d in self.items if d.module == module and (kind is None or d.kind == kind)]


class _Resolver:
    """Ids or names, as the descriptor forgives them (case, spaces, hyphens), to catalog ids."""

    def __init__(self, catalog, modules_: list[Module]):
        self.catalog = catalog
        self.tables: dict[str, dict[str, str]] = {}
        for kind, table in (("frameworks", catalog.frameworks), ("agencies", catalog.agencies)):
            names: dict[str, str] = {}
            for key, entry in table.items():
                for alias in (key, entry.name, entry.short, catalog.name_ja(kind, key)):
                    if alias:
                        names.setdefault(fold(alias), key)
            self.tables[kind] = names
        self.tables["measures"] = {fold(k): k for k in catalog.measures} | {
            fold(m.text): k for k, m in catalog.measures.items()
        }
        self.modules = {0: 0, fold("start"): 0, fold("starting situation"): 0}
        for m in modules_:
            for alias in (
                m.number,
                str(m.number),
                fold(m.label),
                fold(module_label(m.number)),
                fold(f"stage {m.number}"),
                fold(m.title),
            ):
                self.modules.setdefault(alias, m.number)
        self.module_names = [m.label for m in modules_]

    def module(self, value: Any) -> int | None:
        if isinstance(value, bool):
            return None
        return self.modules.get(value if isinstance(value, int) else fold(str(value)))

    def resolve(self, kind: str, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if kind == "states":
            return self.catalog.resolve("states", value)
        return self.tables[kind].get(fold(value))

    def hint(self, kind: str, value: str) -> str:
        if kind == "states":
            return self.catalog.hint("states", value)
        keys = (
            self.catalog.measures
            if kind == "measures"
            else {"frameworks": self.catalog.frameworks, "agencies": self.catalog.agencies}[kind]
        )
        names = self.tables[kind]
        close = nearest(fold(value), names)
        if close.startswith("one of"):
            return nearest(value, keys)
        return " or ".join(dict.fromkeys(f"'{names[q.strip(chr(39))]}'" for q in close.split(" or ")))


def _problem(path: str, line: int | None, loc: str, message: str, suggestion: str | None = None) -> InputError:
    return InputError(message, path=path, line=line, loc=loc, suggestion=suggestion)


def read_decisions(path: str | Path, catalog, modules_: list[Module]) -> Decisions:
    """Read a decisions file (YAML, or CSV with columns module, kind, id, role); every problem reported together."""
    from .source import decode, read_bytes

    p = Path(path)
    shown = str(p)
    try:
        raw = read_bytes(p, limit=MAX_DECISIONS_BYTES, error=InputError)
    except InputError as exc:  # (the hint about '-' is for descriptors: decisions come from a file)
        raise InputError(exc.message.replace(" (give '-' to read standard input)", ""), path=shown) from None
    text = decode(raw, shown, error=InputError)
    resolver = _Resolver(catalog, modules_)
    if p.suffix.lower() == ".csv":
        return _read_csv(text, shown, resolver)
    return _read_yaml(text, shown, resolver)


def _entry(
    kind: str,
    value: Any,
    module: int,
    role: str | None,
    line: int | None,
    loc: str,
    shown: str,
    resolver: _Resolver,
    problems: list[InputError],
    out: list[Decision],
) -> None:
    found = resolver.resolve(kind, value)
    if found is None:
        if not isinstance(value, str):
            problems.append(_problem(shown, line, loc, f"expected an id or a name, got {_kind(value)}"))
        else:
            problems.append(
                _problem(
                    shown,
                    line,
                    loc,
                    f"unknown {kind[:-1] if kind != 'agencies' else 'agency'} '{clip(value)}'",
                    resolver.hint(kind, value),
                )
            )
        return
    out.append(Decision(module, kind, found, role, line))


MAX_PROBLEMS = 20


def _kind(value: Any) -> str:
    """What a YAML value is, in the file's words (not the loader's class names)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, bytes):
        return "binary data"
    return "nothing" if value is None else "text"


def _refuse(shown: str, problems: list[InputError]) -> None:
    """All the problems of a file together, at most MAX_PROBLEMS of them (and how many more)."""
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [InputError(f"... and {more} more problems", path=shown)]
    raise InputError("invalid decisions file", path=shown, problems=problems)


def _read_yaml(text: str, shown: str, resolver: _Resolver) -> Decisions:
    from .source import parse_yaml

    data = parse_yaml(text, shown, error=InputError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(
            f"expected a mapping of modules (start, module 1, ...), got {_kind(data)}",
            path=shown,
            line=getattr(data, "line", None),
        )
    problems: list[InputError] = []
    items: list[Decision] = []
    notes: dict[int, str] = {}
    seen: dict[int, str] = {}
    for key, body in data.items():
        key_line = data.key_lines.get(key) if hasattr(data, "key_lines") else None
        number = resolver.module(key)
        if number is None:
            problems.append(
                _problem(shown, key_line, str(key), "unknown module", nearest(str(key), resolver.module_names))
            )
            continue
        if number in seen:
            problems.append(
                _problem(shown, key_line, str(key), f"the same module as '{seen[number]}': give each module once")
            )
            continue
        seen[number] = str(key)
        if body is None:
            continue
        if not isinstance(body, dict):
            problems.append(
                _problem(
                    shown, key_line, str(key), f"expected a mapping of {', '.join(DECISION_FIELDS)}, got {_kind(body)}"
                )
            )
            continue
        for name, values in body.items():
            line = body.key_lines.get(name, key_line) if hasattr(body, "key_lines") else key_line
            loc = f"{key}.{name}"
            if name not in DECISION_FIELDS:
                problems.append(_problem(shown, line, loc, "unknown field", nearest(str(name), DECISION_FIELDS)))
                continue
            if name == "notes":
                if not isinstance(values, str):
                    problems.append(_problem(shown, line, loc, f"expected text, got {_kind(values)}"))
                else:
                    notes[number] = values
                continue
            if values is None:
                continue
            if isinstance(values, str):
                values = [values]
            if not isinstance(values, list):
                problems.append(_problem(shown, line, loc, f"expected a list of ids or names, got {_kind(values)}"))
                continue
            kind = "agencies" if name in resolver.catalog.vocabulary.roles else name
            role = name if kind == "agencies" else None
            lines = getattr(values, "item_lines", [line] * len(values))
            for i, value in enumerate(values):
                _entry(kind, value, number, role, lines[i], f"{loc}[{i}]", shown, resolver, problems, items)
    if problems:
        _refuse(shown, problems)
    return Decisions(shown, items, notes)


def _read_csv(text: str, shown: str, resolver: _Resolver) -> Decisions:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")  # any line ends: CRLF, LF or CR
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", path=shown) from None
    if not rows:
        raise InputError("empty; expected a header row: module,kind,id,role", path=shown, line=1)
    header = [fold(h).replace(" ", "_") for h in rows[0]]
    missing = [c for c in ("module", "kind", "id") if c not in header]
    if missing:
        raise InputError(
            f"the header row lacks column '{missing[0]}' (columns: module, kind, id, role)", path=shown, line=1
        )
    col = {name: header.index(name) for name in ("module", "kind", "id", "role") if name in header}
    problems: list[InputError] = []
    items: list[Decision] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = {name: (row[i].strip() if i < len(row) else "") for name, i in col.items()}
        number = resolver.module(cell["module"])
        if number is None:
            problems.append(
                _problem(
                    shown,
                    n,
                    "module",
                    f"unknown module '{clip(cell['module'])}'",
                    nearest(cell["module"], resolver.module_names),
                )
            )
            continue
        given = fold(cell["kind"])
        kind = given if given in CSV_KINDS else next((k for k in CSV_KINDS if KINDS[k] == given), None)
        if kind is None:
            problems.append(
                _problem(
                    shown,
                    n,
                    "kind",
                    f"unknown kind '{clip(cell['kind'])}'",
                    nearest(cell["kind"], [KINDS[k] for k in CSV_KINDS]),
                )
            )
            continue
        role = None
        if kind == "agencies":
            role = fold(cell.get("role", "")) or "support"
            roles = resolver.catalog.vocabulary.roles
            if role not in roles:
                problems.append(
                    _problem(shown, n, "role", f"unknown role '{clip(cell['role'])}'", nearest(role, roles))
                )
                continue
        _entry(kind, cell["id"], number, role, n, "id", shown, resolver, problems, items)
    if problems:
        _refuse(shown, problems)
    return Decisions(shown, items)


# --- scoring and the After-Action Report ---------------------------------------------------------


@dataclass
class Unexpected:
    kind: str
    id: str
    name: str
    role: str | None
    recommendations: list[int]  # where the catalog cites it
    rules: list[str]  # rules that would conclude it (none of them in play here)


@dataclass
class Score:
    module: Module
    done: list[ExpectedAction]
    missed: list[ExpectedAction]
    unexpected: list[Unexpected]
    role_notes: list[str]
    notes: str | None = None
    late: list[tuple[ExpectedAction, str]] = field(
        default_factory=list
    )  # expected here, decided only in a later module


@dataclass
class PlanRow:
    issue: str
    recommendation: str
    corrective_action: str
    responsible: str
    due: str = ""


@dataclass
class Report:
    """The hot wash: per-module scores, and the After-Action Report / Improvement Plan drafted from them."""

    title: str
    exercise: dict[str, Any]
    scores: list[Score]
    strengths: list[str]
    improvements: list[str]
    plan: list[PlanRow]

    @property
    def totals(self) -> tuple[int, int, int, int]:
        """Expected and done, done late, missed, done but not expected."""
        return (
            sum(len(s.done) for s in self.scores),
            sum(len(s.late) for s in self.scores),
            sum(len(s.missed) for s in self.scores),
            sum(len(s.unexpected) for s in self.scores),
        )


def _unexpected(d: Decision, catalog, names, rulebase, words: Words = ENGLISH) -> Unexpected:
    rules: list[str] = []
    if rulebase is not None:
        from .rules import concludes

        rules = [r.id for r in rulebase.rules if concludes(r, d.kind, d.id, catalog)][:5]
    if d.kind == "measures":
        recs = [catalog.citation(catalog.measures[d.id].recommendation)[0]]
    elif d.kind == "states":
        recs = sorted({n for r in rules for n in rulebase.by_id[r].numbers}) if rules else []
    else:
        recs = list((catalog.frameworks if d.kind == "frameworks" else catalog.agencies)[d.id].cited_in)
    name = _name_of({}, d.kind, d.id, catalog, names, words)
    return Unexpected(d.kind, d.id, name, d.role, recs, rules)


def score(a, decisions: Decisions, catalog, names, rulebase=None, words: Words = ENGLISH) -> Report:
    """Score the decisions against what each module adds: expected and done, missed, done but not expected.

    An expected action counts as done when it was decided in its module or earlier (anticipated);
    a decision is unexpected when no rule in play at its module concludes it.
    """
    mods = modules(a, catalog, names, rulebase, words)
    players = players_by_agency(a.threat)
    scores = []
    for m in mods:
        upto = {(d.kind, d.id) for d in decisions.items if d.module <= m.number}
        roles = {d.id: d.role for d in decisions.items if d.module <= m.number and d.kind == "agencies"}
        done = [x for x in m.expected if (x.kind, x.id) in upto]
        missed = [x for x in m.expected if (x.kind, x.id) not in upto]
        later = {(d.kind, d.id): d.module for d in reversed(decisions.items) if d.module > m.number}
        late = [(x, module_label(later[(x.kind, x.id)], words)) for x in missed if (x.kind, x.id) in later]
        missed = [x for x in missed if (x.kind, x.id) not in later]
        role_notes = []
        for x in done:
            if x.kind == "agencies" and roles.get(x.id) and x.role in ("lead", "coordinate") and roles[x.id] != x.role:
                role_notes.append(
                    words(
                        "role_given",
                        name=x.name,
                        given=words.role(roles[x.id] or "absent"),
                        role=words.role(x.role),
                        numbers=_nums(x.recommendations),
                    )
                )
        seen, unexpected = set(), []
        for d in decisions.at(m.number):
            if d.kind == "states" and d.id == HOME:
                continue
            if d.id not in m.in_play_ids(d.kind) and (d.kind, d.id) not in seen:
                seen.add((d.kind, d.id))
                unexpected.append(_unexpected(d, catalog, names, rulebase, words))
        scores.append(Score(m, done, missed, unexpected, role_notes, decisions.notes.get(m.number), late))
    return _report(a, scores, catalog, names, players, words)


def _report(a, scores: list[Score], catalog, names, players, words: Words = ENGLISH) -> Report:
    strengths, improvements, plan = [], [], []
    for s in scores:
        m = s.module
        where = words("where", module=m.label, title=m.title)
        if s.done:
            strengths.append(
                words(
                    "at",
                    where=where,
                    text=words("sep").join(
                        words("with_recommendations", action=x.action, numbers=_nums(x.recommendations)) for x in s.done
                    ),
                )
            )
        lead_text, lead_ids = responsible(m, players, names, words)
        for x in s.missed:
            rec = x.recommendations[0] if x.recommendations else None
            title = (
                words.title(rec, catalog.recommendations[rec].title)
                if rec is not None and rec in catalog.recommendations
                else ""
            )
            improvements.append(words("not_done", where=where, action=x.action, asks=_asks(x, words)))
            owner = who(x.id, x.name, players) if x.kind == "agencies" else _owner(x, m, players, names, lead_text)
            plan.append(
                PlanRow(
                    words("plan_not_done", module=m.label, action=x.action),
                    words("plan_recommendation_title", numbers=_nums(x.recommendations), title=title)
                    if title
                    else _nums(x.recommendations),
                    _corrective(x, words),
                    owner,
                )
            )
        for x, when in s.late:
            improvements.append(words("done_late", where=where, when=when, action=x.action, asks=_asks(x, words)))
        for note in s.role_notes:
            improvements.append(words("at", where=where, text=note))
        for u in s.unexpected:
            cited = words("cited", numbers=_nums(u.recommendations)) if u.recommendations else words("not_cited")
            improvements.append(
                words("not_expected_rules", where=where, name=u.name, cited=cited, rules=", ".join(u.rules[:3]))
                if u.rules
                else words("not_expected", where=where, name=u.name, cited=cited)
            )
    t = a.threat
    return Report(t.get("title") or t["id"], t.get("exercise") or {}, scores, strengths, improvements, plan)


def _asks(x: ExpectedAction, words: Words = ENGLISH) -> str:
    recs = x.recommendations
    return words("asks_one" if len(recs) == 1 else "asks_many", numbers=_nums(recs), rules=", ".join(x.rules[:2]))


def _owner(x: ExpectedAction, m: Module, players, names, lead_text: str) -> str:
    """The agency responsible for a missed action: one that the same rule gives a role, else the lead."""
    for g in m.data["agencies"]:
        if set(g["rules"]) & set(x.rules):
            return who(g["id"], names("agencies", g["id"], g["name"]), players)
    return lead_text


def _corrective(x: ExpectedAction, words: Words = ENGLISH) -> str:
    action = x.action[0].lower() + x.action[1:]
    if x.kind == "agencies":
        what = words(f"corrective_{x.role if f'corrective_{x.role}' in words else 'participate'}", name=x.name)
    else:
        what = words(f"corrective_{x.kind}", action=x.action if x.kind == "measures" else action)
    return words("because", text=what, because=x.because) if x.because else what


# --- role cards ---------------------------------------------------------------------------------


@dataclass
class Card:
    """What the document asks of one Japanese agency in this scenario."""

    id: str
    name: str
    player: str | None
    sector: str
    roles: list[tuple[str, str, str, str, list[int], str | None]]  # module, role, rule, basis, recs, note
    measures: list[tuple[str, str]]  # text, citation
    frameworks: list[str]
    states: list[str]
    caveats: list[tuple[str, str]]  # text, citation


def _mentions(text: str, words: list[str]) -> bool:
    folded = text.lower()
    return any(re.search(r"\b" + re.escape(w.lower()) + r"\b", folded) for w in words if w)


def role_cards(a, catalog, names, rulebase=None, words: Words = ENGLISH) -> list[Card]:
    """One card per Japanese agency taking part at any module, in order of first appearance (the
    measures' and limits' texts in the language of `words`; roles and bases stay ids)."""
    mods = modules(a, catalog, names, rulebase, words)
    players = players_by_agency(a.threat)
    order: list[str] = []
    for m in mods:
        for g in m.data["agencies"]:
            if g["id"] not in order:
                order.append(g["id"])
    cards = []
    for ref in order:
        entry = catalog.agencies[ref]
        name = names("agencies", ref, entry.name)
        roles, rules_of, seen_roles = [], set(), set()
        measures: dict[str, Any] = {}
        frameworks: dict[str, Any] = {}
        states: dict[str, Any] = {}
        caveats: dict[str, Any] = {}
        for m in mods:
            g = next((g for g in m.data["agencies"] if g["id"] == ref), None)
            if g is None:
                continue
            rules_of |= set(g["rules"])
            for r in g["roles"]:
                if (r["role"], r["rule"]) not in seen_roles:
                    seen_roles.add((r["role"], r["rule"]))
                    recs = (
                        rulebase.by_id[r["rule"]].numbers
                        if rulebase and r["rule"] in rulebase.by_id
                        else g["recommendations"]
                    )
                    roles.append((m.label, r["role"], r["rule"], r["basis"], list(recs), r.get("note")))
            sector_words = (
                [entry.sector, catalog.vocabulary.sectors[entry.sector].label.split(" ")[0]]
                if entry.sector in catalog.vocabulary.sectors
                else [entry.sector]
            )
            terms = [entry.name, entry.short or "", *sector_words]
            for x in m.data["measures"]:
                if set(x["rules"]) & rules_of or _mentions(x["text"], terms):
                    measures.setdefault(x["id"], (words.remark("measures", x["id"], x["text"]), x["citation"]))
            recs = set(g["recommendations"])
            for f in m.data["frameworks"]:
                if set(f["rules"]) & rules_of or set(f["recommendations"]) & recs:
                    frameworks.setdefault(f["id"], names("frameworks", f["id"], f["name"]))
            for s in m.data["states"]:
                if s["code"] != HOME and (set(s["rules"]) & rules_of or set(s["frameworks"]) & set(frameworks)):
                    states.setdefault(s["code"], names("states", s["code"], s["name"]))
            for c in m.data["caveats"]:
                if (
                    set(c["rules"]) & rules_of
                    or _mentions(c["text"], terms)
                    or set(c["recommendations"]) & set(g["recommendations"])
                ):
                    caveats.setdefault(c["id"], (words.remark("caveats", c["id"], c["text"]), c["citation"]))
        player = players.get(ref, [None])[0]
        cards.append(
            Card(
                ref,
                name,
                player,
                entry.sector,
                roles,
                list(measures.values()),
                list(frameworks.values()),
                list(states.values()),
                list(caveats.values()),
            )
        )
    # a limit no card carries binds the whole government: every card shows it
    carried = {c for card in cards for c in card.caveats}
    for m in mods:
        for c in m.data["caveats"]:
            limit = (words.remark("caveats", c["id"], c["text"]), c["citation"])
            if limit not in carried:
                carried.add(limit)
                for card in cards:
                    card.caveats.append(limit)
    return cards
