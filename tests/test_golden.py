"""Golden JSON for every example in threats/, and the digests of 400 generated batch lines.

The golden files hold what advisor concludes, not which advisor and rule base concluded it:
the `advisor` block (version, rule-base digest, rule count) is left out of them, at the top
and in every stage, and checked on its own against `advisor.__version__` and the loaded rule
base, so a rule change alters only the golden files whose answers it alters. When a rule
changes on purpose, regenerate and review:

    .venv/bin/python -m pytest tests/test_golden.py --regen-golden && git diff tests/golden

Regenerating ends with a "golden files regenerated" section (pytest_terminal_summary in
conftest.py): one line per changed file, in the words of `advisor diff` (`+`/`-` conclusions
added or removed, `~ role of` a changed role, `~ details of` items kept but differently
justified, `~ also changed` the other parts that differ, such as the trace, `stage N:` a
stage's answer), then the count of changed and unchanged files, e.g.

    malacca_piracy.json: - recommendations: 7; + frameworks: wpns; ~ role of maritime_safety_agency: support -> lead
    korean_peninsula_escalation.json: ~ also changed: trace; stage 2: + caveats: collective_self_defense
    corpus.sha256: 1 of 400 lines changed (gen-3)
    3 changed, 29 unchanged
"""

import hashlib
import json

import pytest

import advisor
from advisor.diff import COMPARED, describe, diff_assessments, diff_threats
from advisor.render.json import to_json

from conftest import GOLDEN_CHANGES, ROOT, threat_files

GOLDEN = ROOT / "tests" / "golden"
META = "advisor"  # the assessment's key for which advisor and rule base made it


def without_meta(data: dict) -> dict:
    """The assessment data without its `advisor` block, at the top and in each stage."""
    data = {k: v for k, v in data.items() if k != META}
    if "stages" in data:
        data["stages"] = [{**s, "assessment": without_meta(s["assessment"])} for s in data["stages"]]
    return data


def _key(kind: str) -> str:
    return {"recommendations": "number", "states": "code"}.get(kind, "id")


def _parts(old: dict, new: dict) -> list[str]:
    """What changed from one assessment (or stage) to the other, as `describe` words it."""
    changes = diff_assessments(old, new)
    threat = diff_threats(old.get("threat") or {}, new.get("threat") or {})
    if threat:
        changes["threat"] = threat
    parts = describe(changes)
    for kind in COMPARED:  # items kept, but with other recommendations, rules, members...
        before = {str(x[_key(kind)]): x for x in old.get(kind, [])}
        after = {str(x[_key(kind)]): x for x in new.get(kind, [])}
        rerole = changes.get("roles", {}) if kind == "agencies" else {}
        detail = [i for i in after if i in before and before[i] != after[i] and i not in rerole]
        if detail:
            parts.append(f"~ details of {kind}: {', '.join(detail)}")
    skip = {"threat", "assessment", "stages", *COMPARED}
    also = [k for k in dict.fromkeys([*old, *new]) if k not in skip and old.get(k) != new.get(k)]
    if also:
        parts.append(f"~ also changed: {', '.join(also)}")
    old_stages, new_stages = old.get("stages") or [], new.get("stages") or []
    for before, after in zip(old_stages, new_stages):
        parts.extend(f"stage {after['stage']}: {p}" for p in _parts(before, after))
        parts.extend(f"stage {after['stage']}: {p}" for p in _parts(before["assessment"], after["assessment"]))
    parts.extend(f"+ stage {s['stage']}" for s in new_stages[len(old_stages) :])
    parts.extend(f"- stage {s['stage']}" for s in old_stages[len(new_stages) :])
    return parts


def what_changed(old: dict | None, new: dict) -> str | None:
    """One line saying what changed from the old golden data to the new, None when nothing did.
    Neither side's `advisor` block counts: it is no part of a golden file."""
    if old is None:
        return "new golden file"
    old, new = without_meta(old), without_meta(new)
    if old == new:
        return None
    return "; ".join(_parts(old, new))


@pytest.fixture(scope="module")
def assessments(rulebase):
    return {p.stem: advisor.assess(advisor.load_threat(p, rulebase), rulebase) for p in threat_files()}


@pytest.mark.slow
@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_golden(path, assessments, request):
    data = without_meta(assessments[path.stem].to_data())
    out = to_json(data)
    golden = GOLDEN / f"{path.stem}.json"
    if request.config.getoption("--regen-golden"):
        old = json.loads(golden.read_text(encoding="utf-8")) if golden.exists() else None
        golden.write_text(out, encoding="utf-8")
        request.config.stash.setdefault(GOLDEN_CHANGES, []).append((golden.name, what_changed(old, data)))
    assert golden.exists(), f"no golden file for {path.name}: run pytest tests/test_golden.py --regen-golden"
    assert out == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_meta_is_this_advisor_and_rule_base(path, assessments, rulebase):
    """What the golden files leave out: every answer, and every stage's, names this advisor and rule base."""
    data = assessments[path.stem].to_data()
    want = {"version": advisor.__version__, "rulebase": rulebase.digest[:16], "rules": len(rulebase.rules)}
    assert data[META] == want
    for stage in data.get("stages", []):
        assert stage["assessment"][META] == want, stage["stage"]


def test_no_stale_golden_files():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(p.stem for p in threat_files())


def test_what_changed_reports_a_deliberate_change(assessments):
    old = assessments["malacca_piracy"].to_data()
    new = json.loads(json.dumps(old))
    new["frameworks"] = [f for f in new["frameworks"] if f["id"] != "wpns"]
    new["recommendations"].append({**new["recommendations"][0], "number": 7})
    mas = next(g for g in new["agencies"] if g["id"] == "maritime_safety_agency")
    mas["role"] = "support"
    arf = next(f for f in new["frameworks"] if f["id"] == "arf")
    arf["rules"] = arf["rules"][:-1]
    new["trace"] = new["trace"][:-1]
    new[META] = {**new[META], "rulebase": "0" * 16}
    assert what_changed(old, new) == (
        "+ recommendations: 7; - frameworks: wpns; ~ role of maritime_safety_agency: lead -> support; "
        "~ details of frameworks: arf; ~ also changed: trace"
    )
    assert what_changed(old, json.loads(json.dumps(old))) is None
    assert what_changed(None, old) == "new golden file"


def test_what_changed_ignores_meta_and_reads_stages(assessments):
    old = assessments["cyber_escalation"].to_data()
    assert [s["stage"] for s in old["stages"]] == [1, 2, 3]
    new = json.loads(json.dumps(old))
    new[META]["rulebase"] = "0" * 16
    new["stages"][0]["assessment"][META]["version"] = "9.9.9"
    assert what_changed(old, new) is None
    first = new["stages"][0]["assessment"]
    first["frameworks"] = [f for f in first["frameworks"] if f["id"] != "hi_tech_crime_partnership"]
    new["stages"] = new["stages"][:2]
    assert what_changed(old, new) == "stage 1: - frameworks: hi_tech_crime_partnership; - stage 3"


CORPUS = GOLDEN / "corpus.sha256"


def _corpus_lines(rulebase):
    from advisor.batch import Item, assess_line

    from corpus import descriptors

    for i, raw in enumerate(descriptors(rulebase, 400, seed=11, rich=True)):
        line, ok = assess_line(Item("corpus", raw=raw, line=i + 1, default_id=f"c{i}"), rulebase)
        assert ok, line
        yield raw["id"], line


def corpus_meta(rulebase) -> str:
    """The `advisor` block of a batch line, byte for byte, as this advisor and rule base write it."""
    meta = {"version": advisor.__version__, "rulebase": rulebase.digest[:16], "rules": len(rulebase.rules)}
    return f'"{META}":{json.dumps(meta, separators=(",", ":"))}'


@pytest.mark.slow
def test_generated_corpus_lines_are_unchanged(rulebase, request):
    """400 generated descriptors (odd text, x_ fields, big numbers, aliases): each batch line's digest,
    so that a faster output path is checked to write the very bytes the slower one wrote. The digest
    is of the line without its `advisor` block, which must be there, written as corpus_meta says."""
    meta, blank = corpus_meta(rulebase), f'"{META}":{{}}'
    got = []
    for id_, line in _corpus_lines(rulebase):
        assert meta in line, (id_, line[-200:])
        got.append(f"{hashlib.sha256(line.replace(meta, blank).encode()).hexdigest()[:32]} {id_}")
    if request.config.getoption("--regen-golden"):
        old = CORPUS.read_text(encoding="utf-8").splitlines() if CORPUS.exists() else []
        CORPUS.write_text("\n".join(got) + "\n", encoding="utf-8")
        request.config.stash.setdefault(GOLDEN_CHANGES, []).append((CORPUS.name, corpus_changes(old, got)))
    want = CORPUS.read_text(encoding="utf-8").splitlines()
    problem = corpus_changes(want, got)
    assert problem is None, problem


def corpus_changes(old: list[str], new: list[str]) -> str | None:
    """Which lines of the corpus digests differ (by descriptor id), None when none does."""
    changed = [n.split()[-1] for o, n in zip(old, new) if o != n]
    changed += [line.split()[-1] for line in new[len(old) :]] + [line.split()[-1] for line in old[len(new) :]]
    if not changed:
        return None
    first = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "")
    return f"{len(changed)} of {len(new)} lines changed ({first})" + (
        f", {len(old)} lines before" if len(old) != len(new) else ""
    )


def test_corpus_changes_counts_missing_lines():
    lines = ["a1 gen-0", "b2 gen-1", "c3 gen-2"]
    assert corpus_changes(lines, lines) is None
    assert corpus_changes(lines[:1], lines) == "2 of 3 lines changed (gen-1, gen-2), 1 lines before"
    assert corpus_changes([], lines) == "3 of 3 lines changed (gen-0, gen-1, gen-2), 0 lines before"
    assert corpus_changes(["a1 gen-0", "xx gen-1", "c3 gen-2"], lines) == "1 of 3 lines changed (gen-1)"


def _batch_line(raw: dict, rulebase) -> str:
    from advisor.batch import Item, assess_line

    line, ok = assess_line(Item("test", raw=raw, line=1, default_id="test"), rulebase)
    assert ok, line
    return line


@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_batch_line_is_what_the_models_say(path, rulebase):
    """The batch line of a descriptor without injects, built without the models, and the models' own
    JSON are the same bytes."""
    from advisor.render.safe import json_safe

    raw = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k != "injects"}
    a = advisor.assess(advisor.parse_threat(raw, rulebase), rulebase)
    assert _batch_line(raw, rulebase) == json_safe(a.model_dump_json(exclude={"stages", "since_2002"}))


@pytest.mark.slow
def test_batch_line_is_what_the_models_say_on_odd_input(rulebase):
    from advisor.render.safe import json_safe

    from corpus import descriptors

    for raw in descriptors(rulebase, 60, seed=3, rich=True):
        a = advisor.assess(advisor.parse_threat(raw, rulebase), rulebase)
        assert _batch_line(raw, rulebase) == json_safe(a.model_dump_json(exclude={"stages", "since_2002"})), raw
