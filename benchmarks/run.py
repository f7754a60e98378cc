"""advisor's benchmarks: start-up, throughput, the engine against the reference, processes, memory,
and cost against rule-base size, each against its target (issue 11).

    .venv/bin/python benchmarks/run.py             # the full run (about twenty minutes: 1,000,000 lines)
    .venv/bin/python benchmarks/run.py --quick     # smaller sizes, a few minutes
    .venv/bin/python benchmarks/run.py --readme    # the full run, its table written into README.md

Every figure is measured in this run on this machine, advisor as installed in this
environment (the README's second command). A target that is missed is printed with what
the measurement says limits it: the time of each stage of an assessment, or of a cold start.
"""

from __future__ import annotations

import argparse
import gc
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
sys.path.insert(0, str(ROOT / "tests"))
from corpus import descriptors  # noqa: E402  (the generated descriptors the byte-identity test uses too)

FLOOR = "from pydantic import BaseModel; import click, tabulate, yaml, orjson; from durable import engine"
README_START, README_END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(
            next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1]
        )
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{model}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, {platform.platform()}"


def timed(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


class Sink:
    """An output that counts lines (the throughput figures leave the disk out)."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, line: str) -> None:
        self.lines += 1


def items(raws: list[dict]):
    from advisor.batch import Item

    return [
        Item("bench.jsonl", line=i + 1, default_id=f"bench-{i + 1}", text=json.dumps(raw)) for i, raw in enumerate(raws)
    ]


def pipeline(rulebase, raws: list[dict]) -> float:
    """Assessments a second through batch mode in this process: parse the line, normalise, assess,
    build the JSON line (batch.assess_stream, as `advisor assess FILE.jsonl` runs it)."""
    from advisor import batch

    work = items(raws)
    batch.assess_stream(work[:100], rulebase, None, Sink())  # warm: the rule base prepared, the collector settled
    sink = Sink()
    start = time.perf_counter()
    good, bad = batch.assess_stream(work, rulebase, None, sink)
    elapsed = time.perf_counter() - start
    assert sink.lines == len(raws) and bad == 0, (sink.lines, bad)
    return len(raws) / elapsed


def stage_profile(rulebase, raws: list[dict]) -> dict[str, float]:
    """Microseconds per descriptor in each stage of the pipeline, measured by timing the stages
    one after the other on the same descriptors (no profiler: its overhead would distort them)."""
    from advisor import assessment, chaining, engine
    from advisor.api import parse_threat

    work = items(raws)

    def each(fn, xs) -> float:  # results dropped as they come, as batch mode drops them
        start = time.perf_counter()
        for x in xs:
            fn(x)
        return (time.perf_counter() - start) / len(xs) * 1e6

    parse = each(lambda it: parse_threat(it.parsed().raw, rulebase), work)
    threats = [parse_threat(it.parsed().raw, rulebase) for it in work]
    inside = [0.0]
    real = engine.assert_facts

    def counted(*args):
        start = time.perf_counter()
        try:
            return real(*args)
        finally:
            inside[0] += time.perf_counter() - start

    engine.assert_facts = counted
    try:
        run = each(lambda t: chaining.fire(t, rulebase), threats)
    finally:
        engine.assert_facts = real
    asserts = inside[0] / len(threats) * 1e6
    data = each(lambda t: assessment.build_data(t, rulebase), threats)
    line = each(lambda t: assessment.build_json(t, rulebase), threats)
    firings = statistics.mean(len(chaining.fire(t, rulebase).firings) for t in threats[:500])
    return {
        "read the line, normalise the descriptor": parse,
        "durable-rules' C engine (asserts, actions, as called)": asserts,
        "forward chaining and recording firings (Python)": run - asserts,
        "building the assessment data": data - run,
        "serialising (orjson) and escaping checks": line - data,
        "firings per descriptor": firings,
    }


def engine_vs_reference(rulebase, raws: list[dict]) -> tuple[float, float]:
    """Assessments a second, engine path only (descriptors already normalised), with durable-rules
    and with the plain-Python reference evaluator."""
    from advisor import assessment
    from advisor.api import parse_threat
    from advisor.reference import ReferenceMatcher

    threats = [parse_threat(raw, rulebase) for raw in raws]
    matcher = ReferenceMatcher(rulebase)
    rates = []
    for m in (None, matcher):
        for t in threats[:100]:
            assessment.build_json(t, rulebase, m)
        start = time.perf_counter()
        for t in threats:
            assessment.build_json(t, rulebase, m)
        rates.append(len(threats) / (time.perf_counter() - start))
    return rates[0], rates[1]


def peak_mb(args: list[str]) -> float:
    """Peak resident memory of `advisor assess ARGS`, reported by that process itself (scripts/peak-memory.py).
    The batch limit is lifted (a million lines are more than its 200 MB default); the run must succeed."""
    env = {**os.environ, "ADVISOR_MAX_BATCH_BYTES": str(1 << 40)}
    done = subprocess.run(
        [str(BIN / "python"), str(ROOT / "scripts" / "peak-memory.py"), "assess", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"advisor assess {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    kib = next((int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK ")), 0)
    return kib / 1024


def _rule(i: int, when: dict, then: dict) -> dict:
    return {
        "id": f"r{(i % 15) + 1:02d}-bench-{i}",
        "cites": [str((i % 15) + 1)],
        "because": "A rule made for the size benchmark.",
        "basis": "general_knowledge",
        "note": "made for the benchmark, not a policy",
        "when": when,
        "then": then,
    }


def generated_rulebase(n: int, directory: Path, seed: int = 7) -> Path:
    """A rule base of n generated rules over the shipped catalog: they fire often and chain."""
    import yaml

    from advisor.api import load_rulebase

    v = load_rulebase().catalog.vocabulary
    frameworks = list(load_rulebase().catalog.frameworks)
    derived = [d for d in v.derived if d not in v.distinctions]  # distinctions have rules of their own kind
    rnd = random.Random(seed)
    rules = []
    for i in range(n):
        when: dict = {"type": rnd.sample(list(v.types), 2)}
        if rnd.random() < 0.5:
            when["region"] = rnd.choice(list(v.regions))
        if rnd.random() < 0.3:
            when["severity"] = {"at_least": rnd.choice(list(v.severities))}
        if rnd.random() < 0.2 and i > 10:
            when["derived"] = [rnd.choice(derived)]
        rules.append(_rule(i, when, {"frameworks": [rnd.choice(frameworks)], "derive": [rnd.choice(derived)]}))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "generated.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return directory


def inert_rulebase(n: int, directory: Path, seed: int = 7) -> Path:
    """The shipped rules and inert ones up to n: rules of the same shapes (a type, a region, a state,
    a framework and an agency concluded) whose state no generated descriptor names, so the
    firings are the shipped rule base's and only the size differs."""
    import shutil

    import yaml

    from advisor.api import load_rulebase
    from advisor.loading import default_rules_dir

    shipped = load_rulebase()
    cat = shipped.catalog
    v = cat.vocabulary
    named = set(cat.state_groups["east_asia"]) | {"USA", "RUS", "AUS", "IND"}
    elsewhere = sorted(code for code in cat.states if code not in named)
    frameworks, agencies = list(cat.frameworks), list(cat.agencies)
    rnd = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted(default_rules_dir().glob("*.yaml")):
        shutil.copy(path, directory / path.name)
    rules = []
    for i in range(n - len(shipped.rules)):
        when: dict = {"type": rnd.sample(list(v.types), 2), "states": {"any": rnd.sample(elsewhere, 2)}}
        if rnd.random() < 0.5:
            when["region"] = rnd.choice(list(v.regions))
        rules.append(
            _rule(i, when, {"frameworks": [rnd.choice(frameworks)], "agencies": {rnd.choice(agencies): "support"}})
        )
    (directory / "zz_inert.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return directory


def size_case(kind: str, n: int) -> dict:
    """One rule base's figures (shipped, or 1,000 inert or generated rules), in this process."""
    from advisor import chaining
    from advisor.api import load_rulebase

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ADVISOR_NO_CACHE"] = "1"
        directory = (
            None
            if kind == "shipped"
            else {"inert": inert_rulebase, "generated": generated_rulebase}[kind](1000, Path(tmp) / kind)
        )
        start = time.perf_counter()
        rb = load_rulebase(directory)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        chaining.prepare(rb)
        prepared = time.perf_counter() - start
        sample = descriptors(rb, n, seed=11)
        rate = pipeline(rb, sample)
        profile = stage_profile(rb, sample)
    return {
        "rules": len(rb.rules),
        "rate": rate,
        "engine_us": profile["durable-rules' C engine (asserts, actions, as called)"],
        "firings": profile["firings per descriptor"],
        "rulesets": len(chaining.prepare(rb).plan.rulesets),
        "load_ms": loaded * 1000,
        "prepare_ms": prepared * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--size-case", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size_case:
        print(json.dumps(size_case(args.size_case[0], int(args.size_case[1]))))
        return
    quick = args.quick
    n_batch = 2_000 if quick else 10_000
    n_lines_small, n_lines_large = (2_000, 20_000) if quick else (10_000, 1_000_000)
    n_size = 500 if quick else 2_000

    from advisor.api import load_rulebase

    rows: list[tuple[str, str, str, str]] = []
    threat = str(ROOT / "threats" / "malacca_piracy.json")
    python = str(BIN / "python")
    rulebase = load_rulebase()
    raws = descriptors(rulebase, n_batch)

    # 1. start-up
    subprocess.run([ADVISOR, "assess", threat, "--format", "json"], capture_output=True, check=True)  # warm cache
    runs = 7 if quick else 21
    floor = timed([python, "-c", FLOOR], runs)
    cold = timed([ADVISOR, "assess", threat, "--format", "json"], runs)
    help_ = timed([ADVISOR, "--help"], runs)
    rows.append(("start-up", f"import floor: `{FLOOR}`", f"{floor * 1000:.0f} ms", ""))
    rows.append(
        (
            "start-up",
            "`advisor assess ONE.json --format json`, a cold process (rule-base cache warm)",
            f"{cold * 1000:.0f} ms",
            f"{cold / floor:.2f}x the floor; target <= 1.4x: {verdict(cold / floor <= 1.4)}",
        )
    )
    rows.append(("start-up", "`advisor --help`", f"{help_ * 1000:.0f} ms", "no rule engine imported"))
    if cold / floor > 1.4:
        splits = [
            json.loads(
                subprocess.run(
                    [python, str(ROOT / "benchmarks" / "coldstart.py"), threat],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(5)
        ]
        for stage in splits[0]:
            rows.append(
                (
                    "start-up",
                    f"  where the cold start goes: {stage}",
                    f"{statistics.median(s[stage] for s in splits):.1f} ms",
                    "median of 5 fresh processes",
                )
            )

    # 2. throughput of the whole pipeline, one process
    rate = pipeline(rulebase, raws)
    rows.append(
        (
            "throughput",
            f"{n_batch:,} generated descriptors, batch pipeline (parse, normalise, assess, JSON line), 1 process",
            f"{rate:,.0f} /s",
            f"target >= 5,000 /s: {verdict(rate >= 5000)}",
        )
    )
    profile = stage_profile(rulebase, raws)
    firings = profile.pop("firings per descriptor")
    for stage, us in profile.items():
        rows.append(("throughput", f"  per descriptor: {stage}", f"{us:.0f} µs", ""))
    engine_us = profile["durable-rules' C engine (asserts, actions, as called)"]
    rows.append(
        (
            "throughput",
            "  the most the engine's own calls allow, all else free",
            f"{1e6 / engine_us:,.0f} /s",
            f"{firings:.1f} firings per descriptor",
        )
    )

    # 3. durable-rules against the reference evaluator (engine path only, same descriptors)
    durable, reference = engine_vs_reference(rulebase, raws)
    rows.append(
        (
            "engine",
            f"{n_batch:,} normalised descriptors to JSON lines: durable-rules / reference evaluator",
            f"{durable:,.0f} / {reference:,.0f} /s",
            f"durable = {durable / reference:.2f}x the reference; target >= 0.5x: {verdict(durable / reference >= 0.5)}",
        )
    )

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "gen.jsonl"
        data.write_text("".join(json.dumps(x) + "\n" for x in raws))

        # 4. processes
        outs = {}
        for jobs in (1, 2):
            out = Path(tmp) / f"out{jobs}.jsonl"
            times = []
            for _ in range(1 if quick else 3):
                out.unlink(missing_ok=True)
                start = time.perf_counter()
                subprocess.run(
                    [ADVISOR, "assess", str(data), "--jobs", str(jobs), "-o", str(out)], check=True, capture_output=True
                )
                times.append(time.perf_counter() - start)
            outs[jobs] = (statistics.median(times), out.read_bytes())
        same = outs[1][1] == outs[2][1]
        speedup = outs[1][0] / outs[2][0]
        rows.append(
            (
                "processes",
                f"`advisor assess` {n_batch:,} lines, `--jobs 1` / `--jobs 2` (whole command)",
                f"{outs[1][0]:.2f} / {outs[2][0]:.2f} s",
                f"{speedup:.2f}x; target >= 1.7x: {verdict(speedup >= 1.7)}; identical bytes: {same}",
            )
        )

        # 5. memory of advisor itself, in its own process, output to /dev/null
        big = Path(tmp) / "big.jsonl"
        text = data.read_text()
        with big.open("w") as fh:
            for _ in range(n_lines_large // n_batch):
                fh.write(text)
        small_peak = peak_mb([str(data), "-o", os.devnull])
        start = time.perf_counter()
        large_peak = peak_mb([str(big), "-o", os.devnull])
        large_time = time.perf_counter() - start
        flat = large_peak < 100 and large_peak - small_peak < 5
        rows.append(
            (
                "memory",
                f"`advisor assess` {n_lines_small:,} / {n_lines_large:,} lines: peak resident, its own process",
                f"{small_peak:.1f} / {large_peak:.1f} MB",
                f"flat, < 100 MB: {verdict(flat)} ({n_lines_large:,} lines in {large_time:.0f} s)",
            )
        )

    # 6. rule-base size: inert rules (the same firings) and generated ones (many more firings), each
    # measured in a process of its own: durable-rules' speed on one rule base can depend on what an
    # earlier one left in the process (4x slower on some hash seeds), which is not what is measured here
    cases = {
        kind: json.loads(
            subprocess.run(
                [python, __file__, "--size-case", kind, str(n_size)], capture_output=True, text=True, check=True
            ).stdout
        )
        for kind in ("shipped", "inert", "generated")
    }
    shipped = cases["shipped"]
    for kind, case in cases.items():
        note = (
            f"{case['firings']:.1f} firings per descriptor, {case['rulesets']} rulesets; C engine "
            f"{case['engine_us']:.0f} µs a descriptor; load {case['load_ms']:.0f} ms, prepare {case['prepare_ms']:.0f} ms"
        )
        if kind == "inert":
            ratio = shipped["rate"] / case["rate"]
            note = f"{ratio:.2f}x slower than shipped; target <= 1.5x: {verdict(ratio <= 1.5)}; " + note
        label = f"shipped ({case['rules']} rules)" if kind == "shipped" else f"{case['rules']:,} rules, {kind}"
        rows.append(("rule base", f"{label}: throughput, {n_size:,} descriptors", f"{case['rate']:,.0f} /s", note))

    report(rows, args.readme)


def report(rows: list[tuple[str, str, str, str]], readme: bool) -> None:
    gc.collect()
    width = max(len(r[1]) for r in rows)
    print(f"advisor benchmarks on {machine()}")
    for area, what, figure, note in rows:
        print(f"{area:<11} {what:<{width}}  {figure:>16}  {note}")
    if not readme:
        return
    table = [
        f"Measured by `benchmarks/run.py` on {machine()}:",
        "",
        "| area | measure | figure | target, note |",
        "|---|---|---|---|",
    ]
    table += [f"| {area} | {what.strip()} | {figure} | {note} |" for area, what, figure, note in rows]
    write_readme(table, README_START, README_END)


def write_readme(lines: list[str], start: str, end: str) -> None:
    """Put `lines` in README.md in place of what is between the markers `start` and `end`
    (benchmarks/serve.py writes its own table this way)."""
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(head + start + "\n" + "\n".join(lines) + "\n" + end + tail, encoding="utf-8")
    print(f"README.md: table written between {start} and {end}")


if __name__ == "__main__":
    main()
