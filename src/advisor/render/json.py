"""JSON: `to_json` for every command's data, and the data of catalog listings, policy tests, explain and query."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .safe import json_safe

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel

    from ..catalog import Catalog
    from ..explain import Miss, Node, Target
    from ..policy import Coverage, Mutant, Result
    from ..rules import Rule


def to_json(data: Any) -> str:
    """Stable JSON: two-space indent, UTF-8 kept, a final newline."""
    if hasattr(data, "to_data"):
        data = data.to_data()
    elif hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    return json_safe(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def catalog_data(catalog: Catalog, what: str) -> list[dict[str, Any]]:
    """One catalog listing as plain data, every entry with its id."""
    v = catalog.vocabulary
    if what == "recommendations":
        return [r.model_dump(mode="json") for r in catalog.recommendations.values()]
    tables: dict[str, Mapping[str, BaseModel]] = {
        "frameworks": catalog.frameworks,
        "agencies": catalog.agencies,
        "states": catalog.states,
        "types": v.types,
        "regions": v.regions,
        "targets": v.targets,
    }
    if what in tables:
        return [{"id": k, **e.model_dump(mode="json", exclude={"id", "code"})} for k, e in tables[what].items()]
    if what == "derived":
        return [
            {"id": k, "meaning": e.text, "distinction": e.distinction, "note": e.note} for k, e in v.derived.items()
        ]
    return [{"id": k, "meaning": text} for k, text in v.attributes.items()]


def policy_json(results: list[Result], cov: Coverage | None = None, plan: list[Mutant] | None = None) -> str:
    data: dict[str, Any] = {
        "cases": [
            {
                "file": r.case.path,
                "line": r.case.line,
                "name": r.case.name,
                "passed": r.passed,
                "error": r.error or None,
                "mismatches": [{"what": m.what, "expected": m.expected, "actual": m.actual} for m in r.mismatches],
            }
            for r in results
        ]
    }
    data["passed"] = sum(r.passed for r in results)
    data["failed"] = len(results) - data["passed"]
    if cov is not None:
        data["coverage"] = cov.to_dict()
    if plan is not None:
        data["mutants"] = [
            {
                "name": m.name,
                "removed": m.removed,
                "recommendations": m.recommendations,
                "killed_by": m.killed_by or None,
            }
            for m in plan
        ]
    return to_json(data)


def why_data(target: Target, nodes: list[Node]) -> dict[str, Any]:
    """`explain --why` as JSON data: the chains of rules, each with what it needed and who gave it."""

    def node(n: Node) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": n.rule, "citations": list(n.citations), "step": n.step, "basis": n.basis}
        if n.repeated:
            return {**out, "repeated": True}
        out.update(because=n.because, quote=n.quote, note=n.note, descriptor=dict(n.descriptor))
        out["needs"] = [{"what": what, "given_by": [node(p) for p in producers]} for what, producers in n.needs]
        return out

    return {"kind": target.kind, "id": target.ref, "present": bool(nodes), "rules": [node(n) for n in nodes]}


def why_not_data(target: Target, present: bool, misses: list[Miss]) -> dict[str, Any]:
    """`explain --why-not` as JSON data: each rule that could conclude the target, nearest miss first."""

    def miss(m: Miss) -> dict[str, Any]:
        return {
            "rule": m.rule.id,
            "citations": list(m.rule.cites),
            "failed": len(m.failing),
            "conditions": [
                {
                    "condition": c.condition,
                    "holds": c.holds,
                    "now": c.now or None,
                    "would_need_one_of": [miss(p) for p in c.producers],
                }
                for c in m.checks
            ],
        }

    return {"kind": target.kind, "id": target.ref, "present": present, "could_conclude": [miss(m) for m in misses]}


def what_if_data(rows: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """`explain --what-if` as JSON data: each one-value change and what it changes."""
    return [{"if": label, "changes": changes} for label, changes in rows]


def query_data(target: Target, answers: list[tuple[Rule, list[str]]], summary: dict[str, list[str]]) -> dict[str, Any]:
    """`advisor query` as JSON data: the rules that conclude the target and when each can fire."""
    return {
        "kind": target.kind,
        "id": target.ref,
        "rules": [
            {"rule": rule.id, "citations": list(rule.cites), "because": rule.because, "when": list(alternatives)}
            for rule, alternatives in answers
        ],
        "summary": summary,
    }
