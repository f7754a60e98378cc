"""What several formats lay out alike: the rows of a listing or a table, and short phrases, before escaping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..brief import MatrixRow
    from ..catalog import Catalog
    from .names import Names


def nums(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def nums_or_dash(numbers: list[int]) -> str:
    return nums(numbers) if numbers else "-"


def short(value: Any) -> str:
    """A matched value in brief: booleans in lower case, dicts and lists without quotes."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(short(v) for v in value) + "]"
    return str(value)


# --- advisor catalog -------------------------------------------------------------------------------


def catalog_rows(catalog: Catalog, what: str) -> tuple[list[str], list[list[Any]], list[int | None]]:
    """Headers, rows and column widths of one `advisor catalog` listing."""
    v = catalog.vocabulary
    if what == "recommendations":
        return (
            ["No.", "Group", "Title", "Items"],
            [
                [r.number, r.group.replace("_", " "), r.title, ", ".join(f"{r.number}({i})" for i in r.items)]
                for r in catalog.recommendations.values()
            ],
            [3, 14, 56, 16],
        )
    if what == "frameworks":
        return (
            ["Id", "Name", "Status", "Layer"],
            [[k, f.name, f.status, f.layer.replace("_", " ")] for k, f in catalog.frameworks.items()],
            [41, 28, 8, 13],
        )
    if what == "agencies":
        return (
            ["Id", "Name", "Cited in"],
            [[k, a.name, nums(a.cited_in)] for k, a in catalog.agencies.items()],
            [38, 48, 8],
        )
    if what == "states":
        return (
            ["Code", "Name", "E.A.", "Aliases"],
            [[k, s.name, "yes" if s.east_asia else "", ", ".join(s.aliases)] for k, s in catalog.states.items()],
            [4, 28, 4, 52],
        )
    if what == "types":
        return (
            ["Id", "Category", "Aliases"],
            [[k, t.category, ", ".join(t.aliases)] for k, t in v.types.items()],
            [26, 16, 56],
        )
    if what == "regions":
        return (
            ["Id", "Within", "Aliases"],
            [[k, ", ".join(r.within), ", ".join(r.aliases)] for k, r in v.regions.items()],
            [18, 26, 54],
        )
    if what == "targets":
        return (
            ["Id", "Label", "Aliases"],
            [[k, t.label, ", ".join(t.aliases)] for k, t in v.targets.items()],
            [26, 30, 40],
        )
    if what == "attributes":
        return (["Id", "Meaning"], [[k, text] for k, text in v.attributes.items()], [22, 76])
    if what == "derived":
        return (
            ["Id", "Meaning"],
            [[k + (" (distinction)" if e.distinction else ""), e.text] for k, e in v.derived.items()],
            [34, 64],
        )
    raise KeyError(what)


# --- advisor matrix --------------------------------------------------------------------------------


def matrix_rows(rows: list[MatrixRow], catalog: Catalog) -> tuple[list[str], list[list[str]]]:
    """The role matrix's headers and rows: L lead, C coordinate, S support, P participate."""
    agencies = list(catalog.agencies)
    columns = [catalog.agencies[a].short or a for a in agencies]
    show_region = len({r.region for r in rows}) > 1
    headers = ["Type"] + (["Region"] if show_region else []) + columns + ["Flag"]
    body = []
    for r in rows:
        cells = [
            {"lead": "L", "coordinate": "C", "support": "S", "participate": "P"}.get(r.roles.get(a, ""), "")
            for a in agencies
        ]
        body.append([r.type] + ([r.region or "-"] if show_region else []) + cells + [r.flag])
    return headers, body


def matrix_key(catalog: Catalog, names: Names) -> str:
    """The matrix's key: the letters, the leads' basis, each agency's short name."""
    return (
        "L lead, C coordinate, S support, P takes part (named by the document, no role). Leads are general "
        "knowledge: the document assigns none. "
    ) + ", ".join(
        f"{catalog.agencies[a].short or a} = {names('agencies', a, catalog.agencies[a].name)}" for a in catalog.agencies
    )


def matrix_summary(rows: list[MatrixRow]) -> str:
    gaps = sum(1 for r in rows if r.flag == "no lead")
    overlaps = sum(1 for r in rows if r.flag.endswith("leads"))
    return f"{len(rows)} combinations: {gaps} with no lead, {overlaps} with more than one lead"
