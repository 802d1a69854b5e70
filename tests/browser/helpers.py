"""What many browser tests do: open a phone or a desktop in a language, sign the owner in to
the console, wait for the live server's request threads. The `live` fixture (conftest.py)
uses the last one."""

import re
import threading
from dataclasses import dataclass

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

PASSWORD = "correct horse battery"  # the `owner` fixture's
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Lang:
    """A language a test runs in: what <html lang> says, the browser's locale and header."""

    code: str
    locale: str
    accept: str


LANGS = [
    Lang("en", "en-US", "en-US,en;q=0.9"),
    Lang("zh-hans", "zh-CN", "zh-Hans,zh;q=0.9"),
]


def money(amount: int) -> str:
    """How an amount in fen appears on the pages, without the currency sign (44.00)."""
    return f"{amount // 100}.{amount % 100:02d}"


def in_language(page: Page, lang: Lang) -> None:
    """The page is in `lang`: its <html lang>, and Chinese characters in its main part."""
    expect(page.locator("html")).to_have_attribute("lang", lang.code)
    if lang.code == "zh-hans":
        assert CJK.search(page.locator("main").inner_text()), f"{page.url} is not in Chinese"


STREAM_SECONDS = 3  # each live stream (Server-Sent Events) ends after this; pages reconnect


def join_request_threads(timeout: float = STREAM_SECONDS + 10) -> None:
    """Wait for the live server's request threads (the streams end by themselves), so none
    outlives the test's database."""
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout)


def _language(locale: str | None, accept: str | None) -> dict:
    options: dict = {}
    if locale:
        options["locale"] = locale
    if accept:
        options["extra_http_headers"] = {"Accept-Language": accept}
    return options


def phone_context(
    browser: Browser, playwright: Playwright, *, locale: str | None = None, accept=None
) -> BrowserContext:
    """A phone (a Pixel 7: viewport, touch, mobile user agent), in a language if given."""
    pixel_7 = dict(playwright.devices["Pixel 7"])
    pixel_7.pop("default_browser_type")
    return browser.new_context(**pixel_7, **_language(locale, accept))


def desktop_context(browser: Browser, *, locale: str | None = None, accept=None) -> BrowserContext:
    """A desktop browser, in a language if given (the console's usual screen)."""
    return browser.new_context(viewport={"width": 1280, "height": 900}, **_language(locale, accept))


def console_sign_in(page: Page, url: str, email: str, *, next_path: str = "") -> None:
    """Sign in to the console (to `next_path` after, if given) with the owner's password."""
    page.goto(f"{url}/console/login/" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).not_to_have_url(re.compile(r"/console/login/"))
