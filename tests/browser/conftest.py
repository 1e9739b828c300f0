"""Browser tests: the service as a first-time user runs it, driven by Debian's chromium.

`workflow up` on its embedded defaults (SQLite, the broker that needs no server, a real
worker and beat, and the capture SMTP server) is the mode the outbox page exists for, so
the mail a person reads in the browser is the mail the worker really sent through SMTP.
One service and one browser per module keep the suite short; each test gets a fresh
browser context (no cookies), and saves a screenshot of every page it visits. Every page
it saves is checked as it is: it does not scroll sideways at the width it is shown at (a
390 px phone or the desktop), and axe-core finds nothing serious or critical in it.
"""

import json
import re
import signal
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from importlib.resources import files
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests import services
from tests.conftest import SCREENSHOTS
from tests.integration.processes import Proc, free_port, service_env, wait_for
from tests.integration.test_embedded import _demo_token
from workflow.mailcatcher import read_captured

# Playwright gives every launch a fresh temporary profile; these keep chromium from
# reaching out (updates, sync, field trials) and from needing a GPU or a sandbox.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"https?://[^\s<>\"]+")


@dataclass
class Service:
    base: str
    data: Path
    proc: Proc

    def api(self, role: str) -> httpx.Client:
        """The API as a demo manager (by the role line in data/demo-tokens.txt, as in the
        README), to set up what a test does not do through the pages."""
        token = _demo_token(self.data / "demo-tokens.txt", role)
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=15)

    def mails(self) -> list[EmailMessage]:
        return read_captured(self.data / "mail")

    def wait_mail(
        self,
        to: str,
        where: Callable[[EmailMessage], bool] = lambda m: True,
        seen: Collection[str] = (),
        timeout: float = 45,
    ) -> EmailMessage:
        """The first captured message to `to` that matches and was not among `seen`."""

        def found() -> EmailMessage | None:
            for m in self.mails():
                if to in m["X-Envelope-To"] and m["Message-ID"] not in seen and where(m):
                    return m
            return None

        return wait_for(found, timeout, f"a mail to {to}", (self.proc,))  # type: ignore[return-value]

    def message_ids(self) -> set[str]:
        return {m["Message-ID"] for m in self.mails()}


def mail_text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None, "mail without a text part"
    return part.get_content()


def links(mail: EmailMessage, path: str) -> list[str]:
    """The links in a mail's text whose path starts with `path` (e.g. "/rsvp/")."""
    return [u for u in LINK.findall(mail_text(mail)) if re.match(rf"https?://[^/]+{path}", u)]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    services.require_chromium()  # no browser, no point in starting the service
    tmp = tmp_path_factory.mktemp("web")
    port, smtp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_env(
        data_dir=str(tmp / "data"),
        api_port=str(port),
        smtp_port=str(smtp_port),
        sweep_interval_seconds="2",
        public_url=base,
    )
    up = Proc("up", ["up"], env, tmp)
    try:
        wait_for(
            lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200,
            60,
            "the embedded service to be ready",
            (up,),
        )
        yield Service(base=base, data=tmp / "data", proc=up)
    finally:
        up.kill(signal.SIGINT, timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = services.require_chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@cache
def _axe_source() -> str:
    # axe-core as the Python package ships it (its own copy of axe.min.js).
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def sideways(page: Page) -> str | None:
    """Why the page scrolls sideways at its width, or None when it does not."""
    widths = page.evaluate(
        """() => ({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth,
                 widest: Array.from(document.querySelectorAll("body *"))
                   .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
                   .slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                     + " " + (el.textContent || "").trim().slice(0, 40))})"""
    )
    if widths["scroll"] <= widths["inner"]:
        return None
    return f"{widths['scroll']} px wide on a {widths['inner']} px screen: {widths['widest']}"


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.evaluate(_axe_source())
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {json.dumps([n['target'] for n in v['nodes']][:5])}"
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_page(page: Page) -> list[str]:
    """What is wrong with the page a person sees: sideways scrolling, or what axe finds."""
    problems = [f"scrolls sideways, {why}" for why in [sideways(page)] if why]
    return problems + serious_violations(page)


class Shots:
    """Saves a full-page PNG of each page a test visits, named after the test, and checks
    each such page (`check_page`): every problem found is listed when the test ends."""

    def __init__(self, test: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", test.removeprefix("test_"))
        self.count = 0
        self.problems: list[str] = []

    def __call__(self, page: Page, name: str, full_page: bool = True, check: bool = True) -> Path:
        """The whole page by default; `full_page=False` keeps what the screen shows (of a
        page checked already); `check=False` for what is not a page of the service."""
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if full_page and check:
            width = page.viewport_size["width"] if page.viewport_size else "?"
            self.problems += [f"{name} at {width} px: {p}" for p in check_page(page)]
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Iterator[Shots]:
    shots = Shots(request.node.name)
    yield shots
    assert shots.problems == [], "\n".join(shots.problems)


def new_context(browser: Browser, service: Service, **options: object) -> BrowserContext:
    options = {"viewport": DESKTOP, "locale": "en-GB", **options}
    context = browser.new_context(base_url=service.base, **options)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser: Browser, service: Service, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A desktop page in a context of its own; on failure its last state is saved too."""
    context = new_context(browser, service)
    p = context.new_page()
    yield p
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        p.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
