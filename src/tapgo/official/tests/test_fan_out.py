"""Publishing an article tells the app's followers: once each, in batches, consent first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.flows import listings
from tapgo.identity.services import customer_create_guest
from tapgo.messaging import services as messaging
from tapgo.messaging.models import Consent, ConsentSubject, Delivery, Message, Template
from tapgo.messaging.services import sending
from tapgo.miniapps.models import MiniApp
from tapgo.official import tasks


def follow(app, n=1):
    customers = [customer_create_guest() for _ in range(n)]
    for customer in customers:
        messaging.consent_give(customer=customer, app=app, key="new_article", standing=True)
    return customers


def publish(article, capture, published=True):
    with capture(execute=True):
        return listings.article_set_published(article=article, published=published)


def told(article) -> list[int]:
    """The customers who got a message about the article, by pk."""
    return sorted(
        Message.objects.filter(key=f"article:{article.public_id}").values_list(
            "customer_id", flat=True
        )
    )


def test_publishing_tells_every_follower_once(
    app, article, other_merchant, django_capture_on_commit_callbacks
):
    followers = follow(app, 3)
    bystander = customer_create_guest()  # never followed
    revoked = follow(app)[0]
    consent = Consent.objects.get(customer=revoked)
    messaging.consent_revoke(customer=revoked, public_id=consent.public_id)
    elsewhere = follow(MiniApp.objects.get(merchant=other_merchant))[0]  # follows the bakery

    article = publish(article, django_capture_on_commit_callbacks)

    assert told(article) == sorted(c.pk for c in followers)
    message = Message.objects.get(customer=followers[0])
    assert message.template.key == "new_article"
    assert message.values == {"app": app.name, "title": "Oat latte is here"}
    assert message.link == f"/m/{app.slug}/a/{article.public_id}/"
    assert message.subject == f"article:{article.public_id}"
    assert message.merchant_id == app.merchant_id
    assert message.delivered_at is not None  # the immediate task backend delivered it
    assert messaging.message_text(message, "en") == (f"New from {app.name}", "Oat latte is here")
    assert Delivery.objects.get(message=message).status == Delivery.Status.SENT
    # a standing consent is not used up by a message
    assert Consent.objects.filter(customer__in=followers, status="active").count() == 3
    for nobody in (bystander, revoked, elsewhere):
        assert not Message.objects.filter(customer=nobody).exists()


def test_publishing_again_sends_nobody_anything_twice(
    app, article, django_capture_on_commit_callbacks
):
    followers = follow(app, 2)
    article = publish(article, django_capture_on_commit_callbacks)
    first = told(article)
    assert first == sorted(c.pk for c in followers)

    publish(article, django_capture_on_commit_callbacks, published=False)
    publish(article, django_capture_on_commit_callbacks)
    publish(article, django_capture_on_commit_callbacks)  # published while published
    assert tasks.article_fan_out.call(article.pk) == 2  # a rerun finds both already told

    assert told(article) == first
    assert Message.objects.count() == 2


def test_publishing_again_reaches_only_who_it_missed_never_later_followers(
    app, article, django_capture_on_commit_callbacks
):
    early = follow(app, 2)
    article = publish(article, django_capture_on_commit_callbacks)
    # The worker died before reaching the second follower: their message is not there.
    Message.objects.filter(customer=early[1]).delete()
    late = follow(app)[0]
    Consent.objects.filter(customer=late).update(
        created_at=article.published_at + timedelta(minutes=5)
    )

    publish(article, django_capture_on_commit_callbacks, published=False)
    publish(article, django_capture_on_commit_callbacks)

    assert told(article) == sorted(c.pk for c in early)
    assert not Message.objects.filter(customer=late).exists()


def test_followers_are_told_in_batches_each_a_task(
    app, article, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks, "FAN_OUT_BATCH", 2)
    followers = follow(app, 5)
    batches = []
    real = messaging.followers_notify

    def spy(**kwargs):
        result = real(**kwargs)
        batches.append((kwargs["after"], result))
        return result

    monkeypatch.setattr(messaging, "followers_notify", spy)

    article = publish(article, django_capture_on_commit_callbacks)

    assert told(article) == sorted(c.pk for c in followers)
    assert [reached for _after, (reached, _cursor) in batches] == [2, 2, 1]
    assert batches[0][0] == 0 and batches[-1][1][1] is None  # from the start to the end
    assert batches[1][0] == batches[0][1][1]  # each batch starts where the last one stopped


def test_consent_is_checked_per_customer(app, article, django_capture_on_commit_callbacks):
    followers = follow(app, 2)
    once = customer_create_guest()  # "tell me about the next article", one time
    messaging.consent_give(customer=once, app=app, key="new_article")
    about_something_else = customer_create_guest()
    another = ConsentSubject(Template.Subject.ARTICLE, "x")
    messaging.consent_give(
        customer=about_something_else, app=app, key="new_article", subject=another
    )

    article = publish(article, django_capture_on_commit_callbacks)

    assert told(article) == sorted(c.pk for c in [*followers, once])
    assert Consent.objects.get(customer=once).status == Consent.Status.USED
    assert Consent.objects.get(customer=about_something_else).status == Consent.Status.ACTIVE


def test_a_follower_who_turns_it_off_meanwhile_gets_nothing(app, article, monkeypatch):
    followers = follow(app, 2)
    listings.article_set_published(article=article, published=True)  # its task not run yet
    real = messaging.notify

    def revoke_first(**kwargs):
        if kwargs["customer"] == followers[0]:  # turned off between the batch's read and this
            consent = Consent.objects.get(customer=followers[0])
            messaging.consent_revoke(customer=followers[0], public_id=consent.public_id)
        return real(**kwargs)

    monkeypatch.setattr(sending, "notify", revoke_first)  # what followers_notify calls

    assert tasks.article_fan_out.call(article.pk) == 1
    assert told(article) == [followers[1].pk]


def test_nothing_is_sent_when_the_app_does_not_send_it(
    app, article, django_capture_on_commit_callbacks
):
    follow(app, 2)
    template = messaging.template_by_key("new_article")
    messaging.app_template_switch(app=app, template=template, on=False)

    article = publish(article, django_capture_on_commit_callbacks)

    assert told(article) == []


@pytest.mark.parametrize("why", ["draft again", "deleted", "app unpublished"])
def test_nothing_is_sent_when_it_cannot_be_read_by_the_time_the_task_runs(app, article, why):
    follow(app, 2)
    article = listings.article_set_published(article=article, published=True)  # task not run
    if why == "draft again":
        listings.article_set_published(article=article, published=False)
    elif why == "deleted":
        listings.article_delete(article=article)
    else:
        listings.app_set_published(app=app, published=False)

    assert tasks.article_fan_out.call(article.pk) == 0
    assert Message.objects.count() == 0


def test_a_draft_saved_or_edited_tells_nobody(app, article, django_capture_on_commit_callbacks):
    follow(app, 1)
    with django_capture_on_commit_callbacks(execute=True):
        listings.article_update(article=article, title="Oat latte, again", summary="", body="")
    assert Message.objects.count() == 0


def test_a_fan_out_needs_a_dedupe_key(app):
    with pytest.raises(messaging.MessagingError):
        messaging.followers_notify(
            app=app,
            key="new_article",
            values={"app": "x", "title": "y"},
            link=f"/m/{app.slug}/a/x/",
            dedupe="",
        )


def test_followed_by_keeps_out_later_followers(app):
    early, late = follow(app, 2)
    Consent.objects.filter(customer=late).update(created_at=timezone.now() + timedelta(hours=1))
    reached, cursor = messaging.followers_notify(
        app=app,
        key="new_article",
        values={"app": app.name, "title": "Hello"},
        link=f"/m/{app.slug}/a/abc/",
        dedupe="article:abc",
        followed_by=timezone.now(),
    )
    assert (reached, cursor) == (1, None)
    assert list(Message.objects.values_list("customer_id", flat=True)) == [early.pk]
