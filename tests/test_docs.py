"""Every example of the README and of docs/ runs: each command of each ```sh block, in a fresh copy of
the examples and rule base, must exit 0 (or 1 where its comment says `exits 1`), and each ```python
block must run. Blocks that install or benchmark follow a `<!-- docs-test: skip -->` line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- docs-test: skip -->\n)?```(sh|python)\n(.*?)```", re.S)


def blocks(kind: str) -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            if m.group(2) == kind and not m.group(1):
                line = text.count("\n", 0, m.start(3)) + 1
                out.append((f"{path.name}:{line}", textwrap.dedent(m.group(3))))
    return out


def commands(block: str) -> list[str]:
    """The block's commands: a line, with its continuation lines and here-document."""
    out, lines = [], block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cmd = [line]
        while cmd[-1].rstrip().endswith("\\") and i < len(lines):
            cmd.append(lines[i])
            i += 1
        heredoc = re.search(r"<<-?'?(\w+)'?", line)
        if heredoc:
            while i < len(lines):
                cmd.append(lines[i])
                i += 1
                if lines[i - 1].strip() == heredoc.group(1):
                    break
        out.append("\n".join(cmd))
    return out


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A copy of what the examples read, and the files they name (an earlier output, a decisions log)."""
    ws = tmp_path_factory.mktemp("docs")
    for name in ("rules", "threats"):
        shutil.copytree(ROOT / name, ws / name)
    shutil.copytree(ROOT / "tests" / "policy", ws / "tests" / "policy")
    shutil.copytree(ROOT / "rules", ws / "my-rules")
    shutil.copytree(ROOT / "rules", ws / "rules-before")
    shutil.copy(ROOT / "threats" / "malacca_piracy.json", ws / "mythreat.json")
    env = _env(ws)
    for out, threat in (("old.json", "cyber_attack"), ("new.json", "cyber_escalation")):
        subprocess.run(
            [*ADVISOR, "assess", f"threats/{threat}.json", "--format", "json", "-o", out],
            cwd=ws,
            env=env,
            check=True,
            capture_output=True,
        )
    shutil.copy(ROOT / "tests" / "data" / "korean_peninsula_decisions.yaml", ws / "decisions.yaml")
    for name in ("a.json", "b.json"):
        shutil.copy(ROOT / "threats" / "terrorism.json", ws / name)
    (ws / "batch.jsonl").write_text('{"type": "terrorism"}\n{"type": "piracy", "region": "malacca_strait"}\n')
    (ws / "big.jsonl").write_text("".join(f'{{"type": "piracy", "id": "p{i}"}}\n' for i in range(30)))
    (ws / "more.jsonl").write_text('{"type": "piracy"}\n{"type": "pandemic", "states": ["China"]}\n')
    return ws


ADVISOR = [sys.executable, "-m", "advisor"]


def _env(ws: Path) -> dict[str, str]:
    bin_dir = ws / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "advisor"  # `advisor` as the examples type it: this interpreter's advisor
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m advisor "$@"\n')
    shim.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }


@pytest.mark.slow
@pytest.mark.parametrize("where, block", blocks("sh"), ids=[w for w, _ in blocks("sh")])
def test_shell_examples_run(where, block, workspace):
    env = _env(workspace)
    for cmd in commands(block):
        if "(interactive)" in cmd:  # `advisor new` asks questions: tests/test_new.py answers them
            assert cmd.startswith("advisor new"), (where, cmd)
            continue
        wanted = 1 if "exits 1" in cmd else 0
        done = subprocess.run(
            ["bash", "-c", cmd],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert "Traceback" not in done.stderr, (where, cmd, done.stderr)
        assert done.returncode == wanted, (where, cmd, done.returncode, done.stderr[-2000:])


@pytest.mark.slow
@pytest.mark.parametrize("where, block", blocks("python"), ids=[w for w, _ in blocks("python")])
def test_python_examples_run(where, block, workspace):
    done = subprocess.run(
        [sys.executable, "-c", block], cwd=workspace, env=_env(workspace), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (where, done.stderr[-2000:])


def test_examples_are_found():
    assert len(blocks("sh")) >= 15 and len(blocks("python")) >= 4
