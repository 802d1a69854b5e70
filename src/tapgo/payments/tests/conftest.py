import pytest

from tapgo.flows.checks import verify_books


@pytest.fixture(autouse=True)
def books_balance(request):
    """After every payments test, every invariant of `tapgo ledger verify` still holds."""
    names = request.fixturenames
    database = "transactional_db" if "transactional_db" in names else "db"
    breaks_books = request.node.get_closest_marker("breaks_books")
    if breaks_books or (database not in names and "concurrently" not in names):
        yield
        return
    request.getfixturevalue(database)  # set up first, so torn down after this check
    yield
    assert [str(b) for b in verify_books()] == []
