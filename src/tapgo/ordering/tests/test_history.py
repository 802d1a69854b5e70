"""Reading the history's search box and its days."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tapgo.ordering.services import Search, day_bounds, search_terms


@pytest.mark.parametrize(
    ("text", "search"),
    [
        ("", Search()),
        ("   ", Search()),
        ("A003", Search(number="A003")),
        ("a3", Search(number="A003")),
        ("B12", Search(number="B012")),
        ("3", Search(number="A003", product="3")),
        ("007", Search(number="A007", product="007")),
        ("A1234", Search(number="A1234")),
        ("Ann@Example.com", Search(email="ann@example.com")),
        ("  iced   latte ", Search(product="iced latte")),
        ("拿铁", Search(product="拿铁")),
        ("A3B", Search(product="A3B")),
    ],
)
def test_the_search_box_reads_a_number_an_email_or_a_product(text, search):
    assert search_terms(text) == search


def test_days_are_whole_days_in_the_stores_zone():
    tz = ZoneInfo("Asia/Shanghai")
    start, end = day_bounds(date(2026, 12, 6), date(2026, 12, 7), tz)
    assert start == datetime(2026, 12, 5, 16, 0, tzinfo=ZoneInfo("UTC"))
    assert end == datetime(2026, 12, 7, 16, 0, tzinfo=ZoneInfo("UTC"))
    assert day_bounds(None, None, tz) == (None, None)
    assert day_bounds(None, date(2099, 12, 31), tz)[1].year == 2100
