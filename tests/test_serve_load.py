"""`advisor serve` under load, bounded: benchmarks/serve.py with wrk, 50 clients for 5 s. No errors,
every assessment answered 200, the latency figures printed; no timing is asserted."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

BENCHMARK = ROOT / "benchmarks" / "serve.py"


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None and not os.environ.get("CI"),
    reason="wrk is not installed (scripts/system-packages.sh installs it; in CI this test must run)",
)
def test_fifty_clients_for_five_seconds_without_an_error():
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--clients", "50", "--seconds", "5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    figures = {k: float(v) for k, v in re.findall(r"^  (p50|p90|p99|max) +([\d.]+) ms$", out, re.M)}
    assert set(figures) == {"p50", "p90", "p99", "max"}, out
    assert 0 < figures["p50"] <= figures["p99"] <= figures["max"], out
    assert re.search(r"^  errors +0 \(non-2xx 0, connect 0, read 0, write 0, timeout 0\)$", out, re.M), out
    answered = re.search(r"^  answered +([\d,]+) by status \(server's /metrics\): \{'200': ([\d,]+)\};", out, re.M)
    assert answered and answered.group(1).replace(",", "") == answered.group(2).replace(",", ""), out
    assert re.search(r"^  requests +[\d,]+ \([\d,.]+ /s", out, re.M), out


def test_without_wrk_the_benchmark_says_how_to_install_it():
    env = {**os.environ, "PATH": ""}
    done = subprocess.run([sys.executable, str(BENCHMARK)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert "wrk is not installed: `sudo apt-get install wrk`" in done.stderr
