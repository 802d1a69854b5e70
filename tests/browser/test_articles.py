"""The official account, the content door, in a real browser.

The merchant logs in to the console, writes an article (with a link and a script that must
not survive), saves it as a draft and publishes it. A customer on a phone opens the article
from its public address (a link pasted in a chat: a visit from outside), reads it, and
follows its call to action into the mini app's menu: that visit is recorded with scene
`account`. The customer also finds the account from the app's top-bar menu. No page may log
an error, throw, break its Content-Security-Policy or get a 4xx/5xx answer.
"""

import re

import pytest
from playwright.sync_api import expect
from tests.browser.helpers import console_sign_in, join_request_threads
from tests.browser.watch import Watch


@pytest.mark.django_db(transaction=True)
def test_write_publish_read_and_come_in_through_the_official_account(
    live_server, settings, browser, playwright, merchant, owner, app, product
):
    from tapgo.miniapps.models import Visit
    from tapgo.official.models import Article

    settings.PUBLIC_URL = live_server.url  # the console shows the article's address on it
    url, m_id = live_server.url, merchant.public_id
    watch = Watch()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    pixel_7 = dict(playwright.devices["Pixel 7"])
    pixel_7.pop("default_browser_type")
    phone = browser.new_context(**pixel_7)
    try:
        # --- the merchant writes and publishes ----------------------------------------------
        m = watch.page(desktop, "merchant")
        console_sign_in(m, url, owner.email, next_path=f"/console/{m_id}/board/")
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/board/$"))
        m.get_by_role("link", name="Articles", exact=True).click()
        expect(m).to_have_url(re.compile(rf"/console/{m_id}/articles/$"))
        m.get_by_test_id("article-new").click()
        m.fill("input[name=title]", "燕麦拿铁上新 · Oat latte")
        m.fill("textarea[name=summary]", "Silky, no dairy.")
        m.fill(
            "textarea[name=body]",
            "We tried six oat milks.\n\nTry it with a <strong>croissant</strong>: "
            '<a href="https://example.com/oats">our oats</a>.<script>alert(1)</script>',
        )
        m.get_by_test_id("article-save").click()
        expect(m.locator("#messages")).to_contain_text("Draft saved")
        expect(m.get_by_test_id("article-status")).to_have_text("Draft")
        article = Article.objects.get()
        assert "<script" not in article.body and "<p>We tried six oat milks.</p>" in article.body

        # A draft is not there for customers.
        c = watch.page(phone, "customer")
        draft = c.request.get(f"{url}/m/{app.slug}/a/{article.public_id}/")
        assert draft.status == 404

        m.get_by_test_id("article-publish").click()
        expect(m.get_by_test_id("article-status")).to_have_text("Published")
        address = m.get_by_test_id("article-url").inner_text().strip()
        assert address == f"{url}/m/{app.slug}/a/{article.public_id}/"

        # --- the customer opens the link from a chat, reads, and comes in -------------------
        c.goto(address)
        expect(c.locator("h1")).to_have_text("燕麦拿铁上新 · Oat latte")
        body = c.get_by_test_id("article")
        expect(body.locator("strong")).to_have_text("croissant")
        expect(body.locator("a[href='https://example.com/oats']")).to_have_attribute(
            "rel", "noopener nofollow"
        )
        expect(body.locator("script")).to_have_count(0)
        c.get_by_test_id("article-cta").tap()
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/\?scene=account$"))
        expect(c.locator(f"#p-{product.public_id}")).to_be_visible()
        scenes = list(Visit.objects.filter(app=app).order_by("pk").values_list("scene", flat=True))
        assert scenes == ["direct", "account"]

        # From the app's top-bar menu to the official account and back to the article.
        c.locator("header.app-bar details.menu summary").tap()
        c.get_by_test_id("account-link").tap()
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/a/$"))
        c.get_by_test_id("article-link").first.tap()
        expect(c).to_have_url(re.compile(rf"/m/{app.slug}/a/{article.public_id}/$"))
        assert Visit.objects.filter(app=app).count() == 2  # moves inside the app record nothing

        # Unpublished again: the link is gone for customers.
        m.get_by_test_id("article-unpublish").click()
        expect(m.get_by_test_id("article-status")).to_have_text("Draft")
        assert c.request.get(address).status == 404
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()
        join_request_threads()
