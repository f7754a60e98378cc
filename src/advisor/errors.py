"""Every error advisor raises on purpose: one root, an input family and an authoring family."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class AdvisorError(Exception):
    """Root of advisor's own errors; `exit_code` is what the CLI exits with."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        loc: str | None = None,
        line: int | None = None,
        value: object = None,
        suggestion: str | None = None,
        problems: Sequence[AdvisorError] | None = None,
    ):
        self.message = message
        self.path = path
        self.loc = loc
        self.line = line
        self.value = value
        self.suggestion = suggestion
        self.problems = list(problems or [])
        super().__init__(self.render())

    def where(self) -> str:
        """The `file:line: field` prefix of the message, for whatever is known."""
        head = self.path or ""
        if self.line is not None:
            head = f"{head}:{self.line}" if head else f"line {self.line}"
        parts = [p for p in (head, self.loc) if p]
        return ": ".join(parts)

    def render(self) -> str:
        if self.problems:
            return "\n".join(p.render() for p in self.problems)
        text = self.message
        if self.suggestion:
            text += f" (did you mean {self.suggestion}?)"
        where = self.where()
        return f"{where}: {text}" if where else text

    def __str__(self) -> str:
        return self.render()


# --- input: descriptors and files a user hands to a command ---------------------


class InputError(AdvisorError):
    """Something the user gave us is unusable (exit 2)."""


class DescriptorError(InputError):
    """A threat descriptor is invalid; may hold several problems of one file."""


class FileReadError(InputError):
    """A file is missing, unreadable, not UTF-8 or not well-formed JSON/YAML."""


class PolicyFileError(InputError):
    """A policy test file is invalid (unknown key, unknown id, missing threat)."""


# --- authoring: rule files and the catalog ------------------------------------


class AuthoringError(AdvisorError):
    """A rule file or catalog file is invalid (refused at load time, exit 2)."""


class RuleFileError(AuthoringError):
    """A rule file breaks the rule language; may hold several problems."""


class CatalogError(AuthoringError):
    """The catalog (knowledge base) is inconsistent."""


# --- the environment: files, devices, settings, the terminal ---------------------


class EnvironmentProblem(AdvisorError):
    """The machine refused what advisor needed: a directory, a permission, disk space, a setting (exit 2)."""


class OutputError(EnvironmentProblem):
    """An output could not be written; nothing partial is left behind."""


class SettingError(EnvironmentProblem):
    """An environment variable advisor reads holds an unusable value."""


# --- faults --------------------------------------------------------------------


class EngineError(AdvisorError):
    """The rule engine failed or cannot be loaded."""

    exit_code = 3


class EngineUnavailable(EngineError):
    """durable-rules cannot be imported on this Python."""

    exit_code = 2


# --- warnings: advisor goes on, and says what it did instead -----------------------


class AdvisorWarning(UserWarning):
    """Root of advisor's warnings; the CLI prints them as `advisor: warning: ...`."""


class CacheWarning(AdvisorWarning):
    """The rule-base cache cannot be used safely; advisor runs without it."""


def clip(value: object, limit: int = 60) -> str:
    """A value short enough to quote in a message."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def suggest(value: object, choices: Iterable[str], n: int = 3) -> str | None:
    """The closest valid values to `value` (the best and any nearly as close), quoted, or None."""
    pool = sorted(set(choices))
    text = str(value).strip().lower()[:200]
    scored = sorted(((difflib.SequenceMatcher(None, text, c.lower()).ratio(), c) for c in pool), reverse=True)
    close = [c for score, c in scored[:n] if score >= 0.6 and score >= scored[0][0] - 0.05]
    if not close:
        close = [c for c in pool if text and (text in c.lower() or c.lower() in text)][:n]
    if not close:
        return None
    return " or ".join(f"'{c}'" for c in close)


def nearest(value: object, choices: Iterable[str]) -> str:
    """One `(did you mean ..?)` suffix or a short list of valid values."""
    hint = suggest(value, choices)
    if hint:
        return hint
    pool = sorted(set(choices))
    shown = ", ".join(f"'{c}'" for c in pool[:6])
    return f"one of {shown}{', ...' if len(pool) > 6 else ''}"
