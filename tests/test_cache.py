"""The rule-base cache is data: parsed and validated, never run; private, and refused when it is not."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import advisor
from advisor import cache

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(where))
    monkeypatch.delenv("ADVISOR_NO_CACHE", raising=False)
    return where


def _entry(where: Path) -> Path:
    (found,) = where.glob("rulebase-*.json")
    return found


def test_cache_round_trip_is_the_same_rule_base(cache_dir):
    """What comes back from the cache is the rule base that was stored, rule for rule."""
    fresh = advisor.load_rulebase()
    cached = advisor.load_rulebase()
    assert cached is not fresh
    assert [r.model_dump() for r in cached.rules] == [r.model_dump() for r in fresh.rules]
    assert cached.catalog.model_dump() == fresh.catalog.model_dump()
    assert cached.digest == fresh.digest
    again = advisor.rules.Rulebase(catalog=cached.catalog, rules=cached.rules, directory="", files=[])
    assert again.digest == fresh.digest  # the digest is recomputed from the data, not only copied


def test_cache_directory_and_files_are_private(cache_dir):
    advisor.load_rulebase()
    assert oct(cache_dir.stat().st_mode & 0o777) == "0o700"
    assert oct(_entry(cache_dir).stat().st_mode & 0o777) == "0o600"
    json.loads(_entry(cache_dir).read_text())  # the cache is plain JSON


@pytest.mark.slow
def test_planted_pickle_is_never_executed(cache_dir, tmp_path):
    """A pickle planted under any name the cache might read is not loaded: loading runs no code."""
    advisor.load_rulebase()
    entry = _entry(cache_dir)
    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    payload = pickle.dumps(Boom())
    entry.write_bytes(payload)
    (cache_dir / entry.name.replace(".json", ".pickle")).write_bytes(payload)
    rb = subprocess.run(
        [sys.executable, "-c", "import advisor; print(len(advisor.load_rulebase().rules))"],
        capture_output=True,
        text=True,
        env={**os.environ, "ADVISOR_CACHE_DIR": str(cache_dir)},
    )
    assert rb.returncode == 0, rb.stderr
    assert int(rb.stdout) > 100
    assert not marker.exists()
    json.loads(_entry(cache_dir).read_text())  # the bad entry was replaced by a good one


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["not json", "[]", '{"format": 1}', "truncate", "wrong rule"])
def test_damaged_cache_is_a_miss(cache_dir, damage):
    fresh = advisor.load_rulebase()
    entry = _entry(cache_dir)
    text = entry.read_text()
    if damage == "truncate":
        entry.write_text(text[: len(text) // 2])
    elif damage == "wrong rule":
        data = json.loads(text)
        data["rules"][0]["then"]["frameworks"] = ["no_such_framework"]
        entry.write_text(json.dumps(data))
    else:
        entry.write_text(damage)
    again = advisor.load_rulebase()
    assert [r.model_dump() for r in again.rules] == [r.model_dump() for r in fresh.rules]
    assert "no_such_framework" not in _entry(cache_dir).read_text()  # the damaged entry was replaced
    json.loads(_entry(cache_dir).read_text())


def test_cache_writable_by_others_is_refused_with_a_warning(cache_dir):
    cache_dir.mkdir(mode=0o700)
    os.chmod(cache_dir, 0o777)
    with pytest.warns(cache.CacheWarning, match="others can write to it \\(mode 0777\\)"):
        rb = advisor.load_rulebase()
    assert rb.rules and not list(cache_dir.iterdir())  # nothing written there, nothing read
    assert oct(cache_dir.stat().st_mode & 0o777) == "0o777"  # and its permissions are left as they were


@pytest.mark.slow
def test_cache_entry_writable_by_others_is_not_read(cache_dir):
    advisor.load_rulebase()
    entry = _entry(cache_dir)
    data = json.loads(entry.read_text())
    data["rules"][0]["because"] = "A sentence planted by someone else in the cache."
    entry.write_text(json.dumps(data))
    os.chmod(entry, 0o666)
    assert "planted" not in advisor.load_rulebase().rules[0].because
    os.chmod(entry, 0o600)
    entry.write_text(json.dumps(data))
    os.chmod(entry, 0o600)
    assert "planted" in advisor.load_rulebase().rules[0].because  # (the check above is what kept it out)


@pytest.mark.slow
def test_symlinked_cache_entry_is_not_followed(cache_dir, tmp_path):
    advisor.load_rulebase()
    entry = _entry(cache_dir)
    elsewhere = tmp_path / "elsewhere.json"
    data = json.loads(entry.read_text())
    data["rules"][0]["because"] = "A sentence planted through a symbolic link."
    elsewhere.write_text(json.dumps(data))
    os.chmod(elsewhere, 0o600)
    entry.unlink()
    entry.symlink_to(elsewhere)
    assert "planted" not in advisor.load_rulebase().rules[0].because


@pytest.mark.slow
def test_cache_warning_reaches_the_command_line(cache_dir, tmp_path):
    cache_dir.mkdir(mode=0o700)
    os.chmod(cache_dir, 0o777)
    run = subprocess.run(
        [sys.executable, "-m", "advisor", "assess", str(ROOT / "threats" / "malacca_piracy.json"), "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ADVISOR_CACHE_DIR": str(cache_dir)},
    )
    assert run.returncode == 0
    assert run.stderr.startswith("advisor: warning: ") and "others can write to it" in run.stderr
    assert "Traceback" not in run.stderr and json.loads(run.stdout)["threat"]["id"]


def test_no_cache_setting_writes_nothing(cache_dir, monkeypatch):
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        advisor.load_rulebase()
    assert not cache_dir.exists()


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["unknown framework", "rules twice", "engine limit", "directory"])
def test_damaged_but_well_typed_entry_is_a_miss_and_replaced(cache_dir, damage):
    """An entry that parses and has the right types but not a rule base's sense (an unknown name, a rule
    twice, a rule past the engine's limits) is a miss, rebuilt from the YAML, never an error."""
    fresh = advisor.load_rulebase()
    entry = _entry(cache_dir)
    data = json.loads(entry.read_text())
    if damage == "unknown framework":
        data["rules"][0]["then"]["frameworks"] = ["nonexistent_fw"]
    elif damage == "rules twice":
        data["rules"] = data["rules"] * 2
    elif damage == "engine limit":
        data["rules"][0]["when"]["any"] = [{"type": ["piracy"]}] * 65
    if damage == "directory":
        entry.unlink()
        entry.mkdir()
    else:
        entry.write_text(json.dumps(data))
        os.chmod(entry, 0o600)
    from advisor.process import MEMORY

    MEMORY.plans.clear()  # as in a new process: the plan of this digest is not made yet
    again = advisor.load_rulebase()
    assert [r.model_dump() for r in again.rules] == [r.model_dump() for r in fresh.rules]
    advisor.assess(advisor.load_threat(ROOT / "threats" / "malacca_piracy.json", again), again)
    if damage != "directory":
        assert json.loads(_entry(cache_dir).read_text())["rules"] == json.loads(
            json.dumps([r.model_dump(mode="json") for r in fresh.rules])
        )  # the damaged entry was replaced
