"""The platform's built-in notification templates, installed by key where missing.

Texts here are data, one per shipped language, not gettext strings: an operator edits them
in the ops console like any template they add. `install` runs from the migration and after
every `migrate` or `flush` (post_migrate, as Django re-creates content types), so a database
emptied by a test or an operator gets its library back; a template the operator changed is
left as it is.
"""

from tapgo.messaging.keys import TemplateKey


def install(Template, AppTemplate, MiniApp) -> int:  # noqa: N803 (model classes)
    """Create the missing built-in templates (switching the default ones on for every
    existing app); returns how many were created. Takes the model classes, so the migration
    can pass its historical ones."""
    have = set(
        Template.objects.filter(key__in=[t["key"] for t in BUILTIN]).values_list("key", flat=True)
    )
    created = 0
    for spec in BUILTIN:
        if spec["key"] in have:
            continue
        template = Template.objects.create(
            key=spec["key"],
            subject=spec["subject"],
            fields=spec["fields"],
            texts=spec["texts"],
            standing=spec["standing"],
            default_on=spec["default_on"],
        )
        created += 1
        if spec["default_on"]:
            AppTemplate.objects.bulk_create(
                [
                    AppTemplate(merchant_id=app.merchant_id, app_id=app.pk, template=template)
                    for app in MiniApp.objects.all()
                ]
            )
    return created


APP = {"name": "app", "type": "text"}
ORDER = {"name": "order", "type": "text"}

BUILTIN = [
    {
        "key": TemplateKey.ORDER_PAID,
        "subject": "order",
        "default_on": True,
        "standing": False,
        "fields": [ORDER, APP, {"name": "total", "type": "money"}],
        "texts": {
            "en": {
                "name": "Order paid",
                "ask": "Tell me when my payment arrives",
                "title": "Payment received",
                "body": "{app} received {total} for order {order}.",
            },
            "zh-hans": {
                "name": "订单支付成功",
                "ask": "付款到账时通知我",
                "title": "付款成功",
                "body": "{app} 已收到订单 {order} 的付款 {total}。",
            },
        },
    },
    {
        "key": TemplateKey.ORDER_READY,
        "subject": "order",
        "default_on": True,
        "standing": False,
        "fields": [ORDER, APP],
        "texts": {
            "en": {
                "name": "Order ready for pickup",
                "ask": "Tell me when my order is ready",
                "title": "Your order is ready",
                "body": "Order {order} is ready for pickup at {app}.",
            },
            "zh-hans": {
                "name": "取餐提醒",
                "ask": "订单做好时通知我",
                "title": "您的订单已做好",
                "body": "{app} 的订单 {order} 已做好，请前往取餐。",
            },
        },
    },
    {
        "key": TemplateKey.ORDER_OUT_FOR_DELIVERY,
        "subject": "order",
        "default_on": True,
        "standing": False,
        "fields": [ORDER, APP, {"name": "eta", "type": "number"}],
        "texts": {
            "en": {
                "name": "Order out for delivery",
                "ask": "Tell me when my order is on its way",
                "title": "Your order is on its way",
                "body": "Order {order} from {app} is out for delivery: about {eta} minutes.",
            },
            "zh-hans": {
                "name": "配送提醒",
                "ask": "订单开始配送时通知我",
                "title": "您的订单正在配送",
                "body": "{app} 的订单 {order} 已出发配送，预计约 {eta} 分钟送达。",
            },
        },
    },
    {
        "key": TemplateKey.ORDER_READY_TABLE,
        "subject": "order",
        "default_on": True,
        "standing": False,
        "fields": [ORDER, APP, {"name": "table", "type": "text"}],
        "texts": {
            "en": {
                "name": "Order ready, brought to the table",
                "ask": "Tell me when my order is ready",
                "title": "Your order is ready",
                "body": "Order {order} is ready: {app} is bringing it to table {table}.",
            },
            "zh-hans": {
                "name": "出餐提醒（送餐到桌）",
                "ask": "订单做好时通知我",
                "title": "您的订单已做好",
                "body": "{app} 的订单 {order} 已做好，马上为您送到 {table} 号桌。",
            },
        },
    },
    {
        "key": TemplateKey.ORDER_CANCELLED,
        "subject": "order",
        "default_on": True,
        "standing": False,
        "fields": [
            ORDER,
            APP,
            {"name": "refund", "type": "money"},
            {"name": "reason", "type": "text"},
        ],
        "texts": {
            "en": {
                "name": "Order cancelled or refunded",
                "ask": "Tell me if my order is cancelled",
                "title": "Your order was cancelled",
                "body": "{app} cancelled order {order} ({reason}). {refund} goes back to you.",
            },
            "zh-hans": {
                "name": "订单取消及退款",
                "ask": "订单被取消时通知我",
                "title": "您的订单已取消",
                "body": "{app} 取消了订单 {order}（{reason}），{refund} 将退还给您。",
            },
        },
    },
    {
        "key": TemplateKey.BOOKING_CONFIRMED,
        "subject": "booking",
        "default_on": False,
        "standing": False,
        "fields": [
            APP,
            {"name": "service", "type": "text"},
            {"name": "starts", "type": "datetime"},
        ],
        "texts": {
            "en": {
                "name": "Booking confirmed",
                "ask": "Tell me when my booking is confirmed",
                "title": "Booking confirmed",
                "body": "{app} confirmed your booking: {service}, {starts}.",
            },
            "zh-hans": {
                "name": "预约成功",
                "ask": "预约确认后通知我",
                "title": "预约成功",
                "body": "{app} 已确认您的预约：{service}，{starts}。",
            },
        },
    },
    {
        "key": TemplateKey.BOOKING_REMINDER,
        "subject": "booking",
        "default_on": False,
        "standing": True,
        "fields": [
            APP,
            {"name": "service", "type": "text"},
            {"name": "starts", "type": "datetime"},
        ],
        "texts": {
            "en": {
                "name": "Booking reminder",
                "ask": "Remind me before my bookings",
                "title": "Your booking is soon",
                "body": "Reminder: {service} at {app}, {starts}.",
            },
            "zh-hans": {
                "name": "预约提醒",
                "ask": "预约前提醒我",
                "title": "预约即将开始",
                "body": "提醒：{app} 的 {service}，{starts}。",
            },
        },
    },
    {
        "key": TemplateKey.POINTS_CHANGED,
        "subject": "card",
        "default_on": False,
        "standing": True,
        "fields": [
            APP,
            {"name": "change", "type": "number"},
            {"name": "balance", "type": "number"},
        ],
        "texts": {
            "en": {
                "name": "Points changed",
                "ask": "Tell me when my points change",
                "title": "Your points changed",
                "body": "{app}: {change} points; you now have {balance}.",
            },
            "zh-hans": {
                "name": "积分变动",
                "ask": "积分变动时通知我",
                "title": "积分变动",
                "body": "{app}：积分变动 {change}，当前积分 {balance}。",
            },
        },
    },
    {
        "key": TemplateKey.COUPON_EXPIRING,
        "subject": "coupon",
        "default_on": False,
        "standing": True,
        "fields": [
            APP,
            {"name": "coupon", "type": "text"},
            {"name": "expires", "type": "datetime"},
        ],
        "texts": {
            "en": {
                "name": "Coupon about to expire",
                "ask": "Remind me before my coupons expire",
                "title": "A coupon expires soon",
                "body": "Your coupon “{coupon}” at {app} expires {expires}.",
            },
            "zh-hans": {
                "name": "优惠券到期提醒",
                "ask": "优惠券到期前提醒我",
                "title": "优惠券即将到期",
                "body": "您在 {app} 的优惠券“{coupon}”将于 {expires} 到期。",
            },
        },
    },
    {
        "key": TemplateKey.NEW_ARTICLE,
        "subject": "article",
        "default_on": True,
        "standing": True,
        "fields": [APP, {"name": "title", "type": "text"}],
        "texts": {
            "en": {
                "name": "New article",
                "ask": "Follow: tell me about new articles",
                "title": "New from {app}",
                "body": "{title}",
            },
            "zh-hans": {
                "name": "新文章",
                "ask": "关注：有新文章时通知我",
                "title": "{app} 发布了新文章",
                "body": "{title}",
            },
        },
    },
]
