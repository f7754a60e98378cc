"""The public API: load a rule base, load a threat, assess it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .models import Assessment, Descriptor, parse_descriptor
from .rules import Rulebase, load_rulebase
from .source import read_json

__all__ = ["assess", "load_rulebase", "load_threat", "parse_threat", "Assessment", "Descriptor", "Rulebase"]


def parse_threat(raw: Any, rulebase: Rulebase, *, path: str = "<input>", default_id: str = "threat") -> Descriptor:
    """Normalise a descriptor already parsed from JSON."""
    return parse_descriptor(raw, rulebase.catalog, path=path, default_id=default_id)


def load_threat(path: str | Path, rulebase: Rulebase) -> Descriptor:
    """Read and normalise one descriptor file; its id defaults to the file's stem."""
    p = Path(path)
    return parse_threat(read_json(p), rulebase, path=str(p), default_id=p.stem)


def assess(threat: Descriptor, rulebase: Rulebase, *, as_of: str = "2002") -> Assessment:
    """Assess one threat: frameworks, states, agencies and the trace behind them.

    A threat with injects is assessed at every stage too; each stage records what its
    inject added or removed. `as_of="today"` adds what became of each body since 2002.
    """
    from .diff import diff_assessments
    from .engine import assess as run
    from .models import StageOut

    first = run(threat, rulebase)
    if threat.injects:
        stages, previous = [], first.to_data()
        for number, (inject, stage) in enumerate(zip(threat.injects, threat.stages()), start=1):
            current = run(stage, rulebase).to_data()
            stages.append(StageOut(stage=number, title=inject.title, description=inject.description,
                                   changes=inject.changes, delta=diff_assessments(previous, current),
                                   assessment=current))
            previous = current
        first.stages = stages
    if as_of == "today":
        first.since_2002 = since_2002(first, rulebase)
    return first


def since_2002(a: Assessment, rulebase: Rulebase):
    """What became, since 2002, of the frameworks, agencies and caveats in an assessment."""
    from .models import SinceOut

    cat = rulebase.catalog
    out = []
    for kind, items in (("frameworks", [f.id for f in a.frameworks]), ("agencies", [g.id for g in a.agencies]),
                        ("caveats", [c.id for c in a.caveats])):
        for ref in items:
            entry = cat.since_2002.get(kind, {}).get(ref)
            if entry:
                name = ref.replace("_", " ") if kind == "caveats" else cat.name(kind, ref)
                out.append(SinceOut(kind=kind, id=ref, name=name, became=entry.became, since=entry.since))
    return out
