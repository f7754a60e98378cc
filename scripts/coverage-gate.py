"""Fail when branch coverage is below 90% in all or 85% in any one module of advisor.

    python scripts/coverage-gate.py build/coverage.json            # what .ci/run does
    python scripts/coverage-gate.py coverage.json --total 90 --module 85

Reads the JSON report of the combined data (`pytest --cov --cov-report=json:PATH`, or
`coverage combine && coverage json -o PATH`), in which each percentage counts lines and
branches together. Prints each shortfall (the total, then the modules, lowest first) and exits
1; or one line and exits 0; a report it cannot read exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TOTAL = 90.0
MODULE = 85.0


def percent(summary: dict) -> float:
    """Lines and branches covered, out of all of them, in percent (100 for a file with neither)."""
    covered = summary["covered_lines"] + summary.get("covered_branches", 0)
    counted = summary["num_statements"] + summary.get("num_branches", 0)
    return 100.0 * covered / counted if counted else 100.0


def offenders(report: dict, total: float = TOTAL, module: float = MODULE) -> list[str]:
    """One line per shortfall: the total first, then each module under its bar, lowest first."""
    if "files" not in report or "totals" not in report:
        raise ValueError("not a coverage JSON report (no 'files' and 'totals')")
    if not report["files"]:
        return ["no file was measured: was the suite run with coverage on (pytest --cov)?"]
    out = []
    whole = percent(report["totals"])
    if whole < total:
        out.append(f"total: {whole:.1f}% < {total:g}%")
    low = sorted(
        (percent(data["summary"]), name) for name, data in report["files"].items() if percent(data["summary"]) < module
    )
    out.extend(f"{name}: {value:.1f}% < {module:g}%" for value, name in low)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="coverage JSON report of the combined data")
    parser.add_argument("--total", type=float, default=TOTAL, help="least total branch coverage, percent")
    parser.add_argument("--module", type=float, default=MODULE, help="least branch coverage of every module, percent")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        short = offenders(report, args.total, args.module)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"coverage gate: {args.report}: cannot be read as a coverage JSON report: {exc}", file=sys.stderr)
        return 2
    if short:
        print(f"coverage gate: FAILED ({len(short)} under the bar)", file=sys.stderr)
        for line in short:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(
        f"coverage gate: passed: {percent(report['totals']):.1f}% in all (at least {args.total:g}%), "
        f"every module at least {args.module:g}% ({len(report['files'])} modules)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
