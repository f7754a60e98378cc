"""scripts/coverage-gate.py, CI's coverage gate, can fail: below 90% in all or 85% in a module it
exits 1 naming each shortfall, at or above both it passes, and a report it cannot read fails it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GATE = Path(__file__).resolve().parents[1] / "scripts" / "coverage-gate.py"


def summary(lines: int, covered_lines: int, branches: int = 0, covered_branches: int = 0) -> dict:
    """A file's (or the totals') summary as `coverage json` writes it with branch coverage on."""
    return {
        "num_statements": lines,
        "covered_lines": covered_lines,
        "missing_lines": lines - covered_lines,
        "num_branches": branches,
        "covered_branches": covered_branches,
        "missing_branches": branches - covered_branches,
        "percent_covered": 100.0 * (covered_lines + covered_branches) / ((lines + branches) or 1),
    }


def report(files: dict[str, dict]) -> dict:
    totals = {
        k: sum(f[k] for f in files.values())
        for k in ("num_statements", "covered_lines", "num_branches", "covered_branches")
    }
    return {
        "meta": {"format": 3, "branch_coverage": True},
        "files": {name: {"summary": s} for name, s in files.items()},
        "totals": summary(
            totals["num_statements"], totals["covered_lines"], totals["num_branches"], totals["covered_branches"]
        ),
    }


def gate(tmp_path: Path, data, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "coverage.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return subprocess.run([sys.executable, str(GATE), str(path), *args], capture_output=True, text=True, timeout=60)


def test_passes_at_and_above_both_bars(tmp_path):
    files = {
        "src/advisor/a.py": summary(80, 72, 20, 13),  # (72 + 13) / 100: exactly 85%
        "src/advisor/b.py": summary(900, 890, 100, 96),  # 98.6%
        "src/advisor/empty.py": summary(0, 0),  # nothing to cover counts as covered
    }
    run = gate(tmp_path, report(files))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "coverage gate: passed: 97.4% in all (at least 90%), every module at least 85% (3 modules)\n"
    assert run.stderr == ""


def test_fails_for_one_module_below_its_bar(tmp_path):
    files = {
        "src/advisor/a.py": summary(80, 72, 20, 12),  # 84%: one branch short
        "src/advisor/b.py": summary(1900, 1890, 100, 96),
    }
    run = gate(tmp_path, report(files))
    assert run.returncode == 1
    assert run.stderr == "coverage gate: FAILED (1 under the bar)\n  src/advisor/a.py: 84.0% < 85%\n"
    assert run.stdout == ""


def test_fails_for_the_total_with_every_module_above_its_bar(tmp_path):
    files = {f"src/advisor/m{n}.py": summary(100, 80, 100, 95) for n in range(3)}  # 87.5% each, and in all
    run = gate(tmp_path, report(files))
    assert run.returncode == 1
    assert run.stderr == "coverage gate: FAILED (1 under the bar)\n  total: 87.5% < 90%\n"


def test_names_every_offender_lowest_first(tmp_path):
    files = {
        "src/advisor/ok.py": summary(100, 100),
        "src/advisor/low.py": summary(100, 50),
        "src/advisor/lower.py": summary(10, 2, 10, 2),
    }
    run = gate(tmp_path, report(files))
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "coverage gate: FAILED (3 under the bar)",
        "  total: 70.0% < 90%",  # (100 + 50 + 4) / 220
        "  src/advisor/lower.py: 20.0% < 85%",
        "  src/advisor/low.py: 50.0% < 85%",
    ]


def test_branches_count_not_only_lines(tmp_path):
    files = {"src/advisor/a.py": summary(100, 100, 100, 50)}  # every line run, half the branches taken
    run = gate(tmp_path, report(files))
    assert run.returncode == 1 and "src/advisor/a.py: 75.0% < 85%" in run.stderr


def test_bars_can_be_set(tmp_path):
    files = {"src/advisor/a.py": summary(100, 80)}
    assert gate(tmp_path, report(files), "--total", "80", "--module", "80").returncode == 0
    run = gate(tmp_path, report(files), "--total", "80", "--module", "80.5")
    assert run.returncode == 1 and "src/advisor/a.py: 80.0% < 80.5%" in run.stderr


def test_a_run_that_measured_nothing_fails(tmp_path):
    run = gate(tmp_path, report({}))
    assert run.returncode == 1
    assert "no file was measured: was the suite run with coverage on (pytest --cov)?" in run.stderr


@pytest.mark.parametrize("data", ["not json", "{}", '{"files": {"a.py": {}}, "totals": {}}'])
def test_a_report_it_cannot_read_fails(tmp_path, data):
    run = gate(tmp_path, data)
    assert run.returncode == 2
    assert run.stderr.startswith(f"coverage gate: {tmp_path}/coverage.json: cannot be read as a coverage JSON report: ")


def test_a_missing_report_fails(tmp_path):
    run = subprocess.run([sys.executable, str(GATE), str(tmp_path / "none.json")], capture_output=True, text=True)
    assert run.returncode == 2 and "cannot be read as a coverage JSON report" in run.stderr
