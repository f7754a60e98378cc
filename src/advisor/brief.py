"""A tabletop-exercise packet built from one assessment: sections, stages and the MSEL.

Nothing here re-derives policy: every framework, agency, caveat and action comes from
the assessment (and its stages); the catalog supplies names, questions and titles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import Assessment, StageOut


@dataclass
class Action:
    """One expected player action of the master scenario events list (MSEL)."""

    stage: int
    inject: str
    action: str
    actor: str
    recommendations: list[int]


@dataclass
class Answer:
    """One expected answer of the facilitator's key: a name or a sentence, its basis and source."""

    text: str
    basis: str  # document or general_knowledge
    detail: str = ""  # status and layer, role, citation
    quote: str | None = None  # the document's words the rule rests on
    note: str | None = None  # why, where the answer goes beyond the document


@dataclass
class PacketModule:
    """One module of the exercise: the starting situation (1) or an inject, as revealed to players,
    with the facilitator's answer key for that moment."""

    number: int
    stage: int  # 0 for the starting situation
    title: str
    description: str | None
    time: str | None = None
    delivery: str | None = None
    sender: str | None = None
    to: str | None = None
    objectives: list[tuple[str, str]] = field(default_factory=list)
    issues: list[tuple[int, str]] = field(default_factory=list)  # the recommendations this module brings in
    questions: list[tuple[int, str, list[str]]] = field(default_factory=list)
    # the answer key (facilitator only)
    changes: str = ""
    added: list[tuple[str, list[str]]] = field(default_factory=list)  # (kind label key, names)
    kept: list[tuple[str, list[str]]] = field(default_factory=list)
    dropped: list[tuple[str, list[str]]] = field(default_factory=list)
    roles_changed: list[tuple[str, str, str]] = field(default_factory=list)
    in_play: list[str] = field(default_factory=list)
    frameworks: list[tuple[str, list[Answer]]] = field(default_factory=list)  # by layer
    agencies: list[tuple[str, list[Answer]]] = field(default_factory=list)  # by role
    measures: list[Answer] = field(default_factory=list)
    caveats: list[Answer] = field(default_factory=list)
    since: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass
class Packet:
    """Everything a brief shows, in display order, with names and texts already chosen (English or
    Japanese); `labels` holds the Japanese headings and labels (empty in English)."""

    title: str
    scenario: list[tuple[str, str]]
    description: str | None
    nature: str
    derived: list[str]
    families: dict[str, list[str]]
    layers: list[tuple[str, list[tuple[str, str, list[int]]], list[tuple[str, str, list[int]]]]]
    participants: list[tuple[str, str, list[str]]]
    agencies: list[tuple[str, list[tuple[str, list[int]]]]]
    caveats: list[tuple[str, str]]
    measures: list[tuple[str, str]]
    stages: list[dict[str, Any]]
    questions: list[tuple[int, str, list[str]]]
    references: list[tuple[int, str]]
    since_2002: list[tuple[str, int, str]]
    msel: list[Action] = field(default_factory=list)
    general_knowledge: bool = False
    lang: str = "en"
    labels: dict[str, str] = field(default_factory=dict)
    marking: str = "FOR EXERCISE USE ONLY"
    exercise: str | None = None  # the exercise's name
    sponsor: str | None = None
    dates: str | None = None
    objectives: list[tuple[str, str]] = field(default_factory=list)
    players: list[tuple[str, str]] = field(default_factory=list)
    modules: list[PacketModule] = field(default_factory=list)


DEFAULT_MARKING = "FOR EXERCISE USE ONLY"


def msel(a: Assessment, names, tx: _Texts | None = None) -> list[Action]:
    """Expected player actions at the start and after each inject: frameworks to invoke, who leads.
    `tx` gives the phrases and the caveats' texts in the packet's language (English without it)."""
    from .phrases import BRIEF_LABELS

    def say(key: str, **fields: str) -> str:
        return (tx.label(key) if tx is not None else BRIEF_LABELS[key]).format(**fields)

    def caveat(c: dict[str, Any]) -> str:
        return tx.remark("caveats", c["id"], c["text"]) if tx is not None else c["text"]

    japan = names("states", "JPN", "Japan")
    out: list[Action] = []
    stages: list[tuple[int, str, dict[str, Any], dict[str, Any] | None]] = [
        (0, say("starting_situation"), a.to_data(), None)
    ]
    stages += [(st.stage, st.title, st.assessment, st.delta) for st in a.stages or []]
    for number, title, data, delta in stages:

        def added(kind: str, delta=delta) -> set[str] | None:  # None at the start: everything is new
            return None if delta is None else set(delta.get(kind, {}).get("added", []))

        new_fw, new_cav = added("frameworks"), added("caveats")
        for f in data["frameworks"]:
            if new_fw is None or f["id"] in new_fw:
                out.append(
                    Action(
                        number,
                        title,
                        say("msel_invoke", name=names("frameworks", f["id"], f["name"])),
                        japan,
                        f["recommendations"],
                    )
                )
        roles_delta: dict[str, Any] = (delta or {}).get("roles", {})
        changed_roles = set(roles_delta) | (added("agencies") or set())
        for g in data["agencies"]:
            if g["role"] in ("lead", "coordinate") and (delta is None or g["id"] in changed_roles):
                verb = say("msel_lead" if g["role"] == "lead" else "msel_coordinate")
                out.append(Action(number, title, verb, names("agencies", g["id"], g["name"]), g["recommendations"]))
        for c in data["caveats"]:
            if new_cav is None or c["id"] in new_cav:
                out.append(Action(number, title, say("msel_keep_in_mind", text=caveat(c)), japan, c["recommendations"]))
        if delta is not None and not any(x.stage == number for x in out):
            out.append(Action(number, title, say("msel_no_change"), japan, []))
    return out


class _Texts:
    """The catalog's words in the packet's language: Japanese where text_ja.yaml and the other
    catalog files have them, English otherwise."""

    def __init__(self, catalog, lang: str):
        self.catalog, self.ja = catalog, lang == "ja"
        self.tj = catalog.text_ja

    def label(self, key: str) -> str:
        from .phrases import BRIEF_LABELS

        return (self.tj.labels.get(key) if self.ja else None) or BRIEF_LABELS[key]

    def vocab(self, section: str, key: str, english: str) -> str:
        return (self.tj.vocabulary.get(section, {}).get(key) if self.ja else None) or english

    def title(self, number: int) -> str:
        english = self.catalog.recommendations[number].title
        return (self.tj.recommendations.get(number) if self.ja else None) or english

    def questions(self, number: int) -> list[str]:
        return (self.catalog.questions_ja.get(number) if self.ja else None) or self.catalog.questions.get(number, [])

    def remark(self, kind: str, ref: str, english: str) -> str:
        entry = getattr(self.catalog, kind).get(ref)
        return (entry.text_ja if self.ja and entry is not None else None) or english

    def derived(self, name: str) -> str:
        entry = self.catalog.vocabulary.derived[name]
        return (entry.text_ja if self.ja else None) or entry.text

    def caveat_name(self, ref: str) -> str:
        return (self.tj.caveats.get(ref) if self.ja else None) or ref.replace("_", " ")

    def since(self, kind: str, ref: str):
        entry = self.catalog.since_2002.get(kind, {}).get(ref)
        if entry is None:
            return None
        return entry.since, (entry.became_ja if self.ja else None) or entry.became


def _quotes(data: dict[str, Any]) -> dict[str, str]:
    """Each rule's quote from the document, from the trace of one assessment."""
    return {t["rule"]: t["quote"] for t in data.get("trace", []) if t.get("quote")}


def _module_answers(
    m: PacketModule, data: dict[str, Any], new: dict[str, set[str] | None], tx: _Texts, names, as_of: str
) -> None:
    """Fill in a module's answer key from the assessment of its stage: in full what the stage adds
    (everything at the start), the agencies by role."""
    quotes = _quotes(data)
    v = tx.catalog.vocabulary

    def quote(item) -> str | None:
        return next((quotes[r] for r in item["rules"] if r in quotes), None)

    def is_new(kind: str, ref: str) -> bool:
        fresh = new[kind]
        return fresh is None or ref in fresh

    by_layer: dict[str, list[Answer]] = {}
    for f in data["frameworks"]:
        if is_new("frameworks", f["id"]):
            status = tx.label(f"status_{f['status']}")
            by_layer.setdefault(f["layer"], []).append(
                Answer(
                    names("frameworks", f["id"], f["name"]),
                    f["basis"],
                    f"{status}; {_nums(f['recommendations'])}",
                    quote(f),
                )
            )
    m.frameworks = [
        (tx.vocab("layers", layer, v.layers[layer].label.split(" (")[0]), by_layer[layer])
        for layer in v.layers
        if layer in by_layer
    ]
    for role in v.roles:
        group = []
        for g in data["agencies"]:
            if g["role"] != role:
                continue
            why = next((r for r in g["roles"] if r["role"] == role), None)
            # the quote of the rule that gave this role, not of another rule about the same body
            group.append(
                Answer(
                    names("agencies", g["id"], g["name"]),
                    g["role_basis"],
                    _nums(g["recommendations"]),
                    quotes.get(why["rule"]) if why else None,
                    why.get("note") if why else None,
                )
            )
        if group:
            m.agencies.append((role, group))
    for kind, target in (("measures", m.measures), ("caveats", m.caveats)):
        for c in data[kind]:
            if is_new(kind, c["id"]):
                target.append(Answer(tx.remark(kind, c["id"], c["text"]), c["basis"], c["citation"], quote(c)))
    if as_of == "today":
        for kind in ("frameworks", "agencies", "caveats"):
            for item in data[kind]:
                since = tx.since(kind, item["id"])
                if since and is_new(kind, item["id"]):
                    name = tx.caveat_name(item["id"]) if kind == "caveats" else names(kind, item["id"], item["name"])
                    m.since.append((name, *since))


def _nums(numbers) -> str:
    return ", ".join(str(n) for n in numbers)


def packet(a: Assessment, catalog, names, lang: str = "en", as_of: str = "2002") -> Packet:
    """Arrange an assessment as the sections of an exercise packet: the participants' situation
    manual (cover, starting situation, one module per stage with its questions) and the
    facilitator's answer key for each module."""
    t = a.threat
    v = catalog.vocabulary
    tx = _Texts(catalog, lang)
    labels = dict(catalog.text_ja.labels) if lang == "ja" else {}

    def lab(key: str, english: str | None = None) -> str:
        return tx.label(key)

    category = lab(f"category_{a.nature.category}")
    comma = "、" if lang == "ja" else ", "
    scenario = [
        (
            lab("fact_type", "Type"),
            f"{tx.vocab('types', t['type'], v.types[t['type']].label)}"
            + (f"（{category}）" if lang == "ja" else f" ({category})"),
        )
    ]
    if t.get("region"):
        scenario.append((lab("fact_region", "Region"), tx.vocab("regions", t["region"], v.regions[t["region"]].label)))
    if t.get("states"):
        scenario.append(
            (lab("fact_states", "States"), comma.join(names("states", c, catalog.state_name(c)) for c in t["states"]))
        )
    if t.get("targets"):
        scenario.append(
            (
                lab("fact_targets", "Threatened"),
                comma.join(tx.vocab("targets", x, v.targets[x].label) for x in t["targets"]),
            )
        )
    scenario.append((lab("fact_actor", "Actor"), tx.vocab("actors", t["actor"], v.actors[t["actor"]].label)))
    scenario.append((lab("fact_severity", "Severity"), tx.vocab("severities", t["severity"], t["severity"])))
    facts = [tx.vocab("attributes", k, k.replace("_", " ")) for k, on in t.get("attributes", {}).items() if on]
    if facts:
        scenario.append((lab("fact_also", "Also"), comma.join(facts)))

    families: dict[str, list[str]] = {family: [] for family in v.families}
    for f in a.frameworks:
        if f.family:
            families[f.family].append(names("frameworks", f.id, f.name))
    layers = []
    for layer, entry in v.layers.items():
        layer_label = tx.vocab("layers", layer, entry.label.split(" (")[0].capitalize())
        fws = [f for f in a.frameworks if f.layer == layer]
        if fws:
            existing = [
                (f.id, names("frameworks", f.id, f.name), f.recommendations) for f in fws if f.status == "existing"
            ]
            proposed = [
                (f.id, names("frameworks", f.id, f.name), f.recommendations) for f in fws if f.status == "proposed"
            ]
            layers.append((layer_label, existing, proposed))
    fw_names = {f.id: names("frameworks", f.id, f.name) for f in a.frameworks}
    participants = [(s.code, names("states", s.code, s.name), [fw_names[x] for x in s.frameworks]) for s in a.states]
    agencies = []
    for role in catalog.vocabulary.roles:
        group = [(names("agencies", g.id, g.name), g.recommendations) for g in a.agencies if g.role == role]
        if group:
            agencies.append((role, group))
    from .diff import describe

    def label(kind: str, ref: str) -> str:
        if kind in ("frameworks", "agencies", "states"):
            table = {"frameworks": catalog.frameworks, "agencies": catalog.agencies, "states": catalog.states}[kind]
            return names(kind, ref, table[ref].name if ref in table else ref)
        if kind == "caveats":
            return tx.caveat_name(ref)
        if kind == "measures" and ref in catalog.measures:
            return tx.remark("measures", ref, catalog.measures[ref].text)
        if kind == "recommendations" and str(ref).isdigit() and int(ref) in catalog.recommendations:
            return f"{ref}. {tx.title(int(ref))}"
        return str(ref)

    stages = []
    for st in a.stages or []:
        delta = describe(st.delta, label, kinds=("recommendations", "frameworks", "states", "agencies", "caveats"))
        stages.append(
            {
                "stage": st.stage,
                "title": st.title,
                "description": st.description,
                "changes": st.changes,
                "delta": delta or ["(no change in the answer)"],
            }
        )

    # the modules: the starting situation, then each inject as it is revealed
    ex = t.get("exercise") or {}
    objective_text = {o["id"]: o["text"] for o in ex.get("objectives", [])}
    start = a.to_data()
    titles = {0: lab("starting_situation", "Starting situation")}
    modules = [
        PacketModule(0, 0, titles[0], t.get("description"))
    ]  # numbered as the MSEL numbers them: Start, Module 1..
    entering = [[r.number for r in a.recommendations]]
    datas = [start]
    news: list[dict[str, set[str] | None]] = [{k: None for k in ("frameworks", "agencies", "measures", "caveats")}]
    for stage_out in a.stages or []:
        st = stage_out
        titles[st.stage] = st.title
        modules.append(
            PacketModule(
                st.stage,
                st.stage,
                st.title,
                st.description,
                st.time,
                st.delivery,
                st.sender,
                st.to,
                [(o, objective_text.get(o, o)) for o in st.objectives],
            )
        )
        entering.append([int(n) for n in st.delta.get("recommendations", {}).get("added", [])])
        datas.append(st.assessment)
        news.append(
            {k: set(st.delta.get(k, {}).get("added", [])) for k in ("frameworks", "agencies", "measures", "caveats")}
        )
    previous: dict[str, Any] = start
    stage_of: list[StageOut | None] = [None, *(a.stages or [])]
    for m, numbers, data, new, at in zip(modules, entering, datas, news, stage_of):
        m.issues = [(n, tx.title(n)) for n in numbers]
        m.questions = [(n, tx.title(n), tx.questions(n)) for n in numbers]
        _module_answers(m, data, new, tx, names, as_of)
        if at is not None:
            st = at
            m.changes = tx.label("change_sep").join(
                _change(k, val, tx, catalog, names) for k, val in st.changes.items()
            )
            m.in_play = [titles.get(s, str(s)) for s in st.in_play]
            for kind in ("recommendations", "frameworks", "states", "agencies", "measures", "caveats"):
                change = st.delta.get(kind, {})
                key = "number" if kind == "recommendations" else "code" if kind == "states" else "id"
                before = [str(x[key]) for x in previous.get(kind, [])]
                added, removed = change.get("added", []), change.get("removed", [])
                kept = [x for x in before if x not in removed]
                for target, refs in ((m.added, added), (m.kept, kept), (m.dropped, removed)):
                    if refs and not (target is m.kept and kind == "measures"):  # kept measures: see module 1
                        short = kind == "recommendations" and target is not m.added
                        target.append((kind, [", ".join(refs)] if short else [label(kind, x) for x in refs]))
            m.roles_changed = [
                (label("agencies", g), lab(f"role_{b}", b), lab(f"role_{after}", after))
                for g, (b, after) in st.delta.get("roles", {}).items()
            ]
        else:
            m.in_play = [titles[0]]
        previous = data

    numbers = [r.number for r in a.recommendations]
    for st in a.stages or []:
        numbers += [int(n) for n in st.delta.get("recommendations", {}).get("added", []) if int(n) not in numbers]
    derived = [tx.derived(d) for d in a.nature.derived]
    return Packet(
        title=t.get("title") or t["id"],
        scenario=scenario,
        description=t.get("description"),
        nature=tx.vocab("categories", a.nature.category, v.categories[a.nature.category]),
        derived=derived,
        families=families if all(families.values()) else {},
        layers=layers,
        participants=participants,
        agencies=agencies,
        caveats=[(tx.remark("caveats", c.id, c.text), c.citation) for c in a.caveats],
        measures=[(tx.remark("measures", m.id, m.text), m.citation) for m in a.measures],
        stages=stages,
        questions=[(n, tx.title(n), tx.questions(n)) for n in numbers],
        references=[(n, tx.title(n)) for n in sorted(numbers)],
        since_2002=[(x.name, x.since, x.became) for x in a.since_2002 or []],
        msel=msel(a, names, tx),
        general_knowledge=any(x.basis != "document" for x in a.frameworks)
        or any(x.basis != "document" for x in a.states)
        or any(x.basis != "document" for x in a.agencies),
        lang=lang,
        labels=labels,
        marking=ex.get("marking") or DEFAULT_MARKING,
        exercise=ex.get("name"),
        sponsor=ex.get("sponsor"),
        dates=ex.get("dates"),
        objectives=[(o["id"], o["text"]) for o in ex.get("objectives", [])],
        players=[
            (
                p["role"],
                names("agencies", p["agency"], catalog.agencies[p["agency"]].name)
                if p.get("agency") in catalog.agencies
                else "",
            )
            for p in ex.get("players", [])
        ],
        modules=modules,
    )


def parties(a: Assessment, catalog, names, fmt: str) -> str | None:
    """The participants' picture (Mermaid, or SVG when Graphviz is there): the states the starting
    situation names, and nothing the answer concludes (no frameworks, no agencies, no states a
    framework adds) nor what a later inject reveals."""
    import re

    from .graph import Graph, to_mermaid, to_svg

    codes = list(a.threat.get("states", []))
    if not codes:
        return None
    g = Graph(states=[(c, names("states", c, catalog.state_name(c))) for c in codes])
    if fmt == "html":
        return to_svg(g)
    return re.sub(r"\n *subgraph [^\n]*\n *end(?=\n)", "", to_mermaid(g))  # no empty boxes


CHANGE_FIELDS = {
    "type": "types",
    "region": "regions",
    "targets": "targets",
    "actor": "actors",
    "severity": "severities",
    "attributes": "attributes",
}  # a changed field's vocabulary section


def _change(key: str, value: Any, tx: _Texts, catalog, names) -> str:
    """One change an inject makes, as the guide shows it: the descriptor's field and value in English
    (`type missile_launch`), the field's label and the value's label in Japanese (種類：ミサイル発射)."""
    if not tx.ja:
        return tx.label("change").format(field=key, value=_short(value))
    comma = "、"
    field = (
        tx.label("fact_also" if key == "attributes" else f"fact_{key}")
        if key in CHANGE_FIELDS or key == "states"
        else key
    )
    if key == "states":
        shown = comma.join(names("states", c, catalog.state_name(c)) for c in value)
    elif key == "attributes" and isinstance(value, dict):
        shown = comma.join(
            tx.vocab("attributes", k, k) if on else tx.label("change_off").format(name=tx.vocab("attributes", k, k))
            for k, on in value.items()
        )
    elif key in CHANGE_FIELDS:
        section = CHANGE_FIELDS[key]
        shown = comma.join(tx.vocab(section, v, str(v)) for v in (value if isinstance(value, list) else [value]))
    else:
        shown = _short(value)
    return tx.label("change").format(field=field, value=shown)


def _short(value: Any) -> str:
    from .render.rows import short

    return short(value)


# --- who leads -----------------------------------------------------------------------------


@dataclass
class MatrixRow:
    type: str
    region: str | None
    roles: dict[str, str]  # agency id -> lead / coordinate / support

    @property
    def leads(self) -> list[str]:
        return [a for a, r in self.roles.items() if r == "lead"]

    @property
    def flag(self) -> str:
        n = len(self.leads)
        return "no lead" if n == 0 else (f"{n} leads" if n > 1 else "")


def matrix(rulebase, types: list[str], regions: list[str | None]) -> list[MatrixRow]:
    """Assess every type in every region (a minimal descriptor each) and record each agency's role."""
    from .models import parse_descriptor
    from .stages import assess_threat

    rows = []
    for t in types:
        for region in regions:
            raw = {"type": t, **({"region": region} if region else {})}
            a = assess_threat(parse_descriptor(raw, rulebase.catalog, path="matrix", default_id="matrix"), rulebase)
            rows.append(MatrixRow(t, region, {g.id: g.role for g in a.agencies}))
    return rows
