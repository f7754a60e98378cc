"""A real `advisor serve` in a child process, for the API, workbench and load tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from advisor.loading import default_rules_dir

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "s3cret-token-for-tests-0123456789"
PIRACY = (ROOT / "threats" / "malacca_piracy.json").read_bytes()


@dataclass
class Live:
    """A running server: its address, its process and what it wrote on stderr so far."""

    url: str
    process: subprocess.Popen
    stderr_path: str

    def stderr(self) -> str:
        with open(self.stderr_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)


@contextmanager
def live_server(*args: str, env: dict[str, str] | None = None, tmp_path=None, wait: float = 30) -> Iterator[Live]:
    """Start `advisor serve --port 0 ARGS`, wait until it answers /healthz, stop it afterwards (SIGTERM)."""
    import tempfile

    err = tempfile.NamedTemporaryFile(prefix="advisor-serve-", suffix=".log", delete=False, dir=tmp_path)
    err.close()
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(err.name, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "advisor", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=full_env,
            text=True,
        )
    try:
        line = process.stdout.readline() if process.stdout else ""
        found = re.search(r"(http://\S+?)/ ", line)
        if not found:
            process.wait(10)
            with open(err.name, encoding="utf-8", errors="replace") as fh:
                raise RuntimeError(f"advisor serve did not start: {line!r} {fh.read()}")
        url = found.group(1)
        deadline = time.monotonic() + wait
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"advisor serve did not answer /healthz: {open(err.name).read()}")
            time.sleep(0.1)
        yield Live(url, process, err.name)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
        os.unlink(err.name)


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def drop_wpns(rules: Path) -> None:
    """Change the rule base: WPNS is no longer concluded for piracy."""
    for f in rules.glob("*.yaml"):
        text = f.read_text()
        if "wpns" in text:
            f.write_text(text.replace("frameworks: [wpns]", "frameworks: [arf]"))
