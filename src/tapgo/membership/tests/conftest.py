import pytest

from tapgo.membership import services as membership


@pytest.fixture(autouse=True)
def points_sound(request):
    """After every membership test that uses the database, cached balances are the ledger's
    and the lots hold the balance."""
    names = request.fixturenames
    database = "transactional_db" if "transactional_db" in names else "db"
    if database not in names and "concurrently" not in names:
        yield
        return
    request.getfixturevalue(database)
    yield
    assert membership.verify_balances() == []
    assert membership.verify_lots() == []


@pytest.fixture
def member(merchant, customer, app):
    return membership.member_join(merchant=merchant, customer=customer, app=app)
