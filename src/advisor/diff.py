"""What changed between two assessments: added and removed conclusions, changed roles."""

from __future__ import annotations

from typing import Any

COMPARED = (
    "recommendations",
    "frameworks",
    "states",
    "agencies",
    "caveats",
    "measures",
)  # kinds of catalog.COMPARED an answer lists
KEYS = {"recommendations": "number", "states": "code"}


def check_assessment(data: Any, path: str) -> None:
    """Refuse what is not an assessment (as `advisor assess --format json` writes it), naming the field."""
    from .errors import InputError

    hint = "run advisor assess --format json"
    if not isinstance(data, dict) or not isinstance(data.get("threat"), dict) or "frameworks" not in data:
        raise InputError(f"not an assessment ({hint})", path=path)
    for kind in COMPARED:
        items = data.get(kind, [])
        if not isinstance(items, list):
            raise InputError(f"expected a list, got {type(items).__name__} ({hint})", path=path, loc=kind)
        key = KEYS.get(kind, "id")
        for i, item in enumerate(items):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get(key), (str, int))
                or isinstance(item.get(key), bool)
            ):
                raise InputError(f"expected an object with '{key}' ({hint})", path=path, loc=f"{kind}[{i}]")
            if kind == "agencies" and not isinstance(item.get("role"), (str, type(None))):
                raise InputError(f"expected a role name ({hint})", path=path, loc=f"{kind}[{i}].role")


def _ids(data: dict[str, Any], kind: str) -> list[str]:
    key = KEYS.get(kind, "id")
    return [str(item[key]) for item in data.get(kind, [])]


def diff_assessments(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per kind, what `new` adds and removes compared with `old`; agencies whose role changed."""
    out: dict[str, Any] = {}
    for kind in COMPARED:
        before, after = _ids(old, kind), _ids(new, kind)
        added = [x for x in after if x not in before]
        removed = [x for x in before if x not in after]
        if added or removed:
            out[kind] = {"added": added, "removed": removed}
    roles_old = {g["id"]: g.get("role") for g in old.get("agencies", [])}
    roles_new = {g["id"]: g.get("role") for g in new.get("agencies", [])}
    changed = {a: [roles_old[a], roles_new[a]] for a in roles_old if a in roles_new and roles_old[a] != roles_new[a]}
    if changed:
        out["roles"] = changed
    return out


def diff_threats(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """The descriptor fields two assessments' threats differ in: field -> [before, after] (None: absent).
    Two answers to different questions differ even where their conclusions happen to agree."""
    return {key: [old.get(key), new.get(key)] for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def describe(changes: dict[str, Any], label=None, kinds: tuple[str, ...] = COMPARED) -> list[str]:
    """The changes as short lines: `+ frameworks: wpns`, `- agencies: defense_agency`, `~ role: ...`.

    `label(kind, id)` may give display names instead of ids.
    """
    name = label or (lambda kind, ref: ref)
    lines = [
        f"~ threat {key}: {_short(before)} -> {_short(after)}"
        for key, (before, after) in changes.get("threat", {}).items()
    ]
    for kind in kinds:
        if kind in changes:
            for sign, key in (("+", "added"), ("-", "removed")):
                if changes[kind][key]:
                    lines.append(f"{sign} {kind}: {', '.join(name(kind, x) for x in changes[kind][key])}")
    for agency, (before, after) in changes.get("roles", {}).items():
        lines.append(f"~ role of {name('agencies', agency)}: {before} -> {after}")
    for stage, stage_changes in changes.get("stages", {}).items():
        lines.extend(f"stage {stage}: {line}" for line in describe(stage_changes, label, kinds))
    return lines


def _short(value: Any) -> str:
    import json

    text = "(absent)" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
