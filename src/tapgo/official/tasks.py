"""Background work of official accounts: telling followers about a new article.

Publishing an article enqueues `article_fan_out` after the publishing transaction commits.
The task sends one batch of followers through messaging (consent is checked per customer)
and enqueues itself for the next batch, so no task runs long and a large following does
not hold a worker. Every message carries the dedupe key `article:<public id>`: a rerun, a
second publish or a retried batch sends nobody the article twice.
"""

from django.tasks import task

from tapgo.core import links
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import ConsentSubject, Template
from tapgo.miniapps.models import MiniApp
from tapgo.official.models import Article

FAN_OUT_BATCH = 200  # followers per task


@task()
def article_fan_out(article_id: int, after: int = 0) -> int:
    """Tell one batch of the app's followers about the article; returns how many have it."""
    article = (
        Article.objects.select_related("app")
        .filter(pk=article_id, status=Article.Status.PUBLISHED)
        .first()
    )
    if article is None:  # deleted or back to draft before it went out: nothing to tell
        return 0
    app = article.app
    if not MiniApp.objects.live().filter(pk=app.pk).exists():
        return 0  # customers could not open the link
    reached, cursor = messaging.followers_notify(
        app=app,
        key=TemplateKey.NEW_ARTICLE,
        values={"app": app.name, "title": article.title},
        link=links.article(app.slug, article.public_id),
        subject=ConsentSubject(Template.Subject.ARTICLE, article.public_id),
        dedupe=f"article:{article.public_id}",
        # Those who followed by the time it first came out: publishing it again reaches only
        # whoever it missed (a worker died mid-way), never someone who followed later.
        followed_by=article.published_at,
        after=after,
        limit=FAN_OUT_BATCH,
    )
    if cursor is not None:
        article_fan_out.enqueue(article_id, cursor)
    return reached
