"""The official account in the shell: a mini app's published articles, and one article.

The content door: an article ends with a call to action into the mini app's menu with
`?scene=account`, so the visit it brings is counted as the official account's. Reaching an
article from outside (a shared or pasted link) records a visit too, as every door's page does
(base.record_entry). Drafts and another app's articles answer 404.
"""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tapgo.merchants.services import merchant_store
from tapgo.miniapps import live
from tapgo.official import services as official
from tapgo.shell import state as shell_state
from tapgo.shell.views import notifications
from tapgo.shell.views.base import frame, record_entry


def _tz(app):
    store = merchant_store(app.merchant)
    return store.tz if store is not None else timezone.get_current_timezone()


@require_GET
@shell_state.keeps
def articles(request, slug: str):
    """The official account's page: the app's published articles, newest first."""
    state = live.app_state(slug)
    record_entry(request, state)
    app = state.app()
    found = official.published_articles(app=app, page=request.GET.get("page"))
    with timezone.override(_tz(app)):
        return render(
            request,
            "shell/articles.html",
            frame(request, app, articles=found, ask=notifications.follow_ask(request, app)),
        )


@require_GET
@shell_state.keeps
def article(request, slug: str, article_id: str):
    """One published article of this app, with its way into the mini app."""
    state = live.app_state(slug)
    app = state.app()
    found = official.published_article(app=app, public_id=article_id)  # 404 before a visit
    record_entry(request, state)
    with timezone.override(_tz(app)):
        return render(
            request,
            "shell/article.html",
            frame(request, app, article=found, body=official.body_html(found)),
        )
