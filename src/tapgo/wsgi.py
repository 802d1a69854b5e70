import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tapgo.settings")
application = get_wsgi_application()

if os.environ.get("TAPGO_WARM_SEARCH") == "1":  # set by `tapgo serve` for its web workers
    from tapgo.discovery.search import warm_in_background

    warm_in_background()
