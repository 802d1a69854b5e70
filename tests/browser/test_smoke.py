"""One real browser against the live server: the console's login page renders under its CSP."""

import pytest
from playwright.sync_api import Page, expect


@pytest.mark.django_db(transaction=True)
def test_console_login_page_renders_under_a_strict_csp(live_server, page: Page):
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    response = page.goto(live_server.url + "/console/login/")

    assert response is not None and response.status == 200
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("input[type=password]")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    # Nothing on the page was blocked by the policy or failed to load.
    assert problems == []
