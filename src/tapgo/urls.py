from django.urls import include, path
from django.views.i18n import set_language

from tapgo.core import views as core_views

urlpatterns = [
    path("console/", include("tapgo.console.urls")),
    path("ops/", include("tapgo.ops.urls")),
    path("payments/", include("tapgo.payments.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("media/<path:name>", core_views.media, name="media"),
    path("", include("tapgo.shell.urls")),
]

handler400 = "tapgo.core.views.bad_request"
handler403 = "tapgo.core.views.forbidden"
handler404 = "tapgo.core.views.not_found"
handler500 = "tapgo.core.views.server_error"
