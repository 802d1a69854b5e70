"""Prepared queries: an ORM query compiled to SQL once per database, then run with new values.

For the few queries on the hottest paths (the mini app's state on every page, a scanned
code, a customer's first visit): compiling a query through the ORM, and Django's cursor
wrapper re-converting it, cost several times what the database takes to answer these
(bench/, docs/decisions/0001-serving.md). The query itself stays the domain's, written with
its managers and filters; only its compilation happens early.

    FIRST = Prepared(Visit, lambda merchant_id, customer_id: Visit.objects.filter(
        merchant_id=merchant_id, customer_id=customer_id).values_list("pk")[:1], values=2)
    FIRST.one(merchant.pk, customer.pk)  # a row (a tuple), or None

The query is built once per database alias with a marker in place of each value; the SQL and
the markers' positions among its parameters are kept (functools.lru_cache: one lock for all
threads, the entries never change). A run uses the driver's own cursor on the thread's
connection; errors still pass through Django's error wrapping, so a broken connection is
noticed and replaced as for any query.
"""

import re
from collections.abc import Callable
from functools import lru_cache

from django.db import connections, router


def _marker(i: int) -> str:
    return f"\x00value{i}\x00"


class Prepared:
    def __init__(self, model, build: Callable, *, values: int = 1):
        self.model, self.build, self.values = model, build, values

    @lru_cache(maxsize=8)  # noqa: B019 - a handful of module-level instances, never freed
    def _sql(self, alias: str, vendor: str) -> tuple[str, tuple, tuple[int, ...]]:
        markers = [_marker(i) for i in range(self.values)]
        sql, params = self.build(*markers).query.get_compiler(using=alias).as_sql()
        if vendor == "sqlite":  # what Django's SQLite cursor does to every query, done once
            sql = re.sub(r"(?<!%)%s", "?", sql).replace("%%", "%")
        return sql, tuple(params), tuple(params.index(m) for m in markers)

    def one(self, *values) -> tuple | None:
        """The first row for these values, or None."""
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        sql, params, positions = self._sql(alias, connection.vendor)
        bound = list(params)
        for position, value in zip(positions, values, strict=True):
            bound[position] = value
        connection.ensure_connection()
        with connection.wrap_database_errors:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(sql, bound)
                return cursor.fetchone()
            finally:
                cursor.close()
