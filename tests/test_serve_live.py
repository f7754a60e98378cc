"""`advisor serve` as a person starts it: a real process on loopback, its signals, its workers,
its refusals and its logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from live import PIRACY, TOKEN, copy_rules, drop_wpns, live_server

pytestmark = pytest.mark.slow


def wait_for(check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("the server did not get there in time")


def frameworks(c: httpx.Client) -> set[str]:
    """The frameworks for piracy, on a new connection (one connection stays with one worker)."""
    r = httpx.post(f"{str(c.base_url).rstrip('/')}/v1/assess", content=PIRACY, headers=c.headers)
    assert r.status_code == 200, r.text
    return {f["id"] for f in r.json()["frameworks"]}


def test_sighup_reloads_and_a_broken_rule_base_is_refused(tmp_path):
    rules = copy_rules(tmp_path)
    with live_server("--rules", str(rules)) as s, s.client() as c:
        before = c.get("/healthz").json()["rulebase"]
        assert "wpns" in frameworks(c)
        drop_wpns(rules)
        s.process.send_signal(signal.SIGHUP)
        after = wait_for(lambda: (d := c.get("/healthz").json()["rulebase"]) != before and d)
        assert "wpns" not in frameworks(c)

        first = sorted(rules.glob("*.yaml"))[0]
        first.write_text(first.read_text() + "\n  - id: broken\n")
        s.process.send_signal(signal.SIGHUP)
        wait_for(lambda: '"result":"refused"' in s.stderr())
        assert c.get("/healthz").json()["rulebase"] == after
        assert "wpns" not in frameworks(c)  # the old rule base serves on
        assert s.process.poll() is None


def test_access_log_is_json_lines(tmp_path):
    with live_server() as s, s.client() as c:
        c.post("/v1/assess", content=PIRACY)
        c.post("/v1/assess?lang=xx", content=b'{"type": "pirate"}')

        def assessed():
            found = [json.loads(x) for x in s.stderr().splitlines() if x.startswith("{")]
            found = [r for r in found if r.get("path") == "/v1/assess"]
            return found if len(found) == 2 else None

        records = wait_for(assessed)
    assert [r["status"] for r in records] == [200, 422]
    for r in records:
        assert {"ts", "id", "client", "method", "path", "route", "status", "bytes", "ms"} <= set(r)
        assert r["route"] == "/v1/assess" and r["client"] == "127.0.0.1"
    assert records[1]["query"] == "lang=xx"


def test_two_workers_serve_and_all_reload(tmp_path):
    rules = copy_rules(tmp_path)
    with (
        live_server("--rules", str(rules), "--workers", "2", env={"ADVISOR_TOKEN": TOKEN}) as s,
        s.client(headers={"authorization": f"Bearer {TOKEN}"}) as c,
    ):
        pids = wait_for(lambda: _pids(c) if len(_pids(c)) == 2 else None)
        assert os.getpid() not in pids and s.process.pid not in pids
        drop_wpns(rules)
        out = c.post("/v1/reload").json()
        assert out["reloaded"]
        # the supervisor passes the reload on: every worker ends up with the new rule base
        wait_for(lambda: set(_digests(s.url).values()) == {out["rulebase"]})
        assert all("wpns" not in frameworks(c) for _ in range(8))


def _digests(url: str) -> dict[str, str] | None:
    """Each worker's rule base (by the pid in X-Request-Id), once both workers have answered."""
    seen: dict[str, str] = {}
    for _ in range(40):
        r = httpx.get(f"{url}/healthz")
        seen[r.headers["x-request-id"].split("-")[0]] = r.json()["rulebase"]
    return seen if len(seen) == 2 else {"": "not both workers yet"}


def _pids(c: httpx.Client) -> set[str]:
    """The workers' pids, each request on a new connection (one connection stays with one worker)."""
    seen = set()
    for _ in range(20):
        for line in httpx.get(f"{str(c.base_url).rstrip('/')}/metrics", headers=c.headers).text.splitlines():
            if line.startswith("advisor_worker_info"):
                seen.add(line.split('pid="')[1].split('"')[0])
    return seen


def test_a_worker_that_dies_is_replaced(tmp_path):
    with live_server("--workers", "2") as s, s.client() as c:
        pids = wait_for(lambda: _pids(c) if len(_pids(c)) == 2 else None)
        os.kill(int(sorted(pids)[0]), signal.SIGKILL)
        wait_for(lambda: len(p := _pids(c)) == 2 and p != pids)
        assert c.post("/v1/assess", content=PIRACY).status_code == 200


def test_not_loopback_without_a_token_is_refused():
    r = subprocess.run(
        [sys.executable, "-m", "advisor", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "ADVISOR_TOKEN"},
    )
    assert r.returncode == 2, r
    assert r.stderr.startswith("error: --host: serving on 0.0.0.0 (not loopback) needs a bearer token")
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_a_short_token_is_refused(tmp_path):
    (tmp_path / "token").write_text("short\n")
    r = subprocess.run(
        [sys.executable, "-m", "advisor", "serve", "--token-file", str(tmp_path / "token"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "at least 16 printable characters" in r.stderr and str(tmp_path) in r.stderr


def test_not_loopback_with_a_token_serves_and_guards(tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    with live_server("--host", "0.0.0.0", "--token-file", str(tmp_path / "token")) as s:
        url = s.url.replace("0.0.0.0", "127.0.0.1")
        assert httpx.post(url + "/v1/assess", content=PIRACY).status_code == 401
        r = httpx.post(url + "/v1/assess", content=PIRACY, headers={"authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200


def test_a_bad_rule_base_is_refused_before_listening(tmp_path):
    rules = copy_rules(tmp_path)
    first = sorted(rules.glob("*.yaml"))[0]
    first.write_text(first.read_text() + "\n  - id: broken\n")
    r = subprocess.run(
        [sys.executable, "-m", "advisor", "serve", "--rules", str(rules), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "broken" in r.stderr and r.stdout == "" and "Traceback" not in r.stderr


def test_port_in_use_is_a_clear_error():
    with live_server() as s:
        port = s.url.rsplit(":", 1)[1]
        r = subprocess.run(
            [sys.executable, "-m", "advisor", "serve", "--port", port], capture_output=True, text=True, timeout=60
        )
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_cors_only_when_configured():
    origin = {"origin": "http://example.org"}
    with live_server() as s:
        r = httpx.post(s.url + "/v1/assess", content=PIRACY, headers=origin)
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    with live_server("--cors-origin", "http://example.org") as s:
        r = httpx.post(s.url + "/v1/assess", content=PIRACY, headers=origin)
        assert r.headers["access-control-allow-origin"] == "http://example.org"
        other = httpx.post(s.url + "/v1/assess", content=PIRACY, headers={"origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_slow_body_is_cut_off(tmp_path):
    """A client that sends its body slower than the time limit gets a 4xx, and the server goes on."""
    import socket

    with live_server(env={"ADVISOR_SERVE_TIMEOUT": "1"}) as s:
        host, port = s.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /v1/assess HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
            sock.settimeout(10)
            answer = b""
            while b"did not arrive" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            answer = answer.decode()
        assert answer.startswith("HTTP/1.1 400") and "did not arrive within 1 s" in answer
        assert httpx.get(s.url + "/healthz").status_code == 200


def test_workers_share_the_connections():
    """Each worker has its own socket on the port: new connections reach both."""
    with live_server("--workers", "2") as s:
        wait_for(
            lambda: len({httpx.get(f"{s.url}/healthz").headers["x-request-id"].split("-")[0] for _ in range(30)}) == 2
        )
        port = s.url.rsplit(":", 1)[1]
        r = subprocess.run(
            [sys.executable, "-m", "advisor", "serve", "--port", port, "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 2 and "cannot listen" in r.stderr  # a second server cannot join the first


def _raw(url: str, data: bytes, wait: float = 15) -> str:
    """Send raw bytes, return what comes back until the server closes or `wait` passes."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.settimeout(wait)
        try:
            sock.sendall(data)
        except OSError:
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return answer.decode("latin-1")


def test_request_heads_are_bounded_in_size_and_time():
    with live_server() as s:
        big = _raw(s.url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        assert big.startswith("HTTP/1.1 431") and "over 16 KB" in big
        started = time.monotonic()
        idle = _raw(s.url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", wait=30)
        assert idle.startswith("HTTP/1.1 408") and 9 < time.monotonic() - started < 20
        assert httpx.get(s.url + "/healthz").status_code == 200


def test_only_this_machines_names_on_loopback():
    """DNS rebinding: a page of another site, resolved to 127.0.0.1, must not read the API."""
    with live_server() as s:
        r = httpx.post(s.url + "/v1/assess", content=PIRACY, headers={"host": "evil.example"})
        assert r.status_code == 421 and r.json()["error"]["problems"][0]["field"] == "host"
        for name in ("localhost", "127.0.0.1", "[::1]"):
            port = s.url.rsplit(":", 1)[1]
            assert httpx.get(s.url + "/healthz", headers={"host": f"{name}:{port}"}).status_code == 200


def test_a_client_gone_mid_body_is_a_499_without_traceback():
    with live_server() as s:
        _raw(s.url, b"POST /v1/assess HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{", wait=0.3)
        line = wait_for(lambda: [x for x in s.stderr().splitlines() if '"path":"/v1/assess"' in x])
        assert '"status":499' in line[0] and "Traceback" not in s.stderr()
        assert 'status="500"' not in httpx.get(s.url + "/metrics").text


def test_workers_end_with_their_supervisor():
    with live_server("--workers", "2") as s:
        pids = wait_for(lambda: _pids_of(s.url) if len(_pids_of(s.url)) == 2 else None)
        os.kill(s.process.pid, signal.SIGKILL)
        s.process.wait()
        wait_for(lambda: not any(_alive(int(p, 16)) for p in pids), 20)


def _pids_of(url: str) -> set[str]:
    return {httpx.get(f"{url}/healthz").headers["x-request-id"].split("-")[0] for _ in range(30)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_replacement_worker_never_serves_rules_that_fail_the_check(tmp_path):
    rules = copy_rules(tmp_path)
    with live_server("--rules", str(rules), "--workers", "2") as s:
        before = httpx.get(s.url + "/healthz").json()["rulebase"]
        pids = wait_for(lambda: _pids_of(s.url) if len(_pids_of(s.url)) == 2 else None)
        first = sorted(rules.glob("*.yaml"))[0]
        first.write_text(first.read_text() + "\n  - id: broken\n")
        os.kill(int(sorted(pids)[0], 16), signal.SIGKILL)
        wait_for(lambda: "cannot serve" in s.stderr(), 90)
        for _ in range(10):  # the other worker serves on, the old rule base, and no connection hangs
            assert httpx.get(s.url + "/healthz", timeout=5).json()["rulebase"] == before
