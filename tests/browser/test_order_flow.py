"""The whole order flow in a real browser, in English and in Simplified Chinese.

A merchant signs up in a desktop browser, builds a menu mini app through the console and
downloads a table's QR code; the code is decoded with a real QR decoder; a customer opens it
on a phone, orders two products (one in a chosen size) for that table and pays on the
sandbox provider's page, whose signed webhook reaches the live server over HTTP. The
merchant's live board shows the paid order without a reload; the merchant accepts it and
marks it ready; the customer's order page, still open, shows "ready" without a reload.

The live streams are shortened to a few seconds so both pages reconnect (with Last-Event-ID)
during the test, and the events each page received are compared with the database: none
missed, none twice. No page may log an error, throw, break its Content-Security-Policy or
get a 4xx/5xx answer.
"""

import re
from dataclasses import dataclass

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect
from tests.browser.helpers import STREAM_SECONDS
from tests.browser.watch import Watch

LIVE = 5_000  # ms: how long a live update may take to show
STREAM_WAIT = (STREAM_SECONDS + 5) * 1000  # ms: long enough for a stream to end
PASSWORD = "correct horse battery staple"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# In the page before any page script: record what each EventSource receives (to compare with
# the database) and report CSP violations as console errors (Chromium logs them too).
RECORDER_JS = """
(() => {
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
  });
  const Native = window.EventSource;
  if (!Native) return;
  const log = (window.__sse = { opens: 0, errors: 0, events: [] });
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      this.addEventListener("open", () => { log.opens += 1; });
      this.addEventListener("error", () => { log.errors += 1; });
      for (const name of ["order", "status"]) {
        this.addEventListener(name, (e) => {
          const data = JSON.parse(e.data);
          log.events.push({ id: Number(e.lastEventId), event: data.event || null,
                            status: data.status, connection: log.opens });
        });
      }
    }
  };
})();
"""


@dataclass(frozen=True)
class Lang:
    code: str  # what <html lang> says
    locale: str  # the browser's locale
    accept: str  # its Accept-Language
    merchant: str  # what the merchant types, in the merchant's language
    category: str
    latte: str
    americano: str
    regular: str
    large: str

    @property
    def user_text(self) -> tuple[str, ...]:
        return (self.merchant, self.category, self.latte, self.americano, self.regular, self.large)


LANGS = [
    Lang(
        code="en",
        locale="en-US",
        accept="en-US,en;q=0.9",
        merchant="Harbour Café",
        category="Coffee",
        latte="Latte",
        americano="Americano",
        regular="Regular",
        large="Large",
    ),
    Lang(
        code="zh-hans",
        locale="zh-CN",
        accept="zh-Hans,zh;q=0.9",
        merchant="港湾咖啡",
        category="咖啡",
        latte="拿铁",
        americano="美式",
        regular="中杯",
        large="大杯",
    ),
]


def visible_text(page: Page) -> str:
    """The page's text without the language switcher (it names both languages)."""
    return page.evaluate(
        """() => {
          const body = document.body.cloneNode(true);
          body.querySelectorAll("form.lang").forEach((form) => form.remove());
          return body.textContent;
        }"""
    )


def assert_text_in(lang: Lang, text: str, where: str) -> None:
    """Chinese text in the Chinese run; none at all in the English one."""
    for user_text in lang.user_text:  # what the merchant typed is in the test's language
        text = text.replace(user_text, "")
    if lang.code == "zh-hans":
        assert CJK.search(text), f"no Chinese text in {where}: {' '.join(text.split())[:300]}"
    else:
        assert not CJK.search(text), f"Chinese text in the English {where}"


def assert_language(page: Page, lang: Lang) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang.code)
    assert_text_in(lang, visible_text(page), page.url)


def shot(page: Page, folder, name: str) -> None:
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def sse_log(page: Page) -> dict:
    return page.evaluate("() => window.__sse")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGS, ids=[lang.code for lang in LANGS])
def test_scan_order_pay_and_follow_it_live(live, browser, playwright, lang: Lang, tmp_path):
    from tapgo.ordering.models import Order, OrderEvent

    url = live.url
    slug = "harbour-cafe"
    watch = Watch(scripts=(), timeout=None)  # the contexts get RECORDER_JS below
    language = {"locale": lang.locale, "extra_http_headers": {"Accept-Language": lang.accept}}
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, **language)
    pixel_7 = dict(playwright.devices["Pixel 7"])  # a phone: viewport, touch, mobile UA
    pixel_7.pop("default_browser_type")
    phone = browser.new_context(**pixel_7, **language)
    for context in (desktop, phone):
        context.add_init_script(RECORDER_JS)
        context.set_default_timeout(15_000)
    try:
        # --- 1. the merchant signs up and builds the mini app -------------------------------
        m = watch.page(desktop, "merchant")
        m.goto(url + "/console/signup/")
        assert_language(m, lang)
        shot(m, tmp_path, "1-signup")
        m.fill("input[name=email]", f"owner-{lang.code}@cafe.test")
        m.fill("input[name=password1]", PASSWORD)
        m.fill("input[name=password2]", PASSWORD)
        m.get_by_test_id("signup-submit").click()

        expect(m).to_have_url(re.compile(r"/console/new/$"))
        assert_language(m, lang)
        m.fill("input[name=name]", lang.merchant)
        m.get_by_test_id("merchant-save").click()

        expect(m).to_have_url(re.compile(r"/console/[^/]+/apps/new/$"))
        merchant_id = re.search(r"/console/([^/]+)/", m.url)[1]
        assert_language(m, lang)
        m.select_option("select[name=template]", "menu")
        m.fill("input[name=name]", lang.merchant)
        m.fill("input[name=slug]", slug)
        m.get_by_test_id("app-save").click()

        expect(m).to_have_url(re.compile(rf"/console/{merchant_id}/apps/[^/]+/$"))
        app_page = m.url
        m.locator('form[action$="/publish"] button').click()
        expect(m).to_have_url(app_page)
        # Published: the form now offers to unpublish.
        expect(m.locator('form[action$="/publish"] input[name=published]')).to_have_value("0")

        # A category and two products, one with two sizes.
        m.locator(f'nav.tabs a[href="/console/{merchant_id}/menu/"]').click()
        expect(m).to_have_url(re.compile(r"/menu/$"))
        assert_language(m, lang)
        m.fill('form[action$="/menu/categories/new"] input[name=name]', lang.category)
        m.get_by_test_id("add-category").click()
        expect(m.locator("section.category h2")).to_have_text(lang.category)

        m.locator('a[href$="/menu/products/new/"]').click()
        assert_language(m, lang)
        m.fill("input[name=name]", lang.latte)
        m.fill("input[name=price]", "26")
        m.get_by_test_id("product-save").click()
        expect(m).to_have_url(re.compile(r"/menu/$"))

        m.locator('a[href$="/menu/products/new/"]').click()
        m.fill("input[name=name]", lang.americano)
        m.fill("input[name=price]", "18")
        m.fill("input[name=variants-0-name]", lang.regular)
        m.fill("input[name=variants-0-price]", "18")
        m.fill("input[name=variants-1-name]", lang.large)
        m.fill("input[name=variants-1-price]", "22")
        m.get_by_test_id("product-save").click()
        expect(m).to_have_url(re.compile(r"/menu/$"))
        expect(m.locator("li.product-row")).to_have_count(2)
        expect(m.locator("li.product-row", has_text=lang.americano)).to_contain_text(lang.large)

        # Table codes 1-4, and table 3's PNG through the download link.
        m.goto(app_page)
        m.locator('a[href$="/codes/"]').first.click()
        assert_language(m, lang)
        m.fill("input[name=tables]", "1-4")
        m.get_by_test_id("add-tables").click()
        rows = m.locator("li.code-row")
        expect(rows).to_have_count(4)
        table_3 = rows.nth(2)
        expect(table_3.locator(".label")).to_contain_text("3")
        shot(m, tmp_path, "2-codes")
        with m.expect_download() as download_info:
            table_3.locator('a[href$="/qr.png"]').click()
        download = download_info.value
        assert download.suggested_filename == f"{slug}-table-3.png"
        png = tmp_path / download.suggested_filename
        download.save_as(png)

        # --- 2. a real QR decoder reads the printed code -------------------------------------
        found = zxingcpp.read_barcodes(Image.open(png))
        assert len(found) == 1, found
        assert found[0].format == zxingcpp.BarcodeFormat.QRCode
        code_url = found[0].text
        assert re.fullmatch(re.escape(url) + r"/s/[\w-]+", code_url), code_url
        expect(table_3.locator("a.url")).to_have_text(code_url)

        # --- 4 (before the customer pays). the live board, open and connected ---------------
        m.locator(f'nav.tabs a[href="/console/{merchant_id}/board/"]').click()
        expect(m).to_have_url(re.compile(r"/board/$"))
        assert_language(m, lang)
        expect(m.locator("#live-state")).to_have_class(re.compile(r"\bonline\b"))
        stream_url = m.locator("#board").get_attribute("data-events")
        board_after = int(re.search(r"after=(\d+)", stream_url)[1])
        m.evaluate("() => { window.__sameBoard = 'still here'; }")
        board_loads: list[str] = []
        m.on(
            "framenavigated", lambda frame: frame == m.main_frame and board_loads.append(frame.url)
        )

        # --- 3. the customer scans, orders and pays on a phone -------------------------------
        c = watch.page(phone, "customer")
        response = c.goto(code_url)
        assert response.status == 200  # the code's URL renders the app itself, no redirect
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, csp
        assert_language(c, lang)
        expect(c.get_by_test_id("table")).to_contain_text("3")
        products = c.get_by_test_id("product")
        expect(products).to_have_count(2)
        shot(c, tmp_path, "3-menu")
        products.filter(has_text=lang.latte).locator("button[name=item]").tap()
        expect(c.locator("#cart-count")).to_have_text("1")
        americano = products.filter(has_text=lang.americano)
        size = americano.locator("select")
        size.select_option(size.locator("option", has_text=lang.large).get_attribute("value"))
        americano.locator("button[name=item]").tap()
        expect(c.locator("#cart-count")).to_have_text("2")
        expect(c.get_by_test_id("table")).to_contain_text("3")  # still this table

        c.get_by_test_id("cart-link").tap()
        expect(c).to_have_url(re.compile(rf"/m/{slug}/cart/$"))
        assert_language(c, lang)
        lines = c.get_by_test_id("cart-line")
        expect(lines).to_have_count(2)
        expect(lines.filter(has_text=lang.americano)).to_contain_text(lang.large)
        expect(c.get_by_test_id("cart-total")).to_contain_text("48.00")
        expect(c.locator("input[name=fulfilment][value=dine_in]")).to_be_checked()
        shot(c, tmp_path, "4-cart")
        c.get_by_test_id("place-order").tap()

        expect(c).to_have_url(re.compile(r"/payments/sandbox/[^/]+/$"))
        assert_language(c, lang)
        expect(c.get_by_test_id("pay-amount")).to_contain_text("48.00")
        shot(c, tmp_path, "5-pay")
        c.locator("button[name=decision][value=approve]").tap()

        expect(c).to_have_url(re.compile(rf"/m/{slug}/orders/[^/]+/$"))
        assert_language(c, lang)
        status = c.get_by_test_id("order-status")
        expect(status).to_have_attribute("data-status", "paid")
        c.evaluate("() => { window.__sameOrderPage = 'still here'; }")
        order_loads: list[str] = []
        c.on(
            "framenavigated", lambda frame: frame == c.main_frame and order_loads.append(frame.url)
        )

        order = Order.objects.get()
        assert (order.status, order.fulfilment, order.table_label) == ("paid", "dine_in", "3")
        assert order.total == 4800
        assert order.public_id in c.url

        # --- 4. the board shows the paid order without a reload ------------------------------
        card = m.locator(f'#board .column[data-status="paid"] #order-{order.public_id}')
        expect(card).to_be_visible(timeout=LIVE)
        expect(card.locator(".number")).to_have_text(order.number)
        expect(card.locator(".where")).to_contain_text("3")
        expect(card.locator(".lines")).to_contain_text(lang.americano)
        assert_text_in(lang, card.text_content(), "the card the stream brought")
        shot(m, tmp_path, "6-board-paid")
        assert m.evaluate("() => window.__sameBoard") == "still here"
        assert board_loads == []

        # --- 5. accepted and ready on the board; the customer sees it live -------------------
        card.locator('form[action$="/accept"] button').click()
        card = m.locator(f'#board .column[data-status="accepted"] #order-{order.public_id}')
        expect(card).to_be_visible()
        expect(status).to_have_attribute("data-status", "accepted", timeout=LIVE)

        # Mark it ready while the customer's stream is between two responses: the next one
        # must start after the last event the page saw (Last-Event-ID) and miss nothing.
        ended = sse_log(c)["errors"]
        c.wait_for_function("n => window.__sse.errors > n", arg=ended, timeout=STREAM_WAIT)
        card.locator('form[action$="/ready"] button').click()
        expect(
            m.locator(f'#board .column[data-status="ready"] #order-{order.public_id}')
        ).to_be_visible()
        expect(status).to_have_attribute("data-status", "ready", timeout=LIVE)
        assert_text_in(lang, c.locator("#order-status").text_content(), "the streamed status")
        assert c.evaluate("() => window.__sameOrderPage") == "still here"
        assert order_loads == []
        shot(c, tmp_path, "7-order-ready")

        # --- nothing missed, nothing twice ---------------------------------------------------
        events = list(
            OrderEvent.objects.filter(order=order).order_by("pk").values_list("pk", "status")
        )
        assert [s for _, s in events] == ["pending_payment", "paid", "accepted", "ready"]
        ready_id = events[-1][0]
        m.wait_for_function("id => window.__sse.events.some((e) => e.id === id)", arg=ready_id)
        m.wait_for_function("() => window.__sse.opens >= 2", timeout=STREAM_WAIT)
        board = sse_log(m)
        merchant_events = OrderEvent.objects.filter(pk__gt=board_after).order_by("pk")
        assert [(e["id"], e["event"]) for e in board["events"]] == [
            (e.pk, e.status) for e in merchant_events
        ], board
        customer = sse_log(c)
        assert [(e["id"], e["status"]) for e in customer["events"]] == events[2:], customer
        accepted_on, ready_on = (e["connection"] for e in customer["events"])
        assert ready_on > accepted_on, customer  # it came on a reconnected stream
        assert m.evaluate("() => window.__sameBoard") == "still here"
        assert board_loads == []
        shot(m, tmp_path, "8-board-ready")

        # --- 6. no errors, no CSP violations, no failed requests anywhere --------------------
        assert watch.problems == []
    finally:
        desktop.close()
        phone.close()
