"""advisor serve under load: POST /v1/assess driven by wrk on loopback; latency, errors and memory.

    .venv/bin/python benchmarks/serve.py                        # 50 clients for 30 s, 1 worker
    .venv/bin/python benchmarks/serve.py --workers 2            # the same, 2 worker processes
    .venv/bin/python benchmarks/serve.py --memory               # 100,000 requests, RSS every 10,000
    .venv/bin/python benchmarks/serve.py --readme               # all three, the table written into README.md

The server is a real `advisor serve --port 0` in a child process (tests/live.py); the load is wrk
(`apt-get install wrk`, or scripts/system-packages.sh): a Python client on a 2-core machine would
measure itself. The bodies are the example descriptors of threats/ without injects, in turn. Errors
(non-2xx answers, socket errors, timeouts) must be none, and the server's own count (GET /metrics)
must say every assessment was answered 200: otherwise the run fails (exit 1). Latency targets are
printed, met or missed, never enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from run import machine, write_readme  # noqa: E402

from live import Live, live_server  # noqa: E402  (the server the API tests start)

README_START, README_END = "<!-- serve-benchmark:start -->", "<!-- serve-benchmark:end -->"
P99_TARGET_MS = 50.0
FLAT_MB = 5.0  # growth after warm-up that still counts as flat (run.py's criterion for batch mode)
MARK = "ADVISOR-WRK "
LIMIT_MARK = "ADVISOR-WRK-LIMIT"
INSTALL = (
    "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu), `brew install wrk` (macOS), "
    "or `bash scripts/system-packages.sh`. A Python load generator on this machine would measure itself, "
    "so there is no fallback."
)

# One wrk thread: it sends far more than the server answers, and a second would take a core from
# the server on a 2-core machine. The requests are formatted once; each thread sends them in turn.
LUA = """
local bodies = {BODIES}
local requests = {}
local next_one = 0
local limit = {LIMIT}
local seen = 0

function init(args)
  for k, body in ipairs(bodies) do
    requests[k] = wrk.format("POST", "/v1/assess", {["Content-Type"] = "application/json"}, body)
  end
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end

if limit > 0 then
  -- wrk runs for its duration even when its threads stop: it is told the limit was reached (the line
  -- below), and sends the results at once when interrupted (SIGINT)
  function response(status, headers, body)
    seen = seen + 1
    if seen == limit then
      io.write("{LIMIT_MARK}\\n")
      io.flush()
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{MARK}{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def bodies() -> list[str]:
    """The example descriptors without injects, compact JSON (ASCII: a Lua long string holds it as is)."""
    out = []
    for path in sorted((ROOT / "threats").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        if "injects" not in raw:
            out.append(json.dumps(raw, separators=(",", ":"), ensure_ascii=True))
    return out


def script(texts: list[str], limit: int, directory: Path) -> Path:
    path = directory / f"assess-{limit}.lua"
    listed = "{" + ", ".join(f"[==[{t}]==]" for t in texts) + "}"
    path.write_text(
        LUA.replace("{BODIES}", listed)
        .replace("{LIMIT}", str(limit))
        .replace("{MARK}", MARK)
        .replace("{LIMIT_MARK}", LIMIT_MARK)
    )
    return path


# --- the server's processes ---------------------------------------------------------------------------


def pids(live: Live) -> list[int]:
    """The server's processes: the one started, and its forked workers (--workers > 1)."""
    top = live.process.pid
    out = [top]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == top:
            out.append(int(stat.parent.name))
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User and system time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_s() -> float:
    """CPU time spent by everything on the machine so far (all cores; /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def rss(live: Live) -> dict[int, float]:
    return {pid: rss_mb(pid) for pid in pids(live)}


def shown(sample: dict[int, float]) -> str:
    total = sum(sample.values())
    if len(sample) == 1:
        return f"{total:.1f} MB"
    parts = " + ".join(f"{mb:.1f}" for mb in sample.values())
    return f"{total:.1f} MB ({parts}: supervisor + workers)"


def answered(live: Live) -> tuple[dict[str, int], str]:
    """POST /v1/assess answers by status, summed over the workers (each reports its own /metrics),
    and how many each worker answered."""
    workers = set(str(p) for p in pids(live)[1:]) or {str(live.process.pid)}
    seen: dict[str, dict[str, int]] = {}
    for _ in range(400):
        text = httpx.get(live.url + "/metrics", timeout=10).text  # a new connection: any worker may take it
        pid = re.search(r'advisor_worker_info\{pid="(\d+)"\}', text)
        if pid is None:
            raise SystemExit("GET /metrics has no advisor_worker_info")
        counts: dict[str, int] = {}
        for labels, value in re.findall(r"^advisor_http_requests_total\{([^}]*)\} (\S+)$", text, re.M):
            label = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            if label.get("route") == "/v1/assess" and label.get("method") == "POST":
                counts[label["status"]] = counts.get(label["status"], 0) + int(float(value))
        seen[pid.group(1)] = counts
        if workers <= set(seen):
            break
    if not workers <= set(seen):
        raise SystemExit(f"GET /metrics reached workers {sorted(seen)}, not all of {sorted(workers)}")
    total: dict[str, int] = {}
    for counts in seen.values():
        for status, n in counts.items():
            total[status] = total.get(status, 0) + n
    # how the connections were shared: a worker with more of them answers each later
    shares = ", ".join(f"pid {pid} {sum(c.values()):,}" for pid, c in sorted(seen.items()))
    return total, shares


def check_answers(live: Live, texts: list[str]) -> None:
    """Each body once, before the load: a 200 with an assessment (frameworks and a trace)."""
    with live.client() as client:
        for text in texts:
            r = client.post("/v1/assess", content=text, headers={"content-type": "application/json"})
            data = r.json() if r.status_code == 200 else {}
            if "frameworks" not in data or "trace" not in data:
                raise SystemExit(f"POST /v1/assess answered {r.status_code}: {r.text[:500]}")


# --- wrk -------------------------------------------------------------------------------------------------


def wrk(live: Live, lua: Path, clients: int, seconds: float) -> dict:
    """One wrk run; its figures (latencies in µs), with the server's and wrk's CPU seconds."""
    before = sum(cpu_s(p) for p in pids(live))
    own = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = busy_s()
    process = subprocess.Popen(
        ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(lua), live.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for text in process.stdout or ():
        lines.append(text)
        if text.startswith(LIMIT_MARK):
            process.send_signal(signal.SIGINT)
        elif str(lua) in text:  # wrk names the script in its errors, then sends GET / without it
            process.kill()
    process.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_after = busy_s()
    out = "".join(lines)
    line = next((x for x in lines if x.startswith(MARK + "{")), None)
    if process.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({process.returncode}): {out[-2000:]}")
    figures = json.loads(line[len(MARK) :])
    figures["server_cpu"] = sum(cpu_s(p) for p in pids(live)) - before
    figures["wrk_cpu"] = (after.ru_utime + after.ru_stime) - (own.ru_utime + own.ru_stime)
    # what else ran meanwhile (other processes on the same cores disturb the figures)
    elapsed = figures["duration_us"] / 1e6
    others = machine_after - machine_before - figures["server_cpu"] - figures["wrk_cpu"]
    figures["others_cores"] = max(0.0, others) / elapsed
    figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    return figures


def load(clients: int, seconds: float, workers: int, directory: Path) -> list[tuple[str, str, str, str]]:
    """`clients` connections for `seconds` after a warm-up; the figures printed, and as table rows."""
    texts = bodies()
    lua = script(texts, 0, directory)
    name = f"{workers} worker{'s' if workers > 1 else ''}"
    with live_server("--workers", str(workers), tmp_path=directory) as live:
        start = rss(live)
        check_answers(live, texts)
        warm = wrk(live, lua, clients, 3)
        before = rss(live)
        f = wrk(live, lua, clients, seconds)
        after = rss(live)
        statuses, shares = answered(live)
    rate = f["requests"] / (f["duration_us"] / 1e6)
    ms = {k: f[k] / 1000 for k in ("p50", "p90", "p99", "max", "mean")}
    cpu_ms = f["server_cpu"] / f["requests"] * 1000
    sent = len(texts) + warm["requests"] + f["requests"]
    print(f"wrk: POST /v1/assess, {clients} connections, {seconds:g} s, {name} ({len(texts)} bodies in turn)")
    for k in ("p50", "p90", "p99", "max"):
        print(f"  {k:<9} {ms[k]:10.2f} ms")
    print(f"  requests  {f['requests']:10,} ({rate:,.1f} /s; mean latency {ms['mean']:.2f} ms)")
    print(
        f"  errors    {f['errors']:10,} (non-2xx {f['status']}, connect {f['connect']}, read {f['read']}, "
        f"write {f['write']}, timeout {f['timeout']})"
    )
    print(f"  answered  {sum(statuses.values()):10,} by status (server's /metrics): {statuses}; by worker: {shares}")
    print(
        f"  CPU       {cpu_ms:10.2f} ms a request in the server; wrk {f['wrk_cpu']:.1f} s in all; "
        f"other processes {f['others_cores']:.2f} cores on average"
    )
    print(f"  RSS       at start {shown(start)}; after warm-up {shown(before)}; after the run {shown(after)}")
    verify(f["errors"], statuses, sent)
    what = f"`POST /v1/assess`, {clients} clients, {seconds:g} s, `--workers {workers}`"
    return [
        (
            "serve",
            f"{what}: latency p50 / p90 / p99 / max",
            f"{ms['p50']:.1f} / {ms['p90']:.1f} / {ms['p99']:.1f} / {ms['max']:.1f} ms",
            f"target p99 < {P99_TARGET_MS:g} ms: {verdict(ms['p99'] < P99_TARGET_MS)}",
        ),
        (
            "serve",
            f"{what}: answers a second, errors",
            f"{rate:,.0f} /s, {f['errors']} errors",
            f"target 0 errors: {verdict(f['errors'] == 0)}; server CPU {cpu_ms:.2f} ms a request; "
            f"all {sum(statuses.values()):,} answered 200 (/metrics); other processes "
            f"{f['others_cores']:.2f} cores",
        ),
        (
            "serve",
            f"{what}: server resident memory, before / after",
            f"{sum(before.values()):.1f} / {sum(after.values()):.1f} MB",
            "",
        ),
    ]


def memory(total: int, every: int, clients: int, workers: int, directory: Path) -> list[tuple[str, str, str, str]]:
    """`total` requests in runs of `every`, the server's resident memory after each."""
    texts = bodies()
    lua = script(texts, every, directory)
    samples: list[float] = []
    done = 0
    worst_p99 = 0.0
    errors = 0
    with live_server("--workers", str(workers), tmp_path=directory) as live:
        check_answers(live, texts)
        print(f"memory: POST /v1/assess, {clients} connections, {total:,} requests, {workers} worker(s)")
        samples.append(sum(rss(live).values()))
        print(f"  {0:>9,} requests  RSS {samples[-1]:6.1f} MB")
        while done < total:
            f = wrk(live, lua, clients, 600)
            done += f["requests"]
            errors += f["errors"]
            worst_p99 = max(worst_p99, f["p99"] / 1000)
            samples.append(sum(rss(live).values()))
            print(
                f"  {done:>9,} requests  RSS {samples[-1]:6.1f} MB  "
                f"(this run: p99 {f['p99'] / 1000:.1f} ms, {f['errors']} errors, "
                f"other processes {f['others_cores']:.2f} cores)"
            )
        statuses, shares = answered(live)
    growth = samples[-1] - samples[1]
    print(f"  growth after the first {every:,}: {growth:+.1f} MB; answered by status (/metrics): {statuses}")
    verify(errors, statuses, len(texts) + done)
    flat = abs(growth) < FLAT_MB
    return [
        (
            "serve",
            f"{done:,} `POST /v1/assess`, {clients} clients, `--workers {workers}`: server resident memory "
            f"every {every:,} requests",
            f"{samples[0]:.1f} → {samples[1]:.1f} → {samples[-1]:.1f} MB",
            f"{growth:+.1f} MB after the first {every:,}; flat (< {FLAT_MB:g} MB): {verdict(flat)}; "
            f"{errors} errors; worst p99 of a run {worst_p99:.1f} ms; samples "
            + ", ".join(f"{s:.1f}" for s in samples),
        )
    ]


def verify(errors: int, statuses: dict[str, int], sent: int) -> None:
    """No error seen by wrk; every assessment answered 200, at least as many as wrk counted."""
    problems = []
    if errors:
        problems.append(f"{errors} errors seen by wrk")
    if set(statuses) - {"200"}:
        problems.append(f"answers other than 200: {statuses}")
    if statuses.get("200", 0) < sent:
        problems.append(f"the server counted {statuses.get('200', 0):,} answers 200, fewer than the {sent:,} sent")
    if problems:
        raise SystemExit("advisor serve under load: " + "; ".join(problems))


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--seconds", type=float, default=30, help="length of the measured run (default 30)")
    parser.add_argument("--workers", type=int, default=1, help="`advisor serve --workers N` (default 1)")
    parser.add_argument("--memory", action="store_true", help="memory over --requests requests instead")
    parser.add_argument("--requests", type=int, default=100_000, help="requests of --memory (default 100,000)")
    parser.add_argument("--every", type=int, default=10_000, help="requests between RSS samples (default 10,000)")
    parser.add_argument("--readme", action="store_true", help="1 and 2 workers, and --memory; table into README.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(INSTALL)
    print(f"advisor serve under load on {machine()}")
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="advisor-serve-bench-") as tmp:
        directory = Path(tmp)
        if args.readme:
            rows += load(args.clients, args.seconds, 1, directory)
            rows += load(args.clients, args.seconds, 2, directory)
            rows += memory(args.requests, args.every, args.clients, 1, directory)
        elif args.memory:
            rows += memory(args.requests, args.every, args.clients, args.workers, directory)
        else:
            rows += load(args.clients, args.seconds, args.workers, directory)
    width = max(len(r[1]) for r in rows)
    print()
    for area, what, figure, note in rows:
        print(f"{area:<6} {what:<{width}}  {figure:>28}  {note}")
    if args.readme:
        table = [
            f"Measured by `benchmarks/serve.py --readme` on {machine()}, wrk on the same machine:",
            "",
            "| area | measure | figure | target, note |",
            "|---|---|---|---|",
        ]
        table += [f"| {area} | {what} | {figure} | {note} |" for area, what, figure, note in rows]
        write_readme(table, README_START, README_END)


if __name__ == "__main__":
    main()
