from django.urls import path

from tapgo.payments import views

app_name = "payments"
urlpatterns = [
    path("webhooks/<str:provider>", views.webhook, name="webhook"),
    path("webhooks/<str:provider>/<str:account_id>", views.webhook, name="account_webhook"),
    path("sandbox/<str:intent_id>/", views.sandbox_page, name="sandbox_page"),
    path("stripe/<str:intent_id>/", views.stripe_page, name="stripe_page"),
    path("wechatpay/<str:intent_id>/", views.wechatpay_page, name="wechatpay_page"),
]
