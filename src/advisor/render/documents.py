"""The exercise documents' parts (EEGs, hot wash, role cards) that Markdown, HTML and DOCX lay out alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .rows import nums

if TYPE_CHECKING:
    from ..exercise import Card, Guide, Report, Words


def marking(exercise: dict[str, Any]) -> str:
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
