"""The HTTP API (`advisor serve`), in process through an HTTP client: every endpoint gives the CLI's
answer, bad input the CLI's error as a 4xx, and the limits, the token and reloads hold."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest
from fastapi.testclient import TestClient

from advisor.server import Settings, create_app

from conftest import THREATS, load_json
from live import PIRACY, TOKEN, copy_rules, drop_wpns

EXERCISE = (THREATS / "korean_peninsula_exercise.json").read_bytes()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings()), raise_server_exceptions=False) as c:
        yield c


def cli_json(invoke, *args: str) -> object:
    return json.loads(invoke([*args], exit_code=0).stdout)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    for p in body["error"]["problems"]:
        assert set(p) == {"field", "message", "nearest", "line", "text"}
    return body["error"]


# --- every endpoint: the CLI's answer ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["malacca_piracy.json", "cyber_attack.json", "korean_peninsula_exercise.json"])
def test_assess_is_the_cli_answer(client, invoke, name):
    body = (THREATS / name).read_bytes()
    r = client.post("/v1/assess", content=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == cli_json(invoke, "assess", str(THREATS / name), "--format", "json")


def test_assess_japanese_and_today_are_the_cli_answer(client, invoke):
    r = client.post("/v1/assess", params={"lang": "ja", "as_of": "today"}, content=EXERCISE)
    expected = cli_json(
        invoke,
        "assess",
        str(THREATS / "korean_peninsula_exercise.json"),
        "--format",
        "json",
        "--lang",
        "ja",
        "--as-of",
        "today",
    )
    assert r.json() == expected
    assert any("name_ja" in f for f in r.json()["frameworks"]) and "since_2002" in r.json()


def test_same_request_same_bytes(client):
    first = client.post("/v1/assess", content=PIRACY).content
    assert client.post("/v1/assess", content=PIRACY).content == first


def test_batch_json_lines_are_the_cli_lines(client, invoke, tmp_path):
    lines = [json.dumps(load_json(THREATS / n)) for n in ("malacca_piracy.json", "terrorism.json")]
    body = "\n".join([lines[0], '{"type": "pirate"}', "not json", lines[1]]) + "\n"
    r = client.post("/v1/assess", content=body, headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    got = r.text.splitlines()
    assert len(got) == 4
    (tmp_path / "in.jsonl").write_text(body)
    expected = invoke(["assess", str(tmp_path / "in.jsonl"), "--format", "jsonl"], exit_code=2).stdout.splitlines()
    # the CLI names its input file where the API names the body
    assert [json.loads(x) for x in got] == [json.loads(x.replace(str(tmp_path / "in.jsonl"), "body")) for x in expected]
    assert "did you mean 'piracy'" in got[1] and json.loads(got[2])["error"]["line"] == 3


def test_batch_array_streams_one_line_per_element(client):
    body = json.dumps([{"type": "piracy"}, {"type": "cyber attack"}, {"type": 5}])
    r = client.post("/v1/assess", content=body)
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x.get("threat", {}).get("type") for x in lines] == ["piracy", "cyber_attack", None]
    assert "error" in lines[2]


def test_explain_is_the_cli_answer(client, invoke):
    path = str(THREATS / "malacca_piracy.json")
    r = client.post("/v1/explain", params={"why": "wpns", "why_not": "tcog"}, content=PIRACY)
    expected = cli_json(invoke, "explain", path, "--why", "wpns", "--why-not", "tcog", "--format", "json")
    assert r.json() == expected
    assert r.json()["why"]["present"] and r.json()["why"]["rules"][0]["quote"]
    r = client.post("/v1/explain", params={"what_if": "true"}, content=PIRACY)
    assert r.json() == cli_json(invoke, "explain", path, "--what-if", "--format", "json")


def test_explain_needs_a_question_and_a_known_target(client):
    assert "why=X" in error_of(client.post("/v1/explain", content=PIRACY), 422)["message"]
    e = error_of(client.post("/v1/explain", params={"why": "wpsn"}, content=PIRACY), 422)
    assert e["problems"][0]["field"] == "why" and "wpns" in e["problems"][0]["nearest"]


def test_query_is_the_cli_answer(client, invoke):
    r = client.get("/v1/query", params={"framework": "wpns"})
    assert r.json() == cli_json(invoke, "query", "--framework", "wpns", "--format", "json")
    assert error_of(client.get("/v1/query"), 422)["problems"][0]["field"] == "query"
    e = error_of(client.get("/v1/query", params={"agency": "wpns"}), 422)
    assert "is a framework, not an agency" in e["message"]


@pytest.mark.parametrize(
    "kind",
    ["recommendations", "frameworks", "agencies", "states", "types", "regions", "targets", "attributes", "derived"],
)
def test_catalog_is_the_cli_answer(client, invoke, kind):
    assert client.get(f"/v1/catalog/{kind}").json() == cli_json(invoke, "catalog", kind, "--format", "json")


def test_catalog_in_japanese_and_unknown_kind(client):
    frameworks = client.get("/v1/catalog/frameworks", params={"lang": "ja"}).json()
    assert any(f.get("name_ja") for f in frameworks)
    e = error_of(client.get("/v1/catalog/framework"), 422)
    assert e["problems"][0]["field"] == "kind" and e["problems"][0]["nearest"] == ["frameworks"]


@pytest.mark.parametrize("what", ["descriptor", "rules", "cases", "assessment"])
def test_schema_is_the_cli_answer(client, invoke, what):
    r = client.get(f"/v1/schema/{what}")
    assert r.headers["content-type"] == "application/schema+json"
    assert r.json() == cli_json(invoke, "schema", "--what", what)


def test_brief_html_and_markdown_are_the_cli_documents(client, invoke, tmp_path):
    path = str(THREATS / "korean_peninsula_exercise.json")
    for fmt, extra in (("html", ()), ("markdown", ("--facilitator",)), ("markdown", ("--handout",))):
        params = {"format": fmt, **{x.strip("-"): "true" for x in extra}}
        r = client.post("/v1/brief", params=params, content=EXERCISE)
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"].startswith("attachment; filename=")
        assert r.text == invoke(["brief", path, "--format", fmt, *extra]).stdout


def test_brief_docx_is_a_word_document(client):
    r = client.post("/v1/brief", params={"format": "docx", "facilitator": "true"}, content=EXERCISE)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert 'filename="korean_peninsula_exercise-facilitator-guide.docx"' in r.headers["content-disposition"]
    assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()


def test_brief_refuses_two_documents_at_once(client):
    e = error_of(client.post("/v1/brief", params={"facilitator": "true", "handout": "true"}, content=EXERCISE), 422)
    assert "choose one" in e["message"]


def test_msel_in_every_format(client, invoke):
    path = str(THREATS / "korean_peninsula_exercise.json")
    for fmt in ("markdown", "csv"):
        r = client.post("/v1/msel", params={"format": fmt}, content=EXERCISE)
        assert r.content == invoke(["msel", path, "--format", fmt]).stdout_bytes
    r = client.post("/v1/msel", params={"format": "xlsx"}, content=EXERCISE)
    assert "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()


def test_graph_is_the_cli_picture(client, invoke):
    path = str(THREATS / "malacca_piracy.json")
    r = client.post("/v1/graph", params={"format": "mermaid"}, content=PIRACY)
    assert r.text == invoke(["graph", path, "--format", "mermaid"]).stdout
    if shutil.which("dot"):
        svg = client.post("/v1/graph", params={"format": "svg"}, content=PIRACY)
        assert svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text
    e = error_of(client.post("/v1/graph", params={"stage": 9}, content=EXERCISE), 422)
    assert "there is no stage 9" in e["message"]


def test_health_metrics_and_openapi(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and len(health["rulebase"]) == 64 and health["rules"] > 100
    client.post("/v1/assess", content=PIRACY)
    text = client.get("/metrics").text
    assert 'advisor_http_requests_total{method="POST",route="/v1/assess",status="200"}' in text
    assert f'advisor_rulebase_info{{digest="{health["rulebase"]}"}} 1.0' in text
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = {"/v1/assess", "/v1/explain", "/v1/query", "/v1/catalog/{kind}", "/v1/schema/{what}", "/v1/brief"}
    paths |= {"/v1/msel", "/v1/graph", "/v1/reload", "/healthz", "/metrics"}
    assert paths <= set(doc["paths"])
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))  # HEAD /healthz is answered, not documented twice
    schemas = doc["components"]["schemas"]
    assert {"Assessment", "Descriptor", "ErrorOut", "ExplainOut"} <= set(schemas)
    assert "piracy" in json.dumps(schemas["Descriptor"]["properties"]["type"])
    refs = {v for v in _refs(doc)}
    assert refs and all(r.removeprefix("#/components/schemas/") in schemas for r in refs), refs - set(schemas)
    assert doc["paths"]["/v1/assess"]["post"]["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_workbench_page_and_files(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for bad in ("/workbench/..%2fserver.py", "/workbench/.hidden", "/workbench/server.py", "/workbench/nothere.js"):
        assert client.get(bad).status_code == 404, bad


def test_no_docs_page_that_would_load_a_cdn(client):
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


# --- bad input: the CLI's errors as 4xx -------------------------------------------------------------------


def test_invalid_descriptor_names_field_and_nearest(client):
    e = error_of(client.post("/v1/assess", content=b'{"type": "piracy", "region": "malaca"}'), 422)
    p = e["problems"][0]
    assert p["field"] == "region" and p["nearest"] == ["malacca_strait"] and "did you mean" not in p["message"]
    assert p["text"] == "body: region: unknown value 'malaca' (did you mean 'malacca_strait'?)"


def test_several_problems_each_reported(client):
    e = error_of(client.post("/v1/assess", content=b'{"type": "pircy", "severity": "hgh", "colour": 1}'), 422)
    assert {p["field"] for p in e["problems"]} >= {"type", "severity", "colour"}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"", 400, "empty"),
        (b"{not json", 400, "not valid JSON"),
        (b'{"type": "piracy"} {"type": "piracy"}', 400, "more than one JSON value"),
        (b"\xff\xfe\x00", 400, "UTF-8"),
        (b"[" * 200 + b"]" * 200, 400, "nested"),
        (b'{"type": "piracy", "severity": NaN}', 400, "NaN"),
        (b'"piracy"', 422, "descriptor"),
    ],
)
def test_unusable_bodies_are_4xx_never_5xx(client, body, status, words):
    r = client.post("/v1/assess" if not body.startswith(b"[") else "/v1/explain?why=wpns", content=body)
    e = error_of(r, status)
    assert words.lower() in e["message"].lower(), e["message"]


def test_bad_option_names_the_parameter_and_nearest(client):
    e = error_of(client.post("/v1/brief", params={"format": "htm"}, content=PIRACY), 422)
    assert e["problems"][0]["field"] == "format" and e["problems"][0]["nearest"] == ["html"]
    e = error_of(client.post("/v1/assess", params={"lang": "jp"}, content=PIRACY), 422)
    assert e["problems"][0]["field"] == "lang" and "ja" in e["problems"][0]["nearest"]


def test_a_bug_is_a_500_without_its_traceback(monkeypatch, client):
    import advisor.server as server

    def broken(*args):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(server, "_assess_plain", broken)
    e = error_of(client.post("/v1/assess", content=PIRACY), 500)
    assert "bug in advisor" in e["message"] and "secret detail" not in e["message"]


# --- limits ---------------------------------------------------------------------------------------------


def test_body_over_the_descriptor_limit_is_413(client, monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "100")
    e = error_of(client.post("/v1/assess", content=PIRACY), 413)
    assert "ADVISOR_MAX_DESCRIPTOR_BYTES" in e["message"]
    e = error_of(client.post("/v1/explain?why=wpns", content=PIRACY), 413)

    def chunks():  # no Content-Length: refused while it is read
        yield PIRACY

    error_of(client.post("/v1/brief", content=chunks()), 413)


def test_batch_over_the_batch_limit_is_413(client, monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", "1000")
    body = "\n".join(['{"type": "piracy"}'] * 100)
    error_of(client.post("/v1/assess", content=body, headers={"content-type": "application/x-ndjson"}), 413)


def test_a_line_over_the_descriptor_limit_is_an_error_record(client, monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "50")
    body = '{"type": "piracy"}\n{"type": "piracy", "title": "' + "x" * 100 + '"}\n'
    lines = client.post("/v1/assess", content=body, headers={"content-type": "application/x-ndjson"}).text
    records = [json.loads(x) for x in lines.splitlines()]
    assert "threat" in records[0] and "over the limit" in records[1]["error"]["message"]


def test_time_limit_is_503():
    with TestClient(create_app(Settings(timeout=0.001)), raise_server_exceptions=False) as c:
        e = error_of(c.post("/v1/explain", params={"what_if": "true"}, content=EXERCISE), 503)
        assert "ADVISOR_SERVE_TIMEOUT" in e["message"]
        assert c.get("/healthz").status_code == 200  # and it still serves


# --- the token ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded():
    with TestClient(create_app(Settings(token=TOKEN)), raise_server_exceptions=False) as c:
        yield c


def test_token_guards_the_api_and_metrics(guarded):
    for method, path in (
        ("post", "/v1/assess"),
        ("get", "/v1/catalog/types"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ):
        r = getattr(guarded, method)(path, **({"content": PIRACY} if method == "post" else {}))
        e = error_of(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer") and e["problems"][0]["field"] == "authorization"
        wrong = getattr(guarded, method)(
            path, headers={"authorization": "Bearer wrong"}, **({"content": PIRACY} if method == "post" else {})
        )
        assert "wrong" in error_of(wrong, 401)["message"]
        right = getattr(guarded, method)(
            path, headers={"authorization": f"Bearer {TOKEN}"}, **({"content": PIRACY} if method == "post" else {})
        )
        assert right.status_code == 200, path
    assert guarded.get("/healthz").status_code == 200 and guarded.get("/").status_code == 200
    doc = guarded.get("/openapi.json", headers={"authorization": f"Bearer {TOKEN}"}).json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_reload_over_http_needs_a_configured_token(client):
    e = error_of(client.post("/v1/reload"), 403)
    assert "ADVISOR_TOKEN" in e["message"]


# --- reloading ----------------------------------------------------------------------------------------------------


def test_reload_after_check_and_old_serves_on_failure(tmp_path):
    rules = copy_rules(tmp_path)
    auth = {"authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(Settings(rules_dir=str(rules), token=TOKEN)), raise_server_exceptions=False) as c:
        before = c.get("/healthz").json()["rulebase"]
        same = c.post("/v1/reload", headers=auth).json()
        assert same == {"reloaded": False, "rulebase": before, "previous": before, "rules": same["rules"]}
        assert "wpns" in {f["id"] for f in c.post("/v1/assess", content=PIRACY, headers=auth).json()["frameworks"]}

        drop_wpns(rules)
        changed = c.post("/v1/reload", headers=auth).json()
        assert changed["reloaded"] and changed["previous"] == before and changed["rulebase"] != before
        assert "wpns" not in {f["id"] for f in c.post("/v1/assess", content=PIRACY, headers=auth).json()["frameworks"]}

        first = sorted(rules.glob("*.yaml"))[0]
        first.write_text(first.read_text() + "\n  - id: broken\n    when: {type: nothing}\n")
        e = error_of(c.post("/v1/reload", headers=auth), 422)
        assert "old one serves on" in e["message"] and e["problems"]
        assert c.get("/healthz").json()["rulebase"] == changed["rulebase"]
        assert c.post("/v1/assess", content=PIRACY, headers=auth).status_code == 200
        metrics = c.get("/metrics", headers=auth).text
        assert 'advisor_rulebase_reloads_total{result="refused"} 1.0' in metrics


def test_a_batch_under_way_keeps_its_rule_base(tmp_path, monkeypatch):
    """A reload between two chunks of a streamed batch: the batch finishes with the rule base it began with.
    (`rules check` is left out here, seconds of it; the test above has it.)"""
    from advisor.server import Engine

    async def passed(self, digest):
        return None

    monkeypatch.setattr(Engine, "_check", passed)
    rules = copy_rules(tmp_path)
    auth = {"authorization": f"Bearer {TOKEN}"}
    app = create_app(Settings(rules_dir=str(rules), token=TOKEN))
    body = "\n".join(['{"type": "piracy", "region": "malacca_strait"}'] * 100)
    with TestClient(app, raise_server_exceptions=False) as c:
        with c.stream(
            "POST", "/v1/assess", content=body, headers={"content-type": "application/x-ndjson", **auth}
        ) as r:
            lines = r.iter_lines()
            first = json.loads(next(lines))
            drop_wpns(rules)
            assert c.post("/v1/reload", headers=auth).json()["reloaded"]
            rest = [json.loads(x) for x in lines]
        assert len(rest) == 99
        assert all("wpns" in {f["id"] for f in x["frameworks"]} for x in [first, *rest])
        after = c.post("/v1/assess", content=PIRACY, headers=auth).json()
        assert "wpns" not in {f["id"] for f in after["frameworks"]}


def test_unknown_path_and_method_in_the_usual_shape(client):
    e = error_of(client.get("/v1/nothing"), 404)
    assert e["problems"][0]["field"] == "path" and "/openapi.json" in e["message"]
    e = error_of(client.get("/v1/assess"), 405)
    assert "GET is not allowed" in e["message"]


def test_catalog_in_japanese_labels_every_list(client):
    for kind, key in (
        ("types", "label_ja"),
        ("regions", "label_ja"),
        ("recommendations", "title_ja"),
        ("derived", "meaning_ja"),
    ):
        entries = client.get(f"/v1/catalog/{kind}", params={"lang": "ja"}).json()
        assert all(key in e for e in entries), kind
    assert all("label_ja" not in e for e in client.get("/v1/catalog/types").json())


# --- settings of advisor serve ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("localhost", True)]
    + [("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("example.org", False)],
)
def test_what_counts_as_loopback(host, expected):
    from advisor.serving import loopback

    assert loopback(host) is expected


def test_token_from_a_file_or_the_environment(tmp_path, monkeypatch):
    from advisor.errors import SettingError
    from advisor.serving import token_from

    monkeypatch.delenv("ADVISOR_TOKEN", raising=False)
    assert token_from(None) is None
    monkeypatch.setenv("ADVISOR_TOKEN", f"  {TOKEN}\n")
    assert token_from(None) == TOKEN
    monkeypatch.setenv("ADVISOR_TOKEN", "has a space in it 0123456789")
    with pytest.raises(SettingError, match="ADVISOR_TOKEN: a token is at least 16"):
        token_from(None)
    (tmp_path / "t").write_text("x" * 20 + "\n")
    assert token_from(str(tmp_path / "t")) == "x" * 20
    (tmp_path / "short").write_text("abc")
    with pytest.raises(SettingError, match="short: a token is at least 16"):
        token_from(str(tmp_path / "short"))


def test_time_limit_setting(monkeypatch):
    from advisor.errors import SettingError
    from advisor.serving import timeout_setting

    monkeypatch.delenv("ADVISOR_SERVE_TIMEOUT", raising=False)
    assert timeout_setting() == 30
    monkeypatch.setenv("ADVISOR_SERVE_TIMEOUT", "5")
    assert timeout_setting() == 5
    monkeypatch.setenv("ADVISOR_SERVE_TIMEOUT", "soon")
    with pytest.raises(SettingError, match="ADVISOR_SERVE_TIMEOUT: not a positive whole number of seconds"):
        timeout_setting()


def test_bearer_scheme_in_any_case(guarded):
    for header in (f"bearer {TOKEN}", f"BEARER  {TOKEN} ", f"Bearer {TOKEN}"):
        assert guarded.get("/v1/catalog/types", headers={"authorization": header}).status_code == 200, header
    assert guarded.get("/v1/catalog/types", headers={"authorization": f"Basic {TOKEN}"}).status_code == 401


def test_head_on_health_and_the_page(client):
    for path in ("/healthz", "/"):
        r = client.head(path)
        assert r.status_code == 200 and r.content == b""


def test_what_if_skips_changes_the_descriptor_cannot_hold(client):
    """60 states is the most a descriptor holds: 'one more state' is no what-if, not the user's error."""
    states = [s["id"] for s in client.get("/v1/catalog/states").json()][:60]
    body = json.dumps({"type": "piracy", "region": "malacca_strait", "states": states})
    r = client.post("/v1/explain", params={"what_if": "true"}, content=body)
    assert r.status_code == 200, r.text
    assert not any(row["if"].startswith("states +") for row in r.json()["what_if"])


def test_batch_over_the_limit_names_the_batch_limit(client, monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_BATCH_BYTES", "5000")
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "1000")
    body = json.dumps([{"type": "piracy"}] * 400)
    e = error_of(client.post("/v1/assess", content=body), 413)
    assert "ADVISOR_MAX_BATCH_BYTES" in e["message"] and "5,000 bytes in all" in e["message"]


def test_a_check_of_other_files_than_those_loaded_refuses_the_reload(monkeypatch):
    """The files changed between loading and checking: the digest the check reports differs from the one
    loaded, and the reload is refused. (The check's own report is stood in for: a real one takes seconds.)"""
    import asyncio

    from advisor.errors import InputError

    engine = create_app(Settings()).state.engine

    def checked(digest: str, findings: list | None = None):
        class Child:
            returncode = 0

            async def communicate(self):
                report = {"findings": findings or [], "errors": 0, "warnings": 0, "rulebase": digest}
                return json.dumps(report).encode(), b""

        async def start(*args, **kwargs):
            assert args[1:5] == ("-m", "advisor", "rules", "check")
            return Child()

        monkeypatch.setattr(asyncio, "create_subprocess_exec", start)

    checked("0" * 64)
    with pytest.raises(InputError, match="changed while they were being checked"):
        asyncio.run(engine._check(engine.rulebase.digest))
    checked(engine.rulebase.digest)
    asyncio.run(engine._check(engine.rulebase.digest))  # the same files: no refusal
    error = {
        "code": "E110",
        "level": "error",
        "path": "r.yaml",
        "line": 3,
        "rule": "x",
        "message": "not in the document",
    }
    checked(engine.rulebase.digest, [error])
    with pytest.raises(InputError) as refused:
        asyncio.run(engine._check(engine.rulebase.digest))
    assert "found errors" in refused.value.message
    assert refused.value.problems[0].message == "r.yaml:3: error E110: x: not in the document"


def test_one_descriptor_is_held_to_its_own_limit_not_the_batchs(client, monkeypatch):
    """Only an array may be as large as a batch: an object over the descriptor limit is refused while
    it arrives, never read whole into memory."""
    monkeypatch.setenv("ADVISOR_MAX_DESCRIPTOR_BYTES", "1000")

    def chunks():
        yield b"  \n"
        yield b'{"type": "piracy", "title": "'
        for _ in range(100):
            yield b"x" * 1000

    e = error_of(client.post("/v1/assess", content=chunks()), 413)
    assert "ADVISOR_MAX_DESCRIPTOR_BYTES" in e["message"]

    def array():
        yield b"\n  "
        yield b'[{"type": "piracy"}, {"type": "terrorism"}]'

    lines = client.post("/v1/assess", content=array()).text.splitlines()
    assert [json.loads(x)["threat"]["type"] for x in lines] == ["piracy", "terrorism"]


def test_unknown_or_repeated_parameters_are_refused_with_the_nearest(client):
    e = error_of(client.post("/v1/brief", params={"facilitatr": "true"}, content=EXERCISE), 422)
    assert e["problems"][0]["field"] == "facilitatr" and e["problems"][0]["nearest"] == ["facilitator"]
    e = error_of(client.post("/v1/brief?format=html&format=docx", content=EXERCISE), 422)
    assert e["problems"][0]["field"] == "format" and "more than once" in e["message"]
    assert client.get("/", params={"lang": "ja"}).status_code == 200  # the workbench's own page is not the API
