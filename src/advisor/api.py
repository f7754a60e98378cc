"""The public API: load a rule base, load a threat, assess it.

A thin façade for library users and the CLI: it fills in the shipped rule base and accepts a
threat as a dict or a path. The work is done in `advisor.stages` (scenarios), which advisor's
own modules call directly: only the CLI imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .loading import load_rulebase, shared_rulebase
from .models import Assessment, Descriptor, load_descriptor, parse_descriptor
from .rules import Rulebase

__all__ = ["assess", "load_rulebase", "load_threat", "parse_threat", "Assessment", "Descriptor", "Rulebase"]


def parse_threat(
    raw: Any, rulebase: Rulebase | None = None, *, path: str = "<input>", default_id: str = "threat"
) -> Descriptor:
    """Normalise a descriptor already parsed from JSON (default: against the shipped rule base)."""
    return parse_descriptor(raw, (rulebase or shared_rulebase()).catalog, path=path, default_id=default_id)


def load_threat(path: str | Path, rulebase: Rulebase | None = None) -> Descriptor:
    """Read and normalise one descriptor file; its id defaults to the file's stem."""
    return load_descriptor(path, (rulebase or shared_rulebase()).catalog)


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
    A threat with injects is assessed at every stage too (see `advisor.stages`);
    `as_of="today"` adds what became of each body since 2002.
    """
    from .stages import assess_threat

    rulebase = rulebase if rulebase is not None else shared_rulebase()
    if isinstance(threat, (str, Path)):
        threat = load_threat(threat, rulebase)
    elif isinstance(threat, dict):
        threat = parse_threat(threat, rulebase)
    elif not isinstance(threat, Descriptor):
        from .errors import InputError

        raise InputError(f"a threat is a descriptor, a dict or a path to a JSON file, not {type(threat).__name__}")
    return assess_threat(threat, rulebase, as_of)
