from django.urls import include, path
from django.views.i18n import set_language

from tapgo.api import provider_webhooks
from tapgo.core import views as core_views
from tapgo.shell.views import pay

# Where money comes in: providers' webhooks (api) and the pages a customer pays on (shell).
payment_urls = (
    [
        path("webhooks/<str:provider>", provider_webhooks.webhook, name="webhook"),
        path(
            "webhooks/<str:provider>/<str:account_id>",
            provider_webhooks.webhook,
            name="account_webhook",
        ),
        path("sandbox/<str:intent_id>/", pay.sandbox_page, name="sandbox_page"),
        path("stripe/<str:intent_id>/", pay.stripe_page, name="stripe_page"),
        path("wechatpay/<str:intent_id>/", pay.wechatpay_page, name="wechatpay_page"),
    ],
    "payments",
)

urlpatterns = [
    path("console/", include("tapgo.console.urls")),
    path("ops/", include("tapgo.ops.urls")),
    path("payments/", include(payment_urls)),
    path("i18n/setlang/", set_language, name="set_language"),
    path("media/<path:name>", core_views.media, name="media"),
    path("", include("tapgo.shell.urls")),
]

handler400 = "tapgo.core.views.bad_request"
handler403 = "tapgo.core.views.forbidden"
handler404 = "tapgo.core.views.not_found"
handler500 = "tapgo.core.views.server_error"
