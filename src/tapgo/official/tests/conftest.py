"""Fixtures for the official account's tests: articles of the café and of another business."""

import pytest

from tapgo.flows import listings


@pytest.fixture
def article(merchant, app):
    return listings.article_create(
        merchant=merchant,
        app=app,
        title="Oat latte is here",
        summary="Silky, and no dairy.",
        body="<p>Our new <strong>oat latte</strong>.</p>",
    )


@pytest.fixture
def published(article):
    return listings.article_set_published(article=article, published=True)


@pytest.fixture
def other_article(other_merchant):
    """A published article of the other business (its app is `bakery`)."""
    from tapgo.miniapps.models import MiniApp

    other_app = MiniApp.objects.get(merchant=other_merchant)
    found = listings.article_create(
        merchant=other_merchant, app=other_app, title="Sourdough Sundays", body="<p>Bread.</p>"
    )
    return listings.article_set_published(article=found, published=True)


@pytest.fixture
def staff_member(merchant, owner):
    """A team member who is not the owner."""
    from tapgo.identity.services import staff_user_create
    from tapgo.merchants import services as merchants

    user = staff_user_create(email="staff@cafe.test", password="correct horse battery")
    invitation = merchants.invitation_create(
        merchant=merchant, invited_by=owner, email=user.email, role="staff"
    )
    merchants.invitation_accept(invitation=invitation, user=user)
    return user
