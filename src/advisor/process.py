"""Everything advisor keeps for the life of a process, in one place.

A rule base is compiled, registered with durable-rules and prepared for output once per
process, and kept under its digest; the entries below are that memory. What a rule base no
longer needed holds is given back by `chaining.release` (which calls `forget` here and deletes
its rulesets from the engine): `advisor test --mutate` releases each mutant as soon as it is
tried. This module imports nothing of advisor, so every module may use it.

Besides this memory, only bounded caches of pure functions last between calls:
`document.load_fingerprint` (4 files), `rules._numbers_of` (citations to numbers) and
`cache._builder` (one rebuilding function per type); and the CLI, a program, installs its warning
printer.

| entry        | owner                | what it holds                                                   |
|--------------|----------------------|-----------------------------------------------------------------|
| `lock`       | engine, chaining     | one assessment at a time uses the engine; one prepares a rule base |
| `handles`    | engine               | ruleset name -> the engine's handle                             |
| `sids`       | engine               | ruleset name -> its state id, when a failed one was left behind |
| `abandoned`  | engine               | (ruleset, state) the engine failed on: deleting them crashes    |
| `plans`      | compiler             | digest -> the compiled plan                                     |
| `prepared`   | chaining             | digest -> the plan registered, with what chaining needs         |
| `outputs`    | assessment           | digest -> the fixed parts of an assessment                      |
| `rulebases`  | loading              | directory (or "" for the shipped one) -> the loaded rule base   |
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


def forget(digest: str) -> Any:
    """Drop what the process keeps of a rule base; returns its plan (None if it had none), whose
    rulesets the engine still holds: `chaining.release` deletes those too."""
    with MEMORY.lock:
        MEMORY.prepared.pop(digest, None)
        MEMORY.outputs.pop(digest, None)
        return MEMORY.plans.pop(digest, None)
