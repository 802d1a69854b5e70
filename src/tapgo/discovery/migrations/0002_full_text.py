"""The full-text index over SearchDoc, one per back end (see discovery/search/).

SQLite: an FTS5 table holding its own copy of the two term columns, kept in step by
triggers. PostgreSQL: a generated tsvector column (title weighted above body) with a GIN
index. The terms are segmented by Tapgo before they are stored, so both back ends index
the same tokens with their simplest tokenizer.
"""

from django.db import migrations

SQLITE = [
    """CREATE VIRTUAL TABLE discovery_searchfts USING fts5(
        title_terms, body_terms, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER discovery_searchdoc_ai AFTER INSERT ON discovery_searchdoc BEGIN
        INSERT INTO discovery_searchfts(rowid, title_terms, body_terms)
        VALUES (new.id, new.title_terms, new.body_terms);
    END""",
    """CREATE TRIGGER discovery_searchdoc_ad AFTER DELETE ON discovery_searchdoc BEGIN
        DELETE FROM discovery_searchfts WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER discovery_searchdoc_au AFTER UPDATE OF title_terms, body_terms
        ON discovery_searchdoc BEGIN
        UPDATE discovery_searchfts SET title_terms = new.title_terms,
            body_terms = new.body_terms WHERE rowid = new.id;
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS discovery_searchdoc_au",
    "DROP TRIGGER IF EXISTS discovery_searchdoc_ad",
    "DROP TRIGGER IF EXISTS discovery_searchdoc_ai",
    "DROP TABLE IF EXISTS discovery_searchfts",
]
POSTGRES = [
    """ALTER TABLE discovery_searchdoc ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title_terms), 'A')
        || setweight(to_tsvector('simple', body_terms), 'B')
    ) STORED""",
    "CREATE INDEX discovery_searchdoc_tsv ON discovery_searchdoc USING gin (tsv)",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS discovery_searchdoc_tsv",
    "ALTER TABLE discovery_searchdoc DROP COLUMN IF EXISTS tsv",
]


def _run(statements: dict):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("discovery", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
