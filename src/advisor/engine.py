"""The engine driver: durable-rules' C engine (`durable_rules_engine`), driven directly.

Each ruleset is created once per process under its rule base's digest and deleted when the
rule base is released (`chaining.release`). An assessment owns one engine state per ruleset
from its first assert to its `delete_state`, behind the process's lock (`session`), so
assessments never see each other. What to assert and when is chaining's business
(`advisor.chaining`); this module only speaks to the engine.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator

import orjson

from . import limits
from .compiler import fact_key
from .errors import EngineError, EngineUnavailable
from .process import MEMORY

SID = "assessment"
ENGINE_ERRORS = {
    "302": "the threat has too many properties for the engine",
    "303": "too many rule conditions matched one fact at once",
    "202": "a number the engine cannot handle",
    "314": "a string too long for the engine",
}


def _durable():
    """durable-rules' C engine (`durable_rules_engine`), which advisor drives directly."""
    try:
        import durable_rules_engine
    except ImportError as exc:  # e.g. Python 3.13: undefined symbol PyEval_CallObject
        import sys

        raise EngineUnavailable(
            f"the rule engine durable-rules cannot be loaded on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} ({exc}); on Python 3.13 it must be built with "
            "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject: pip install --force-reinstall --no-cache-dir "
            "durable-rules==2.0.28 with that variable set (see the README's Python versions)"
        ) from None
    return durable_rules_engine


def register(rulesets: dict[str, dict], dre) -> None:
    """Create each ruleset in the engine, as durable-rules' own `Host.register_rulesets` does (each
    rule's `run` taken out, the rest as JSON), without its Python layer: no actions to look up, no
    timer thread. A name already registered is kept."""
    for name, definition in rulesets.items():
        if name not in MEMORY.handles:
            body = {rid: {k: v for k, v in rule.items() if k != "run"} for rid, rule in definition.items()}
            MEMORY.handles[name] = dre.create_ruleset(name, json.dumps(body, ensure_ascii=False))


def delete_rulesets(names: list[str]) -> None:
    """Delete rulesets from the engine (a rule base released). One with a state the engine failed
    on is kept: deleting that state crashes the engine."""
    dre = _durable()
    failed = {name for name, _ in MEMORY.abandoned}
    with MEMORY.lock:
        for name in names:
            if name in failed:
                continue
            handle = MEMORY.handles.pop(name)
            try:
                dre.delete_ruleset(handle)
            except dre.error:
                pass  # already gone: nothing is left to free


def _sid(name: str) -> str:
    return MEMORY.sids.get(name, SID)


def _abandon(name: str) -> None:
    """Leave a ruleset's failed state behind (deleting it would crash) and give the ruleset a new one."""
    MEMORY.abandoned.append((name, _sid(name)))
    MEMORY.sids[name] = f"{SID}-{len(MEMORY.abandoned)}"


def _action_name(message: str) -> str:
    """The rule of an action message `{"<rule>": {...}}`, read without parsing the facts it carries."""
    end = message.find('"', 2)
    name = message[2:end]
    if message.startswith('{"') and end > 2 and "\\" not in name:
        return name
    return next(iter(json.loads(message)))


def assert_facts(names: list[str], facts: list[dict], dre, wanted: dict[str, frozenset] | None = None) -> list[str]:
    """Assert facts into rulesets and collect the rules whose actions the engine starts, in order.

    This drives durable-rules' C engine (`durable_rules_engine`) directly, with the same rulesets
    and the same matching as its Python layer: that layer serialises the state to JSON and back,
    builds a closure and reads the clock for every action, most of an assessment's time. Our actions
    only record a name and change no state, so an action is completed as soon as it is started.
    """
    fired: list[str] = []
    texts: dict[tuple, str] = {}  # the facts as JSON, once per state id and choice of facts
    for name in names:
        chosen = facts
        if wanted is not None:  # a ruleset is given the threat, and only the conclusions it joins on
            chosen = [f for f in facts if f["kind"] == "threat" or fact_key(f) in wanted[name]]
            if not chosen:
                continue
        sid = _sid(name)
        handle = MEMORY.handles[name]
        key = (sid, *map(id, chosen))
        if key not in texts:
            texts[key] = orjson.dumps([{**f, "sid": sid} for f in chosen]).decode()
        try:
            code, state = dre.assert_facts(handle, texts[key])
            if code == 2:  # only observed: the same fact twice, which chaining never asserts
                raise EngineError(f"the engine did not take the facts (code {code}) in ruleset {name}")
            # code 1: some fact no rule of this ruleset tests (a conclusion it does not join on); the
            # engine skipped it and took the others. The state itself was made by the threat fact,
            # which the catch-all rule takes (see docs/durable-rules.md on states whose facts were refused).
            state = 0 if code == 3 else state  # as durable-rules' own layer does
            action = dre.start_action_for_state(handle, state)
            while action:
                fired.append(_action_name(action[1]))
                following = dre.complete_and_start_action(handle, state)
                action = (None, following) if following else None
        except dre.error as exc:
            _abandon(name)
            code = str(exc).rsplit(" ", 1)[-1]
            raise EngineError(f"the engine failed: {ENGINE_ERRORS.get(code, str(exc))}") from None
    return fired


@contextlib.contextmanager
def session(levels: list[list[str]], rest: list[str], wanted: dict[str, frozenset]) -> Iterator:
    """One assessment's turn at the engine: yields `match(stratum, facts, view, fired)`, which asserts
    the facts into the rulesets of a stratum (a level's number, or "rest") and returns the rules whose
    actions start, in order. The rest stratum's rulesets are given only the conclusions they join on
    (`wanted`). The states are deleted afterwards, and Ctrl-C is held while the engine runs."""
    dre = _durable()
    names: dict[int | str, list[str]] = {i: level for i, level in enumerate(levels)}
    names["rest"] = rest
    with MEMORY.lock, _interrupts_held():
        if len(MEMORY.abandoned) >= limits.MAX_ABANDONED:
            raise EngineError(f"the engine failed {len(MEMORY.abandoned)} times in this process; start it again")
        abandoned = len(MEMORY.abandoned)
        try:
            yield lambda stratum, facts, view, fired: assert_facts(
                names[stratum], facts, dre, wanted if stratum == "rest" else None
            )
        finally:
            left = {name for name, _ in MEMORY.abandoned[abandoned:]}
            for name in [n for level in levels for n in level] + rest:
                if name in left:
                    continue  # deleting a state the engine failed on segfaults
                try:
                    dre.delete_state(MEMORY.handles[name], _sid(name))
                except dre.error:
                    pass  # the state was never created (no fact reached this ruleset)


@contextlib.contextmanager
def _interrupts_held():
    """Hold Ctrl-C while durable-rules runs: an interrupt raised inside its callbacks is printed by the
    engine as a traceback and can leave its state half-made. Python sees it as soon as the engine returns."""
    held = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
    if held:
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
