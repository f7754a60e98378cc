"""Names and labels every format shares: display names in English or Japanese, the brief's labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..brief import Module, Packet
    from ..catalog import Catalog
    from ..exercise import Words


class Names:
    """Display names of frameworks, agencies and states: English, or Japanese where the catalog has them
    (today's Japanese name, where it changed, with `as_of="today"`: 防衛省 for the Defense Agency)."""

    def __init__(self, catalog: Catalog | None = None, lang: str = "en", as_of: str = "2002"):
        self.catalog, self.lang, self.as_of = catalog, lang, as_of

    def __call__(self, kind: str, ref: str, default: str) -> str:
        if self.catalog is None or self.lang == "en":
            return default
        return self.catalog.name_ja(kind, ref, self.as_of) or default


def localise(data: dict[str, Any], catalog: Catalog, as_of: str = "2002") -> dict[str, Any]:
    """JSON data with a `name_ja` beside each name the catalog knows in Japanese."""
    for kind, key in (("frameworks", "id"), ("agencies", "id"), ("states", "code")):
        for item in data.get(kind, []):
            ja = catalog.name_ja(kind, item[key], as_of)
            if ja:
                item["name_ja"] = ja
    for stage in data.get("stages", []):
        localise(stage["assessment"], catalog, as_of)
    return data


BRIEF_LABELS = {
    # headings
    "participant_manual": "Participant Situation Manual",
    "facilitator_guide": "Facilitator/Controller Guide",
    "handout": "Exercise handout",
    "prepared": "Prepared with advisor from the JFIR Policy Council's 22nd Policy Recommendations (December 2002).",
    "sponsor": "Sponsor",
    "dates": "Dates",
    "scenario_title": "Scenario",
    "objectives": "Objectives",
    "players": "Players",
    "player_role": "Role",
    "player_agency": "Agency it stands for",
    "starting_situation": "Starting situation",
    "schedule": "Module schedule",
    "module": "Module",
    "start": "Start",
    "inject": "Inject",
    "time": "Time",
    "delivery": "Delivery",
    "from": "From",
    "to": "To",
    "title": "Title",
    "objectives_tested": "Objectives tested",
    "key_issues": "Key issues",
    "questions": "Discussion questions",
    "no_new_issues": "No new issue enters here: the questions of the earlier modules still apply to the situation as it now is.",
    "answer_key": "Answer key",
    "nature": "Nature of the threat",
    "side_by_side": "North Korea: deterrence and cooperation side by side",
    "deterrence": "Deterrence (North Korea left out)",
    "cooperation": "Cooperation (North Korea engaged)",
    "in_play": "Lines of events in play",
    "changes": "What the inject changes",
    "added": "Added",
    "kept": "Kept",
    "dropped": "Dropped",
    "roles_changed": "Roles changed",
    "nothing_changed": "No change in the answer: the players continue the current response.",
    "frameworks": "Frameworks to invoke",
    "new_frameworks": "Frameworks this stage adds",
    "agencies": "Japanese agencies, by role",
    "measures": "What the document asks of Japan",
    "new_measures": "What the document now also asks of Japan",
    "caveats": "Legal and institutional caveats",
    "new_caveats": "Caveats this stage raises",
    "since_2002": "Since 2002 (as of today)",
    "network": "The network",
    "network_caption": "States, frameworks and Japanese agencies; solid arrows: membership; dashed: taking part; "
    "dotted: an agency acting in a framework; dashed boxes: proposed frameworks.",
    "network_missing": "The picture of the network needs Graphviz's dot program, which is not installed here "
    "(apt-get install graphviz).",
    "participants": "Participants",
    "parties": "The parties",
    "state": "State",
    "sits_in": "Sits in",
    "source": "Source",
    "msel": "Master scenario events list (expected player actions)",
    "references": "References",
    "recommendation": "Recommendation",
    "basis_document": "document",
    "basis_general_knowledge": "general knowledge",
    "basis_legend": "Each answer is marked with its basis: “document” where the 2002 document says it, "
    "“general knowledge” where advisor goes beyond the document's text (the JSON assessment "
    "says why); a quotation is the document's words the rule rests on.",
    "page_of": "Page {page} of {pages}",
    # the catalog's words that the packet shows as labels
    "fact_type": "Type",
    "fact_region": "Region",
    "fact_states": "States",
    "fact_targets": "Threatened",
    "fact_actor": "Actor",
    "fact_severity": "Severity",
    "fact_also": "Also",
    "category_inter_state": "inter-state",
    "category_non_traditional": "non-traditional",
    "status_existing": "existing",
    "status_proposed": "proposed",
    "role_lead": "lead",
    "role_coordinate": "coordinate",
    "role_support": "support",
    "role_participate": "participate",
    "kind_recommendations": "recommendations",
    "kind_frameworks": "frameworks",
    "kind_states": "states",
    "kind_agencies": "agencies",
    "kind_measures": "measures",
    "kind_caveats": "caveats",
    # the master scenario events list at the end of the guide: headers and phrases
    "msel_stage": "Stage",
    "msel_inject": "Inject",
    "msel_action": "Expected action",
    "msel_who": "Who",
    "msel_recommendations": "Recommendations",
    "msel_rec": "Rec.",
    "msel_invoke": "Invoke: {name}",
    "msel_lead": "Lead Japan's response",
    "msel_coordinate": "Coordinate the ministries",
    "msel_keep_in_mind": "Keep in mind: {text}",
    "msel_no_change": "No new framework or lead: continue the current response",
    # the network picture's clusters (the layers' titles are the vocabulary's)
    "graph_agencies": "Japanese agencies",
    "graph_states": "States",
    # the pictures' titles with --stages, and the membership matrix (graph --format matrix)
    "graph_stage_titled": "{title} - stage {number}: {head}",
    "graph_stage": "Stage {number}: {head}",
    "graph_start": "the start",
    "graph_framework": "Framework",
    "graph_layer": "Layer",
    "graph_new": "{name} (new)",
    "graph_proposed": "{name} (proposed)",
    "graph_no_frameworks": "No frameworks in this picture.",
    "graph_marks": "M member, p takes part (a rule names the state with the framework), L leads Japan's part, a acts in.",
    "graph_marks_agencies": "{marks} Agencies: {agencies}.",
    "graph_agency_key": "{short} = {name} ({role})",
    "graph_role_new": "{role}, new",
    "graph_sep": "; ",
    # what an inject changes, in the guide (the fields are the descriptor's; the Japanese names them)
    "change": "{field} {value}",
    "change_sep": "; ",
    "change_off": "not {name}",
}


def brief_label(p: Packet, key: str) -> str:
    """One of the brief's labels in the packet's language (BRIEF_LABELS' English where it has none)."""
    return p.labels.get(key) or BRIEF_LABELS[key]


def brief_basis(p: Packet, basis: str) -> str:
    return brief_label(p, f"basis_{basis}") if f"basis_{basis}" in BRIEF_LABELS else basis


def cover_facts(p: Packet) -> list[tuple[str, str]]:
    """The cover's facts, each with its label: the scenario (where the exercise has a name of its own),
    the sponsor and the dates, those the packet has."""
    L = lambda k: brief_label(p, k)  # noqa: E731
    facts = [(L("scenario_title"), p.title)] if p.exercise else []
    return facts + [(L(k), v) for k, v in (("sponsor", p.sponsor), ("dates", p.dates)) if v]


def module_heading(p: Packet, m: Module) -> str:
    L = lambda k: brief_label(p, k)  # noqa: E731
    if m.stage == 0:
        return f"{L('start')}: {m.title}"
    return f"{L('module')} {m.number}: {m.title}"  # module N is inject N, as in the MSEL


def module_number(p: Packet, m: Module) -> str:
    """Start, then Module 1, 2, ...: the numbering of the MSEL, the evaluation guides and the hot wash."""
    return brief_label(p, "start") if m.stage == 0 else str(m.number)


def header_facts(p: Packet, m: Module) -> list[tuple[str, str]]:
    """A module's time, delivery, sender and addressee, those it has, each with its label."""
    L = lambda k: brief_label(p, k)  # noqa: E731
    return [(L(k), v) for k, v in (("time", m.time), ("delivery", m.delivery), ("from", m.sender), ("to", m.to)) if v]


def exercise_words(words: Words | None) -> Words:
    """`words`, or the exercise documents' English phrases (imported only when an exercise is rendered)."""
    if words is not None:
        return words
    from ..exercise import ENGLISH

    return ENGLISH
