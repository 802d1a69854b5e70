"""The search index, second shape: a third, unweighted `tags` column (SQLite FTS5) or
weight-D lexemes (PostgreSQL) made from the doc's own columns, and an index on updated_at.

Why (discovery/search/, docs/decisions/0009-search.md): a common word ("咖啡", "茶")
matches tens of thousands of docs, and scoring every one of them costs more than the whole
time budget of a search. The tags let the match itself narrow those, inside the full-text
index and before anything is scored, to the kinds asked for (apps, articles), to the docs
near the customer (a 0.05° grid cell) or to those of popular apps (cumulative tiers). They
carry no weight in the score: bm25's weight for the column is 0, and PostgreSQL ranks with
the customer's words only. (Whether a doc is live is no tag: nearly every doc is, and a tag
on nearly every doc costs more to intersect than it saves.)

    zzk<kind>   zzg<row>x<col>   zzp1 (popularity >= 2)   zzp2 (>= 3.5)   zzp3 (>= 5)

row = floor((latitude + 90) * 20), col = floor((longitude + 180) * 20): the same numbers as
search/query.py's GEO_CELLS_PER_DEGREE and POPULARITY_TIERS (a test holds them together).

The index on updated_at: each process asks every few seconds which names were indexed since
it last looked (the jieba dictionary), and that question must be an index seek. Raw SQL, not
a model index: the model is the lead's schema; this index serves only discovery/search/.
"""

# ruff: noqa: S608 (SQL made of constants: no input from anyone reaches it)
import importlib

from django.db import migrations

previous = importlib.import_module("tapgo.discovery.migrations.0002_full_text")


def tags(row: str, *, postgres: bool) -> str:
    """The tags of a searchdoc row (`new`, `old` or the table itself) as an SQL expression."""
    p = f"{row}." if row else ""
    cell = (
        (
            f"'zzg' || floor(({p}latitude + 90) * 20)::int::text"
            f" || 'x' || floor(({p}longitude + 180) * 20)::int::text"
        )
        if postgres
        else (
            f"'zzg' || CAST(({p}latitude + 90) * 20 AS INTEGER)"
            f" || 'x' || CAST(({p}longitude + 180) * 20 AS INTEGER)"
        )
    )
    return (
        f"('zzk' || {p}kind"
        f" || CASE WHEN {p}latitude IS NULL OR {p}longitude IS NULL THEN ''"
        f" ELSE ' ' || {cell} END"
        f" || CASE WHEN {p}popularity >= 2 THEN ' zzp1' ELSE '' END"
        f" || CASE WHEN {p}popularity >= 3.5 THEN ' zzp2' ELSE '' END"
        f" || CASE WHEN {p}popularity >= 5 THEN ' zzp3' ELSE '' END)"
    )


SQLITE = [
    *previous.SQLITE_DROP,
    """CREATE VIRTUAL TABLE discovery_searchfts USING fts5(
        title_terms, body_terms, tags, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    f"""INSERT INTO discovery_searchfts(rowid, title_terms, body_terms, tags)
        SELECT id, title_terms, body_terms, {tags("", postgres=False)}
        FROM discovery_searchdoc""",
    f"""CREATE TRIGGER discovery_searchdoc_ai AFTER INSERT ON discovery_searchdoc BEGIN
        INSERT INTO discovery_searchfts(rowid, title_terms, body_terms, tags)
        VALUES (new.id, new.title_terms, new.body_terms, {tags("new", postgres=False)});
    END""",
    """CREATE TRIGGER discovery_searchdoc_ad AFTER DELETE ON discovery_searchdoc BEGIN
        DELETE FROM discovery_searchfts WHERE rowid = old.id;
    END""",
    # Only when what the index holds changes: a popularity that stays in its tier (most
    # refreshes) rewrites nothing.
    f"""CREATE TRIGGER discovery_searchdoc_au AFTER UPDATE
        OF title_terms, body_terms, kind, latitude, longitude, popularity
        ON discovery_searchdoc
        WHEN new.title_terms IS NOT old.title_terms OR new.body_terms IS NOT old.body_terms
            OR {tags("new", postgres=False)} IS NOT {tags("old", postgres=False)}
        BEGIN
        UPDATE discovery_searchfts SET title_terms = new.title_terms,
            body_terms = new.body_terms, tags = {tags("new", postgres=False)}
            WHERE rowid = new.id;
    END""",
]
SQLITE_BACK = [
    *previous.SQLITE_DROP,
    *previous.SQLITE,
    """INSERT INTO discovery_searchfts(rowid, title_terms, body_terms)
        SELECT id, title_terms, body_terms FROM discovery_searchdoc""",
]
POSTGRES = [
    *previous.POSTGRES_DROP,
    f"""ALTER TABLE discovery_searchdoc ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title_terms), 'A')
        || setweight(to_tsvector('simple', body_terms), 'B')
        || setweight(to_tsvector('simple', {tags("", postgres=True)}), 'D')
    ) STORED""",
    # Without the pending list: a search never scans a list of recent, unmerged entries.
    """CREATE INDEX discovery_searchdoc_tsv ON discovery_searchdoc USING gin (tsv)
        WITH (fastupdate = off)""",
]
POSTGRES_BACK = [*previous.POSTGRES_DROP, *previous.POSTGRES]
UPDATED = (
    "CREATE INDEX IF NOT EXISTS discovery_searchdoc_updated ON discovery_searchdoc (updated_at)"
)
UPDATED_DROP = "DROP INDEX IF EXISTS discovery_searchdoc_updated"


def _run(statements: dict):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("discovery", "0002_full_text")]

    operations = [
        migrations.RunSQL(UPDATED, UPDATED_DROP),
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_BACK, "postgresql": POSTGRES_BACK}),
        ),
    ]
