"""The process's memory (advisor.process): one place, listed, and given back when a rule base is released."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import advisor
from advisor import chaining, process
from advisor.chaining import release
from advisor.process import MEMORY

ROOT = Path(__file__).resolve().parents[1]
PIRACY = {"type": "piracy", "region": "malacca_strait", "states": ["IDN", "MYS", "SGP"]}


def test_every_entry_of_the_memory_is_documented():
    """The module's table lists every field of `Memory`, so the list cannot fall behind the code."""
    documented = process.__doc__ or ""
    for f in dataclasses.fields(process.Memory):
        assert f"`{f.name}`" in documented, f.name


@pytest.mark.slow
def test_no_other_module_keeps_state_between_calls():
    """Module-level containers that calls fill are process state: they belong in advisor.process."""
    import ast

    offenders = []
    for path in sorted((ROOT / "src" / "advisor").rglob("*.py")):
        if path.name == "process.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
            empty = isinstance(value, (ast.Dict, ast.List, ast.Set)) and not (
                getattr(value, "keys", None) or getattr(value, "elts", None)
            )
            called = (
                isinstance(value, ast.Call)
                and getattr(value.func, "id", "") in ("dict", "list", "set")
                and not value.args
                and not value.keywords
            )
            if empty or called:
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_release_gives_back_a_rule_base_and_it_can_come_back(rulebase):
    variant = rulebase.without({rulebase.rules[-1].id})
    first = advisor.assess(PIRACY, variant).to_data()
    names = list(chaining.prepare(variant).plan.rulesets)
    assert all(name in MEMORY.handles for name in names)
    release(variant.digest)
    assert not any(name in MEMORY.handles for name in names)
    for table in (MEMORY.plans, MEMORY.prepared, MEMORY.outputs):
        assert variant.digest not in table
    assert advisor.assess(PIRACY, variant).to_data() == first  # registered again, the same answer
    release(variant.digest)


def test_release_keeps_other_rule_bases(rulebase):
    advisor.assess(PIRACY, rulebase)
    variant = rulebase.without({rulebase.rules[-1].id})
    advisor.assess(PIRACY, variant)
    release(variant.digest)
    assert rulebase.digest in MEMORY.prepared
    assert all(name in MEMORY.handles for name in chaining.prepare(rulebase).plan.rulesets)


@pytest.mark.slow
def test_mutation_testing_leaves_no_mutant_registered(rulebase):
    """`advisor test --mutate` builds a rule base per mutant; each is released once tried."""
    from advisor import policy

    advisor.assess(PIRACY, rulebase)
    before = set(MEMORY.handles)
    cases = policy.load_cases(ROOT / "tests" / "policy" / "test_rec12.yaml")[:1]
    plan = policy.mutants(cases, cases[0].rulebase)
    assert len(plan) > 50
    assert set(MEMORY.handles) - before == set()


@pytest.mark.slow
def test_release_cycles_do_not_corrupt_the_engine(tmp_path):
    """Registering, using and deleting rule bases over and over, with glibc's heap checks on."""
    script = textwrap.dedent(
        """
        import advisor
        from advisor import process
        from advisor.chaining import release
        rb = advisor.load_rulebase()
        threat = {"type": "piracy", "region": "malacca_strait", "states": ["IDN", "MYS", "SGP"]}
        want = advisor.assess(threat, rb).to_data()
        for i in range(40):
            variant = rb.without({rb.rules[i].id})
            advisor.assess(threat, variant)
            release(variant.digest)
        assert advisor.assess(threat, rb).to_data() == want
        print("ok", len(process.MEMORY.handles))
        """
    )
    env = {**os.environ, "MALLOC_CHECK_": "3", "ADVISOR_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ok", str(len(chaining.prepare(advisor.load_rulebase()).plan.rulesets))]
