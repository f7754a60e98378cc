"""Static analysis of a rule base: when can a rule fire, and what can lead to a conclusion.

Each rule's conditions are expanded into disjunctive normal form over the descriptor
alone: `any` branches and `unless` become alternatives, and a condition on an earlier
conclusion (a derived fact, a framework, an agency) is replaced by the conditions of
the rules that can produce it. A clause is then checked field by field for a descriptor
that satisfies it. Conditions on counts ("three agencies") are taken as satisfiable.

The full expansion grows as a product and is cut at MAX_CLAUSES, so the checks that claim
something can or cannot happen (E301, W401, W402) and `query` use a search instead
(`Analyzer.find`, `Analyzer.solutions`): one satisfying clause at a time, with the most
constrained choice first, which is never cut short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import kind_named, word
from .compiler import Compiled, compile_rulebase
from .conditions import AtLeast, Concluded, Distinction, FlagsAny, ScalarIn, Space
from .rules import Rule, Rulebase, concludes

MAX_CLAUSES = 4000
SEARCH_BUDGET = 200_000
QUERY_ALTERNATIVES = 8


class _OutOfBudget(Exception):
    pass


Literal_ = tuple[Any, bool]  # (test, positive)
Clause = tuple[Literal_, ...]


class Analyzer:
    """Expands rules to clauses over the descriptor and decides which clauses can hold."""

    def __init__(self, rulebase: Rulebase):
        self.rulebase = rulebase
        self.catalog = rulebase.catalog
        self.compiled: dict[str, Compiled] = compile_rulebase(rulebase).compiled
        self.producers: dict[tuple[str, str], list[Rule]] = {}
        for rule in rulebase.rules:
            for d in rule.then.derive:
                self.producers.setdefault(("derived", d), []).append(rule)
            for f in rule.then.frameworks:
                self.producers.setdefault(("frameworks", f), []).append(rule)
            for a in rule.then.agencies:
                self.producers.setdefault(("agencies", a), []).append(rule)
        self._dnf: dict[str, list[Clause]] = {}
        self._absent: dict[str, list[Clause]] = {}  # distinction -> the alternatives of its absence
        self._choice_cache: dict[str, list[list[tuple]]] = {}
        self._absence_cache: dict[str, list[list[tuple]]] = {}
        self._steps = 0
        self.gave_up = False
        self._spaces: dict[frozenset, tuple[Space | None, str]] = {}
        self._expanded: dict[Any, frozenset] = {}
        self._ranks: dict[str, tuple[int, str]] = {}
        for i, members in enumerate(self.catalog.state_groups.values()):
            for code in members:
                self._ranks.setdefault(code, (i, code))

    # --- clauses -------------------------------------------------------------------

    def dnf(self, rule_id: str, _stack: tuple[str, ...] = ()) -> list[Clause]:
        """The rule's conditions as alternatives of conjunctions of descriptor tests that can hold."""
        if rule_id in self._dnf:
            return self._dnf[rule_id]
        if rule_id in _stack:
            return [()]  # a cycle: treated as satisfiable here, reported by check()
        clauses = [cl for cl in self.expand(rule_id, _stack) if self.space(cl) is not None]
        if not _stack:
            self._dnf[rule_id] = clauses
        return clauses

    def expand(self, rule_id: str, _stack: tuple[str, ...] = ()) -> list[Clause]:
        """All alternatives of the rule, before dropping those that cannot hold.

        A distinction is replaced by the alternatives of the rules that derive it, or, where
        it must not hold, by the negation of those alternatives.
        """
        c = self.compiled[rule_id]
        clauses: list[Clause] = [tuple((t, True) for t in c.tests)]
        if c.branches:
            clauses = self._product(clauses, [tuple((t, True) for t in b) for b in c.branches])
        for block in c.unless:
            clauses = self._product(clauses, [((t, False),) for t in block])
        for join in c.joins:
            if isinstance(join, AtLeast):
                continue
            alternatives: list[Clause] = []
            for producer in self.producers.get((join.kind, join.ref), []):
                alternatives.extend(self.dnf(producer.id, _stack + (rule_id,)))
            clauses = self._product(clauses, alternatives)
        return self._substitute(clauses, _stack + (rule_id,))

    def _product(self, left: list[Clause], right: list[Clause]) -> list[Clause]:
        """Every clause of `left` joined with every clause of `right`, keeping those that can hold.

        Dropping contradictions and duplicates as the product grows (rather than afterwards)
        keeps negations of distinctions, which multiply quickly, within MAX_CLAUSES.
        """
        out: list[Clause] = []
        seen: set[frozenset] = set()
        for a in left:
            for b in right:
                clause = tuple(dict.fromkeys(a + b))
                key = frozenset(clause)
                if key in seen or self.space(clause) is None:
                    continue
                seen.add(key)
                out.append(clause)
        if len(out) < 400:  # drop clauses that a smaller one already covers
            sets = [frozenset(c) for c in out]
            out = [c for c, cs in zip(out, sets) if not any(o < cs for o in sets)]
        return out[:MAX_CLAUSES]

    def _negate(self, clauses: list[Clause]) -> list[Clause]:
        """The alternatives of `not (c1 or c2 or ...)`: for each clause, one of its tests fails."""
        out: list[Clause] = [()]
        for clause in clauses:
            if not clause:
                return []  # the clause always holds: its negation never does
            out = self._product(out, [((t, not p),) for t, p in clause])
        return out

    def _substitute(self, clauses: list[Clause], stack: tuple[str, ...]) -> list[Clause]:
        out: list[Clause] = []
        for clause in clauses:
            alternatives: list[Clause] = [()]
            for test, positive in clause:
                if not isinstance(test, Distinction):
                    alternatives = [a if (test, positive) in a else a + ((test, positive),) for a in alternatives]
                    continue
                inner: list[Clause] = []
                for producer in test.producers:
                    inner.extend(self.dnf(producer.rule.id, stack))
                if not positive:
                    if any(p.rule.id in stack for p in test.producers):  # a ring (reported by check)
                        inner = self._negate(inner)
                    else:  # the same for every rule that tests it: computed once
                        if test.name not in self._absent:
                            self._absent[test.name] = self._negate(inner)
                        inner = self._absent[test.name]
                alternatives = self._product(alternatives, inner)
            out.extend(alternatives)
            if len(out) > MAX_CLAUSES:
                return out[:MAX_CLAUSES]
        return out

    # --- search: one descriptor that satisfies conditions, without the full DNF -------------

    def find(self, *rule_ids: str, given: Clause = ()) -> Clause | None:
        """A clause over the descriptor under which every rule given can fire, or None if none can.

        A depth-first search over the rules' conditions as a conjunction of choices (each `any`,
        `unless` block, distinction and earlier conclusion is one choice among alternatives),
        always taking next the choice with fewest alternatives still open, so that a
        contradiction is met early. Unlike `dnf`, it is never cut short by MAX_CLAUSES; if it
        runs out of SEARCH_BUDGET steps it returns the empty clause and sets `gave_up`.
        """
        try:
            return next(self.solutions(*rule_ids, given=given, _raise=True), None)
        except _OutOfBudget:
            self.gave_up = True
            return ()

    def solutions(self, *rule_ids: str, given: Clause = (), _raise: bool = False):
        """The clauses under which every rule given can fire, one by one (see `find`)."""
        self._steps, self.gave_up = 0, False
        choices: list[list[tuple]] = []
        for rule_id in dict.fromkeys(rule_ids):
            choices.extend(self._choices(rule_id))
        if given and self.space(tuple(given)) is None:
            return
        try:
            yield from self._solve(choices, tuple(given), frozenset(rule_ids))
        except _OutOfBudget:
            self.gave_up = True
            if _raise:
                raise

    def _choices(self, rule_id: str) -> list[list[tuple]]:
        """A rule's conditions as choices; an alternative is a tuple of items: a literal
        (test, positive) or ("rule", id) for "the conditions of that rule hold"."""
        if rule_id not in self._choice_cache:
            c = self.compiled[rule_id]
            out: list[list[tuple]] = [[((t, True),)] for t in c.tests]
            if c.branches:
                out.append([tuple((t, True) for t in b) for b in c.branches])
            out.extend([((t, False),) for t in block] for block in c.unless)
            for join in c.joins:
                if isinstance(join, AtLeast):
                    continue  # counts are taken as reachable
                out.append([(("rule", p.id),) for p in self.producers.get((join.kind, join.ref), [])])
            self._choice_cache[rule_id] = out
        return self._choice_cache[rule_id]

    def _absence(self, d: Distinction) -> list[list[tuple]]:
        """`not d` as choices: for every way d could hold, one of its tests fails."""
        if d.name not in self._absence_cache:
            ways = [cl for p in d.producers for cl in self.dnf(p.rule.id)]
            self._absence_cache[d.name] = [[((t, not positive),) for t, positive in way] for way in ways]
        return self._absence_cache[d.name]

    def _solve(self, choices: list[list[tuple]], clause: Clause, inlined: frozenset):
        self._steps += 1
        if self._steps > SEARCH_BUDGET:
            raise _OutOfBudget
        if not choices:
            yield clause
            return
        pending: list[list[tuple]] = []
        best: tuple[int, list[tuple]] | None = None
        for alternatives in choices:
            if any(self._met(clause, alt) for alt in alternatives):
                continue  # already settled by what the clause says
            open_ = [alt for alt in alternatives if self._open(clause, alt)]
            if not open_:
                return
            if best is None or len(open_) < len(best[1]):
                best = (len(pending), open_)
            pending.append(alternatives)
        if best is None:
            yield clause
            return
        i, open_ = best
        rest = pending[:i] + pending[i + 1 :]
        for alt in open_:
            grown, more, now = clause, [], inlined
            for item in alt:
                if item[0] == "rule":
                    if item[1] not in now:
                        now = now | {item[1]}
                        more.extend(self._choices(item[1]))
                elif isinstance(item[0], Distinction):
                    test, positive = item
                    if positive:
                        more.append([(("rule", p.rule.id),) for p in test.producers])
                    else:
                        more.extend(self._absence(test))
                elif item not in grown:
                    grown = grown + (item,)
            if grown is not clause and self.space(grown) is None:
                continue
            yield from self._solve(more + rest, grown, now)

    def simplify(self, clause: Clause) -> Clause:
        """The clause without tests that follow from the others (for reading it)."""
        kept = list(dict.fromkeys(clause))
        for literal in list(kept):
            others = tuple(x for x in kept if x != literal)
            if self.space(others + ((literal[0], not literal[1]),)) is None:
                kept = list(others)
        return tuple(kept)

    def _met(self, clause: Clause, alt: tuple) -> bool:
        """Whether an alternative of plain tests already follows from the clause."""
        for item in alt:
            if item[0] == "rule" or isinstance(item[0], Distinction):
                return False
            if item not in clause and self.space(clause + ((item[0], not item[1]),)) is not None:
                return False
        return True

    def _open(self, clause: Clause, alt: tuple) -> bool:
        """Whether an alternative's plain tests still fit the clause (others are looked at later)."""
        plain = tuple(i for i in alt if i[0] != "rule" and not isinstance(i[0], Distinction) and i not in clause)
        return not plain or self.space(clause + plain) is not None

    def space(self, clause: Clause) -> Space | None:
        """The descriptors that satisfy a clause, or None when none does (reason in self.last_reason)."""
        key = frozenset(clause)
        if key in self._spaces:
            found, self.last_reason = self._spaces[key]
            return found
        found = self._space(clause)
        self._spaces[key] = (found, self.last_reason)
        return found

    def _values(self, test) -> frozenset:
        """The plain values a condition stands for (`plain_values`), worked out once per condition."""
        if test not in self._expanded:
            self._expanded[test] = test.plain_values(self.catalog)
        return self._expanded[test]

    def _space(self, clause: Clause) -> Space | None:
        v = self.catalog.vocabulary
        self.last_reason = ""
        s = Space(
            types=set(v.types), actors=set(v.actors), severities=set(v.severities), regions=set(v.regions) | {None}
        )
        for test, positive in clause:
            test.narrow(s, positive, self._values(test), self.catalog)
        remaining: tuple[tuple[str, set[Any]], ...] = (
            ("type", s.types),
            ("actor", s.actors),
            ("severity", s.severities),
            ("region", s.regions),
        )
        for name, left in remaining:
            if not left:
                self.last_reason = f"no {name} satisfies every test"
                return None
        if self._states(s) is None:
            return None
        for prefix, f in s.flags.items():
            what = {"s_": "states", "t_": "targets", "a_": "attributes"}[prefix]
            if f["true"] & f["false"]:
                self.last_reason = f"{what} {sorted(f['true'] & f['false'])} must be both present and absent"
                return None
            for group in f["some_true"]:
                if not group - f["false"]:
                    self.last_reason = f"{what}: one of {sorted(group)} must be present, but all are excluded"
                    return None
            for group in f["some_false"]:
                if group <= f["true"]:
                    self.last_reason = f"{what}: one of {sorted(group)} must be absent, but all are required"
                    return None
        return s

    last_reason = ""

    def _state_rank(self, code: str) -> tuple[int, str]:
        """Examples name the states of the catalog's groups first (East Asia, the US and its partners)."""
        return self._ranks.get(code, (len(self.catalog.state_groups), code))

    def _states(self, s: Space) -> list[str] | None:
        """A list of states meeting the clause's tests on states (greedy), or None (reason set)."""
        f = s.flags.get("s_") or {"true": set(), "false": set(), "some_true": [], "some_false": []}
        allowed = (s.only if s.only is not None else set(self.catalog.states)) - f["false"]
        if not f["true"] <= allowed:
            self.last_reason = f"states {sorted(f['true'] - allowed)} are required but ruled out"
            return None
        chosen = set(f["true"])
        for group in f["some_true"]:
            if not group & chosen:
                options = group & allowed
                if not options:
                    self.last_reason = "states: one of a set must be named, but every one is ruled out"
                    return None
                chosen.add(min(options, key=self._state_rank))
        low, high = s.count
        pool = allowed - chosen - set().union(*f["some_false"]) if f["some_false"] else allowed - chosen
        for n in range(max(low, len(chosen)), min(high, len(chosen) + len(pool)) + 1):
            if not any(a <= n <= b for a, b in s.not_counts):
                extra = sorted(pool, key=self._state_rank)[: n - len(chosen)] if n > len(chosen) else []
                return sorted(chosen | set(extra))
        self.last_reason = "no number of states meets every test on how many are named"
        return None

    def example(self, clause: Clause) -> dict[str, Any] | None:
        """One descriptor that satisfies the clause (the first value of each field, in catalog order)."""
        s = self.space(clause)
        if s is None:
            return None
        v = self.catalog.vocabulary
        out: dict[str, Any] = {"type": next(t for t in v.types if t in s.types)}
        region = next((r for r in v.regions if r in s.regions), None)
        if None not in s.regions or (region is not None and clause_mentions(clause, "region")):
            out["region"] = region
        actor = next(a for a in ("unknown", "non_state", "state", *v.actors) if a in s.actors)
        if actor != "unknown":
            out["actor"] = actor
        severity = "moderate" if "moderate" in s.severities else next(k for k in v.severities if k in s.severities)
        if severity != "moderate":
            out["severity"] = severity
        states = self._states(s)
        if states:
            out["states"] = states
        for prefix, key in (("t_", "targets"), ("a_", "attributes")):
            f = s.flags.get(prefix)
            if not f:
                continue
            chosen = set(f["true"])
            for group in f["some_true"]:
                if not group & chosen:
                    chosen.add(sorted(group - f["false"])[0])
            if chosen:
                out[key] = {a: True for a in sorted(chosen)} if key == "attributes" else sorted(chosen)
        return out


def clause_mentions(clause: Clause, field_name: str) -> bool:
    return any(getattr(t, "field", None) == field_name for t, _ in clause)


def describe_clause(clause: Clause) -> str:
    return "; ".join(t.words(p) for t, p in clause) or "always"


# --- rules check ------------------------------------------------------------------------


@dataclass
class Finding:
    """One result of `advisor rules check`."""

    code: str
    level: str  # error or warning
    message: str
    path: str = ""
    line: int | None = None
    rule: str = ""

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        rule = f"{self.rule}: " if self.rule else ""
        return f"{where}: {self.level} {self.code}: {rule}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "message": self.message,
        }


def check_directory(directory: str | None) -> list[Finding]:
    """Load a rule base and check it; load errors become findings with their file and line."""
    return check_loaded(directory)[0]


def check_loaded(directory: str | None) -> tuple[list[Finding], str | None]:
    """`check_directory`, with the digest of the rule base checked (None when it did not load): what a
    reload compares with the rule base it is about to put in use."""
    from .errors import AuthoringError
    from .loading import load_rulebase

    try:
        rulebase = load_rulebase(directory)
    except AuthoringError as exc:
        findings = []
        for p in exc.problems or [exc]:
            rule, _, field_ = (p.loc or "").rpartition(": ") if ": " in (p.loc or "") else ("", "", p.loc or "")
            text = p.message + (f" (did you mean {p.suggestion}?)" if p.suggestion else "")
            findings.append(
                Finding("E100", "error", f"{field_}: {text}" if field_ else text, p.path or "", p.line, rule)
            )
        return findings, None
    return check(rulebase), rulebase.digest


def check(rulebase: Rulebase) -> list[Finding]:
    """Static checks of a loaded rule base: gaps, dead rules, cycles and role conflicts."""
    a = Analyzer(rulebase)
    cat = rulebase.catalog
    findings: list[Finding] = []

    def at(rule: Rule, code: str, level: str, message: str) -> None:
        findings.append(Finding(code, level, message, rule.file, rule.line, rule.id))

    cited = {n for r in rulebase.rules for n in r.numbers}
    for number in sorted(set(cat.recommendations) - cited):
        findings.append(Finding("W201", "warning", f"recommendation {number} is cited by no rule", rulebase.directory))
    for kind, table in (("frameworks", cat.frameworks), ("agencies", cat.agencies)):
        for ref in table:
            if (kind, ref) not in a.producers:
                findings.append(
                    Finding("W202", "warning", f"{word(kind)} '{ref}' is concluded by no rule", rulebase.directory)
                )

    for rule in rulebase.rules:
        missing = [
            j for j in a.compiled[rule.id].joins if isinstance(j, Concluded) and (j.kind, j.ref) not in a.producers
        ]
        for j in missing:
            at(rule, "E302", "error", f"needs {word(j.kind)} '{j.ref}', which no rule concludes")
        if missing:
            continue
        if a.find(rule.id) is None:
            reason = _first_reason(a, rule)
            at(rule, "E301", "error", f"its conditions can never hold ({reason})")

    for cycle in _cycles(rulebase):
        first = rulebase.by_id[cycle[0]]
        at(first, "E303", "error", "conclusions feed back into their own conditions: " + " -> ".join(cycle))

    by_agency: dict[str, dict[str, list[Rule]]] = {}
    for rule in rulebase.rules:
        for agency, role in rule.then.agencies.items():
            by_agency.setdefault(agency, {}).setdefault(role, []).append(rule)
    for agency, roles in sorted(by_agency.items()):
        for lead in roles.get("lead", []):
            for support in roles.get("support", []):
                example = _together(a, lead, support)
                if example is not None:
                    at(
                        support,
                        "W401",
                        "warning",
                        f"gives {agency} 'support' where {lead.id} gives it 'lead'; both hold for e.g. {example}",
                    )
    leads = [(agency, rule) for agency, roles in by_agency.items() for rule in roles.get("lead", [])]
    for i, (one, first) in enumerate(leads):
        for other, second in leads[i + 1 :]:
            if one != other:
                example = _together(a, first, second)
                if example is not None:
                    at(
                        second,
                        "W402",
                        "warning",
                        f"gives {other} the lead where {first.id} gives it to {one}; both hold for e.g. {example}",
                    )

    used = rulebase.used_attributes
    for attribute in cat.vocabulary.attributes:
        if attribute not in used:
            findings.append(
                Finding(
                    "W203",
                    "warning",
                    f"attribute '{attribute}' is tested by no rule: use it or remove it from the vocabulary",
                    rulebase.directory,
                )
            )
    findings.extend(check_quotes(rulebase))
    return findings


def check_quotes(rulebase: Rulebase) -> list[Finding]:
    """E110: a rule's quote that is not verbatim in the document (by its fingerprint)."""
    from pathlib import Path

    from .document import load_fingerprint
    from .loading import default_rules_dir

    here = Path(rulebase.catalog.source) / "document.yaml"
    shingles = load_fingerprint(str(here)) or load_fingerprint(str(default_rules_dir() / "catalog" / "document.yaml"))
    if shingles is None:
        return [
            Finding(
                "W204",
                "warning",
                "no fingerprint of the document (catalog/document.yaml): quotes unchecked",
                rulebase.directory,
            )
        ]
    from .document import is_verbatim

    return [
        Finding("E110", "error", f"quote not found verbatim in the document: '{r.quote}'", r.file, r.line, r.id)
        for r in rulebase.rules
        if r.quote and not is_verbatim(r.quote, shingles)
    ]


def _first_reason(a: Analyzer, rule: Rule) -> str:
    """Why a rule's own tests (before earlier conclusions are expanded) cannot hold together."""
    c = a.compiled[rule.id]
    clauses: list[Clause] = [tuple((t, True) for t in c.tests)]
    if c.branches:
        clauses = [x + tuple((t, True) for t in b) for x in clauses for b in c.branches]
    for block in c.unless:
        clauses = [x + ((t, False),) for x in clauses for t in block]
    reasons = [a.last_reason for clause in clauses if a.space(clause) is None]
    if len(reasons) == len(clauses) and reasons:
        return reasons[0]
    return "an earlier conclusion it needs can never be reached"


def _together(a: Analyzer, one: Rule, other: Rule) -> dict | None:
    """A descriptor on which both rules can fire, or None (also when the search gave up)."""
    clause = a.find(one.id, other.id)
    if clause is None or a.gave_up:
        return None
    return a.example(clause)


def _cycles(rulebase: Rulebase) -> list[list[str]]:
    """Rules whose conclusions, through other rules, reach their own conditions."""
    needs: dict[str, set[tuple[str, str]]] = {}
    gives: dict[str, set[tuple[str, str]]] = {}
    for r in rulebase.rules:
        w = r.when
        needs[r.id] = (
            {("derived", d) for d in w.derived or []}
            | {("frameworks", f) for f in w.frameworks or []}
            | {("agencies", g) for g in w.agencies or []}
        )
        gives[r.id] = (
            {("derived", d) for d in r.then.derive}
            | {("frameworks", f) for f in r.then.frameworks}
            | {("agencies", g) for g in r.then.agencies}
        )
    edges = {r: sorted(s for s in needs if needs[s] & gives[r] and s != r) for r in needs}
    self_loops = [[r, r] for r in needs if needs[r] & gives[r]]
    cycles, state, stack = list(self_loops), {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in needs:
        if node not in state:
            visit(node)
    return cycles


# --- reverse look-up ------------------------------------------------------------------------


def query(rulebase: Rulebase, target) -> tuple[list[tuple[Rule, list[str]]], dict[str, list[str]]]:
    """From the rules alone: which rules conclude the target, and when each can fire.

    Returns, per rule, its first alternatives in words (over the descriptor, with earlier
    conclusions replaced by the conditions that produce them; at most QUERY_ALTERNATIVES + 1,
    found by search), and a summary of the threat types, regions and actors that can lead to
    the target (each value tried in turn).
    """
    a = Analyzer(rulebase)
    v = rulebase.catalog.vocabulary
    answers, types, regions, actors = [], set(), set(), set()
    for rule in rulebase.rules:
        hit = concludes(rule, kind_named(target.kind), target.ref, rulebase.catalog)
        if not hit:
            continue
        texts: list[str] = []
        for clause in a.solutions(rule.id):
            text = describe_clause(a.simplify(clause))
            if text not in texts:
                texts.append(text)
            if len(texts) > QUERY_ALTERNATIVES:
                break
        answers.append((rule, texts))
        types |= {
            t
            for t in v.types
            if t not in types and a.find(rule.id, given=((ScalarIn("type", (t,)), True),)) is not None
        }
        actors |= {
            x
            for x in v.actors
            if x not in actors and a.find(rule.id, given=((ScalarIn("actor", (x,)), True),)) is not None
        }
        regions |= {
            r
            for r in v.regions
            if r not in regions and a.find(rule.id, given=((FlagsAny("region", "r_", (r,)), True),)) is not None
        }
        if (
            "(none)" not in regions
            and a.find(rule.id, given=((FlagsAny("region", "r_", tuple(v.regions)), False),)) is not None
        ):
            regions.add("(none)")
    order = list(v.types)
    summary = {
        "threat types": sorted(types, key=order.index),
        "regions": ["any"] if len(regions) == len(v.regions) + 1 else sorted(regions, key=lambda r: (r == "(none)", r)),
        "actors": ["any"] if len(actors) == len(v.actors) else sorted(actors),
    }
    return answers, summary
