"""The demo's official account: two published articles (one in Chinese) and a draft."""

import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_the_demo_cafe_has_articles_once(django_capture_on_commit_callbacks):
    from tapgo import demo
    from tapgo.discovery import search
    from tapgo.official.models import Article

    with override_settings(PUBLIC_URL="http://example.test"):
        with django_capture_on_commit_callbacks(execute=True):
            demo.seed(history_days=0)
        demo.seed(history_days=0)
    articles = Article.objects.filter(app__slug="harbour-cafe")
    assert sorted(articles.values_list("status", flat=True)) == ["draft", "published", "published"]
    assert articles.filter(status="published", title__contains="燕麦拿铁").exists()
    assert all(a.published_at for a in articles.filter(status="published"))
    assert not Article.objects.exclude(app__slug="harbour-cafe").exists()
    hits = search.search("燕麦拿铁", kinds=["article"])
    assert [h.app_slug for h in hits] == ["harbour-cafe"]
    assert hits[0].title == "燕麦拿铁上新：不加糖也香甜"
