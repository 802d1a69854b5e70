"""The framework's floor: the smallest Django project, one view answering "hello".

Served by granian over WSGI with the same workers and threads as `tapgo serve`, so the
menu page's requests per second can be read as a share of what Django itself can do here.
No middleware, no database, no templates: what any Django page costs at the least.
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-hello-not-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_I18N=False,
    LOGGING_CONFIG=None,
)


def hello(request):
    return HttpResponse(b"hello", content_type="text/plain")


urlpatterns = [path("", hello)]

application = get_wsgi_application()
