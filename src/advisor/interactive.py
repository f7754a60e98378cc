"""`advisor new`: build a descriptor by answering questions, each answer checked at once."""
from __future__ import annotations

import re
from typing import Any, Callable

from .catalog import Catalog

Ask = Callable[..., Any]  # click.prompt, or a stand-in in tests
Say = Callable[[str], None]


def _one(catalog: Catalog, field: str, optional: bool):
    def check(text: str) -> str | None:
        import click

        text = (text or "").strip()
        if not text:
            if optional:
                return None
            raise click.BadParameter("an answer is needed")
        found = catalog.resolve(field, text)
        if found is None:
            raise click.BadParameter(f"unknown {field} '{text}' (did you mean {catalog.hint(field, text)}?)")
        return found
    return check


def _many(catalog: Catalog, field: str):
    def check(text: str) -> list[str]:
        import click

        out = []
        for part in [p.strip() for p in re.split(r"[,;]", text or "") if p.strip()]:
            found = catalog.resolve(field, part)
            if found is None:
                raise click.BadParameter(f"unknown {field[:-1] if field.endswith('s') else field} '{part}' "
                                         f"(did you mean {catalog.hint(field, part)}?)")
            out.append(found)
        return sorted(set(out))
    return check


def _attributes(catalog: Catalog):
    def check(text: str) -> dict[str, bool]:
        import click

        out = {}
        for part in [p.strip() for p in re.split(r"[,;]", text or "") if p.strip()]:
            found = catalog.resolve("attributes", part)
            if found is None:
                raise click.BadParameter(f"unknown attribute '{part}' (did you mean {catalog.hint('attributes', part)}?)")
            out[found] = True
        return dict(sorted(out.items()))
    return check


def _menu(entries: dict[str, Any], with_aliases: bool = True) -> str:
    lines = []
    for key, entry in entries.items():
        aliases = getattr(entry, "aliases", [])[:4] if with_aliases else []
        lines.append(f"  {key}" + (f"  ({', '.join(aliases)})" if aliases else ""))
    return "\n".join(lines)


def ask_descriptor(catalog: Catalog, ask: Ask, say: Say) -> dict[str, Any]:
    """Ask for each field of a descriptor; returns the raw descriptor (canonical values)."""
    v = catalog.vocabulary
    say("Threat types (aliases in brackets):")
    say(_menu(v.types))
    out: dict[str, Any] = {}
    title = ask("Title (free text, Enter to skip)", default="", show_default=False)
    if title:
        out["title"] = title
    out["type"] = ask("Type", value_proc=_one(catalog, "type", optional=False))
    say("Regions:")
    say(_menu(v.regions))
    region = ask("Region (Enter to skip)", default="", show_default=False, value_proc=_one(catalog, "region", True))
    if region:
        out["region"] = region
    states = ask("States involved, names or ISO codes, comma-separated (Enter for none)", default="",
                 show_default=False, value_proc=_many(catalog, "states"))
    if states:
        out["states"] = states
    say("Targets: " + ", ".join(v.targets))
    targets = ask("What is threatened, comma-separated (Enter for none)", default="", show_default=False,
                  value_proc=_many(catalog, "targets"))
    if targets:
        out["targets"] = targets
    out["actor"] = ask("Actor: " + ", ".join(v.actors), default="unknown", value_proc=_one(catalog, "actor", False))
    out["severity"] = ask("Severity: " + ", ".join(v.severities), default="moderate",
                          value_proc=_one(catalog, "severity", False))
    say("Attributes the rules use: " + ", ".join(v.attributes))
    attributes = ask("Attributes that hold, comma-separated (Enter for none)", default="", show_default=False,
                     value_proc=_attributes(catalog))
    if attributes:
        out["attributes"] = attributes
    slug = re.sub(r"[^a-z0-9]+", "_", (out.get("title") or out["type"]).lower()).strip("_")[:60] or "threat"
    out = {"id": ask("Id", default=slug), **out}
    return out
