"""Assessing a threat as a scenario: the situation, then each inject's stage.

A threat with injects is assessed at every stage too, and stages accumulate: an inject that
changes the type to a new kind of event starts a new line of events beside the earlier ones,
which stay in play (their answers carried forward) until an inject `resolves` them; a change
back to a kind in play updates that line, and any other change the latest line. Each stage
records what it added and dropped. This is the one orchestration of stages; the public
`advisor.assess` and every feature (brief, explain, policy tests, rule diffs, batch mode for a
scenario) call it. Batch mode writes a plain descriptor's line straight from `assessment`.
"""

from __future__ import annotations

from .assessment import build
from .diff import diff_assessments
from .models import Assessment, Descriptor, SinceOut, StageOut
from .rules import Rulebase


def assess_threat(threat: Descriptor, rulebase: Rulebase, as_of: str = "2002") -> Assessment:
    """Assess one parsed threat and each stage of its injects; `as_of="today"` adds what became of
    each body since 2002."""
    first = build(threat, rulebase)
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
            current = build(stage, rulebase, carried=carried).to_data()
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


def since_2002(a: Assessment, rulebase: Rulebase) -> list[SinceOut]:
    """What became, since 2002, of the frameworks, agencies and caveats in an assessment."""
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
