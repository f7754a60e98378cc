"""What a change to the rule base changes: every descriptor assessed under two rule bases.

The answer to `advisor diff --rules OLD --rules NEW DESCRIPTOR...`, for people who unit-test
policy logic: a rule change shown by its effect on the threats it touches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .diff import diff_assessments
from .loading import load_rulebase
from .models import load_descriptor
from .stages import assess_threat


def diff_rulebases(paths: list, old_rules: str, new_rules: str) -> list[dict[str, Any]]:
    """Assess each descriptor under two rule bases; one entry per descriptor, in input order."""
    old_rb, new_rb = load_rulebase(old_rules), load_rulebase(new_rules)
    files: list[Path] = []
    for given in paths:
        p = Path(given)
        files.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    out = []
    for path in files:
        old = assess_threat(load_descriptor(path, old_rb.catalog), old_rb).to_data()
        new = assess_threat(load_descriptor(path, new_rb.catalog), new_rb).to_data()
        changes = diff_assessments(old, new)
        for before, after in zip(old.get("stages", []), new.get("stages", [])):
            stage = diff_assessments(before["assessment"], after["assessment"])
            if stage:
                changes.setdefault("stages", {})[str(before["stage"])] = stage
        out.append({"threat": str(path), "changes": changes})
    return out
