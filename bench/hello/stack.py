"""The same "hello" view behind Tapgo's own settings and middleware (a second, informative floor).

The difference between this and bench/hello/hello.py is what Tapgo's middleware stack costs
every request; the difference between this and the menu page is what the page itself costs.
"""

import os

from django.http import HttpResponse
from django.urls import path

os.environ["DJANGO_SETTINGS_MODULE"] = "stack_settings"


def hello(request):
    return HttpResponse(b"hello", content_type="text/plain")


urlpatterns = [path("", hello)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
