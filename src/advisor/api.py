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


def assess(threat: Descriptor, rulebase: Rulebase) -> Assessment:
    """Assess one threat: frameworks, states, agencies and the trace behind them."""
    from .engine import assess as run

    return run(threat, rulebase)
