"""A customer keeps their cart across devices by signing in with an emailed one-time code."""

import re

import pytest
from playwright.sync_api import Page, expect


def _sign_in(page: Page, base: str, email: str, mailoutbox) -> None:
    sent = len(mailoutbox)
    page.goto(base + "/me/signin/?next=/m/test-cafe/cart/")
    page.fill("input[name=email]", email)
    page.locator("form.stack button").click()
    expect(page.locator("input[name=code]")).to_be_visible()
    assert len(mailoutbox) == sent + 1
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]
    page.fill("input[name=code]", code)
    page.locator("form.stack button").click()
    page.wait_for_url(re.compile(r"/m/test-cafe/cart/$"))


@pytest.mark.django_db(transaction=True)
def test_the_guest_cart_follows_the_customer_to_a_new_device(
    live_server, browser, app, product, mailoutbox
):
    from tapgo.miniapps.models import EntryCode

    base = live_server.url
    code = EntryCode.objects.get(app=app, kind="table", table_label="2").code
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # A guest on the phone: scan, add a latte twice.
    page.goto(f"{base}/s/{code}")
    add = page.locator(f"#p-{product.public_id} button.add")
    add.click()
    page.wait_for_load_state()
    page.locator(f"#p-{product.public_id} button.add").click()
    page.wait_for_load_state()
    _sign_in(page, base, "ann@example.com", mailoutbox)
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.locator(".q")).to_have_text("2")

    # Another device, never seen before: signing in brings the same cart.
    laptop = browser.new_context()
    other = laptop.new_page()
    other.on("pageerror", lambda exc: errors.append(str(exc)))
    other.goto(f"{base}/m/test-cafe/cart/")
    expect(other.get_by_test_id("cart-line")).to_have_count(0)
    _sign_in(other, base, "ann@example.com", mailoutbox)
    expect(other.get_by_test_id("cart-line")).to_have_count(1)
    expect(other.locator(".q")).to_have_text("2")

    # A wrong code is refused with a message and signs nobody in.
    third = browser.new_context().new_page()
    third.goto(base + "/me/signin/")
    third.fill("input[name=email]", "ann@example.com")
    third.locator("form.stack button").click()
    third.fill("input[name=code]", "000000" if "000000" not in mailoutbox[-1].body else "111111")
    third.locator("form.stack button").click()
    expect(third.locator("[role=alert]")).to_be_visible()
    assert errors == []
    for context in (phone, laptop, third.context):
        context.close()
