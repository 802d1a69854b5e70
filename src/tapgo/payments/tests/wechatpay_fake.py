"""A fake WeChat Pay API v3 on loopback, and signed encrypted notifications, for the tests.

It plays WeChat's side of the protocol as documented: it checks our Authorization signature
(401 SIGN_ERROR when it does not hold), keeps the orders and refunds it was given, and signs
every answer with its own key, the "WeChat Pay public key" the merchant configures. Keys are
generated here; nothing leaves the machine.
"""

import base64
import datetime as dt
import json
import re
import secrets
import socketserver
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092024000000000000"
SIG_TYPE = "WECHATPAY2-SHA256-RSA2048"
CHINA = dt.timezone(dt.timedelta(hours=8))


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Keys:
    """A merchant's API key and certificate serial, WeChat's signing key, an APIv3 key."""

    def __init__(self):
        self.merchant_key = new_rsa_key()
        self.merchant_serial = secrets.token_hex(20).upper()
        self.platform_key = new_rsa_key()  # its public half is the "WeChat Pay public key"
        self.apiv3_key = secrets.token_hex(16)  # 32 characters

    def config(self, **changes) -> dict:
        return {
            "mchid": MCHID,
            "appid": APPID,
            "merchant_serial": self.merchant_serial,
            "public_key_id": PUBLIC_KEY_ID,
            "public_key": public_pem(self.platform_key),
            **changes,
        }

    def secrets(self, **changes) -> dict:
        return {
            "private_key": private_pem(self.merchant_key),
            "apiv3_key": self.apiv3_key,
            **changes,
        }


def rsa_sign(key, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_headers(keys: Keys, body: bytes, *, timestamp=None, serial=PUBLIC_KEY_ID, key=None):
    """The Wechatpay-* headers WeChat puts on its answers and its notifications."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex.upper()
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(key or keys.platform_key, message),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIG_TYPE,
    }


def now_text() -> str:
    return dt.datetime.now(CHINA).replace(microsecond=0).isoformat()


def transaction_resource(out_trade_no, total, *, state="SUCCESS", currency="CNY", **changes):
    data = {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200" + secrets.token_hex(12),
        "trade_type": "MWEB",
        "trade_state": state,
        "trade_state_desc": "支付成功" if state == "SUCCESS" else state,
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": now_text(),
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": total,
            "payer_total": total,
            "currency": currency,
            "payer_currency": currency,
        },
    }
    data.update(changes)
    return data


def refund_resource(out_trade_no, out_refund_no, refund, total, *, status="SUCCESS", **changes):
    data = {
        "mchid": MCHID,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200" + secrets.token_hex(12),
        "out_refund_no": out_refund_no,
        "refund_id": "50" + secrets.token_hex(14),
        "refund_status": status,
        "success_time": now_text(),
        "user_received_account": "支付用户零钱",
        "amount": {"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
    }
    data.update(changes)
    return data


def notification(
    keys: Keys,
    event_type: str,
    resource: dict,
    *,
    event_id=None,
    apiv3_key=None,
    **sign,
) -> tuple[dict, bytes]:
    """A notification as WeChat POSTs it: (headers, body). The resource is AES-256-GCM
    encrypted with the APIv3 key; `sign` goes to signed_headers (timestamp, serial, key)."""
    original_type = "refund" if event_type.startswith("REFUND.") else "transaction"
    nonce = secrets.token_hex(6)  # twelve characters, as WeChat sends
    ciphertext = AESGCM((apiv3_key or keys.apiv3_key).encode()).encrypt(
        nonce.encode(),
        json.dumps(resource, ensure_ascii=False).encode(),
        original_type.encode(),
    )
    body = json.dumps(
        {
            "id": event_id or str(uuid.uuid4()),
            "create_time": now_text(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功" if event_type == "TRANSACTION.SUCCESS" else "退款通知",
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": original_type,
                "nonce": nonce,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return signed_headers(keys, body, **sign), body


AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')
PREPAY = re.compile(r"/v3/pay/transactions/(h5|jsapi)")
ORDER = re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)")
CLOSE = re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)/close")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer's own asks DNS for the host's full name: slow, and not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class FakeWeChatPay:
    """WeChat Pay on 127.0.0.1 (a random port), served by a thread. `requests` records what
    it was sent: (method, path, headers, parsed body). `script(...)` makes the next answers
    something else (an outage, garbage, a bad signature)."""

    def __init__(self, keys: Keys):
        self.keys = keys
        self.orders: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict, dict | None]] = []
        self.refund_status = "PROCESSING"
        self._scripted: list[tuple[int, bytes, bool]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- what a test does to it ---

    def script(self, status: int, body: bytes = b"", *, signed: bool = True) -> None:
        """Answer the next request with this instead (queued: one entry per request)."""
        self._scripted.append((status, body, signed))

    def pay(self, out_trade_no: str, *, state="SUCCESS") -> dict:
        """The customer paid (or the order ended in `state`) at WeChat."""
        order = self.orders[out_trade_no]
        order.update(trade_state=state, success_time=now_text())
        return order

    def paths(self) -> list[str]:
        return [f"{method} {urlsplit(path).path}" for method, path, _h, _b in self.requests]

    # --- serving ---

    def _handle(self, handler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with self._lock:
            self.requests.append((method, handler.path, dict(handler.headers), body))
            scripted = self._scripted.pop(0) if self._scripted else None
            why = self.check_authorization(method, handler.path, handler.headers, raw)
            if scripted:
                status, text, signed = scripted
            elif why:
                status, text, signed = 401, self._json({"code": "SIGN_ERROR", "message": why}), True
            else:
                status, answer = self.route(method, handler.path, body)
                text, signed = (self._json(answer) if answer is not None else b""), True
        headers = signed_headers(self.keys, text)
        if not signed:
            headers["Wechatpay-Signature"] = rsa_sign(self.keys.merchant_key, b"not this")
        handler.send_response(status)
        if text:
            handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(text)))
        handler.send_header("Request-ID", uuid.uuid4().hex)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(text)

    @staticmethod
    def _json(data: dict) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode()

    def check_authorization(self, method, path, headers, body: bytes) -> str:
        """What real WeChat checks of a merchant's request; the reason it fails, or ''."""
        auth = headers.get("Authorization", "")
        if not auth.startswith(SIG_TYPE + " "):
            return "unknown scheme"
        fields = dict(AUTH_FIELD.findall(auth))
        if fields.get("mchid") != MCHID or fields.get("serial_no") != self.keys.merchant_serial:
            return "unknown merchant or certificate serial"
        if not fields.get("timestamp", "").isdigit() or not fields.get("nonce_str"):
            return "malformed"
        if abs(int(fields["timestamp"]) - time.time()) > 300:
            return "timestamp expired"
        message = (
            f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode()
            + body
            + b"\n"
        )
        try:
            self.keys.merchant_key.public_key().verify(
                base64.b64decode(fields.get("signature", "")),
                message,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return "signature mismatch"
        return ""

    def route(self, method: str, path: str, data) -> tuple[int, dict | None]:
        split = urlsplit(path)
        if method == "POST" and (m := PREPAY.fullmatch(split.path)):
            return self._prepay(m.group(1), data)
        if method == "POST" and (m := CLOSE.fullmatch(split.path)):
            order = self.orders.get(unquote(m.group(1)))
            if order is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            if order["trade_state"] in ("SUCCESS", "REFUND"):
                return 400, {"code": "ORDERPAID", "message": "订单已支付"}
            order["trade_state"] = "CLOSED"
            return 204, None
        if method == "GET" and (m := ORDER.fullmatch(split.path)):
            if parse_qs(split.query).get("mchid") != [MCHID]:
                return 400, {"code": "PARAM_ERROR", "message": "mchid"}
            order = self.orders.get(unquote(m.group(1)))
            if order is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            answer = dict(order)
            if order["trade_state"] not in ("SUCCESS", "REFUND"):
                # WeChat gives the amount and the transaction id of a paid order only.
                answer.pop("amount")
                answer.pop("transaction_id")
                answer.pop("success_time")
            return 200, answer
        if method == "POST" and split.path == "/v3/refund/domestic/refunds":
            return self._refund(data)
        return 404, {"code": "NOT_FOUND", "message": f"no route {method} {split.path}"}

    def _prepay(self, kind: str, data: dict) -> tuple[int, dict]:
        for key in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount"):
            if key not in data:
                return 400, {"code": "PARAM_ERROR", "message": f"缺少参数 {key}"}
        if data["mchid"] != MCHID or data["appid"] != APPID:
            return 400, {"code": "PARAM_ERROR", "message": "appid和mchid不匹配"}
        if kind == "jsapi" and not data.get("payer", {}).get("openid"):
            return 400, {"code": "PARAM_ERROR", "message": "缺少参数 payer.openid"}
        if kind == "h5" and not data.get("scene_info", {}).get("payer_client_ip"):
            return 400, {"code": "PARAM_ERROR", "message": "缺少参数 payer_client_ip"}
        number = data["out_trade_no"]
        order = self.orders.get(number)
        if order is not None:
            if order["trade_state"] in ("SUCCESS", "REFUND"):
                return 400, {"code": "ORDERPAID", "message": "该订单已支付"}
            if order["trade_state"] == "CLOSED":
                return 400, {"code": "ORDER_CLOSED", "message": "订单已关闭"}
            if (order["amount"]["total"], order["description"]) != (
                data["amount"]["total"],
                data["description"],
            ):
                return 400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}
        else:
            order = transaction_resource(number, data["amount"]["total"], state="NOTPAY")
            order.update(description=data["description"], trade_type=kind.upper())
            self.orders[number] = order
        prepay_id = "wx" + secrets.token_hex(15)
        if kind == "jsapi":
            return 200, {"prepay_id": prepay_id}
        return 200, {
            "h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb"
            f"?prepay_id={prepay_id}&package=2150917749"
        }

    def _refund(self, data: dict) -> tuple[int, dict]:
        order = self.orders.get(data.get("out_trade_no"))
        if order is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        if order["trade_state"] not in ("SUCCESS", "REFUND"):
            return 400, {"code": "INVALID_REQUEST", "message": "订单未支付"}
        number = data["out_refund_no"]
        if number in self.refunds:  # the same refund asked for again: the same answer
            return 200, self.refunds[number]
        amount = data["amount"]
        refunded = sum(
            r["amount"]["refund"]
            for r in self.refunds.values()
            if r["out_trade_no"] == order["out_trade_no"]
        )
        if (
            amount["total"] != order["amount"]["total"]
            or refunded + amount["refund"] > amount["total"]
        ):
            return 400, {"code": "INVALID_REQUEST", "message": "退款金额不正确"}
        refund = refund_resource(
            order["out_trade_no"],
            number,
            amount["refund"],
            amount["total"],
            transaction_id=order["transaction_id"],
        )
        refund.pop("refund_status")
        refund.update(status=self.refund_status, channel="ORIGINAL", create_time=now_text())
        self.refunds[number] = refund
        order["trade_state"] = "REFUND"
        return 200, refund
