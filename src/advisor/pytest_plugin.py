"""pytest plugin: collects policy case files (test_*.yaml with a `cases:` list), one item per case."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix in (".yaml", ".yml") and file_path.name.startswith("test_"):
        from .policy import is_case_file

        if is_case_file(file_path):
            return PolicyFile.from_parent(parent, path=file_path)
    return None


class PolicyFile(pytest.File):
    def collect(self):
        from .policy import load_cases

        for case in load_cases(self.path):
            yield PolicyItem.from_parent(self, name=case.name, case=case)


class PolicyFailure(Exception):
    """A policy case did not hold; the message is advisor test's report."""


class PolicyItem(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        from .policy import run_case
        from .render.text import policy_failure

        result = run_case(self.case)
        if not result.passed:
            raise PolicyFailure(policy_failure(result))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, PolicyFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, self.case.line - 1, f"policy: {self.case.name}"
