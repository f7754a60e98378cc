"""Golden JSON for every example in threats/.

When a rule changes on purpose, regenerate and review the diff:

    pytest tests/test_golden.py --regen-golden && git diff tests/golden
"""

import pytest

import advisor
from advisor.render import to_json

from conftest import ROOT, threat_files

GOLDEN = ROOT / "tests" / "golden"


@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_golden(path, rulebase, request):
    out = to_json(advisor.assess(advisor.load_threat(path, rulebase), rulebase))
    golden = GOLDEN / f"{path.stem}.json"
    if request.config.getoption("--regen-golden"):
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file for {path.name}: run pytest tests/test_golden.py --regen-golden"
    assert out == golden.read_text(encoding="utf-8")


def test_no_stale_golden_files():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(p.stem for p in threat_files())


CORPUS = GOLDEN / "corpus.sha256"


def _corpus_lines(rulebase):
    from advisor.batch import Item, assess_line

    from corpus import descriptors

    for i, raw in enumerate(descriptors(rulebase, 400, seed=11, rich=True)):
        line, ok = assess_line(Item("corpus", raw=raw, line=i + 1, default_id=f"c{i}"), rulebase)
        assert ok, line
        yield raw["id"], line


def test_generated_corpus_lines_are_unchanged(rulebase, request):
    """400 generated descriptors (odd text, x_ fields, big numbers, aliases): each batch line's digest,
    so that a faster output path is checked to write the very bytes the slower one wrote."""
    import hashlib

    got = [f"{hashlib.sha256(line.encode()).hexdigest()[:32]} {id_}" for id_, line in _corpus_lines(rulebase)]
    if request.config.getoption("--regen-golden"):
        CORPUS.write_text("\n".join(got) + "\n", encoding="utf-8")
    changed = [g.split()[1] for g, w in zip(got, CORPUS.read_text(encoding="utf-8").splitlines()) if g != w]
    assert not changed, f"{len(changed)} of {len(got)} lines changed, first {changed[:5]}"


@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_batch_line_is_what_the_models_say(path, rulebase):
    """The batch line, built without the models, and the models' own JSON are the same bytes."""
    from advisor.engine import assess_json
    from advisor.render import json_safe

    threat = advisor.load_threat(path, rulebase).model_copy(update={"injects": []})
    a = advisor.assess(threat, rulebase)
    assert assess_json(threat, rulebase) == json_safe(a.model_dump_json(exclude={"stages", "since_2002"}))


def test_batch_line_is_what_the_models_say_on_odd_input(rulebase):
    from advisor.engine import assess_json
    from advisor.render import json_safe

    from corpus import descriptors

    for raw in descriptors(rulebase, 60, seed=3, rich=True):
        threat = advisor.parse_threat(raw, rulebase)
        expected = json_safe(advisor.assess(threat, rulebase).model_dump_json(exclude={"stages", "since_2002"}))
        assert assess_json(threat, rulebase) == expected, raw
