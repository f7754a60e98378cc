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
