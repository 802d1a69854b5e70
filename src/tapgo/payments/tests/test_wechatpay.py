"""WeChat Pay (API v3, public-key mode) against a fake WeChat on loopback: our signed requests,
its signed answers, its signed and encrypted notifications, refunds and reconciliation."""

import base64
import json
import socket
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.urls import reverse

from tapgo.core.urls import absolute_url
from tapgo.flows import paying, payment_events
from tapgo.ordering.models import OrderStatus
from tapgo.payments import credentials, services
from tapgo.payments.models import (
    IntentStatus,
    PaymentIntent,
    ProviderAccount,
    Purpose,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from tapgo.payments.providers import ProviderError, wechatpay
from tapgo.payments.tests import wechatpay_fake as fake
from tapgo.payments.tests.accounts import switched_on
from tapgo.shell.views import pay as shell_pay

# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Nothing here may reach a real host (the real gateway above all): loopback only."""
    resolve = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"a test tried to reach {host}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


@pytest.fixture(scope="session")
def keys():
    return fake.Keys()


@pytest.fixture
def wx(keys, settings):
    with fake.FakeWeChatPay(keys) as server:
        settings.WECHATPAY_API_BASE = server.base_url
        yield server


@pytest.fixture
def account(merchant, keys):
    return switched_on(
        merchant=merchant, provider="wechatpay", config=keys.config(), secrets=keys.secrets()
    )


@pytest.fixture
def intent(order, account):
    intent = paying.intent_for_order(order=order)
    return services.intent_start(intent=intent, return_url="http://testserver/back")


def status(obj):
    return type(obj).objects.values_list("status", flat=True).get(pk=obj.pk)


def open_page(client, intent, **extra):
    return client.get(reverse("payments:wechatpay_page", args=[intent.public_id]), **extra)


def placed(client, wx, intent) -> dict:
    """The customer opened our page: the order is placed with WeChat."""
    assert open_page(client, intent).status_code == 200
    return wx.orders[intent.public_id]


def post(client, account, headers, body):
    return client.post(
        reverse("payments:account_webhook", args=["wechatpay", account.public_id]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def paid(client, wx, keys, account, intent):
    """The customer pays at WeChat and WeChat's notification arrives."""
    placed(client, wx, intent)
    headers, body = fake.notification(
        keys, "TRANSACTION.SUCCESS", wx.pay(intent.public_id), event_id="EV-PAID"
    )
    response = post(client, account, headers, body)
    assert (response.status_code, response.content) == (200, b"applied")
    return wx.orders[intent.public_id]


# --- starting a payment --------------------------------------------------------------------


def test_starting_checks_the_keys_and_sends_the_customer_to_our_page(wx, order, intent):
    assert intent.provider == "wechatpay"
    assert intent.provider_ref == intent.public_id  # WeChat's out_trade_no
    assert intent.client_data == {
        "url": reverse("payments:wechatpay_page", args=[intent.public_id])
    }
    assert wx.requests == []  # the order is placed from the page, with the customer's IP


def test_the_page_places_an_h5_order_with_the_customers_ip_and_links_to_it(
    client, wx, order, intent, account
):
    response = open_page(client, intent, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    ((method, path, headers, sent),) = wx.requests
    assert (method, path) == ("POST", "/v3/pay/transactions/h5")
    # The fake answered 200, so it verified our Authorization signature.
    assert headers["Authorization"].startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900000109"')
    assert headers["Wechatpay-Serial"] == fake.PUBLIC_KEY_ID
    assert sent["out_trade_no"] == intent.public_id
    assert sent["amount"] == {"total": order.total, "currency": "CNY"}
    assert sent["scene_info"] == {"payer_client_ip": "203.0.113.9", "h5_info": {"type": "Wap"}}
    assert sent["notify_url"] == absolute_url(
        "payments:account_webhook", "wechatpay", account.public_id
    )
    assert order.number in sent["description"]

    link = response.context["link"].url
    assert link.startswith("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx")
    back = parse_qs(urlsplit(link).query)["redirect_url"]
    assert back == [f"http://testserver{shell_pay.return_url(intent)}"]
    assert 'referrerpolicy="origin"' in response.text
    assert status(order) == OrderStatus.PENDING_PAYMENT  # opening the page pays nothing


def test_every_visit_gets_a_fresh_link_for_the_same_order(client, wx, intent):
    first = open_page(client, intent).context["link"].url
    second = open_page(client, intent).context["link"].url
    assert first != second
    assert list(wx.orders) == [intent.public_id]


def test_inside_wechat_the_customer_is_told_to_open_a_browser(client, wx, intent):
    response = open_page(client, intent, headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0"})
    assert response.status_code == 200
    assert 'data-testid="pay-outside-wechat"' in response.text
    assert wx.requests == []


def test_the_page_when_wechat_is_down_says_so_and_changes_nothing(client, wx, intent):
    wx.script(500, '{"code":"SYSTEM_ERROR","message":"系统错误"}'.encode())
    response = open_page(client, intent)
    assert response.status_code == 503
    assert 'data-testid="pay-error"' in response.text
    assert status(intent) == IntentStatus.REQUIRES_ACTION


def test_the_page_of_an_order_paid_meanwhile_asks_wechat_and_goes_back(client, wx, order, intent):
    placed(client, wx, intent)
    wx.pay(intent.public_id)  # paid; the notification is late
    response = open_page(client, intent)
    assert response.status_code == 302
    assert response["Location"] == shell_pay.return_url(intent)
    assert status(order) == OrderStatus.PAID


def test_the_page_of_a_decided_or_other_intent(client, wx, keys, account, intent, merchant):
    paid(client, wx, keys, account, intent)
    assert open_page(client, intent).status_code == 302
    assert client.get(reverse("payments:wechatpay_page", args=["x" * 20])).status_code == 404


def test_jsapi_parameters_are_signed_with_the_merchants_key(wx, keys, intent):
    params = wechatpay.jsapi_pay_params(intent, openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    ((method, path, _headers, sent),) = wx.requests
    assert (method, path) == ("POST", "/v3/pay/transactions/jsapi")
    assert sent["payer"] == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    assert params["appId"] == fake.APPID and params["signType"] == "RSA"
    assert params["package"].startswith("prepay_id=wx")
    message = "".join(
        f"{params[k]}\n" for k in ("appId", "timeStamp", "nonceStr", "package")
    ).encode()
    keys.merchant_key.public_key().verify(  # raises if the signature does not hold
        base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256()
    )


def test_a_request_signed_with_another_key_is_refused_by_wechat(client, wx, merchant, intent, keys):
    store_unchecked(
        merchant, keys.config(), keys.secrets(private_key=fake.private_pem(fake.new_rsa_key()))
    )
    assert open_page(client, intent).status_code == 503
    assert wx.requests and wx.orders == {}  # 401 SIGN_ERROR: nothing placed


def test_an_answer_not_signed_by_wechat_is_not_believed(client, wx, intent):
    wx.script(200, b'{"h5_url":"https://evil.example/pay"}', signed=False)
    response = open_page(client, intent)
    assert response.status_code == 503
    assert "evil.example" not in response.text


@pytest.mark.parametrize(
    "config, secrets",
    [
        ({}, {"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"}),
        ({}, {"apiv3_key": "too short"}),
        ({"public_key": "garbage"}, {}),
        ({"mchid": 'x",evil="1'}, {}),
        ({"public_key_id": ""}, {}),
    ],
)
def test_broken_settings_are_refused_when_entered(merchant, keys, config, secrets):
    with pytest.raises(credentials.CredentialsError, match="cannot work"):
        credentials.save(
            merchant=merchant,
            provider="wechatpay",
            config=keys.config(**config),
            secrets=keys.secrets(**secrets),
        )
    assert not ProviderAccount.objects.exists()


@pytest.mark.parametrize(
    "config, secrets",
    [
        ({}, {"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"}),
        ({}, {"apiv3_key": "too short"}),
        ({"public_key": "garbage"}, {}),
        ({"mchid": 'x",evil="1'}, {}),
        ({"public_key_id": ""}, {}),
    ],
)
def test_broken_settings_refuse_to_start_cleanly(wx, order, merchant, keys, config, secrets):
    # Settings that went bad after they were entered (a key rotated at WeChat, a restore).
    store_unchecked(merchant, keys.config(**config), keys.secrets(**secrets))
    intent = paying.intent_for_order(order=order)
    with pytest.raises(services.PaymentError):
        services.intent_start(intent=intent, return_url="/")
    assert PaymentIntent.objects.get(pk=intent.pk).provider_ref == ""
    assert wx.requests == []


def test_a_key_pasted_into_a_one_line_field_still_reads(wx, order, merchant, keys):
    one_line = " ".join(fake.private_pem(keys.merchant_key).splitlines())
    switched_on(
        merchant=merchant,
        provider="wechatpay",
        config=keys.config(public_key="".join(fake.public_pem(keys.platform_key).split())),
        secrets=keys.secrets(private_key=one_line),
    )
    intent = services.intent_start(intent=paying.intent_for_order(order=order), return_url="/")
    assert intent.provider_ref == intent.public_id


def test_only_yuan(wx, order, account):
    type(order).objects.filter(pk=order.pk).update(currency="EUR")
    order.refresh_from_db()
    intent = paying.intent_for_order(order=order)
    with pytest.raises(services.PaymentError, match="yuan"):
        services.intent_start(intent=intent, return_url="/")


# --- notifications -------------------------------------------------------------------------


def test_a_payment_notification_marks_the_order_paid_once(client, wx, keys, account, order, intent):
    trade = paid(client, wx, keys, account, intent)
    assert status(order) == OrderStatus.PAID
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SUCCEEDED
    assert intent.provider_ref == trade["transaction_id"]
    event = WebhookEvent.objects.get(provider="wechatpay")
    assert event.event_id == "EV-PAID"
    assert event.payload["resource"]["out_trade_no"] == intent.public_id

    # WeChat delivers it again (it retries until it sees a 200): nothing more happens.
    headers, body = fake.notification(keys, "TRANSACTION.SUCCESS", trade, event_id="EV-PAID")
    response = post(client, account, headers, body)
    assert (response.status_code, response.content) == (200, b"duplicate")
    # The same payment under another notification id: captured once all the same.
    headers, body = fake.notification(keys, "TRANSACTION.SUCCESS", trade)
    assert post(client, account, headers, body).content == b"ignored"
    assert PaymentIntent.objects.get(pk=intent.pk).amount == order.total


def tamper_body(headers, body):
    return headers, body.replace(b'"event_type":"TRANSACTION.SUCCESS"', b'"event_type":"X"')


def tamper_ciphertext(headers, body):
    data = json.loads(body)
    raw = bytearray(base64.b64decode(data["resource"]["ciphertext"]))
    raw[0] ^= 1
    data["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    return None, json.dumps(data).encode()  # signed again over the changed body, below


REJECTED = {
    "forged signature": dict(why="bad signature", sign=lambda: {"key": fake.new_rsa_key()}),
    "unknown serial": dict(
        why="unknown Wechatpay-Serial",
        sign=lambda: {"serial": "PUB_KEY_ID_0119000001092024999999999999"},
    ),
    "stale timestamp": dict(
        why="stale timestamp", sign=lambda: {"timestamp": int(time.time()) - 301}
    ),
    "from the future": dict(
        why="stale timestamp", sign=lambda: {"timestamp": int(time.time()) + 360}
    ),
    "wrong APIv3 key": dict(why="cannot be decrypted", apiv3_key="k" * 32),
    "body changed after signing": dict(why="bad signature", change=tamper_body),
    "tampered ciphertext": dict(why="cannot be decrypted", change=tamper_ciphertext),
    "no headers": dict(why="Wechatpay-Serial", change=lambda headers, body: ({}, body)),
    "wrong amount": dict(
        why="does not match",
        resource=lambda i: {"amount": {"total": i.amount - 1, "currency": "CNY"}},
    ),
    "wrong currency": dict(
        why="does not match",
        resource=lambda i: {"amount": {"total": i.amount, "currency": "USD"}},
    ),
    "another merchant id": dict(why="another merchant", resource=lambda i: {"mchid": "1900000999"}),
}


@pytest.mark.parametrize("case", REJECTED.values(), ids=REJECTED.keys())
def test_a_notification_that_does_not_hold_is_refused_and_changes_nothing(
    client, wx, keys, account, order, intent, case
):
    placed(client, wx, intent)
    resource = wx.pay(intent.public_id)
    if "resource" in case:
        resource = {**resource, **case["resource"](intent)}
    sign = case["sign"]() if "sign" in case else {}
    headers, body = fake.notification(
        keys, "TRANSACTION.SUCCESS", resource, apiv3_key=case.get("apiv3_key"), **sign
    )
    if "change" in case:
        changed_headers, body = case["change"](headers, body)
        headers = fake.signed_headers(keys, body) if changed_headers is None else changed_headers
    response = post(client, account, headers, body)
    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert case["why"] in response.json()["message"]
    assert status(order) == OrderStatus.PENDING_PAYMENT
    assert status(intent) == IntentStatus.REQUIRES_ACTION
    assert not WebhookEvent.objects.exists()


def test_a_notification_for_an_unknown_endpoint_is_refused(client, wx, keys, account, intent):
    headers, body = fake.notification(
        keys, "TRANSACTION.SUCCESS", fake.transaction_resource(intent.public_id, intent.amount)
    )
    url = reverse("payments:account_webhook", args=["wechatpay", "nosuchaccount"])
    response = client.post(url, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_notification_for_an_account_with_a_broken_key_is_refused(
    client, wx, keys, merchant, account, intent
):
    account.config = keys.config(public_key="garbage")
    account.save()
    headers, body = fake.notification(
        keys, "TRANSACTION.SUCCESS", fake.transaction_resource(intent.public_id, intent.amount)
    )
    response = post(client, account, headers, body)
    assert response.status_code == 400
    assert "not set up" in response.json()["message"]
    assert status(intent) == IntentStatus.REQUIRES_ACTION


def test_a_closed_trade_fails_the_attempt_and_leaves_the_order_payable(
    client, wx, keys, account, order, intent
):
    headers, body = fake.notification(
        keys,
        "TRANSACTION.CLOSED",
        fake.transaction_resource(intent.public_id, intent.amount, state="CLOSED"),
    )
    assert post(client, account, headers, body).content == b"applied"
    assert status(intent) == IntentStatus.FAILED
    assert status(order) == OrderStatus.PENDING_PAYMENT


def test_an_event_we_do_not_act_on_is_acknowledged(client, wx, keys, account, intent):
    headers, body = fake.notification(keys, "MCHTRANSFER.BILL.FINISHED", {"mchid": fake.MCHID})
    response = post(client, account, headers, body)
    assert (response.status_code, response.content) == (200, b"ignored")
    assert status(intent) == IntentStatus.REQUIRES_ACTION


# --- refunds -------------------------------------------------------------------------------


def refund(order, amount, capture):
    with capture(execute=True):  # the refund goes out to WeChat after commit
        (made,) = services.refund_purpose(
            purpose=Purpose.ORDER, purpose_id=order.pk, amount=amount, reason="cold coffee"
        )
    made.refresh_from_db()
    return made


def test_a_refund_goes_to_wechat_and_its_notification_settles_it(
    client, wx, keys, account, order, intent, django_capture_on_commit_callbacks
):
    paid(client, wx, keys, account, intent)
    made = refund(order, 1000, django_capture_on_commit_callbacks)
    method, path, _headers, sent = wx.requests[-1]
    assert (method, path) == ("POST", "/v3/refund/domestic/refunds")
    assert sent["out_trade_no"] == intent.public_id
    assert sent["out_refund_no"] == made.public_id
    assert sent["amount"] == {"refund": 1000, "total": order.total, "currency": "CNY"}
    assert sent["reason"] == "cold coffee"
    # WeChat answered PROCESSING: pending until its notification.
    assert made.status == RefundStatus.PENDING
    assert made.provider_ref == wx.refunds[made.public_id]["refund_id"]

    resource = {**wx.refunds[made.public_id], "refund_status": "SUCCESS"}
    headers, body = fake.notification(keys, "REFUND.SUCCESS", resource)
    assert post(client, account, headers, body).content == b"applied"
    assert status(made) == RefundStatus.SUCCEEDED
    assert PaymentIntent.objects.get(pk=intent.pk).refunded_amount == 1000


def test_an_abnormal_refund_is_reversed_and_can_be_made_again(
    client, wx, keys, account, order, intent, django_capture_on_commit_callbacks
):
    paid(client, wx, keys, account, intent)
    made = refund(order, order.total, django_capture_on_commit_callbacks)
    assert services.refundable(Purpose.ORDER, order.pk) == 0
    resource = {**wx.refunds[made.public_id], "refund_status": "ABNORMAL"}
    headers, body = fake.notification(keys, "REFUND.ABNORMAL", resource)
    assert post(client, account, headers, body).content == b"applied"
    assert status(made) == RefundStatus.FAILED
    assert PaymentIntent.objects.get(pk=intent.pk).refunded_amount == 0
    assert (
        services.refundable(Purpose.ORDER, order.pk) == order.total
    )  # books checked after the test

    wx.refunds.clear()  # WeChat lets the merchant try again under a new refund number
    again = refund(order, order.total, django_capture_on_commit_callbacks)
    assert again.status == RefundStatus.PENDING and again.provider_ref


def test_a_refund_wechat_pays_at_once(
    client, wx, keys, account, order, intent, django_capture_on_commit_callbacks
):
    paid(client, wx, keys, account, intent)
    wx.refund_status = "SUCCESS"
    assert refund(order, 500, django_capture_on_commit_callbacks).status == RefundStatus.SUCCEEDED


def test_a_refund_wechat_refuses_is_reversed(
    client, wx, keys, account, order, intent, django_capture_on_commit_callbacks
):
    paid(client, wx, keys, account, intent)
    wx.script(400, '{"code":"INVALID_REQUEST","message":"订单已关闭"}'.encode())
    made = refund(order, 500, django_capture_on_commit_callbacks)
    assert made.status == RefundStatus.FAILED
    assert PaymentIntent.objects.get(pk=intent.pk).refunded_amount == 0


def test_a_refund_while_wechat_is_down_stays_pending_to_be_sent_again(
    client, wx, keys, account, order, intent, django_capture_on_commit_callbacks
):
    paid(client, wx, keys, account, intent)
    wx.script(500, b'{"code":"SYSTEM_ERROR","message":"busy"}')
    made = refund(order, 500, django_capture_on_commit_callbacks)
    assert (made.status, made.provider_ref) == (RefundStatus.PENDING, "")
    # The sweep asks again; WeChat knows the refund by its number.
    Refund.objects.filter(pk=made.pk).update(updated_at=made.created_at.replace(year=2000))
    assert services.refunds_send_due() == 1
    made.refresh_from_db()
    assert made.provider_ref == wx.refunds[made.public_id]["refund_id"]


def test_a_refund_made_in_wechats_own_dashboard_is_recorded(
    client, wx, keys, account, order, intent
):
    trade = paid(client, wx, keys, account, intent)
    resource = fake.refund_resource(
        intent.public_id, "DASHBOARD-1", 700, order.total, transaction_id=trade["transaction_id"]
    )
    headers, body = fake.notification(keys, "REFUND.SUCCESS", resource)
    assert post(client, account, headers, body).content == b"applied"
    made = Refund.objects.get()
    assert (made.amount, made.status) == (700, RefundStatus.SUCCEEDED)
    assert made.provider_ref == resource["refund_id"]
    assert PaymentIntent.objects.get(pk=intent.pk).refunded_amount == 700


# --- reconciliation and cancelling ---------------------------------------------------------


def test_a_lost_notification_is_settled_by_asking_wechat(client, wx, order, intent):
    placed(client, wx, intent)
    assert payment_events.reconcile_intent(intent) is False  # NOTPAY: not decided yet
    trade = wx.pay(intent.public_id)
    assert payment_events.reconcile_intent(intent) is True
    assert status(order) == OrderStatus.PAID
    assert PaymentIntent.objects.get(pk=intent.pk).provider_ref == trade["transaction_id"]
    method, path, _headers, _body = wx.requests[-1]
    assert (method, path) == (
        "GET",
        f"/v3/pay/transactions/out-trade-no/{intent.public_id}?mchid={fake.MCHID}",
    )


def test_asking_about_an_order_never_placed_or_closed(client, wx, order, intent):
    assert payment_events.reconcile_intent(intent) is False  # ORDER_NOT_EXIST
    placed(client, wx, intent)
    wx.pay(intent.public_id, state="CLOSED")
    assert payment_events.reconcile_intent(intent) is True
    assert status(intent) == IntentStatus.FAILED
    assert status(order) == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize(
    "status_code, answer, signed",
    [
        (500, b'{"code":"SYSTEM_ERROR","message":"system error"}', True),
        (200, b"<html>gateway</html>", True),
        (200, b"[]", True),
        (200, b'{"mchid":"1900000109"}', True),
        (200, b"{}", False),
    ],
    ids=["outage", "not json", "not an object", "malformed", "unsigned"],
)
def test_a_broken_answer_changes_nothing(client, wx, order, intent, status_code, answer, signed):
    placed(client, wx, intent)
    wx.pay(intent.public_id)
    wx.script(status_code, answer, signed=signed)
    with pytest.raises(ProviderError):
        wechatpay.PROVIDER.query(
            intent, account=services.provider_account(order.merchant, "wechatpay")
        )
    wx.script(status_code, answer, signed=signed)
    assert payment_events.reconcile_intent(intent) is False
    assert status(order) == OrderStatus.PENDING_PAYMENT
    assert status(intent) == IntentStatus.REQUIRES_ACTION
    assert not WebhookEvent.objects.exists()


def test_an_abandoned_attempt_is_closed_at_wechat(client, wx, account, intent):
    wechatpay.PROVIDER.cancel(intent, account=account)  # never placed: nothing to close
    placed(client, wx, intent)
    wechatpay.PROVIDER.cancel(intent, account=account)
    assert wx.paths()[-1] == f"POST /v3/pay/transactions/out-trade-no/{intent.public_id}/close"
    assert wx.orders[intent.public_id]["trade_state"] == "CLOSED"
    wx.script(500, b'{"code":"SYSTEM_ERROR","message":"busy"}')
    with pytest.raises(ProviderError):
        wechatpay.PROVIDER.cancel(intent, account=account)


def test_an_unreachable_gateway_is_a_provider_error(settings, wx, account, intent):
    settings.WECHATPAY_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(ProviderError):
        wechatpay.PROVIDER.query(intent, account=account)


def store_unchecked(merchant, config, secrets):
    """Write settings straight to the account, past the checks made when they are entered."""
    ProviderAccount.objects.update_or_create(
        merchant=merchant,
        provider="wechatpay",
        defaults={"config": config, "secrets": credentials.encrypt(secrets), "enabled": True},
    )


# --- the connection test --------------------------------------------------------------------


def test_a_connection_test_asks_about_an_order_that_does_not_exist(wx, merchant, keys):
    account = credentials.connect(
        merchant=merchant,
        provider="wechatpay",
        config=keys.config(),
        secrets=keys.secrets(),
        enable=True,
    )
    assert account.enabled and account.tested_at is not None and account.tested_live is True
    assert wx.paths() == ["GET /v3/pay/transactions/out-trade-no/tapgo-connection-test"]
    assert wx.orders == {}  # nothing placed
    assert services.payment_methods(merchant) == ["wechatpay"]


def test_settings_wechat_refuses_are_never_stored(wx, merchant, keys):
    another_key = fake.private_pem(fake.new_rsa_key())
    with pytest.raises(credentials.CredentialsError, match="WeChat Pay refused these settings"):
        credentials.connect(
            merchant=merchant,
            provider="wechatpay",
            config=keys.config(),
            secrets=keys.secrets(private_key=another_key),
        )
    assert wx.requests and not ProviderAccount.objects.exists()


def test_wechat_not_answering_changes_nothing(wx, merchant, keys):
    wx.script(500, b'{"code":"SYSTEM_ERROR","message":"busy"}')
    with pytest.raises(credentials.CredentialsError, match="did not answer"):
        credentials.connect(
            merchant=merchant, provider="wechatpay", config=keys.config(), secrets=keys.secrets()
        )
    assert not ProviderAccount.objects.exists()
