"""Helpers for the ops console's tests: an operator, a signed-in operator's client."""

import pytest


@pytest.fixture
def operator(db):
    from tapgo.identity.models import User
    from tapgo.identity.services import staff_user_create

    user = staff_user_create(email="ops@tapgo.test", password="correct horse battery")
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    return user


@pytest.fixture
def ops_client(client, operator):
    client.force_login(operator)
    return client
