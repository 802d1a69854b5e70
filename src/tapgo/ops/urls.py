from django.urls import path

from tapgo.ops import views

app_name = "ops"

urlpatterns = [
    path("", views.home, name="home"),
    # the notification template library
    path("templates/", views.templates, name="templates"),
    path("templates/new/", views.template_new, name="template_new"),
    path("templates/<slug:key>/", views.template_edit, name="template_edit"),
    # deliveries that failed for good, and a message's delivery log
    path("dead-letters/", views.dead_letters, name="dead_letters"),
    path("dead-letters/retry", views.dead_letters_retry, name="dead_letters_retry"),
    path("messages/", views.message_log, name="message_log"),
]
