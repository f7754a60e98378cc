"""Reports for CI systems: policy tests as JUnit XML, `rules check` findings as SARIF and GitHub annotations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .json import to_json
from .safe import annotation_data, annotation_property, xml_text

if TYPE_CHECKING:
    from ..analysis import Finding
    from ..policy import Result


def policy_junit(results: list[Result]) -> str:
    """Policy test results as JUnit XML (one testsuite per case file), as CI systems read it."""
    import xml.etree.ElementTree as ET

    suites = ET.Element(
        "testsuites",
        name="advisor policy tests",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
    )
    by_file: dict[str, list[Result]] = {}
    for r in results:
        by_file.setdefault(r.case.path, []).append(r)
    for path, group in by_file.items():
        suite = ET.SubElement(
            suites, "testsuite", name=path, tests=str(len(group)), failures=str(sum(not r.passed for r in group))
        )
        for r in group:
            case = ET.SubElement(
                suite, "testcase", classname=path, name=xml_text(r.case.name), file=path, line=str(r.case.line)
            )
            if r.error:
                ET.SubElement(case, "failure", message=xml_text(r.error), type="error").text = xml_text(r.error)
            elif r.mismatches:
                lines = [f"{m.what}: expected {m.expected}, got {m.actual}" for m in r.mismatches]
                ET.SubElement(case, "failure", message=xml_text(lines[0]), type="mismatch").text = xml_text(
                    "\n".join(lines)
                )
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def findings_sarif(findings: list[Finding], rules_dir: str) -> str:
    """`rules check` findings as SARIF 2.1.0, which code-scanning tools (GitHub's among them) display."""
    rules = sorted({f.code for f in findings})
    results = []
    for f in findings:
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": f.path or rules_dir}}}
        if f.line:
            location["physicalLocation"]["region"] = {"startLine": f.line}
        results.append(
            {
                "ruleId": f.code,
                "level": "error" if f.level == "error" else "warning",
                "message": {"text": (f"{f.rule}: " if f.rule else "") + f.message},
                "locations": [location],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "advisor rules check",
                        "informationUri": "https://pypi.org/project/jfir-advisor/",
                        "rules": [{"id": code} for code in rules],
                    }
                },
                "results": results,
            }
        ],
    }
    return to_json(sarif)


def findings_github(findings: list[Finding]) -> str:
    """`rules check` findings as GitHub Actions workflow commands (annotations on the lines of the rule files)."""
    lines = []
    for f in findings:
        where = f"file={annotation_property(f.path)}" + (f",line={f.line}" if f.line else "")
        title = annotation_property(f"advisor {f.code}")
        lines.append(
            f"::{'error' if f.level == 'error' else 'warning'} {where},title={title}::"
            f"{annotation_data((f.rule + ': ' if f.rule else '') + f.message)}"
        )
    return "\n".join(lines) + ("\n" if lines else "")
