"""The engine on durable-rules: isolation, determinism, agreement with the plain-Python reading,
and one test for each pitfall listed in docs/durable-rules.md."""

import copy
import json
import subprocess
import sys
import threading

import pytest

import advisor
from advisor import chaining, engine
from advisor.compiler import CATCH_ALL, compile_rulebase, threat_fact
from advisor.conditions import View
from advisor.errors import EngineError, EngineUnavailable
from advisor.process import MEMORY

from conftest import QUOTE, ROOT, threat_files

PIRACY = {"type": "piracy", "region": "malacca_strait", "states": ["IDN"], "targets": ["shipping"]}
KOREA = {"type": "missile_launch", "region": "korean_peninsula", "states": ["PRK"], "severity": "high"}


def dump(a) -> str:
    return a.model_dump_json()


# --- isolation and determinism -------------------------------------------------


def test_assessing_a_then_b_equals_b_alone(assess_raw):
    b_alone = dump(assess_raw(KOREA))
    assess_raw(PIRACY)
    assert dump(assess_raw(KOREA)) == b_alone


@pytest.mark.slow
def test_sequence_of_all_examples_is_isolated(rulebase):
    threats = [advisor.load_threat(p, rulebase) for p in threat_files()]
    first = [dump(advisor.assess(t, rulebase)) for t in threats]
    again = [dump(advisor.assess(t, rulebase)) for t in reversed(threats)]
    assert first == list(reversed(again))


@pytest.mark.slow
def test_byte_identical_across_processes():
    """Two processes with different hash seeds (set and iteration orders differ) write the same bytes."""
    import os

    path = ROOT / "threats" / "regime_collapse.json"
    runs = [
        subprocess.run(
            [sys.executable, "-m", "advisor", "assess", str(path), "--format", "json"],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] and runs[0]


# --- durable-rules agrees with the plain-Python reading of the rules --------------


@pytest.mark.parametrize("path", threat_files(), ids=lambda p: p.stem)
def test_engine_agrees_with_python_reading(path, rulebase):
    """Every rule that fired holds on the final conclusions, and every rule that holds fired."""
    threat = advisor.load_threat(path, rulebase)
    run = chaining.fire(threat, rulebase)
    compiled = compile_rulebase(rulebase).compiled
    holding = {rid for rid, c in compiled.items() if c.holds(run.view)}
    assert holding == run.fired


def test_maximal_descriptor_stays_within_engine_limits(rulebase, assess_raw):
    """Every region flag, target and attribute at once: no engine error 303 (too many alpha tests)."""
    cat = rulebase.catalog
    raw = {
        "type": "armed_attack",
        "region": "malacca_strait",
        "states": sorted(cat.state_groups["east_asia"]) + ["USA", "RUS", "AUS", "KAZ"],
        "targets": list(cat.vocabulary.targets),
        "actor": "state",
        "severity": "critical",
        "attributes": {a: True for a in cat.vocabulary.attributes},
    }
    for t in cat.vocabulary.types:
        assert assess_raw({**raw, "type": t}).trace


# --- the pitfalls of docs/durable-rules.md ---------------------------------------------


def _unseen(rulebase):
    """A rule base this process has not registered yet (a rule base is registered once per process)."""
    variant = rulebase.without({rulebase.rules[-1].id})
    chaining.release(variant.digest)
    assert variant.digest not in MEMORY.prepared
    return variant


def test_ruleset_definitions_are_not_mutated(rulebase):
    """Ruleset() deletes each `run` from the dict it is given: we pass a deep copy."""
    variant = _unseen(rulebase)
    rulesets = compile_rulebase(variant).rulesets
    before = copy.deepcopy(rulesets)
    try:
        assert chaining.prepare(variant).registered
        assert rulesets == before and all("run" in r for rs in rulesets.values() for r in rs.values())
    finally:
        chaining.release(variant.digest)


def test_registering_starts_no_thread(rulebase):
    """durable-rules' Python Host starts a timer thread; advisor creates its rulesets in the C engine."""
    variant = _unseen(rulebase)
    before = set(threading.enumerate())
    try:
        assert chaining.prepare(variant).registered
        assert set(threading.enumerate()) - before == set()
    finally:
        chaining.release(variant.digest)


def test_facts_fire_every_matching_rule(assess_raw):
    """Events would be consumed by the first matching rule; facts reach all of them."""
    trace = assess_raw(PIRACY).trace
    first = min(e.step for e in trace if not e.rule.startswith("d-"))  # after the distinctions
    fired = {e.rule for e in trace if e.step == first}
    assert {"r03-non-traditional-coalition", "r12-maritime-security"} <= fired
    assert {e.rule for e in trace if e.step == 1} >= {
        "d-non-traditional",
        "d-in-east-asia-region",
        "d-threat-to-shipping",
    }


def test_fact_matching_no_rule_is_accepted(tmp_path):
    """A fact no rule matches would raise MessageNotHandledException without the catch-all."""
    (tmp_path / "one.yaml").write_text(
        "rules:\n  - id: r10-only-terror\n    cites: ['10']\n    because: 'A test rule about terrorism only.'\n"
        f"    quote: '{QUOTE}'\n"
        "    when: {type: terrorism}\n    then: {frameworks: [east_asia_cyber_forum]}\n"
    )
    rb = advisor.load_rulebase(tmp_path)
    a = advisor.assess(advisor.parse_threat({"type": "piracy"}, rb), rb)
    assert a.trace == [] and a.notes == ["no recommendation of the document applies to this threat"]
    b = advisor.assess(advisor.parse_threat({"type": "terrorism"}, rb), rb)
    assert [e.rule for e in b.trace] == ["r10-only-terror"]


def test_same_conclusion_from_two_rules_is_asserted_once(assess_raw):
    """A second identical fact would raise MessageObservedException."""
    a = assess_raw(
        {
            "type": "natural_disaster",
            "region": "southeast_asia",
            "states": ["IDN"],
            "severity": "high",
            "attributes": {"humanitarian": True},
        }
    )
    derivers = [e.rule for e in a.trace if "military_operations_other_than_war" in e.concluded.get("derived", [])]
    assert len(derivers) >= 2 and "r06-disaster-relief-lead" in {e.rule for e in a.trace}


def test_no_id_or_sid_in_facts_or_rule_tests(rulebase):
    threat = advisor.parse_threat({"id": "sid", "type": "piracy"}, rulebase)
    fact = threat_fact(threat, rulebase.catalog)
    assert "id" not in fact and "sid" not in fact
    text = json.dumps(compile_rulebase(rulebase).rulesets)
    assert '"id"' not in text and '"sid"' not in text


def test_flags_are_booleans_so_loose_typing_cannot_confuse_them(rulebase):
    """durable-rules compares loosely ("5" == 5, 1 == true): only `sev` and `ns` (how many states) are numbers,
    and rules compare them only with numbers ($gte, $lte)."""
    threat = advisor.parse_threat({"type": "piracy", "states": ["IDN"], "attributes": {"armed": True}}, rulebase)
    fact = threat_fact(threat, rulebase.catalog)
    numbers = [k for k, v in fact.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    assert numbers == ["sev", "ns"]


def test_or_that_fires_twice_is_recorded_once(assess_raw):
    """Both branches of `any` hold (region and target): the rule appears once in the trace."""
    a = assess_raw({"type": "armed_attack", "region": "japan", "targets": ["japan_territory", "us_forces"]})
    rules = [e.rule for e in a.trace]
    assert rules.count("r04-japan-us-alliance-deterrence") == 1


def test_priorities_are_positive(rulebase):
    """Negative priorities wrap around to the lowest."""
    rulesets = compile_rulebase(rulebase).rulesets
    assert all(r["pri"] > 0 for rs in rulesets.values() for r in rs.values())


def test_no_array_operators_in_compiled_rules(rulebase):
    """$iall on [] is false and $iany on a missing field is false: we compile lists to flags instead."""
    text = json.dumps(compile_rulebase(rulebase).rulesets)
    assert "$iall" not in text and "$iany" not in text


@pytest.mark.parametrize("at", [1, 8])
def test_state_is_deleted_even_when_an_assessment_fails(monkeypatch, assess_raw, at):
    """An assessment that fails (at its first conclusion, or later in the chain) leaves no state
    behind: the same threat and another assess as before."""
    clean = {"k": dump(assess_raw(KOREA)), "p": dump(assess_raw(PIRACY))}
    real, calls = chaining._conclude, []

    def boom(*args, **kwargs):
        calls.append(1)
        if len(calls) == at:
            raise RuntimeError("fails mid-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(chaining, "_conclude", boom)
    with pytest.raises(RuntimeError):
        assess_raw(KOREA)
    monkeypatch.undo()
    assert dump(assess_raw(KOREA)) == clean["k"]
    assert dump(assess_raw(PIRACY)) == clean["p"]


def test_direct_engine_path_starts_the_actions_durable_rules_own_layer_would(assess_raw):
    """advisor drives durable-rules' C engine directly (no closure, no state round trip per action):
    on a ruleset of its own, the actions it collects are those, in the order, that durable-rules'
    Python layer runs for the same facts."""
    from durable import engine as layer

    dre = engine._durable()
    fired: list[str] = []

    class Host(layer.Host):
        def get_action(self, action_name):
            def action(c):  # exactly one parameter: two would make durable-rules treat it as async
                fired.append(action_name)

            return action

        def _run(self):  # no timer thread
            pass

    rules = {
        "a": {"all": [{"m": {"kind": "x"}}], "run": "a"},
        "b": {"all": [{"m": {"$and": [{"kind": "x"}, {"n": 2}]}}], "run": "b"},
        "c": {"all": [{"m": {"kind": "y"}}], "run": "c"},
        "z_any": {"all": [{"m": {"$ex": {"kind": 1}}}], "run": "z_any"},
    }
    host = Host()
    host.register_rulesets({"pitfall_layer": copy.deepcopy(rules)})  # durable-rules mutates what it registers
    engine.register({"pitfall_direct": rules}, dre)
    assert all("run" in r for r in rules.values())  # advisor's registration leaves its input as it was
    facts = [{"kind": "x", "n": 2}, {"kind": "y"}, {"kind": "w"}]
    direct = engine.assert_facts(["pitfall_direct"], facts, dre)
    host.assert_facts("pitfall_layer", [{**f, "sid": engine.SID} for f in facts])
    assert direct == fired and sorted(set(direct)) == ["a", "b", "c", "z_any"]
    dre.delete_state(MEMORY.handles["pitfall_direct"], engine.SID)
    host.delete_state("pitfall_layer", engine.SID)


def test_engine_error_codes_become_clear_messages(monkeypatch, assess_raw):
    dre = engine._durable()

    def fail(*args, **kwargs):
        raise dre.error("Could not assert facts, error code: 303")

    monkeypatch.setattr(dre, "assert_facts", fail)
    with pytest.raises(EngineError, match="too many rule conditions matched one fact at once"):
        assess_raw(PIRACY)


@pytest.mark.slow
def test_large_rule_base_is_split_into_rulesets():
    """256 rules sharing one test crash the engine: rule bases are split into rulesets of 200.
    Run in a subprocess with a timeout, as a crash here would be a segfault."""
    code = r"""
import pathlib, tempfile, advisor
d = pathlib.Path(tempfile.mkdtemp())
rules = "".join(
    f"  - id: r10-generated-{i}\n    cites: ['10']\n    because: 'A generated rule for the size test.'\n"
    f"    basis: general_knowledge\n    note: 'a generated rule'\n"
    f"    when: {{category: non_traditional}}\n    then: {{frameworks: [east_asia_cyber_forum]}}\n"
    for i in range(450))
(d / "many.yaml").write_text("rules:\n" + rules)
rb = advisor.load_rulebase(d)
from advisor.compiler import compile_rulebase
print(len(compile_rulebase(rb).rulesets), len(advisor.assess(advisor.parse_threat({"type": "piracy"}, rb), rb).trace))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "450"]


def test_threads_are_serialised(rulebase, assess_raw):
    """The C engine never releases the GIL and is unsafe under threads: one lock serialises it."""
    expected = {name: dump(assess_raw(raw)) for name, raw in (("p", PIRACY), ("k", KOREA))}
    results, errors = [], []

    def work(name, raw):
        try:
            for _ in range(20):
                results.append((name, dump(assess_raw(raw))))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=item) for item in (("p", PIRACY), ("k", KOREA))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(out == expected[name] for name, out in results) and len(results) == 40


def test_unsupported_python_gets_a_clear_message(monkeypatch):
    """On Python 3.13 durable-rules fails to import: the message says which Pythons work."""
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("durable"):
            raise ImportError("undefined symbol: PyEval_CallObject")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(EngineUnavailable, match="CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject"):
        engine._durable()


def test_catch_all_never_reaches_the_trace(assess_raw):
    assert CATCH_ALL not in {e.rule for e in assess_raw(PIRACY).trace}


def test_view_counts_match_conclusions(rulebase):
    run = chaining.fire(advisor.parse_threat(PIRACY, rulebase), rulebase)
    assert isinstance(run.view, View)
    assert run.view.counts["frameworks"] == len(run.view.frameworks)
    assert run.view.counts["agencies"] == len(run.view.agencies)


@pytest.mark.slow
def test_unbounded_severity_test_does_not_loop_the_engine():
    """`severity: {at_least: low}` once compiled to an empty $and, which matches the engine's own
    state and makes durable-rules fire forever: found by the size benchmark. Run in a subprocess."""
    code = r'''
import pathlib, tempfile, advisor
d = pathlib.Path(tempfile.mkdtemp())
(d / "r.yaml").write_text("""rules:
  - id: r10-any-severity
    cites: ['10']
    because: 'A rule that holds at every severity.'
    basis: general_knowledge
    note: 'a test rule'
    when: {type: terrorism, severity: {at_least: low}}
    then: {frameworks: [east_asia_cyber_forum]}
  - id: r10-never-by-severity
    cites: ['10']
    because: 'A rule whose exception always holds.'
    basis: general_knowledge
    note: 'a test rule'
    when: {type: terrorism, unless: {severity: {at_least: low}}}
    then: {frameworks: [wpns]}
""")
rb = advisor.load_rulebase(d)
a = advisor.assess(advisor.parse_threat({"type": "terrorism", "severity": "low"}, rb), rb)
print(" ".join(e.rule for e in a.trace))
'''
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["r10-any-severity"]
