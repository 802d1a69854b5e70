"""Search: one interface over two back ends, SQLite FTS5 and PostgreSQL full-text search.

Everything that depends on language happens here, in Python, the same way for both back
ends; the databases only see space-separated terms and use their simplest tokenizer
(migrations 0002, 0003). So the same tests pass on both, and the same query finds the same
things. Only live docs (a published app of an active merchant) are found.

By job, each module's docstring saying more:

- text.py: normalise, stem, cut into runs by script, the grams of a CJK run;
- lexicon.py: the jieba dictionary kept per process (`dictionary`), with the merchants'
  names learned from the index, and `warm_in_background`;
- terms.py: text to terms, what a doc is indexed under (`index_terms`) and what a query must
  match (`query_leaves`);
- index.py: the docs of apps, products and articles built from the catalogue, `index_*`,
  `remove_*`, their `*_later` forms run after commit, and `reindex`;
- popularity.py: each app's recent visits and orders, written to its docs, and the sweep;
- query.py: `search` and its `Hit`s, the SQL of both back ends, ranking, the candidates
  narrowed by tags and grid cells, `valid_point` and `distance_km`.

Here are the names the rest of Tapgo uses. The rest stays in its module, the tunables too
(lexicon.DICTIONARY_LAG, query.CANDIDATES, ...): a test patches them there, not here.
"""

from tapgo.discovery.search.index import (
    index_app_later,
    index_article_later,
    index_category_later,
    index_merchant_later,
    index_product_later,
    reindex,
    remove_article_later,
    remove_product_later,
)
from tapgo.discovery.search.lexicon import dictionary, warm_in_background
from tapgo.discovery.search.popularity import popularity_of, popularity_refresh, popularity_sweep
from tapgo.discovery.search.query import (
    MAX_LIMIT,
    Hit,
    Kind,
    cell_tag,
    search,
    tags_of,
    valid_point,
)
from tapgo.discovery.search.terms import MAX_LEAVES, MAX_QUERY_CHARS, index_terms, query_leaves
from tapgo.discovery.search.text import normalise, stem

__all__ = [
    "MAX_LEAVES",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "Hit",
    "Kind",
    "cell_tag",
    "dictionary",
    "index_app_later",
    "index_article_later",
    "index_category_later",
    "index_merchant_later",
    "index_product_later",
    "index_terms",
    "normalise",
    "popularity_of",
    "popularity_refresh",
    "popularity_sweep",
    "query_leaves",
    "reindex",
    "remove_article_later",
    "remove_product_later",
    "search",
    "stem",
    "tags_of",
    "valid_point",
    "warm_in_background",
]
