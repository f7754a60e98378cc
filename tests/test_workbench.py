"""The workbench in a real browser: the system Chromium driven by Playwright against a real `advisor serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from live import live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
THREATS = Path(__file__).resolve().parent.parent / "threats"

if not os.environ.get("CI") and not shutil.which(CHROMIUM):
    pytest.skip("no Chromium at /usr/bin/chromium (CI must have it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow

# Collects what the page reports as it runs; checked after every test.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with live_server() as live:
        yield live.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page, and what it did: console errors, page errors and every request's URL.

    Chromium reports an answer of 4xx on the console ("Failed to load resource"); a test that
    expects some (a 422, a 401) names their statuses in `expected`.
    """

    def __init__(self, page: Page, origin: str) -> None:
        self.page, self.origin = page, origin
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.expected: tuple[int, ...] = ()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def check(self) -> None:
        allowed = [f"the server responded with a status of {s} " for s in self.expected]
        errors = [e for e in self.errors if not any(a in e for a in allowed)]
        assert errors == [], errors
        assert self.page.evaluate("window.__csp") == []
        outside = [u for u in self.requests if not u.startswith((self.origin + "/", "blob:", "data:"))]
        assert outside == [], outside


@contextmanager
def _open(browser: Browser, url: str) -> Iterator[Watched]:
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    ctx.add_init_script(WATCH)
    try:
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        watched = Watched(page, re.match(r"https?://[^/]+", url).group(0))
        yield watched
        watched.check()
    finally:
        ctx.close()


@pytest.fixture
def watched(browser: Browser, server: str) -> Iterator[Watched]:
    with _open(browser, server) as w:
        yield w


def _ready(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#f-type")).to_be_visible()


def _type(page: Page, selector: str, text: str) -> None:
    page.focus(selector)
    page.keyboard.type(text)


def _piracy(page: Page) -> None:
    """Piracy in the Malacca Strait, typed as a person would (names, not codes)."""
    _type(page, "#f-type", "piracy")
    _type(page, "#f-region", "Malacca Strait")
    for name in ("Indonesia", "Malaysia", "singapore"):
        _type(page, "#f-states", name)
        page.keyboard.press("Enter")
    expect(page.locator("[data-why=wpns]")).to_be_visible()


# --- the tests -----------------------------------------------------------------------------------


def test_intake_by_typing_shows_the_assessment_and_the_json(watched: Watched, server: str) -> None:
    page = watched.page
    _ready(page, server)
    _piracy(page)
    expect(page.locator("#f-region-res")).to_contain_text("malacca_strait")
    expect(page.locator("#state-chips")).to_contain_text("Indonesia (IDN)")
    expect(page.locator("#assess-status")).to_contain_text("Assessment updated")
    expect(page.locator("#assessment-body")).to_contain_text("Western Pacific Naval Symposium")
    expect(page.locator("#assessment-body")).to_contain_text("Maritime Safety Agency")
    data = json.loads(page.locator("#json-view").inner_text())
    assert data["type"] == "piracy"
    assert data["region"] == "malacca_strait"
    assert data["states"] == ["IDN", "MYS", "SGP"]
    with page.expect_download() as info:
        page.click("#json-download")
    saved = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert saved == data


def test_an_alias_resolves_to_the_id(watched: Watched, server: str) -> None:
    page = watched.page
    _ready(page, server)
    _type(page, "#f-type", "invasion")
    expect(page.locator("#f-type-res")).to_contain_text("armed_attack")
    expect(page.locator("[data-why=arf]")).to_be_visible()
    assert json.loads(page.locator("#json-view").inner_text())["type"] == "armed_attack"


def test_why_and_why_not(watched: Watched, server: str) -> None:
    page = watched.page
    _ready(page, server)
    _piracy(page)
    page.click("[data-why=wpns]")
    explanation = page.locator("#explanation")
    expect(explanation).to_contain_text("r12-wpns")
    expect(explanation).to_contain_text("Recommendation 12(1)")
    expect(explanation).to_contain_text("Western Pacific Naval Symposium (WPNS)")  # the quoted source
    expect(page.locator("#explanation-h")).to_be_focused()
    page.keyboard.press("Escape")
    expect(explanation).to_be_hidden()
    expect(page.locator("[data-why=wpns]")).to_be_focused()

    page.click("#absent-details > summary")
    page.click("[data-why-not=tcog]")
    expect(explanation).to_contain_text("Why not: Japan-US-South Korea Trilateral Coordination")
    expect(explanation).to_contain_text("r07-deterrence-frameworks")
    expect(explanation).to_contain_text("✗ fails")
    expect(explanation).to_contain_text("states include PRK")


def test_what_if_shows_what_changes(watched: Watched, server: str) -> None:
    page = watched.page
    _ready(page, server)
    _piracy(page)
    page.select_option("#wi-type", "armed_attack")
    result = page.locator("#whatif-result")
    expect(result).to_contain_text("removed")
    expect(result).to_contain_text("Asian Cooperation Conference on Combating Piracy")
    page.click("#wi-type")  # back to as-now, then an attribute
    page.select_option("#wi-type", "")
    page.check("#wi-attr-nuclear")
    expect(result).to_contain_text("What changes")
    page.click("#suggestions-get")
    expect(page.locator("#suggestions")).to_contain_text("type = armed_attack")


def test_documents_and_the_network_picture(watched: Watched, server: str) -> None:
    page = watched.page
    _ready(page, server)
    _piracy(page)
    with page.expect_download() as info:
        page.click("#brief-download")
    assert info.value.suggested_filename.endswith(".html")
    assert Path(info.value.path()).read_bytes()[:15].lower() == b"<!doctype html>"

    page.select_option("#brief-kind", "facilitator")
    page.select_option("#brief-format", "docx")
    with page.expect_download() as info:
        page.click("#brief-download")
    assert info.value.suggested_filename.endswith(".docx")
    assert Path(info.value.path()).read_bytes()[:2] == b"PK"

    page.select_option("#msel-format", "csv")
    with page.expect_download() as info:
        page.click("#msel-download")
    assert info.value.suggested_filename.endswith(".csv")

    page.click("#graph-draw")
    img = page.locator("#graph-img")
    expect(img).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("document.getElementById('graph-img').naturalWidth > 0")


def test_a_422_is_shown_beside_the_field_with_the_nearest_value(watched: Watched, server: str) -> None:
    page = watched.page
    watched.expected = (422,)
    _ready(page, server)
    _type(page, "#f-type", "piracy")
    _type(page, "#f-region", "Malaka Strait")
    problem = page.locator('#f-region-err .problem[data-source="server"]')
    expect(problem).to_contain_text("unknown value 'Malaka Strait'")
    expect(page.locator("#f-region")).to_have_attribute("aria-invalid", "true")
    fix = problem.get_by_role("button", name="Use malacca_strait")
    fix.click()
    expect(page.locator("#f-region")).to_have_value("malacca_strait")
    expect(page.locator("#f-region-err")).to_be_empty()
    expect(page.locator("[data-why=wpns]")).to_be_visible()

    _type(page, "#f-states", "Indonesa")
    page.keyboard.press("Enter")
    problem = page.locator('#f-states-err .problem[data-source="server"]')
    expect(problem).to_contain_text("unknown value 'Indonesa'")
    problem.get_by_role("button", name="Use IDN").click()
    expect(page.locator("#state-chips")).to_contain_text("Indonesia (IDN)")
    expect(page.locator("#f-states-err")).to_be_empty()


def test_keyboard_only(watched: Watched, server: str) -> None:
    page = watched.page
    _ready(page, server)

    def tab_to(selector: str, limit: int = 400) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to(".skip")
    tab_to("#projector")
    page.keyboard.press("Space")
    expect(page.locator("#projector")).to_have_attribute("aria-pressed", "true")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    page.keyboard.press("Enter")
    expect(page.locator("#projector")).to_have_attribute("aria-pressed", "false")

    tab_to("#f-type")
    page.keyboard.type("piracy")
    tab_to("#f-region")
    page.keyboard.type("malacca strait")
    tab_to("#f-states")
    page.keyboard.type("Indonesia")
    page.keyboard.press("Enter")
    expect(page.locator("[data-why=wpns]")).to_be_visible()
    tab_to("#f-attributes-armed")
    page.keyboard.press("Space")
    expect(page.locator("#f-attributes-armed")).to_be_checked()
    tab_to("[data-why=wpns]")
    page.keyboard.press("Enter")
    expect(page.locator("#explanation")).to_contain_text("r12-wpns")
    tab_to("#explanation-close")
    page.keyboard.press("Enter")
    expect(page.locator("#explanation")).to_be_hidden()
    expect(page.locator("[data-why=wpns]")).to_be_focused()


def test_japanese(browser: Browser, server: str) -> None:
    with _open(browser, server + "/?lang=ja") as watched:
        page = watched.page
        _ready(page, server + "/?lang=ja")
        assert page.evaluate("document.documentElement.lang") == "ja"
        expect(page.locator("h1")).to_have_text("advisor ワークベンチ")
        expect(page.locator("label[for=f-type]")).to_have_text("脅威の種類 *")
        _type(page, "#f-type", "piracy")
        _type(page, "#f-region", "Malacca Strait")
        _type(page, "#f-states", "インドネシア")  # a Japanese name resolves too
        page.keyboard.press("Enter")
        body = page.locator("#assessment-body")
        expect(body).to_contain_text("西太平洋海軍シンポジウム")
        expect(body).to_contain_text("海上保安庁")
        expect(body).to_contain_text("インドネシア (IDN)")
        expect(page.locator("#assessment-h")).to_have_text("評価")
        with page.expect_download() as info:
            page.click("#brief-download")
        assert "状況" in Path(info.value.path()).read_text(encoding="utf-8")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=_shot("workbench-ja.png"))


def test_scenario_with_injects_stage_by_stage(watched: Watched, server: str) -> None:
    page = watched.page
    _ready(page, server)
    page.set_input_files("#json-open", str(THREATS / "korean_peninsula_exercise.json"))
    expect(page.locator("#json-status")).to_contain_text("korean_peninsula_exercise.json")
    stages = page.locator("#stages")
    expect(stages).to_be_visible()
    expect(stages).to_contain_text("Stage 3: The regime collapses and refugees cross the borders")
    expect(stages).to_contain_text("+ added")
    expect(page.locator("#f-exercise-name")).to_have_value("Exercise Morning Calm")
    assert len(page.locator("fieldset.inject").all()) == 3

    page.click("#add-inject")
    expect(page.locator("#f-injects-3-title")).to_be_focused()
    page.keyboard.type("Japanese ships attacked")
    page.fill("#f-injects-3-changes-type", "piracy")
    expect(stages).to_contain_text("Stage 4: Japanese ships attacked")
    page.click('[data-inject="3"][data-action="up"]')
    expect(page.locator("#f-injects-2-title")).to_have_value("Japanese ships attacked")
    expect(stages).to_contain_text("Stage 3: Japanese ships attacked")
    data = json.loads(page.locator("#json-view").inner_text())
    assert [i["title"] for i in data["injects"]][2] == "Japanese ships attacked"
    assert data["injects"][2]["changes"] == {"type": "piracy"}
    page.get_by_role("button", name="Remove inject 3").click()
    expect(stages).not_to_contain_text("Japanese ships attacked")


def test_a_token_is_asked_for_and_sent(browser: Browser, tmp_path: Path) -> None:
    with live_server(env={"ADVISOR_TOKEN": "s3cret-token-for-the-workbench"}, tmp_path=tmp_path) as live:
        with _open(browser, live.url) as watched:
            page = watched.page
            watched.expected = (401,)
            page.goto(live.url)
            expect(page.locator("#token")).to_be_visible()
            expect(page.locator("#token-input")).to_be_focused()
            page.keyboard.type("s3cret-token-for-the-workbench")
            page.keyboard.press("Enter")
            expect(page.locator("#f-type")).to_be_visible()
            _type(page, "#f-type", "piracy")
            expect(page.locator("[data-why=wpns]")).to_be_visible()
            assert page.evaluate("sessionStorage.getItem('advisor-token')") == "s3cret-token-for-the-workbench"


def test_accessibility_with_an_assessment_shown(watched: Watched, server: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = watched.page
    _ready(page, server)
    _piracy(page)
    page.click("[data-why=wpns]")
    expect(page.locator("#explanation")).to_contain_text("r12-wpns")
    page.click("#absent-details > summary")
    page.select_option("#wi-type", "armed_attack")
    expect(page.locator("#whatif-result")).to_contain_text("removed")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=_shot("workbench.png"))
    for projector in (False, True):
        if projector:
            page.click("#projector")
        results = Axe().run(page)
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], bad


def _shot(name: str) -> str:
    folder = Path(os.environ.get("ADVISOR_SCREENSHOTS", "/work/tmp"))
    if not folder.is_dir():
        import tempfile

        folder = Path(tempfile.gettempdir())
    return str(folder / name)
