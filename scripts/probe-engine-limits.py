#!/usr/bin/env python3
"""Find where durable-rules 2.0.28 stops working, for the shapes of rule advisor compiles.

Each candidate (a ruleset in durable-rules' JSON form and the facts asserted into it) runs in
its own child process, so a segfault is seen as a signal (exit -11) rather than killing the
probe; a candidate that does not finish in time is a hang. For each shape the probe walks the
size up and prints the last size that worked and how the next one failed, e.g.

    any: one test repeated N times              works up to 64; 65: crash (signal 11)

The limits advisor enforces (advisor.compiler, "engine limits") sit below these, with a margin.
The C constants behind them (jruizgit/rules, src/rules): MAX_STACK_SIZE 64 (events.c, error 303),
MAX_SEQUENCE_EXPRESSIONS 32 (rete.h, error 113), MAX_MESSAGE_FRAMES 16 (state.h, error 304),
NEXT_LIST_LENGTH 128 (error 107), BETA_LIST_LENGTH 256 (error 108).

    .venv/bin/python scripts/probe-engine-limits.py            # every shape
    .venv/bin/python scripts/probe-engine-limits.py joins dup  # some shapes
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

TIMEOUT = 20

CHILD = r"""
import json, sys
import durable_rules_engine as dre
from durable import engine

class Host(engine.Host):
    def get_action(self, name):
        def action(c):
            pass
        return action
    def _run(self):
        pass

spec = json.loads(sys.stdin.read())
rules = dict(spec["rules"])
rules["_observed"] = {"all": [{"m": {"$ex": {"kind": 1}}}], "pri": 100000, "run": "_observed"}
host = Host()
try:
    host.register_rulesets({"probe": rules})
except dre.error as exc:
    print(json.dumps({"stage": "create", "error": str(exc)})); sys.exit(0)
failed = None
for batch in spec["steps"]:
    try:
        host.assert_facts("probe", [dict(f, sid="s") for f in batch])
    except dre.error as exc:
        failed = {"stage": "assert", "error": str(exc)}
        break
    state = host.get_state("probe", "s")
    if "exception" in state:
        failed = {"stage": "action", "error": str(state["exception"])}
        break
try:
    host.delete_state("probe", "s")
except dre.error as exc:
    failed = failed or {"stage": "delete", "error": str(exc)}
print(json.dumps(failed or {"stage": "done", "error": None}))
"""


def attempt(rules: dict, steps: list[list[dict]]) -> str:
    """Run one candidate in a child; 'ok', 'error N (stage)', 'crash (signal S)' or 'hang'."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=json.dumps({"rules": rules, "steps": steps}),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return "hang"
    if out.returncode < 0 or out.returncode >= 128:
        signal = -out.returncode if out.returncode < 0 else out.returncode - 128
        return f"crash (signal {signal})"
    if out.returncode != 0:
        return f"exit {out.returncode}: {out.stderr.strip().splitlines()[-1:]}"
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["error"] is None:
        return "ok"
    code = result["error"].rsplit(" ", 1)[-1]
    return f"error {code} ({result['stage']})"


def threat(*tests: dict) -> dict:
    """A pattern on the threat fact, as advisor compiles it: `kind: threat` and the tests."""
    return {"$and": [{"kind": "threat"}, *tests]}


def rule(*patterns: dict) -> dict:
    return {"all": [{f"p{i}": p} for i, p in enumerate(patterns)], "pri": 1, "run": "r"}


FLAGS = [f"f{i}" for i in range(200)]  # a fact can have at most 252 properties (error 302)
FACT = {"kind": "threat", "type": "terrorism", **{f: True for f in FLAGS}}


# --- the shapes: each maps a size n to (rules, steps) ----------------------------------------


def dup(n):
    """any: one test repeated n times (the attacker's 65)."""
    return {"r": rule(threat({"$or": [{"type": "terrorism"}] * n}))}, [[FACT]]


def alternatives(n):
    """any: n different tests that all hold at once (flags of one fact)."""
    return {"r": rule(threat({"$or": [{f: True} for f in FLAGS[:n]]}))}, [[FACT]]


def alternatives_one_holds(n):
    """any: n different tests of which one holds (values of one field)."""
    return {"r": rule(threat({"$or": [{"type": f"t{i}"} for i in range(n - 1)] + [{"type": "terrorism"}]}))}, [[FACT]]


def pairs(n):
    """any: n alternatives of two tests each (the attacker's 14), none holding."""
    return {"r": rule(threat({"$or": [{"$and": [{"type": f"t{i}"}, {"actor": "x"}]} for i in range(n)]}))}, [[FACT]]


def groups(n):
    """n nested $and/$or groups in one pattern (the outer $and counted)."""
    inner: dict = {"type": "terrorism"}
    for i in range(n - 1):
        inner = {"$or": [inner, {"type": f"t{i}"}]} if i % 2 else {"$and": [inner, {"kind": "threat"}]}
    return {"r": rule(threat(inner))}, [[FACT]]


def product(n):
    """n any: blocks of two alternatives, every alternative holding (2**n paths)."""
    blocks = [{"$or": [{FLAGS[2 * i]: True}, {FLAGS[2 * i + 1]: True}]} for i in range(n)]
    return {"r": rule(threat(*blocks))}, [[FACT]]


def chained(n):
    """n choices of 8 alternatives in one rule, all holding (7n + 1 at once; 8**n paths)."""
    blocks = [{"$or": [{FLAGS[8 * i + j]: True} for j in range(8)]} for i in range(n)]
    return {"r": rule(threat(*blocks))}, [[FACT]]


def joins(n):
    """a rule joining the threat and n conclusions (facts {kind, ref}), every one present."""
    patterns = [threat({"type": "terrorism"})]
    patterns += [{"$and": [{"kind": "derived"}, {"ref": f"x{i}"}]} for i in range(n)]
    return {"r": rule(*patterns)}, [[FACT], [{"kind": "derived", "ref": f"x{i}"} for i in range(n)]]


def rules_one_flag(n):
    """n rules, each testing its own flag, all holding for one fact (simultaneous matches)."""
    return {f"r{i}": rule(threat({FLAGS[i]: True})) for i in range(n)}, [[FACT]]


def rules_same_test(n):
    """n rules with one identical test."""
    return {f"r{i}": rule(threat({"type": "terrorism"})) for i in range(n)}, [[FACT]]


def empty_and(n):
    """an empty $and (n is ignored)."""
    return {"r": rule(threat({"$and": []}))}, [[FACT]]


def empty_or(n):
    """an empty $or (n is ignored)."""
    return {"r": rule(threat({"$or": []}))}, [[FACT]]


def empty_all(n):
    """a rule with no pattern at all (n is ignored)."""
    return {"r": {"all": [], "pri": 1, "run": "r"}}, [[FACT]]


SHAPES: dict[str, tuple[Callable, list[int]]] = {
    "dup": (dup, [2, 16, 32, 48, 60, 62, 63, 64, 65, 66, 80]),
    "alternatives": (alternatives, [16, 32, 48, 60, 62, 63, 64, 65, 66, 100, 150]),
    "one_holds": (alternatives_one_holds, [16, 64, 100, 127, 128, 129, 200, 400]),
    "pairs": (pairs, [8, 12, 13, 14, 15, 16]),
    "groups": (groups, [8, 14, 15, 16, 17]),
    "product": (product, [2, 4, 5, 6, 7, 8, 10]),
    "chained": (chained, [2, 4, 5, 6, 8, 9, 10]),
    "joins": (joins, [1, 8, 14, 15, 16, 17, 20]),
    "rules_flag": (rules_one_flag, [16, 32, 60, 62, 63, 64, 65, 66, 100]),
    "rules_same": (rules_same_test, [100, 200, 250, 255, 256, 257]),
    "empty": (empty_and, [0]),
    "empty_or": (empty_or, [0]),
    "empty_all": (empty_all, [0]),
}


def probe(name: str) -> tuple[int | None, str]:
    """The last size that worked and the first failure (walking the sizes up), with its evidence."""
    make, sizes = SHAPES[name]
    last_ok = None
    for n in sizes:
        start = time.monotonic()
        outcome = attempt(*make(n))
        print(f"  {name:12} n={n:<4} {outcome} ({time.monotonic() - start:.2f} s)", file=sys.stderr, flush=True)
        if outcome != "ok":
            return last_ok, f"{n}: {outcome}"
        last_ok = n
    return last_ok, "no failure in the sizes tried"


def main(names: list[str]) -> None:
    results = {}
    for name in names or list(SHAPES):
        results[name] = probe(name)
    print()
    print("where durable-rules 2.0.28 fails (advisor's limits are in advisor.compiler, below these):")
    for name, (ok, failure) in results.items():
        doc = SHAPES[name][0].__doc__.split(" (")[0]
        works = f"works up to {ok}" if ok is not None else "never works"
        print(f"{name:12} {doc:62} {works}; {failure}")


if __name__ == "__main__":
    main(sys.argv[1:])
