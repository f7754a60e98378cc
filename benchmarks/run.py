"""advisor's benchmarks: start-up, throughput, processes, memory, and cost against rule-base size.

    .venv/bin/python benchmarks/run.py            # the full run (about five minutes), after the README's install
    .venv/bin/python benchmarks/run.py --quick    # smaller sizes, for a quick look

Prints one table. Every figure is measured in this run on this machine; targets are
those of the project's issue 5.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADVISOR = str(BIN / "advisor")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def timed(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def descriptors(rulebase, n: int, seed: int = 2002) -> list[dict]:
    """Generated descriptors from the vocabulary (seeded: the same every run)."""
    rnd = random.Random(seed)
    cat = rulebase.catalog
    v = cat.vocabulary
    states = sorted(cat.state_groups["east_asia"]) + ["USA", "RUS", "AUS", "IND"]
    out = []
    for i in range(n):
        out.append({"id": f"gen-{i}", "type": rnd.choice(list(v.types)), "region": rnd.choice([*v.regions, None]),
                    "states": rnd.sample(states, rnd.randint(0, 4)), "targets": rnd.sample(list(v.targets), rnd.randint(0, 3)),
                    "actor": rnd.choice(list(v.actors)), "severity": rnd.choice(list(v.severities)),
                    "attributes": {a: True for a in rnd.sample(list(v.attributes), rnd.randint(0, 3))}})
    return out


def throughput(items, rulebase, matcher=None) -> float:
    """Assessments per second through the whole pipeline: normalise, assess, write a JSON line."""
    from advisor.api import parse_threat
    from advisor.engine import assess

    start = time.perf_counter()
    for raw in items:
        a = assess(parse_threat(raw, rulebase), rulebase, matcher)
        a.model_dump_json(exclude={"stages", "since_2002"})
    return len(items) / (time.perf_counter() - start)


def peak_mb(args: list[str]) -> float:
    """Peak resident memory of `advisor assess ARGS`, reported by that process itself (scripts/peak-memory.py)."""
    done = subprocess.run([str(BIN / "python"), str(ROOT / "scripts" / "peak-memory.py"), "assess", *args],
                          capture_output=True, text=True)
    kib = next((int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK ")), 0)
    return kib / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def generated_rulebase(n: int, directory: Path, seed: int = 7) -> Path:
    """A rule base of n generated rules over the shipped catalog."""
    import yaml

    from advisor.api import load_rulebase

    cat = load_rulebase().catalog
    v = cat.vocabulary
    rnd = random.Random(seed)
    frameworks = list(cat.frameworks)
    derived = [d for d in v.derived if d not in v.distinctions]  # distinctions have rules of their own kind
    rules = []
    for i in range(n):
        when: dict = {"type": rnd.sample(list(v.types), 2)}
        if rnd.random() < 0.5:
            when["region"] = rnd.choice(list(v.regions))
        if rnd.random() < 0.3:
            when["severity"] = {"at_least": rnd.choice(list(v.severities))}
        if rnd.random() < 0.2 and i > 10:
            when["derived"] = [rnd.choice(derived)]
        rules.append({"id": f"r{(i % 15) + 1:02d}-generated-{i}", "cites": [str((i % 15) + 1)],
                      "because": "A generated rule for the size benchmark.", "basis": "general_knowledge",
                      "note": "a generated rule, not a policy", "when": when,
                      "then": {"frameworks": [rnd.choice(frameworks)], "derive": [rnd.choice(derived)]}})
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "generated.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    n_batch, n_mem_small, n_mem_large = (2_000, 200, 5_000) if args.quick else (10_000, 1_000, 100_000)
    n_mem_lines = 10 * n_batch

    from advisor.api import load_rulebase  # the advisor installed in this environment (README's command 2)
    from advisor.reference import ReferenceMatcher

    rows: list[tuple[str, str, str, str]] = []
    threat = str(ROOT / "threats" / "malacca_piracy.json")
    python = str(BIN / "python")

    # 1. start-up
    subprocess.run([ADVISOR, "assess", threat, "--format", "json"], capture_output=True, check=True)  # warm cache
    floor = timed([python, "-c", "from pydantic import BaseModel; import click, tabulate, yaml; "
                   "from durable import engine"], 15)
    cold = timed([ADVISOR, "assess", threat, "--format", "json"], 15)
    help_ = timed([ADVISOR, "--help"], 15)
    rows.append(("start-up", "import floor (pydantic, click, tabulate, PyYAML, durable-rules)", f"{floor * 1000:.0f} ms", ""))
    rows.append(("start-up", "advisor assess ONE.json (cold process)", f"{cold * 1000:.0f} ms",
                 f"{cold / floor:.2f}x floor (target <= 1.3x)"))
    rows.append(("start-up", "advisor --help", f"{help_ * 1000:.0f} ms", "no rule engine imported"))

    # 2. throughput, durable-rules against the plain-Python reference evaluator
    rulebase = load_rulebase()
    items = descriptors(rulebase, n_batch)
    throughput(items[:200], rulebase)
    durable = throughput(items, rulebase)
    reference = throughput(items, rulebase, ReferenceMatcher(rulebase))
    rows.append(("throughput", f"{n_batch:,} descriptors, durable-rules, 1 process", f"{durable:,.0f} /s",
                 "target >= 5,000 /s"))
    rows.append(("throughput", f"{n_batch:,} descriptors, plain-Python reference", f"{reference:,.0f} /s",
                 f"durable / reference = {durable / reference:.2f} (target >= 0.5)"))

    # 3. processes
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "gen.jsonl"
        data.write_text("".join(json.dumps(x) + "\n" for x in items))
        outs = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            out = Path(tmp) / f"out{jobs}.jsonl"
            subprocess.run([ADVISOR, "assess", str(data), "--jobs", str(jobs), "-o", str(out)], check=True,
                           capture_output=True)
            outs[jobs] = (time.perf_counter() - start, out.read_bytes())
        same = outs[1][1] == outs[2][1]
        rows.append(("processes", f"advisor assess {n_batch:,} lines --jobs 1", f"{outs[1][0]:.1f} s",
                     f"{n_batch / outs[1][0]:,.0f} /s"))
        rows.append(("processes", f"advisor assess {n_batch:,} lines --jobs 2", f"{outs[2][0]:.1f} s",
                     f"{outs[1][0] / outs[2][0]:.2f}x faster; output identical: {same}"))
        # memory of advisor itself, in its own process (not this benchmark's, which keeps its inputs)
        big = Path(tmp) / "big.jsonl"
        with big.open("w") as fh:
            for _ in range(n_mem_lines // len(items)):
                fh.write(data.read_text())
        small_peak = peak_mb([str(data), "-o", str(Path(tmp) / "o-small.jsonl")])
        large_peak = peak_mb([str(big), "-o", str(Path(tmp) / "o-large.jsonl")])
        rows.append(("memory", f"advisor assess {n_batch:,} lines: peak resident, its own process",
                     f"{small_peak:.1f} MB", ""))
        rows.append(("memory", f"advisor assess {n_mem_lines:,} lines: peak resident, its own process",
                     f"{large_peak:.1f} MB", f"growth {large_peak - small_peak:+.1f} MB (target: flat, < 100 MB)"))

    # 4. memory
    from advisor.api import parse_threat
    from advisor.engine import assess

    parsed = [parse_threat(x, rulebase) for x in descriptors(rulebase, 1_000, seed=3)]
    for t in parsed[:n_mem_small]:
        assess(t, rulebase)
    after_small = rss_mb()
    for i in range(n_mem_large - n_mem_small):
        assess(parsed[i % len(parsed)], rulebase)
    after_large = rss_mb()
    rows.append(("memory", f"this benchmark: resident after {n_mem_small:,} assessments", f"{after_small:.1f} MB",
                 "(holds the benchmark's own inputs)"))
    rows.append(("memory", f"resident after {n_mem_large:,} assessments", f"{after_large:.1f} MB",
                 f"growth {after_large - after_small:+.1f} MB (target < 20 MB)"))

    # 5. rule-base size
    for n in (100, 1000):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["ADVISOR_NO_CACHE"] = "1"
            directory = generated_rulebase(n, Path(tmp) / f"rules{n}")
            start = time.perf_counter()
            rb = load_rulebase(directory)
            loaded = time.perf_counter() - start
            from advisor.engine import prepare

            start = time.perf_counter()
            prepare(rb)
            compiled = time.perf_counter() - start
            sample = descriptors(rb, 1_000, seed=11)
            errors = 0
            start = time.perf_counter()
            for raw in sample:
                try:
                    assess(parse_threat(raw, rb), rb)
                except Exception:
                    errors += 1
            rate = len(sample) / (time.perf_counter() - start)
            del os.environ["ADVISOR_NO_CACHE"]
        rows.append(("rule base", f"{n:,} generated rules: load / compile", f"{loaded * 1000:.0f} / {compiled * 1000:.0f} ms", ""))
        rows.append(("rule base", f"{n:,} generated rules: throughput", f"{rate:,.0f} /s", f"{errors} failed assessments"))

    width = max(len(r[1]) for r in rows)
    print(f"advisor benchmarks on {machine()}")
    print(f"{'area':<11} {'measure':<{width}}  {'figure':>12}  note")
    for area, what, figure, note in rows:
        print(f"{area:<11} {what:<{width}}  {figure:>12}  {note}")


if __name__ == "__main__":
    main()
