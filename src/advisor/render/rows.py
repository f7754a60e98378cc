"""What several formats lay out alike: the rows of a listing or a table, and short phrases, before escaping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..brief import MatrixRow
    from ..catalog import Catalog
    from ..exercise import Card, Guide, Report, Words
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


# --- the exercise documents: EEGs, hot wash, role cards ---------------------------------------------


def exercise_marking(exercise: dict[str, Any]) -> str:
    return (exercise or {}).get("marking", "FOR EXERCISE USE ONLY")


def task_rows(g: Guide, words: Words) -> list[list[Any]]:
    return [
        [
            i,
            t.module,
            words("continuing", action=t.action) if t.continuing else t.action,
            nums(t.recommendations),
            ", ".join(t.rules),
            words.basis(t.basis),
            "",
            "",
        ]
        for i, t in enumerate(g.tasks, start=1)
    ]


def task_headers(words: Words) -> list[str]:
    return ["#"] + [
        words(k) for k in ("col_module", "task_action", "rec", "rule", "task_basis", "observations", "task_rating")
    ]


def rating_key(words: Words) -> str:
    from ..exercise import RATINGS

    return words(
        "rating_key",
        ratings=words("sep").join(words("rating_item", letter=k, text=words(f"rating_{k.lower()}")) for k in RATINGS),
    )


def guide_meta(g: Guide, words: Words) -> str:
    return words(
        "guide_meta", recommendations=nums(g.recommendations) or "-", modules=words("comma").join(g.modules) or "-"
    )


def score_headers(words: Words) -> list[str]:
    return [words(k) for k in ("col_module", "result", "action", "rec", "rule")]


def plan_headers(words: Words) -> list[str]:
    return [words(k) for k in ("plan_issue", "plan_recommendation", "plan_action", "plan_responsible", "plan_due")]


def score_rows(r: Report, words: Words) -> list[list[Any]]:
    w = words
    rows = []
    for s in r.scores:
        m = s.module
        for x in s.done:
            rows.append([m.label, w("result_done"), x.action, nums(x.recommendations), ", ".join(x.rules[:2])])
        for x, when in s.late:
            rows.append(
                [m.label, w("result_late", when=when), x.action, nums(x.recommendations), ", ".join(x.rules[:2])]
            )
        for x in s.missed:
            rows.append([m.label, w("result_missed"), x.action, nums(x.recommendations), ", ".join(x.rules[:2])])
        for u in s.unexpected:
            rows.append(
                [
                    m.label,
                    w("result_unexpected"),
                    w("with_role", name=u.name, role=w.role(u.role)) if u.role else u.name,
                    nums(u.recommendations),
                    ", ".join(u.rules[:2]) or w("no_rule"),
                ]
            )
    return rows


def plan_rows(r: Report) -> list[list[Any]]:
    return [[p.issue, p.recommendation, p.corrective_action, p.responsible, p.due] for p in r.plan]


def hotwash_summary(r: Report, words: Words) -> str:
    done, late, missed, extra = r.totals
    return words("summary", done=done, late=late, missed=missed, extra=extra)


def card_sections(c: Card, words: Words) -> list[tuple[str, list[str]]]:
    w = words
    roles = []
    for module, role, rule, basis, recs, note in c.roles:
        text = w("card_role", module=module, role=w.role(role), rule=rule, numbers=nums(recs), basis=w.basis(basis))
        roles.append(w("card_note", text=text, note=note) if note else text)
    return [
        (w("card_asks"), roles),
        (w("card_measures"), [w("card_cited", text=t, citation=cit) for t, cit in c.measures] or [w("none")]),
        (w("card_frameworks"), c.frameworks or [w("none_named")]),
        (w("card_states"), c.states or [w("none_named")]),
        (w("card_limits"), [w("card_cited", text=t, citation=cit) for t, cit in c.caveats] or [w("none_in_scenario")]),
    ]
