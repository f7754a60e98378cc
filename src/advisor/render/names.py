"""Names and labels every format shares: display names in English or Japanese, the brief's labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..phrases import BRIEF_LABELS

if TYPE_CHECKING:
    from ..brief import Packet, PacketModule
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


def module_heading(p: Packet, m: PacketModule) -> str:
    L = lambda k: brief_label(p, k)  # noqa: E731
    if m.stage == 0:
        return f"{L('start')}: {m.title}"
    return f"{L('module')} {m.number}: {m.title}"  # module N is inject N, as in the MSEL


def module_number(p: Packet, m: PacketModule) -> str:
    """Start, then Module 1, 2, ...: the numbering of the MSEL, the evaluation guides and the hot wash."""
    return brief_label(p, "start") if m.stage == 0 else str(m.number)


def header_facts(p: Packet, m: PacketModule) -> list[tuple[str, str]]:
    """A module's time, delivery, sender and addressee, those it has, each with its label."""
    L = lambda k: brief_label(p, k)  # noqa: E731
    return [(L(k), v) for k, v in (("time", m.time), ("delivery", m.delivery), ("from", m.sender), ("to", m.to)) if v]


def exercise_words(words: Words | None) -> Words:
    """`words`, or the exercise documents' English phrases (imported only when an exercise is rendered)."""
    if words is not None:
        return words
    from ..exercise import ENGLISH

    return ENGLISH
