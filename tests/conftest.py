"""Shared fixtures: the shipped rule base, an assess helper and one CLI invoke helper."""

from __future__ import annotations

import json
import os
import tempfile
import traceback
from pathlib import Path

# the rule-base cache of a test run stays out of the user's ~/.cache (subprocesses inherit this)
os.environ.setdefault("ADVISOR_CACHE_DIR", tempfile.mkdtemp(prefix="advisor-test-cache-"))

import pytest
from click.testing import CliRunner

import advisor
from advisor.cli import main

ROOT = Path(__file__).resolve().parents[1]
THREATS = ROOT / "threats"
DATA = Path(__file__).resolve().parent / "data"
# a verbatim span of the document, for the rules that tests write (a document rule needs one)
QUOTE = "To address these threats, new frameworks beyond existing security mechanisms"


def pytest_addoption(parser):
    parser.addoption(
        "--regen-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current rule base; prints what changed in each file (review the diff!)",
    )


# What --regen-golden changed: (golden file, a line saying what changed, or None when nothing did),
# appended by tests/test_golden.py and printed after the run, where pytest's capture cannot hide it.
GOLDEN_CHANGES = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    changes = config.stash.get(GOLDEN_CHANGES, None)
    if changes is None:
        return
    terminalreporter.section("golden files regenerated")
    for name, line in changes:
        if line is not None:
            terminalreporter.write_line(f"{name}: {line}")
    unchanged = sum(line is None for _, line in changes)
    terminalreporter.write_line(f"{len(changes) - unchanged} changed, {unchanged} unchanged")


@pytest.fixture(scope="session")
def rulebase():
    return advisor.load_rulebase()


@pytest.fixture(scope="session")
def assess_raw(rulebase):
    """Assess a descriptor given as a dict."""

    def run(raw: dict):
        return advisor.assess(advisor.parse_threat(raw, rulebase), rulebase)

    return run


@pytest.fixture()
def invoke():
    """Run the real CLI; fail with the traceback if it raised something unexpected."""
    runner = CliRunner()

    def run(args: list[str], exit_code: int = 0, input: str | bytes | None = None):
        result = runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise AssertionError("".join(traceback.format_exception(*result.exc_info)))
        assert result.exit_code == exit_code, (result.exit_code, result.output, result.stderr)
        return result

    return run


def threat_files() -> list[Path]:
    return sorted(THREATS.glob("*.json"))


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


# Rules whose part supports another body's lead (their `because` says so), with that body: the
# lead must be in the same answer (tests/test_rulefiles.py by structure, tests/test_fuzz.py by trial).
SUPPORTS_THE_LEAD_OF = {
    "r02-diplomacy-in-defense": "defense_agency",
    "r12-energy-ministry-under-attack": "maritime_safety_agency",
    "r13-trafficking-immigration": "national_police_agency",
    "r10-cyber-attack-on-defense-networks": "national_police_agency",
}
