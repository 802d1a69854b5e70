"""Web Push end to end on loopback: encryption, VAPID, languages, what each answer of the
push service does to a delivery, the platform's keys, and which subscriptions are taken."""

import base64
import json
import re
import socket
import time
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.utils import timezone, translation
from tests.push_endpoint import Device

from tapgo.core.crypto import fernet
from tapgo.messaging import delivery
from tapgo.messaging import push as push_channel
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Delivery, Message, PushSubscription, VapidKey
from tapgo.messaging.push import SubscriptionError, check_subscription

S = Delivery.Status


@pytest.fixture(autouse=True)
def _fresh_keys():
    """vapid() keeps the keys in memory; each test reads them from its own database."""
    push_channel.forget_keys()
    yield
    push_channel.forget_keys()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def subscribe(customer, device: Device, language: str = "en") -> PushSubscription:
    sub = device.subscription()
    with translation.override(language):
        return messaging.push_subscribe(
            customer=customer,
            endpoint=sub["endpoint"],
            p256dh=sub["keys"]["p256dh"],
            auth=sub["keys"]["auth"],
            label="Phone",
        )


def send_article(customer, app, title: str = "Spring menu") -> Message:
    """A message of the standing `new_article` template (on for new apps), not yet delivered."""
    messaging.consent_give(customer=customer, app=app, key=TemplateKey.NEW_ARTICLE, standing=True)
    return messaging.notify(
        customer=customer,
        app=app,
        key=TemplateKey.NEW_ARTICLE,
        values={"app": app.name, "title": title},
        link=f"/m/{app.slug}/",
    )


def push_of(message: Message) -> Delivery:
    return Delivery.objects.get(message=message, channel=Delivery.Channel.PUSH)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def verify_jwt(token: str, public_key: str) -> dict:
    """An ES256 JWT checked with the P-256 public key (base64url, uncompressed point)."""
    header, claims, signature = token.split(".")
    assert json.loads(_unb64(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = _unb64(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(public_key))
    key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_unb64(claims))


# --- what arrives ----------------------------------------------------------------------------


def test_a_push_is_encrypted_signed_and_in_the_devices_language(
    customer, app, push_endpoint, settings
):
    english, chinese = Device(push_endpoint.url("/en")), Device(push_endpoint.url("/zh"))
    subscribe(customer, english, "en")
    subscribe(customer, chinese, "zh-hans")
    message = send_article(customer, app, "Spring menu")

    assert delivery.deliver_message(message.pk) == 3  # the inbox and two devices

    for path in ("/en", "/zh"):
        push = push_endpoint.wait_for(1, path)[0]
        assert push.headers["content-encoding"] == "aes128gcm"
        assert push.headers["ttl"] == str(push_channel.TTL_SECONDS)
        found = re.fullmatch(r"vapid t=([\w.-]+),\s*k=([\w-]+)", push.headers["authorization"])
        assert found, push.headers["authorization"]
        token, key = found.groups()
        assert key == push_channel.public_key()
        claims = verify_jwt(token, push_channel.public_key())
        assert claims["aud"] == push_endpoint.base  # the endpoint's origin, no path
        assert claims["sub"] == settings.VAPID_SUBJECT
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600
        # Signed by another key, it does not verify.
        other = Device(push_endpoint.url("/x")).p256dh
        with pytest.raises(InvalidSignature):
            verify_jwt(token, _b64(other))
        # Only the device's private key opens it; the body is not readable on the wire.
        assert b"Spring menu" not in push.body

    url = f"{settings.PUBLIC_URL}/me/n/{message.public_id}"
    en = english.decrypt(push_endpoint.received("/en")[0].body)
    assert en["title"] == "New from Test Café"
    assert en["body"] == "Spring menu"
    assert en["url"].startswith(url + "?k=")
    assert en["tag"] == message.public_id
    zh = chinese.decrypt(push_endpoint.received("/zh")[0].body)
    assert zh["title"] == "Test Café 发布了新文章"
    assert zh["body"] == "Spring menu"
    assert zh["url"] == en["url"]
    with pytest.raises(Exception):  # noqa: B017 (any failure to decrypt)
        english.decrypt(push_endpoint.received("/zh")[0].body)

    pushes = Delivery.objects.filter(message=message, channel=Delivery.Channel.PUSH)
    assert {d.status for d in pushes} == {S.SENT}
    assert all(d.attempts == 1 and d.sent_at for d in pushes)
    assert PushSubscription.objects.filter(last_sent_at__isnull=False).count() == 2


def test_a_subscription_without_a_language_gets_the_consents_language(customer, app, push_endpoint):
    phone = Device(push_endpoint.url("/phone"))
    subscription = subscribe(customer, phone)
    PushSubscription.objects.filter(pk=subscription.pk).update(language="")
    with translation.override("zh-hans"):
        message = send_article(customer, app, "春季菜单")
    assert message.language == "zh-hans"
    delivery.deliver_message(message.pk)
    payload = phone.decrypt(push_endpoint.wait_for(1, "/phone")[0].body)
    assert payload["title"] == "Test Café 发布了新文章"
    assert payload["body"] == "春季菜单"


# --- what the push service answers -----------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_dropped(customer, app, push_endpoint, status):
    gone, kept = Device(push_endpoint.url("/gone")), Device(push_endpoint.url("/kept"))
    subscribe(customer, gone)
    subscribe(customer, kept)
    push_endpoint.answer("/gone", status)
    message = send_article(customer, app)

    delivery.deliver_message(message.pk)

    assert not PushSubscription.objects.filter(endpoint=gone.endpoint).exists()
    assert PushSubscription.objects.filter(endpoint=kept.endpoint).exists()
    dropped = Delivery.objects.get(message=message, status=S.DROPPED)
    assert dropped.channel == Delivery.Channel.PUSH
    assert dropped.subscription is None
    assert str(status) in dropped.last_error
    assert Delivery.objects.filter(message=message, status=S.SENT).count() == 2  # inbox, kept
    assert len(push_endpoint.received("/kept")) == 1
    # The next message does not try the dropped device.
    second = send_article(customer, app, "Summer menu")
    assert Delivery.objects.filter(message=second, channel="push").count() == 1
    # Nothing is left to do: a sweep finds nothing due.
    delivery.deliver_message(second.pk)
    assert delivery.deliveries_due() == 0


@pytest.mark.parametrize("answer", [500, 503, 429, "closed"])
def test_a_temporary_failure_is_retried_with_backoff_then_dead(
    customer, app, push_endpoint, settings, answer
):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.NOTIFY_RETRY_SECONDS = 30
    if answer == "closed":
        phone = Device(f"http://127.0.0.1:{closed_port()}/phone")
    else:
        phone = Device(push_endpoint.url("/phone"))
        push_endpoint.answer("/phone", answer)
    subscribe(customer, phone)
    message = send_article(customer, app)

    before = timezone.now()
    delivery.deliver_message(message.pk)
    row = push_of(message)
    assert row.status == S.FAILED
    assert row.attempts == 1
    assert row.lease_token == "" and row.lease_until is None
    assert before + timedelta(seconds=30) <= row.next_attempt_at
    assert row.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    assert (str(answer) if answer != "closed" else "unreachable") in row.last_error
    message.refresh_from_db()
    assert message.delivered_at is not None  # the inbox has it all the same
    # Not due yet: a sweep leaves it alone.
    assert delivery.deliveries_due() == 0
    assert push_of(message).attempts == 1

    # The second try, when it is due: failed again, and the wait doubles.
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    before = timezone.now()
    assert delivery.deliveries_due() == 0
    row = push_of(message)
    assert (row.status, row.attempts) == (S.FAILED, 2)
    assert before + timedelta(seconds=60) <= row.next_attempt_at
    assert row.next_attempt_at <= timezone.now() + timedelta(seconds=60)

    # The last try: dead, and never tried again.
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    delivery.deliveries_due()
    row = push_of(message)
    assert (row.status, row.attempts) == (S.DEAD, 3)
    assert PushSubscription.objects.filter(endpoint=phone.endpoint).exists()
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(days=1))
    assert delivery.deliveries_due() == 0
    assert push_of(message).attempts == 3
    assert push_endpoint.received() == []


def test_a_failure_that_heals_is_delivered_on_the_retry(customer, app, push_endpoint):
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    push_endpoint.answer("/phone", 503)
    message = send_article(customer, app)
    delivery.deliver_message(message.pk)
    assert push_of(message).status == S.FAILED

    push_endpoint.answer("/phone", 201)
    Delivery.objects.filter(message=message).update(next_attempt_at=timezone.now())
    assert delivery.deliveries_due() == 1
    row = push_of(message)
    assert (row.status, row.attempts, row.last_error) == (S.SENT, 2, "")
    assert phone.decrypt(push_endpoint.wait_for(1, "/phone")[0].body)["body"] == "Spring menu"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_and_the_delivery_is_dead(
    customer, app, push_endpoint, status
):
    """A push service answers; it does not redirect. An endpoint that redirects (to another
    path of the same service here; in the wild, to a private address) gets nothing sent on."""
    phone = Device(push_endpoint.url("/moved"))
    subscribe(customer, phone)
    push_endpoint.answer("/moved", status, location=push_endpoint.url("/elsewhere"))
    message = send_article(customer, app)

    delivery.deliver_message(message.pk)

    row = push_of(message)
    assert (row.status, row.attempts) == (S.DEAD, 1)
    assert str(status) in row.last_error
    assert "/moved" not in row.last_error and "/elsewhere" not in row.last_error
    time.sleep(0.2)  # anything following the redirect would have arrived by now
    assert push_endpoint.received("/elsewhere") == []
    assert push_endpoint.received() == []
    assert delivery.deliveries_due() == 0  # and it is not tried again


def test_the_loopback_service_records_a_followed_redirect():
    """The check above can fail: a client that follows redirects reaches the Location."""
    import requests
    from tests.push_endpoint import PushEndpoint

    with PushEndpoint() as service:
        service.answer("/moved", 302, location=service.url("/elsewhere"))
        requests.post(service.url("/moved"), data=b"x", timeout=5)
        assert [p.method for p in service.received("/elsewhere")] == ["GET"]


SECRET_PATH = "/wpush/v2/gAAAAABsecretDeviceToken"


@pytest.mark.parametrize("answer", [400, 404, 503, "closed"])
def test_a_delivery_s_error_never_holds_the_endpoint_s_path(customer, app, push_endpoint, answer):
    if answer == "closed":
        phone = Device(f"http://127.0.0.1:{closed_port()}{SECRET_PATH}")
    else:
        phone = Device(push_endpoint.url(SECRET_PATH))
        push_endpoint.answer(SECRET_PATH, answer)
    subscribe(customer, phone)
    message = send_article(customer, app)
    delivery.deliver_message(message.pk)
    row = push_of(message)
    assert row.last_error
    assert "gAAAA" not in row.last_error and "127.0.0.1" not in row.last_error
    assert "secretDeviceToken" not in row.last_error


@pytest.mark.parametrize(
    "error",
    [
        "push service unreachable: HTTPSConnectionPool(host='fcm.googleapis.com', port=443): "
        "Max retries exceeded with url: https://fcm.googleapis.com/fcm/send/abc123secret",
        "mail server: 554 b'5.7.1 <ann@example.test>: Recipient address rejected'",
        "refused ann.lee+cafe@example.test, bo@xn--caf-dma.example and http://10.0.0.1/x",
    ],
)
def test_an_outcome_s_error_is_redacted_as_it_is_made(error):
    said = push_channel.Outcome("dead", error).error
    assert "@" not in said
    assert "abc123secret" not in said and "://" not in said
    assert len(push_channel.Outcome("retry", error * 20).error) <= 300


@pytest.mark.parametrize("status", [400, 403, 413])
def test_a_push_the_service_refuses_for_good_is_dead_at_once(customer, app, push_endpoint, status):
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    push_endpoint.answer("/phone", status)
    message = send_article(customer, app)

    delivery.deliver_message(message.pk)

    row = push_of(message)
    assert (row.status, row.attempts) == (S.DEAD, 1)
    assert str(status) in row.last_error
    assert PushSubscription.objects.filter(endpoint=phone.endpoint).exists()
    assert list(delivery.dead_letters()) == [row]


# --- the platform's VAPID keys ---------------------------------------------------------------


def test_vapid_keys_are_made_once_and_kept(db):
    assert not VapidKey.objects.exists()
    first = push_channel.ensure_vapid_keys()
    second = push_channel.ensure_vapid_keys()
    assert VapidKey.objects.count() == 1
    assert (second.public_key, bytes(second.private_key)) == (
        first.public_key,
        bytes(first.private_key),
    )
    assert push_channel.public_key() == first.public_key
    push_channel.forget_keys()  # another process starting later reads the same keys
    assert push_channel.public_key() == first.public_key
    assert len(_unb64(first.public_key)) == 65


def test_the_private_key_is_stored_encrypted(db, settings):
    row = push_channel.ensure_vapid_keys()
    stored = bytes(row.private_key)
    raw = fernet("vapid").decrypt(stored).decode()
    scalar = _unb64(raw)
    assert len(scalar) == 32
    assert raw.encode() not in stored and scalar not in stored
    # The stored scalar is the private half of the published public key.
    private = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    public = private.public_key().public_bytes(
        push_channel.serialization.Encoding.X962,
        push_channel.serialization.PublicFormat.UncompressedPoint,
    )
    assert _b64(public) == row.public_key
    # Without the deployment's secret, the stored bytes say nothing.
    settings.ENCRYPTION_KEYS = ["some other deployment's secret"]
    with pytest.raises(InvalidToken):
        fernet("vapid").decrypt(stored)


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_processes_starting_together_make_one_key_pair(concurrently):
    results = concurrently(lambda i: push_channel.ensure_vapid_keys().public_key, 8)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert VapidKey.objects.count() == 1
    assert set(results) == {VapidKey.objects.get().public_key}


# --- which subscriptions are taken -----------------------------------------------------------


def _keys(device: Device) -> tuple[str, str]:
    sub = device.subscription()
    return sub["keys"]["p256dh"], sub["keys"]["auth"]


def test_a_browsers_subscription_is_taken_as_it_comes(settings):
    settings.PUSH_ALLOW_LOCAL = False
    device = Device("https://fcm.googleapis.com/fcm/send/abc")
    p256dh, auth = _keys(device)
    endpoint, key, secret = check_subscription(f" {device.endpoint} ", p256dh + "==", auth)
    assert endpoint == device.endpoint
    assert _unb64(key) == device.p256dh and _unb64(secret) == device.auth


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.com/x",
        "ftp://push.example.com/x",
        "https:///no-host",
        "push.example.com/x",
        "https://127.0.0.1/x",
        "https://127.0.0.1:8443/x",
        "https://localhost/x",
        "https://localhost./x",
        "https://push.localhost/x",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://10.1.2.3/x",
        "https://172.16.0.9/x",
        "https://192.168.1.20/x",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/x",
        "https://0.0.0.0/x",
        "https://[fd00::1]/x",
        # Forms the resolver reads as 127.0.0.1 though they do not look like it.
        "https://127.1/x",
        "https://2130706433/x",
        "https://0x7f.0.0.1/x",
        "https://push.example.com/" + "a" * 2000,
        # Push services listen on 443: another port is somebody else's service.
        "https://push.example.com:8443/x",
        "https://push.example.com:80/x",
        "https://push.example.com:22/x",
        "https://push.example.com:99999/x",
        "https://push.example.com:x/x",
        # Credentials in the URL, and what a browser never sends.
        "https://user@push.example.com/x",
        "https://user:secret@push.example.com/x",
        "https://x.com/a b",
        "https://x.com/a\tb",
        "https://x.com/a\x00b",
        "https://x.com/a\u200bb",
        # 127.0.0.1 through a NAT64 gateway.
        "https://[64:ff9b::7f00:1]/x",
        "https://[64:ff9b::a00:1]/x",
    ],
)
def test_endpoints_that_are_refused(settings, endpoint):
    settings.PUSH_ALLOW_LOCAL = False
    p256dh, auth = _keys(Device("https://push.example.com/x"))
    with pytest.raises(SubscriptionError):
        check_subscription(endpoint, p256dh, auth)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com:443/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGz",
    ],
)
def test_push_services_endpoints_are_taken(settings, endpoint):
    settings.PUSH_ALLOW_LOCAL = False
    p256dh, auth = _keys(Device(endpoint))
    assert check_subscription(endpoint, p256dh, auth)[0] == endpoint


def test_loopback_is_allowed_only_when_the_setting_says(settings):
    p256dh, auth = _keys(Device("http://127.0.0.1:9/x"))
    settings.PUSH_ALLOW_LOCAL = False
    with pytest.raises(SubscriptionError, match="https"):
        check_subscription("http://127.0.0.1:9/x", p256dh, auth)
    with pytest.raises(SubscriptionError, match="internet"):
        check_subscription("https://127.0.0.1:9/x", p256dh, auth)
    settings.PUSH_ALLOW_LOCAL = True
    assert check_subscription("http://127.0.0.1:9/x", p256dh, auth)[0] == "http://127.0.0.1:9/x"
    with pytest.raises(SubscriptionError):  # still only http(s)
        check_subscription("file:///etc/passwd", p256dh, auth)


def test_keys_that_are_refused(settings):
    settings.PUSH_ALLOW_LOCAL = False
    device = Device("https://push.example.com/x")
    p256dh, auth = _keys(device)
    endpoint = device.endpoint
    compressed = device.private_key.public_key().public_bytes(
        push_channel.serialization.Encoding.X962,
        push_channel.serialization.PublicFormat.CompressedPoint,
    )
    not_on_curve = b"\x04" + b"\x01" * 64
    bad = [
        ("!!!not base64!!!", auth),
        (p256dh, "!!!not base64!!!"),
        (p256dh[:-4], auth),  # a key cut short
        (_b64(device.p256dh + b"\x00"), auth),  # 66 bytes
        (_b64(device.p256dh[1:]), auth),  # 64 bytes, no point format
        (_b64(not_on_curve), auth),
        (p256dh, _b64(device.auth[:15])),  # a 15-byte secret
        (p256dh, _b64(device.auth + b"\x00")),  # 17 bytes
        (p256dh, ""),
        ("", auth),
    ]
    for key, secret in bad:
        with pytest.raises(SubscriptionError):
            check_subscription(endpoint, key, secret)
    # A compressed point is a valid P-256 key; it is stored as given.
    assert check_subscription(endpoint, _b64(compressed), auth)[1] == _b64(compressed)


@pytest.mark.parametrize(
    "values",
    [
        (None, "k", "a"),
        ("https://push.example.com/x", None, "a"),
        ("https://push.example.com/x", "k", None),
        (b"https://push.example.com/x", "k", "a"),
        ({"url": "https://push.example.com/x"}, "k", "a"),
        ("https://push.example.com/x", ["k"], "a"),
        ("https://push.example.com/x", "k", 16),
    ],
)
def test_values_that_are_not_text_are_refused(values):
    with pytest.raises(SubscriptionError):
        check_subscription(*values)


def test_a_customer_keeps_at_most_max_devices_and_the_oldest_goes(customer, app, push_endpoint):
    from tapgo.identity.services import customer_create_guest

    assert messaging.MAX_DEVICES == 10
    someone_else = subscribe(customer_create_guest(), Device(push_endpoint.url("/theirs")))
    phones = [Device(push_endpoint.url(f"/phone{n}")) for n in range(11)]
    made = []
    for n, phone in enumerate(phones[:10]):
        made.append(subscribe(customer, phone))
        PushSubscription.objects.filter(pk=made[-1].pk).update(
            created_at=timezone.now() - timedelta(minutes=60 - n)
        )
    assert messaging.devices_of(customer).count() == 10

    newest = subscribe(customer, phones[10])

    kept = set(messaging.devices_of(customer).values_list("pk", flat=True))
    assert len(kept) == 10
    assert made[0].pk not in kept  # the oldest went
    assert kept == {d.pk for d in made[1:]} | {newest.pk}
    assert PushSubscription.objects.filter(pk=someone_else.pk).exists()  # not theirs
    # Subscribing a kept phone again makes no room: it is the same row.
    subscribe(customer, phones[5])
    assert set(messaging.devices_of(customer).values_list("pk", flat=True)) == kept
    # A message goes to the ten devices kept, not to the one dropped.
    message = send_article(customer, app)
    targets = set(push_of_all(message).values_list("subscription_id", flat=True))
    assert targets == kept


def push_of_all(message: Message):
    return Delivery.objects.filter(message=message, channel=Delivery.Channel.PUSH)


def test_push_subscribe_keeps_one_row_per_endpoint_and_refuses_bad_ones(
    customer, push_endpoint, settings
):
    from tapgo.identity.services import customer_create_guest

    phone = Device(push_endpoint.url("/phone"))
    first = subscribe(customer, phone)
    other = customer_create_guest()
    again = subscribe(other, phone, "zh-hans")  # the phone changed hands
    assert again.pk == first.pk
    assert PushSubscription.objects.count() == 1
    assert (again.customer_id, again.language) == (other.pk, "zh-hans")

    settings.PUSH_ALLOW_LOCAL = False
    with pytest.raises(SubscriptionError):
        subscribe(customer, Device(push_endpoint.url("/other")))
    assert PushSubscription.objects.count() == 1
