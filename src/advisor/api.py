"""The public API: load a rule base, load a threat, assess it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .models import Assessment, Descriptor, parse_descriptor
from .rules import Rulebase, load_rulebase
from .source import read_json

__all__ = ["assess", "load_rulebase", "load_threat", "parse_threat", "Assessment", "Descriptor", "Rulebase"]


def parse_threat(
    raw: Any, rulebase: Rulebase | None = None, *, path: str = "<input>", default_id: str = "threat"
) -> Descriptor:
    """Normalise a descriptor already parsed from JSON (default: against the shipped rule base)."""
    return parse_descriptor(raw, (rulebase or _shipped()).catalog, path=path, default_id=default_id)


def load_threat(path: str | Path, rulebase: Rulebase | None = None) -> Descriptor:
    """Read and normalise one descriptor file; its id defaults to the file's stem."""
    p = Path(path)
    return parse_threat(read_json(p), rulebase, path=str(p), default_id=p.stem)


def assess(
    threat: Descriptor | dict[str, Any] | str | Path,
    rulebase: Rulebase | None = None,
    *,
    as_of: str = "2002",
) -> Assessment:
    """Assess one threat: frameworks, states, agencies and the trace behind them.

    `threat` is a parsed `Descriptor`, a dict as the JSON would give it (names and aliases
    accepted, as in a file), or the path of a JSON file; `rulebase` defaults to the shipped
    one. A bad descriptor raises `InputError` naming the field and the nearest valid value.

    A threat with injects is assessed at every stage too, and stages accumulate: an inject
    that changes the type to a new kind of event starts a new line of events beside the
    earlier ones, which stay in play (their answers carried forward) until an inject
    `resolves` them; a change back to a kind in play updates that line, and any other change
    the latest line. Each stage records what it added and dropped.
    `as_of="today"` adds what became of each body since 2002.
    """
    from .diff import diff_assessments
    from .engine import assess as run
    from .models import StageOut

    rulebase = rulebase if rulebase is not None else _shipped()
    if isinstance(threat, (str, Path)):
        threat = load_threat(threat, rulebase)
    elif isinstance(threat, dict):
        threat = parse_threat(threat, rulebase)
    elif not isinstance(threat, Descriptor):
        from .errors import InputError

        raise InputError(f"a threat is a descriptor, a dict or a path to a JSON file, not {type(threat).__name__}")

    first = run(threat, rulebase)
    if threat.injects:
        stages, previous = [], first.to_data()
        lines: dict[int, Descriptor] = {0: threat.model_copy(update={"injects": []})}  # stage that began it -> now
        began = {0: 0}  # stage -> the line it belongs to
        for number, (inject, stage) in enumerate(zip(threat.injects, threat.stages()), start=1):
            ended = set(range(number)) if inject.resolves == "all" else set(inject.resolves)
            for line in {began[s] for s in ended}:
                lines.pop(line, None)
            same = [k for k in lines if lines[k].type == stage.type]  # the line of events of this kind
            if "type" not in inject.changes and lines:
                same = [max(lines)]  # the same event, changed: the latest line
            if same:
                lines[max(same)] = stage
                began[number] = max(same)
            else:
                lines[number] = stage  # a new kind of event: a new line beside the others
                began[number] = number
            carried = tuple(lines[k] for k in sorted(lines, reverse=True) if lines[k] is not stage)
            current = run(stage, rulebase, carried=carried).to_data()
            stages.append(
                StageOut(
                    stage=number,
                    title=inject.title,
                    description=inject.description,
                    time=inject.time,
                    delivery=inject.delivery,
                    sender=inject.sender,
                    to=inject.to,
                    objectives=list(inject.objectives),
                    changes=inject.changes,
                    resolves=sorted(ended),
                    in_play=sorted(lines),
                    delta=diff_assessments(previous, current),
                    assessment=current,
                )
            )
            previous = current
        first.stages = stages
    if as_of == "today":
        first.since_2002 = since_2002(first, rulebase)
    return first


_SHIPPED: list[Rulebase] = []  # the shipped rule base, loaded on first use by the calls that default to it


def _shipped() -> Rulebase:
    if not _SHIPPED:
        _SHIPPED.append(load_rulebase())
    return _SHIPPED[0]


def since_2002(a: Assessment, rulebase: Rulebase):
    """What became, since 2002, of the frameworks, agencies and caveats in an assessment."""
    from .models import SinceOut

    cat = rulebase.catalog
    out = []
    for kind, items in (
        ("frameworks", [f.id for f in a.frameworks]),
        ("agencies", [g.id for g in a.agencies]),
        ("caveats", [c.id for c in a.caveats]),
    ):
        for ref in items:
            entry = cat.since_2002.get(kind, {}).get(ref)
            if entry:
                name = ref.replace("_", " ") if kind == "caveats" else cat.name(kind, ref)
                out.append(SinceOut(kind=kind, id=ref, name=name, became=entry.became, since=entry.since))
    return out
