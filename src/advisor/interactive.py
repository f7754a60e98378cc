"""`advisor new`: build a descriptor by answering questions, each answer checked at once.

After the threat itself: whether it is an exercise (name, sponsor, dates, marking, objectives with
the recommendations they test, players with the agency each stands for), then the injects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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
                raise click.BadParameter(
                    f"unknown {field[:-1] if field.endswith('s') else field} '{part}' "
                    f"(did you mean {catalog.hint(field, part)}?)"
                )
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
                raise click.BadParameter(
                    f"unknown attribute '{part}' (did you mean {catalog.hint('attributes', part)}?)"
                )
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
    title = ask("Title (free text, Enter to skip)", default="", show_default=False, value_proc=_text(10_000))
    if title:
        out["title"] = title
    out["type"] = ask("Type", value_proc=_one(catalog, "type", optional=False))
    say("Regions:")
    say(_menu(v.regions))
    region = ask("Region (Enter to skip)", default="", show_default=False, value_proc=_one(catalog, "region", True))
    if region:
        out["region"] = region
    states = ask(
        "States involved, names or ISO codes, comma-separated (Enter for none)",
        default="",
        show_default=False,
        value_proc=_many(catalog, "states"),
    )
    if states:
        out["states"] = states
    say("Targets: " + ", ".join(v.targets))
    targets = ask(
        "What is threatened, comma-separated (Enter for none)",
        default="",
        show_default=False,
        value_proc=_many(catalog, "targets"),
    )
    if targets:
        out["targets"] = targets
    out["actor"] = ask("Actor: " + ", ".join(v.actors), default="unknown", value_proc=_one(catalog, "actor", False))
    out["severity"] = ask(
        "Severity: " + ", ".join(v.severities), default="moderate", value_proc=_one(catalog, "severity", False)
    )
    say("Attributes the rules use: " + ", ".join(v.attributes))
    attributes = ask(
        "Attributes that hold, comma-separated (Enter for none)",
        default="",
        show_default=False,
        value_proc=_attributes(catalog),
    )
    if attributes:
        out["attributes"] = attributes
    slug = re.sub(r"[^a-z0-9]+", "_", (out.get("title") or out["type"]).lower()).strip("_")[:60] or "threat"
    out = {"id": ask("Id", default=slug), **out}
    exercise = ask_exercise(catalog, ask, say)
    if exercise:
        out["exercise"] = exercise
    injects = ask_injects(catalog, ask, say, [o["id"] for o in (exercise or {}).get("objectives", [])])
    if injects:
        out["injects"] = injects
    return out


# --- exercise and injects -------------------------------------------------------------------------


def _text(limit: int, optional: bool = True):
    def check(text: str) -> str | None:
        import click

        text = (text or "").strip()
        if not text and not optional:
            raise click.BadParameter("an answer is needed")
        if len(text) > limit:
            raise click.BadParameter(f"at most {limit} characters, got {len(text)}")
        return text or None

    return check


def _yes_no(text: str) -> bool:
    import click

    answer = (text or "").strip().lower()
    if answer in ("y", "yes"):
        return True
    if answer in ("", "n", "no"):
        return False
    raise click.BadParameter("answer y or n")


def _numbers(catalog: Catalog):
    def check(text: str) -> list[int]:
        import click

        out = []
        for part in [p.strip() for p in re.split(r"[,;\s]+", text or "") if p.strip()]:
            if not part.isdigit() or int(part) not in catalog.recommendations:
                raise click.BadParameter(
                    f"no recommendation '{part}' in the document (1 to {max(catalog.recommendations)})"
                )
            out.append(int(part))
        return sorted(set(out))

    return check


def _agency(catalog: Catalog):
    def check(text: str) -> str | None:
        import click

        from .catalog import fold
        from .errors import nearest

        text = (text or "").strip()
        if not text:
            return None
        names = (
            {fold(k): k for k in catalog.agencies}
            | {fold(a.name): k for k, a in catalog.agencies.items()}
            | {fold(a.short): k for k, a in catalog.agencies.items() if a.short}
        )
        found = names.get(fold(text))
        if found is None:
            import difflib

            close = difflib.get_close_matches(fold(text), list(names), n=1, cutoff=0.5)
            hint = f"'{names[close[0]]}'" if close else nearest(fold(text), catalog.agencies)
            raise click.BadParameter(f"unknown agency '{text}' (did you mean {hint}?)")
        return found

    return check


def _ids(known: list[str]):
    def check(text: str) -> list[str]:
        import click

        from .errors import nearest

        out = []
        for part in [p.strip() for p in re.split(r"[,;\s]+", text or "") if p.strip()]:
            if part not in known:
                raise click.BadParameter(f"no objective '{part}' (did you mean {nearest(part, known)}?)")
            out.append(part)
        return list(dict.fromkeys(out))

    return check


def _stages(number: int):
    def check(text: str) -> list[int] | str:
        import click

        text = (text or "").strip().lower()
        if text == "all":
            return "all"
        out = []
        for part in [p.strip() for p in re.split(r"[,;\s]+", text) if p.strip()]:
            if not part.isdigit() or int(part) >= number:
                raise click.BadParameter(f"give stages 0 to {number - 1} (0 is the start), or 'all'")
            out.append(int(part))
        return sorted(set(out))

    return check


def _fields(text: str) -> list[str]:
    import click

    from .errors import nearest
    from .models import CHANGEABLE

    out = []
    for part in [p.strip().lower() for p in re.split(r"[,;\s]+", text or "") if p.strip()]:
        if part not in CHANGEABLE:
            raise click.BadParameter(f"an inject cannot change '{part}' (did you mean {nearest(part, CHANGEABLE)}?)")
        out.append(part)
    return list(dict.fromkeys(out))


def _signed_attributes(catalog: Catalog):
    def check(text: str) -> dict[str, bool]:
        import click

        out = {}
        for part in [p.strip() for p in re.split(r"[,;]", text or "") if p.strip()]:
            value = not part.startswith("-")
            name = part.lstrip("-").strip()
            found = catalog.resolve("attributes", name)
            if found is None:
                raise click.BadParameter(
                    f"unknown attribute '{name}' (did you mean {catalog.hint('attributes', name)}?)"
                )
            out[found] = value
        if not out:
            raise click.BadParameter("name at least one attribute")
        return dict(sorted(out.items()))

    return check


def _or_end(ask: Ask, *args, **kwargs):
    """Ask a question whose empty answer ends a list or skips a part: the end of the input is that answer
    too (a script of answers may stop before the optional parts). Ctrl-C still interrupts."""
    import click

    try:
        return ask(*args, **kwargs)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise
        return kwargs.get("default")


def ask_exercise(catalog: Catalog, ask: Ask, say: Say) -> dict[str, Any] | None:
    """The exercise part: name, sponsor, dates, marking, objectives and players; None if it is no exercise."""
    from .models import MAX_LIST

    if not _yes_no(
        _or_end(
            ask,
            "Is this an exercise? [y/N]",
            default="n",
            show_default=False,
            value_proc=lambda t: "y" if _yes_no(t) else "n",
        )
    ):
        return None
    out: dict[str, Any] = {"name": ask("Exercise name", value_proc=_text(200, optional=False))}
    for key, question, limit in (("sponsor", "Sponsor", 200), ("dates", "Dates", 100)):
        value = ask(f"{question} (Enter to skip)", default="", show_default=False, value_proc=_text(limit))
        if value:
            out[key] = value
    marking = ask("Handling marking", default="FOR EXERCISE USE ONLY", value_proc=_text(100, optional=False))
    if marking != "FOR EXERCISE USE ONLY":
        out["marking"] = marking
    say(f"Objectives: each tied to the recommendations it tests (1 to {max(catalog.recommendations)}).")
    objectives: list[dict[str, Any]] = []
    while len(objectives) < MAX_LIST:
        number = len(objectives) + 1
        text = _or_end(
            ask, f"Objective O{number} (Enter when done)", default="", show_default=False, value_proc=_text(500)
        )
        if not text:
            break
        recs = ask(
            f"Recommendations O{number} tests, numbers comma-separated (Enter for none)",
            default="",
            show_default=False,
            value_proc=_numbers(catalog),
        )
        objectives.append({"id": f"O{number}", "text": text, "recommendations": recs})
    if objectives:
        out["objectives"] = objectives
    say("Players: a role, and the Japanese agency it stands for (id, name or short name; `advisor catalog agencies`).")
    players: list[dict[str, Any]] = []
    while len(players) < MAX_LIST:
        role = _or_end(
            ask,
            f"Player {len(players) + 1} role (Enter when done)",
            default="",
            show_default=False,
            value_proc=_text(200),
        )
        if not role:
            break
        agency = ask(
            "Agency it stands for (Enter for none)", default="", show_default=False, value_proc=_agency(catalog)
        )
        players.append({"role": role, **({"agency": agency} if agency else {})})
    if players:
        out["players"] = players
    return out


def ask_injects(catalog: Catalog, ask: Ask, say: Say, objectives: list[str]) -> list[dict[str, Any]]:
    """The injects, in order: what the players are told, when, how, by whom, what changes and what ends."""
    from .models import CHANGEABLE, MAX_INJECTS

    v = catalog.vocabulary
    injects: list[dict[str, Any]] = []
    while len(injects) < MAX_INJECTS:
        number = len(injects) + 1
        title = _or_end(
            ask,
            f"Inject {number} title (Enter for no more injects)",
            default="",
            show_default=False,
            value_proc=_text(200),
        )
        if not title:
            break
        inject: dict[str, Any] = {"title": title}
        for key, question, limit in (
            ("description", "Description", 10_000),
            ("time", "Scenario time, e.g. D+1 06:00", 60),
            ("delivery", "Delivery: phone, e-mail, news report, briefing, ...", 60),
            ("from", "From (who sends it)", 200),
            ("to", "To (who receives it)", 200),
        ):
            value = ask(f"{question} (Enter to skip)", default="", show_default=False, value_proc=_text(limit))
            if value:
                inject[key] = value
        if objectives:
            tested = ask(
                f"Objectives it tests: {', '.join(objectives)} (Enter for none)",
                default="",
                show_default=False,
                value_proc=_ids(objectives),
            )
            if tested:
                inject["objectives"] = tested
        fields = ask(
            f"Fields it changes: {', '.join(CHANGEABLE)} (Enter for none)",
            default="",
            show_default=False,
            value_proc=_fields,
        )
        changes: dict[str, Any] = {}
        for key in fields:
            if key in ("type", "region", "actor", "severity"):
                hint = {
                    "type": "",
                    "region": "",
                    "actor": ": " + ", ".join(v.actors),
                    "severity": ": " + ", ".join(v.severities),
                }[key]
                changes[key] = ask(f"New {key}{hint}", value_proc=_one(catalog, key, optional=False))
            elif key in ("states", "targets"):
                changes[key] = ask(f"New {key}, comma-separated (the whole list)", value_proc=_many(catalog, key))
            else:
                changes[key] = ask(
                    "Attributes that now hold, comma-separated; -name for one that no longer holds",
                    value_proc=_signed_attributes(catalog),
                )
        inject["changes"] = changes
        resolves = ask(
            f"Stages whose situation it ends: 0 to {number - 1} (0 is the start), or 'all' (Enter for none)",
            default="",
            show_default=False,
            value_proc=_stages(number),
        )
        if resolves:
            inject["resolves"] = resolves
        injects.append(inject)
    return injects


def stdin_is_terminal() -> bool:
    """Whether the answers come from a person at a terminal (not a pipe or a file)."""
    import sys

    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def may_write(output: str, force: bool, confirm: Callable[[str], bool]) -> bool:
    """Whether `advisor new` may write `output`: a new file, --force, or a person who said yes.

    An output that is a link, a directory or in a missing directory is refused (exit 2); an existing
    file with answers that do not come from a terminal, and no --force, is refused too (exit 2).
    """
    from .errors import InputError
    from .output import check_target

    if check_target(output) is None or force:
        return True
    if not stdin_is_terminal():
        raise InputError(
            "the file exists; advisor new overwrites a file only when asked to: give --force, or another -o",
            path=output,
            loc="-o",
        )
    return confirm(f"overwrite {output}?")
