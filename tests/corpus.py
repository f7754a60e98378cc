"""Generated descriptors, seeded: the benchmark's workload and the byte-identity test's corpus.

`plain` descriptors use the vocabulary only (the benchmark's); `rich` ones add what users
send beside it: titles and descriptions in other scripts, control and bidi characters,
x_ extensions with nested values, unknown attributes, aliases and large numbers.
"""

from __future__ import annotations

import random

ODD_TEXT = [
    "Piracy off Aceh — 海賊",
    "北朝鮮のミサイル",
    "tab\tand\nnewline",
    "bidi \u202eevil\u202c",
    "C1 \x85 next line",
    "DEL \x7f",
    "line\u2028separator",
    "=cmd|' /C calc'!A0",
    'quote " and \\',
    "emoji 🚢",
    "",
]


def descriptors(rulebase, n: int, seed: int = 2002, rich: bool = False) -> list[dict]:
    """n descriptors drawn from the rule base's vocabulary (the same every run for one seed)."""
    rnd = random.Random(seed)
    cat = rulebase.catalog
    v = cat.vocabulary
    states = sorted(cat.state_groups["east_asia"]) + ["USA", "RUS", "AUS", "IND"]
    out = []
    for i in range(n):
        d = {
            "id": f"gen-{i}",
            "type": rnd.choice(list(v.types)),
            "region": rnd.choice([*v.regions, None]),
            "states": rnd.sample(states, rnd.randint(0, 4)),
            "targets": rnd.sample(list(v.targets), rnd.randint(0, 3)),
            "actor": rnd.choice(list(v.actors)),
            "severity": rnd.choice(list(v.severities)),
            "attributes": {a: True for a in rnd.sample(list(v.attributes), rnd.randint(0, 3))},
        }
        if rich:
            if rnd.random() < 0.5:
                d["title"] = rnd.choice(ODD_TEXT)
            if rnd.random() < 0.3:
                d["description"] = " ".join(rnd.sample(ODD_TEXT, 3))
            if rnd.random() < 0.3:
                d["x_source"] = {
                    "feed": rnd.choice(ODD_TEXT),
                    "score": rnd.choice([0, -1, 2**40, 10**25, 0.5, 1e-7]),
                    "tags": [rnd.choice(ODD_TEXT), None, True],
                }
            if rnd.random() < 0.2:
                d["attributes"][rnd.choice(["Unknown Flag", "x-ray", "attribute with space"])] = rnd.random() < 0.5
            if rnd.random() < 0.2:
                d["states"] = d["states"] + [rnd.choice(["Japan", "north korea", "ROK", "jp"])]
        out.append(d)
    return out


def strategy(vocabulary, states: list[str], max_states: int):
    """A hypothesis strategy of valid descriptors over the vocabulary (a type; the rest optional)."""
    from hypothesis import strategies as st

    return st.fixed_dictionaries(
        {"type": st.sampled_from(sorted(vocabulary.types))},
        optional={
            "region": st.sampled_from(sorted(vocabulary.regions)),
            "states": st.lists(st.sampled_from(states), max_size=max_states, unique=True),
            "targets": st.lists(st.sampled_from(sorted(vocabulary.targets)), max_size=4, unique=True),
            "actor": st.sampled_from(sorted(vocabulary.actors)),
            "severity": st.sampled_from(sorted(vocabulary.severities)),
            "attributes": st.dictionaries(st.sampled_from(sorted(vocabulary.attributes)), st.booleans(), max_size=5),
        },
    )
