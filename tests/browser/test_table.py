"""A table of three in a real browser, in English and in Simplified Chinese.

Three phones scan table 1's code at a café that takes payment after eating: each adds to the
table's one cart and sees the others' lines appear live, with who added them; one sends the
round to the kitchen; the merchant's board shows it with "pays after eating". After eating,
the bill is split two ways: one phone pays an equal half with a 10% tip, another pays the
remainder, on the sandbox provider's page, whose signed webhooks reach the live server over
HTTP; the third phone's bill turns paid live. The books balance; no page logs an error,
throws, breaks its Content-Security-Policy or gets a 4xx/5xx answer.
"""

import re

import pytest
from playwright.sync_api import Page, expect
from tests.browser.helpers import console_sign_in, desktop_context, phone_context
from tests.browser.watch import Watch

LIVE = 10_000  # ms

LANGS = [("en", "en-US", "en"), ("zh-hans", "zh-CN", "zh-CN,zh;q=0.9")]


def _pay(phone: Page, kind: str, *, parts: int = 0, tip: str = "none") -> None:
    phone.get_by_test_id(f"kind-{kind}").check()
    if parts:
        phone.get_by_test_id("parts").select_option(str(parts))
    if tip != "none":
        phone.get_by_test_id(f"tip-{tip}").check()
    phone.get_by_test_id("pay-share").first.tap()
    expect(phone).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
    phone.locator("button[name=decision][value=approve]").tap()
    expect(phone).to_have_url(re.compile(r"/table/$"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("lang", "locale", "accept"), LANGS, ids=["en", "zh"])
def test_three_phones_share_a_cart_eat_and_split_the_bill_with_a_tip(
    live, browser, playwright, merchant, owner, app, product, lang, locale, accept
):
    from tapgo.flows.checks import verify_books
    from tapgo.merchants.models import Merchant, Store
    from tapgo.miniapps.models import EntryCode
    from tapgo.ordering.models import Order, TableGroup
    from tapgo.payments.models import PaymentIntent

    Store.objects.filter(merchant=merchant).update(dine_in_payment="pay_after")
    Merchant.objects.filter(pk=merchant.pk).update(tips_on=True, tip_percentages=[10, 15])
    code = EntryCode.objects.get(app=app, kind="table", table_label="1").code
    url = live.url

    watch = Watch()
    contexts = [phone_context(browser, playwright, locale=locale, accept=accept) for _ in range(3)]
    screen = desktop_context(browser, locale=locale, accept=accept)
    try:
        phones = [watch.page(c, f"phone {i + 1}") for i, c in enumerate(contexts)]
        for phone in phones:
            phone.goto(f"{url}/s/{code}")
            expect(phone.locator("html")).to_have_attribute("lang", lang)

        # Phone 3 watches the table's cart while phones 1 and 2 add to it.
        watching = phones[2]
        watching.goto(f"{url}/m/{app.slug}/cart/")
        for phone in phones[:2]:
            phone.locator(f"#p-{product.public_id} button.add").tap()
        expect(watching.get_by_test_id("cart-line")).to_have_count(2, timeout=LIVE)
        expect(watching.get_by_test_id("added-by")).to_have_count(2)
        expect(watching.get_by_test_id("cart-total")).to_contain_text("52")

        # Phone 3 sends the round to the kitchen; the board shows it, unpaid.
        watching.reload()
        watching.get_by_test_id("place-order").tap()
        expect(watching.get_by_test_id("pay-after")).to_be_visible()
        m = watch.page(screen, "merchant")
        console_sign_in(m, url, owner.email, next_path=f"/console/{merchant.public_id}/board/")
        expect(m.get_by_test_id("unpaid-round")).to_be_visible()
        expect(m.get_by_test_id("unpaid-tables")).to_be_visible()

        # After eating: phone 1 pays half with a 10% tip, phone 2 the remainder.
        for phone in phones:
            phone.goto(f"{url}/m/{app.slug}/table/")
        expect(phones[2].get_by_test_id("bill-left")).to_contain_text("52")
        _pay(phones[0], "equal", parts=2, tip="10")
        expect(phones[2].get_by_test_id("bill-left")).to_contain_text("26", timeout=LIVE)
        _pay(phones[1], "rest")
        expect(phones[2].get_by_test_id("bill-settled")).to_be_visible(timeout=LIVE)
        expect(phones[0].get_by_test_id("bill-settled")).to_be_visible()

        group = TableGroup.objects.get()
        assert group.status == "settled"
        assert sorted(PaymentIntent.objects.values_list("amount", "tip")) == [
            (2600, 0),
            (2860, 260),
        ]
        assert Order.objects.get().paid_at is not None
        assert [str(b) for b in verify_books()] == []
        if lang == "zh-hans":
            assert re.search(
                r"[\u4e00-\u9fff]", phones[2].get_by_test_id("table-bill").inner_text()
            )
        assert watch.problems == []
    finally:
        for context in (*contexts, screen):
            context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("lang", "locale", "accept"), LANGS, ids=["en", "zh"])
def test_the_owner_sets_pay_after_eating_and_closes_a_bill_at_the_counter(
    live, browser, playwright, merchant, owner, app, product, lang, locale, accept
):
    """The owner switches the café to pay after eating with tips on "Dine-in & tips"; a
    phone's round goes to the kitchen unpaid; the owner takes the bill in cash on the Tables
    page, and the phone's bill turns settled live."""
    from tapgo.flows.checks import verify_books
    from tapgo.merchants.models import Merchant, Store
    from tapgo.miniapps.models import EntryCode
    from tapgo.ordering.models import TableGroup
    from tapgo.payments.models import LedgerTransaction

    code = EntryCode.objects.get(app=app, kind="table", table_label="1").code
    url, console = live.url, f"/console/{merchant.public_id}"
    watch = Watch()
    customer = phone_context(browser, playwright, locale=locale, accept=accept)
    screen = desktop_context(browser, locale=locale, accept=accept)
    try:
        m = watch.page(screen, "owner")
        console_sign_in(m, url, owner.email, next_path=f"{console}/board/")
        expect(m.locator("html")).to_have_attribute("lang", lang)
        m.locator(f"a[href='{console}/ordering/']").first.click()
        m.locator("input[name=dine_in_payment][value=pay_after]").check()
        m.locator("input[name=tips_on]").check()
        m.fill("input[name=tip_percentages]", "10，15%")  # a Chinese comma and a % are fine
        m.locator("main form button.primary").click()
        expect(m.locator("input[name=tip_percentages]")).to_have_value("10, 15")
        assert Store.objects.get(merchant=merchant).dine_in_payment == "pay_after"
        assert Merchant.objects.get(pk=merchant.pk).tip_percentages == [10, 15]

        p = watch.page(customer, "phone")
        p.goto(f"{url}/s/{code}")
        p.locator(f"#p-{product.public_id} button.add").tap()
        expect(p.locator("#cart-count")).to_have_text("1")
        p.goto(f"{url}/m/{app.slug}/cart/")
        p.get_by_test_id("place-order").tap()
        expect(p.get_by_test_id("pay-after")).to_be_visible()
        p.goto(f"{url}/m/{app.slug}/table/")
        expect(p.get_by_test_id("tip-10").first).to_be_attached()  # the owner's percentages

        m.locator(f"a[href='{console}/tables/']").first.click()
        bill = m.get_by_test_id("unpaid-table")
        expect(bill).to_have_attribute("data-table", "1")
        expect(bill.get_by_test_id("table-left")).to_contain_text("26")
        m.once("dialog", lambda dialog: dialog.accept())  # "Take ¥26.00 … and close the bill?"
        bill.get_by_test_id("close-cash").click()
        expect(m.get_by_test_id("unpaid-table")).to_have_count(0)

        expect(p.get_by_test_id("bill-settled")).to_be_visible(timeout=LIVE)
        assert TableGroup.objects.get().status == "settled"
        assert LedgerTransaction.objects.filter(kind="counter_payment").count() == 1
        assert [str(b) for b in verify_books()] == []
        assert watch.problems == []
    finally:
        customer.close()
        screen.close()
