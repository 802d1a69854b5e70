from django.urls import path

from tapgo.payments import views

app_name = "payments"
urlpatterns = [
    path("webhooks/<str:provider>", views.webhook, name="webhook"),
    path("sandbox/<str:intent_id>/", views.sandbox_page, name="sandbox_page"),
]
