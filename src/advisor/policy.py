"""Policy test cases in YAML: loading, checking an assessment against them, coverage and mutants.

A case file:

    about: what the cases check
    rules: ../../rules              # optional: the rule base, relative to this file
    cases:
      - name: piracy in the Malacca Strait brings the maritime-security regime
        because: the sea lanes' security is rec 12's ...   # optional: the reasoning, shown when the case fails
        threat: ../../threats/malacca_piracy.json   # a path relative to this file, or a mapping
        expect:
          frameworks: [wpns, imb_kuala_lumpur]      # must be present (shorthand for include)
          agencies: {include: [maritime_safety_agency], exclude: [defense_agency]}
          recommendations: {exact: [3, 12, 14]}
          roles: {maritime_safety_agency: lead}
          measures: [open_to_states_beyond_east_asia]
          because: {wpns: [12]}                     # what must justify an output
          basis: {wpns: document}                   # an item's basis (an agency's: its taking part)
          role_basis: {maritime_safety_agency: general_knowledge}  # the basis of an agency's role
          notes: [outside East Asia]                # text some note must contain
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError, ValidationInfo, field_validator, model_validator

from .catalog import Strict
from .errors import AdvisorError, PolicyFileError, nearest
from .loading import shared_rulebase
from .models import Assessment
from .rules import Rulebase
from .source import line_of, read_json, read_yaml

EXPECTABLE = ("recommendations", "frameworks", "states", "agencies", "caveats", "measures", "derived")  # catalog.KINDS


class SetExpect(Strict):
    """What must be in an output list, what must not, or the exact set."""

    include: list[str] = []
    exclude: list[str] = []
    exact: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"include": value}
        return value

    @field_validator("include", "exclude", "exact", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return None if value is None else [str(v) for v in value]


class Expect(Strict):
    recommendations: SetExpect | None = None
    frameworks: SetExpect | None = None
    states: SetExpect | None = None
    agencies: SetExpect | None = None
    caveats: SetExpect | None = None
    measures: SetExpect | None = None
    derived: SetExpect | None = None
    roles: dict[str, str] = {}
    because: dict[str, list[int]] = {}
    basis: dict[str, Literal["document", "general_knowledge"]] = {}
    role_basis: dict[str, Literal["document", "general_knowledge"]] = {}
    notes: list[str] = []

    @model_validator(mode="after")
    def _known_ids(self, info: ValidationInfo) -> Expect:
        assert info.context is not None  # cases are always validated with their catalog
        catalog = info.context["catalog"]
        pools = {
            "recommendations": [str(n) for n in catalog.recommendations],
            "frameworks": catalog.frameworks,
            "states": catalog.states,
            "agencies": catalog.agencies,
            "caveats": catalog.caveats,
            "measures": catalog.measures,
            "derived": catalog.vocabulary.derived,
        }
        for kind in EXPECTABLE:
            exp = getattr(self, kind)
            for ref in (exp.include + exp.exclude + (exp.exact or [])) if exp else []:
                if ref not in pools[kind]:
                    raise ValueError(f"{kind}: unknown id '{ref}' (did you mean {nearest(ref, pools[kind])}?)")
        for agency in self.role_basis:
            if agency not in catalog.agencies:
                raise ValueError(
                    f"role_basis: unknown agency '{agency}' (did you mean {nearest(agency, catalog.agencies)}?)"
                )
        for agency, role in self.roles.items():
            if agency not in catalog.agencies:
                raise ValueError(
                    f"roles: unknown agency '{agency}' (did you mean {nearest(agency, catalog.agencies)}?)"
                )
            if role not in catalog.vocabulary.roles:
                raise ValueError(
                    f"roles: {agency}: unknown role '{role}' (did you mean {nearest(role, catalog.vocabulary.roles)}?)"
                )
        everything = [*catalog.frameworks, *catalog.agencies, *catalog.states, *catalog.caveats, *catalog.measures]
        for ref in self.basis:
            if ref not in everything and ref not in [str(n) for n in catalog.recommendations]:
                raise ValueError(f"basis: unknown id '{ref}' (did you mean {nearest(ref, everything)}?)")
        for ref, numbers in self.because.items():
            if ref not in everything:
                raise ValueError(f"because: unknown id '{ref}' (did you mean {nearest(ref, everything)}?)")
            for n in numbers:
                if n not in catalog.recommendations:
                    raise ValueError(f"because: {ref}: there is no recommendation {n}")
        return self


class CaseModel(Strict):
    name: str
    because: str | None = None  # the reasoning behind the expectation, in words
    threat: str | dict[str, Any]
    expect: Expect


class CaseFileModel(Strict):
    about: str | None = None
    rules: str | None = None
    cases: list[dict[str, Any]]


@dataclass
class Case:
    """One policy test case, ready to run."""

    name: str
    path: str
    line: int
    threat: dict[str, Any]
    threat_path: str
    expect: Expect
    rulebase: Rulebase
    because: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Mismatch:
    what: str
    expected: str
    actual: str


@dataclass
class Result:
    case: Case
    mismatches: list[Mismatch]
    assessment: Assessment | None = None
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.error


def is_case_file(path: Path) -> bool:
    """A YAML file whose top level has `cases:` (cheap check, before full parsing)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a named pipe must not hang discovery
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            head = fh.read(20_000).decode("utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith("cases:") for line in head.splitlines())


def discover(paths: list[str]) -> list[Path]:
    """Case files named or found under directories, in a stable order."""
    out: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(p.rglob("*.y*ml")):
                if f.suffix not in (".yaml", ".yml") or f.is_dir():
                    continue
                if not f.is_file():  # a pipe or a device where a case file could be: say so, never hang
                    from .source import kind_of

                    raise PolicyFileError(f"is {kind_of(os.stat(f).st_mode)}, not a regular file", path=str(f))
                if is_case_file(f):
                    out.append(f)
        elif p.exists():
            out.append(p)
        else:
            raise PolicyFileError("no such file or directory", path=str(p))
    return out


def load_cases(path: Path, rules_dir: str | None = None) -> list[Case]:
    """Every case of one file; every problem of the file is reported together with its line."""
    shown = str(path)
    data = read_yaml(path, error=PolicyFileError)
    try:
        top = CaseFileModel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise PolicyFileError(
            msg, path=shown, loc=".".join(map(str, err["loc"])), line=line_of(data, err["loc"][:1])
        ) from None
    if rules_dir is None and top.rules:
        rules_dir = str((path.parent / top.rules).resolve())
    rulebase = shared_rulebase(rules_dir)
    cases, problems = [], []
    for i, raw in enumerate(data["cases"]):
        line = getattr(raw, "line", None) or line_of(data, ("cases", i))
        try:
            model = CaseModel.model_validate(raw, context={"catalog": rulebase.catalog})
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if p not in ("str", "dict[str,any]"))
                msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
                name = raw.get("name", f"case {i + 1}") if isinstance(raw, dict) else f"case {i + 1}"
                problems.append(
                    PolicyFileError(
                        msg, path=shown, line=line_of(raw, loc) or line, loc=f"{name}: {'.'.join(map(str, loc))}"
                    )
                )
            continue
        if isinstance(model.threat, str):
            threat_path = path.parent / model.threat
            try:
                threat = read_json(threat_path)
            except AdvisorError as exc:  # a missing or broken descriptor is this case's problem
                problems.append(PolicyFileError(f"threat: {exc}", path=shown, line=line, loc=model.name))
                continue
            shown_threat = str(threat_path)
        else:
            threat, shown_threat = dict(model.threat), f"{shown}:{line}"
        cases.append(Case(model.name, shown, line or 0, threat, shown_threat, model.expect, rulebase, model.because))
    if problems:
        raise PolicyFileError("invalid policy test file", path=shown, problems=problems)
    return cases


# --- checking one case -----------------------------------------------------------------


def actual_sets(a: Assessment) -> dict[str, list[str]]:
    return {
        "recommendations": [str(r.number) for r in a.recommendations],
        "frameworks": [f.id for f in a.frameworks],
        "states": [s.code for s in a.states],
        "agencies": [g.id for g in a.agencies],
        "caveats": [c.id for c in a.caveats],
        "measures": [m.id for m in a.measures],
        "derived": list(a.nature.derived),
    }


def compare(expect: Expect, a: Assessment) -> list[Mismatch]:
    """Every way the assessment differs from what the case expects."""
    out: list[Mismatch] = []
    actual = actual_sets(a)
    for kind in EXPECTABLE:
        exp: SetExpect | None = getattr(expect, kind)
        if exp is None:
            continue
        got = actual[kind]
        missing = [x for x in exp.include if x not in got]
        if missing:
            out.append(Mismatch(kind, "include " + ", ".join(missing), "absent"))
        present = [x for x in exp.exclude if x in got]
        if present:
            out.append(Mismatch(kind, "exclude " + ", ".join(present), "present"))
        if exp.exact is not None and sorted(exp.exact) != sorted(got):
            extra = sorted(set(got) - set(exp.exact))
            lacking = sorted(set(exp.exact) - set(got))
            detail = "; ".join(
                p
                for p in (
                    f"missing {', '.join(lacking)}" if lacking else "",
                    f"unexpected {', '.join(extra)}" if extra else "",
                )
                if p
            )
            out.append(Mismatch(kind, "exactly " + ", ".join(exp.exact), ", ".join(got) + f" ({detail})"))
    roles = {g.id: g.role for g in a.agencies}
    for agency, role in expect.roles.items():
        if roles.get(agency) != role:
            out.append(Mismatch("roles", f"{agency} {role}", f"{agency} {roles.get(agency, 'absent')}"))
    justified: dict[str, list[int]] = {}
    for framework in a.frameworks:
        justified[framework.id] = framework.recommendations
    for agency_out in a.agencies:
        justified[agency_out.id] = agency_out.recommendations
    for s in a.states:
        justified[s.code] = s.recommendations
    for r in [*a.caveats, *a.measures]:
        justified[r.id] = r.recommendations
    for ref, numbers in expect.because.items():
        have = justified.get(ref)
        if have is None or not set(numbers) <= set(have):
            out.append(
                Mismatch(
                    "because",
                    f"{ref} justified by {numbers}",
                    "absent" if have is None else f"{ref} justified by {have}",
                )
            )
    bases = {str(r.number): r.basis for r in a.recommendations}
    bases.update({x.id: x.basis for x in a.frameworks})
    bases.update({x.id: x.basis for x in [*a.caveats, *a.measures]})
    bases.update({s.code: s.basis for s in a.states})
    bases.update({g.id: g.basis for g in a.agencies})  # an agency's part in the answer
    for ref, basis in expect.basis.items():
        if bases.get(ref) != basis:
            out.append(Mismatch("basis", f"{ref} {basis}", f"{ref} {bases.get(ref, 'absent')}"))
    role_bases = {g.id: g.role_basis for g in a.agencies}  # the basis of its strongest role
    for ref, basis in expect.role_basis.items():
        if role_bases.get(ref) != basis:
            out.append(Mismatch("role_basis", f"{ref} {basis}", f"{ref} {role_bases.get(ref, 'absent')}"))
    for text in expect.notes:
        if not any(text in note for note in a.notes):
            out.append(Mismatch("notes", f"a note with '{text}'", "; ".join(a.notes) or "no notes"))
    return out


def run_case(case: Case, rulebase: Rulebase | None = None) -> Result:
    """Assess the case's threat (with its own rule base, or the one given) and compare."""
    from .errors import AdvisorError
    from .models import parse_descriptor
    from .stages import assess_threat

    rb = rulebase or case.rulebase
    default_id = Path(case.threat_path).stem if case.threat_path.endswith(".json") else "case"
    try:
        threat = parse_descriptor(case.threat, rb.catalog, path=case.threat_path, default_id=default_id)
        a = assess_threat(threat, rb)
    except AdvisorError as exc:
        return Result(case, [], None, exc.render())
    return Result(case, compare(case.expect, a), a)


def run_cases(cases: list[Case]) -> list[Result]:
    """Run every case, each with its own rule base."""
    return [run_case(c) for c in cases]


# --- coverage ------------------------------------------------------------------------------


@dataclass
class Coverage:
    rules: dict[str, bool]
    recommendations: dict[int, bool]
    frameworks: dict[str, bool]
    agencies: dict[str, bool]

    def percent(self, what: str) -> float:
        table = getattr(self, what)
        return 100.0 * sum(table.values()) / len(table) if table else 100.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for what in ("rules", "recommendations", "frameworks", "agencies"):
            table = getattr(self, what)
            out[what] = {
                "covered": sum(table.values()),
                "total": len(table),
                "percent": round(self.percent(what), 1),
                "items": {str(k): v for k, v in table.items()},
            }
        return out


def coverage(results: list[Result], rulebase: Rulebase) -> Coverage:
    """What the suite exercised: rules fired, recommendations reached, frameworks and agencies produced."""
    fired, recs, fws, ags = set(), set(), set(), set()
    for r in results:
        if r.assessment is None or r.case.rulebase.digest != rulebase.digest:
            continue
        fired |= {e.rule for e in r.assessment.trace}
        recs |= {x.number for x in r.assessment.recommendations}
        fws |= {f.id for f in r.assessment.frameworks}
        ags |= {g.id for g in r.assessment.agencies}
    cat = rulebase.catalog
    return Coverage(
        rules={r.id: r.id in fired for r in rulebase.rules},
        recommendations={n: n in recs for n in cat.recommendations},
        frameworks={f: f in fws for f in cat.frameworks},
        agencies={g: g in ags for g in cat.agencies},
    )


# --- mutation testing ------------------------------------------------------------------------


@dataclass
class Mutant:
    """A rule base with one rule, or every rule citing one recommendation, switched off."""

    name: str
    recommendations: list[int]
    removed: list[str]
    killed_by: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return not self.killed_by


def mutants(cases: list[Case], rulebase: Rulebase) -> list[Mutant]:
    """Run the cases of `rulebase` against each mutant; a mutant is killed when some case fails."""
    from .chaining import release

    mine = [c for c in cases if c.rulebase.digest == rulebase.digest]
    plan = [Mutant(f"rule {r.id}", r.numbers, [r.id]) for r in rulebase.rules]
    for number in sorted(rulebase.catalog.recommendations):
        citing = [r.id for r in rulebase.rules if number in r.numbers]
        if citing:
            plan.append(Mutant(f"recommendation {number}", [number], citing))
    for m in plan:
        mutant = rulebase.without(set(m.removed))
        for case in mine:
            if not run_case(case, mutant).passed:
                m.killed_by.append(f"{case.where} {case.name}")
                break
        release(mutant.digest)  # its rulesets would otherwise stay in the engine for the process's life
    return plan


def strength(plan: list[Mutant], rulebase: Rulebase) -> dict[int, tuple[int, int]]:
    """Per recommendation: (mutants killed, mutants) among those that touch it."""
    out: dict[int, tuple[int, int]] = {}
    for number in sorted(rulebase.catalog.recommendations):
        touching = [m for m in plan if number in m.recommendations]
        out[number] = (sum(not m.survived for m in touching), len(touching))
    return out
