"""A tabletop-exercise packet built from one assessment: sections, stages and the MSEL.

Nothing here re-derives policy: every framework, agency, caveat and action comes from
the assessment (and its stages); the catalog supplies names, questions and titles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import Assessment


@dataclass
class Action:
    """One expected player action of the master scenario events list (MSEL)."""

    stage: int
    inject: str
    action: str
    actor: str
    recommendations: list[int]


@dataclass
class Packet:
    """Everything a brief shows, in display order, with names already chosen (English or Japanese)."""

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


ROLE_ORDER = ("lead", "coordinate", "support", "participate")


def msel(a: Assessment, names) -> list[Action]:
    """Expected player actions at the start and after each inject: frameworks to invoke, who leads."""
    out: list[Action] = []
    stages = [(0, "Starting situation", a.to_data(), None)]
    stages += [(st.stage, st.title, st.assessment, st.delta) for st in a.stages or []]
    for number, title, data, delta in stages:
        def added(kind: str) -> set[str] | None:  # None at the start: everything is new
            return None if delta is None else set(delta.get(kind, {}).get("added", []))

        new_fw, new_cav = added("frameworks"), added("caveats")
        for f in data["frameworks"]:
            if new_fw is None or f["id"] in new_fw:
                out.append(Action(number, title, f"Invoke: {names('frameworks', f['id'], f['name'])}",
                                  "Japan", f["recommendations"]))
        changed_roles = set((delta or {}).get("roles", {})) | (added("agencies") or set())
        for g in data["agencies"]:
            if g["role"] in ("lead", "coordinate") and (delta is None or g["id"] in changed_roles):
                verb = "Lead Japan's response" if g["role"] == "lead" else "Coordinate the ministries"
                out.append(Action(number, title, verb, names("agencies", g["id"], g["name"]), g["recommendations"]))
        for c in data["caveats"]:
            if new_cav is None or c["id"] in new_cav:
                out.append(Action(number, title, f"Keep in mind: {c['text']}", "Japan", c["recommendations"]))
        if delta is not None and not any(x.stage == number for x in out):
            out.append(Action(number, title, "No new framework or lead: continue the current response", "Japan", []))
    return out


def packet(a: Assessment, catalog, names) -> Packet:
    """Arrange an assessment as the sections of a facilitator's packet."""
    t = a.threat
    v = catalog.vocabulary
    scenario = [("Type", f"{v.types[t['type']].label} ({a.nature.category.replace('_', '-')})")]
    if t.get("region"):
        scenario.append(("Region", v.regions[t["region"]].label))
    if t.get("states"):
        scenario.append(("States", ", ".join(names("states", c, catalog.state_name(c)) for c in t["states"])))
    if t.get("targets"):
        scenario.append(("Threatened", ", ".join(v.targets[x].label for x in t["targets"])))
    scenario.append(("Actor", v.actors[t["actor"]].label))
    scenario.append(("Severity", t["severity"]))
    facts = [k.replace("_", " ") for k, on in t.get("attributes", {}).items() if on]
    if facts:
        scenario.append(("Also", ", ".join(facts)))

    families: dict[str, list[str]] = {"deterrence": [], "cooperation": []}
    for f in a.frameworks:
        if f.family:
            families[f.family].append(names("frameworks", f.id, f.name))
    layers = []
    for layer, entry in v.layers.items():
        label = entry.label
        fws = [f for f in a.frameworks if f.layer == layer]
        if fws:
            existing = [(f.id, names("frameworks", f.id, f.name), f.recommendations) for f in fws if f.status == "existing"]
            proposed = [(f.id, names("frameworks", f.id, f.name), f.recommendations) for f in fws if f.status == "proposed"]
            layers.append((label.split(" (")[0].capitalize(), existing, proposed))
    fw_names = {f.id: names("frameworks", f.id, f.name) for f in a.frameworks}
    participants = [(s.code, names("states", s.code, s.name), [fw_names[x] for x in s.frameworks]) for s in a.states]
    agencies = []
    for role in ROLE_ORDER:
        group = [(names("agencies", g.id, g.name), g.recommendations) for g in a.agencies if g.role == role]
        if group:
            agencies.append((role, group))
    from .diff import describe

    def label(kind: str, ref: str) -> str:
        if kind in ("frameworks", "agencies", "states"):
            table = {"frameworks": catalog.frameworks, "agencies": catalog.agencies, "states": catalog.states}[kind]
            return names(kind, ref, table[ref].name if ref in table else ref)
        return ref

    stages = []
    for st in a.stages or []:
        delta = describe(st.delta, label, kinds=("recommendations", "frameworks", "states", "agencies", "caveats"))
        stages.append({"stage": st.stage, "title": st.title, "description": st.description,
                       "changes": st.changes, "delta": delta or ["(no change in the answer)"]})
    numbers = [r.number for r in a.recommendations]
    return Packet(
        title=t.get("title") or t["id"], scenario=scenario, description=t.get("description"),
        nature=v.categories[a.nature.category], derived=[v.derived[d].text for d in a.nature.derived],
        families=families if all(families.values()) else {}, layers=layers,
        participants=participants,
        agencies=agencies, caveats=[(c.text, c.citation) for c in a.caveats],
        measures=[(m.text, m.citation) for m in a.measures], stages=stages,
        questions=[(n, catalog.recommendations[n].title, catalog.questions.get(n, [])) for n in numbers],
        references=[(n, catalog.recommendations[n].title) for n in numbers],
        since_2002=[(x.name, x.since, x.became) for x in a.since_2002 or []],
        msel=msel(a, names),
        general_knowledge=any(x.basis != "document" for x in [*a.frameworks, *a.states, *a.agencies]),
    )


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
    from .api import assess, parse_threat

    rows = []
    for t in types:
        for region in regions:
            raw = {"type": t, **({"region": region} if region else {})}
            a = assess(parse_threat(raw, rulebase, path="matrix", default_id="matrix"), rulebase)
            rows.append(MatrixRow(t, region, {g.id: g.role for g in a.agencies}))
    return rows
