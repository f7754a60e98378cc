"""Everything advisor keeps for the life of a process, in one place.

A rule base is compiled, registered with durable-rules and prepared for output once per
process, and kept under its digest; the entries below are that memory. Nothing else in
advisor holds state between calls (module constants aside), and `release` gives back what a
rule base no longer needed holds, the engine's rulesets included: `advisor test --mutate`
releases each mutant as soon as it has been tried.

| entry        | owner                | what it holds                                                   |
|--------------|----------------------|-----------------------------------------------------------------|
| `lock`       | engine               | one assessment at a time uses the engine                        |
| `handles`    | engine               | ruleset name -> the engine's handle                             |
| `sids`       | engine               | ruleset name -> its state id, when a failed one was left behind |
| `abandoned`  | engine               | (ruleset, state) the engine failed on: deleting them crashes    |
| `plans`      | compiler             | digest -> the compiled plan                                     |
| `prepared`   | chaining             | digest -> the plan registered, with what chaining needs         |
| `outputs`    | assessment           | digest -> the fixed parts of an assessment                      |
| `rulebases`  | api, policy          | directory (or "" for the shipped one) -> the loaded rule base   |
| `refused`    | cache                | cache directories refused once (warned about once)              |
| `worker`     | batch                | in a batch worker process: its rule base and options            |

Tests that must not share it start a process of their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Memory:
    """The process's memory of rule bases (see the module's table)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    handles: dict[str, int] = field(default_factory=dict)
    sids: dict[str, str] = field(default_factory=dict)
    abandoned: list[tuple[str, str]] = field(default_factory=list)
    plans: dict[str, Any] = field(default_factory=dict)
    prepared: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    rulebases: dict[str, Any] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    worker: dict[str, Any] = field(default_factory=dict)


MEMORY = Memory()


def loaded_rulebase(directory: str | None = None) -> Any:
    """The rule base of a directory (None: the shipped one), loaded once per process."""
    from pathlib import Path

    from .rules import load_rulebase

    key = str(Path(directory).resolve()) if directory else ""
    if key not in MEMORY.rulebases:
        MEMORY.rulebases[key] = load_rulebase(directory)
    return MEMORY.rulebases[key]


def release(digest: str) -> None:
    """Forget a rule base: its plan, its prepared forms and its rulesets in the engine.

    A ruleset with a state the engine failed on is kept (deleting it would crash the engine).
    """
    with MEMORY.lock:
        plan = MEMORY.plans.pop(digest, None)
        MEMORY.prepared.pop(digest, None)
        MEMORY.outputs.pop(digest, None)
        if plan is None:
            return
        names = [n for n in plan.rulesets if n in MEMORY.handles]
        if not names:
            return
        from .engine import delete_rulesets

        delete_rulesets(names)
