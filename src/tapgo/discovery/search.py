"""Search: one interface over two back ends, SQLite FTS5 and PostgreSQL full-text search.

Everything that depends on language happens here, in Python, the same way for both back
ends; the databases only see space-separated terms and use their simplest tokenizer
(migrations 0002, 0003). So the same tests pass on both, and the same query finds the same
things.

Text to terms (`index_terms`, `query_leaves`)
    NFKC, casefold, accents stripped ("Café" → "cafe"), and everything that is not a letter
    or a digit (control characters and NUL, punctuation, emoji, symbols) becomes a space.
    Runs of Chinese characters are segmented with jieba; other words are kept whole with a
    light plural/suffix stemming ("lattes" → "latt", "berries" → "berri").

    Plain jieba cuts "拿铁" into 拿/铁, and once "燕麦拿铁" is in the dictionary its
    segmentation for search emits 燕麦 and 燕麦拿铁 but not 拿铁. So a Chinese run is
    indexed as its characters, its overlapping bigrams, and jieba's search segmentation
    (with the dictionary): a bigram that is also a word is there twice, which ranks real
    words above chance neighbours. A query is cut by jieba into words (consecutive single
    characters, which jieba leaves when it knows no word, are joined again), and a word of
    two or more characters must match all its bigrams, one of one character must match
    that character. "拿铁" then finds "燕麦拿铁", "燕麦拿铁" finds it too, and so does
    "拿铁 燕麦". docs/decisions/0009-search.md has the measurements behind this.

    The dictionary holds the Chinese parts of the merchants' product and app names. A
    process learns a name when it indexes it, and every process (web workers, the worker)
    loads the names written by others from the index itself: all of them the first time,
    then those whose doc changed since (an indexed `updated_at`), at most every
    DICTIONARY_SECONDS, once each doc is DICTIONARY_LAG old (its writer has committed).

The query
    Never passed to FTS5 MATCH or to_tsquery as typed: it is cut to MAX_QUERY_CHARS first
    (so 10,000 characters cost nothing), turned into at most MAX_QUERY_TERMS words, and the
    expression is built from those terms, each one quoted ("term" / 'term') and made only
    of letters and digits. Latin words match as prefixes ("croiss" finds "Croissant").
    All terms must match; when that finds nothing and there were several, any term may
    (ranked by how much matched).

Ranking (one formula, both back ends)
    score = relevance × (1 + POPULARITY_WEIGHT × popularity) × proximity

    relevance   SQLite: −bm25() with the title weighted TITLE_WEIGHT times the body;
                PostgreSQL: ts_rank() with weights title (A) 1.0, body (B) 1/TITLE_WEIGHT,
                normalised by the document's length (1 + log length).
    popularity  ln(1 + visits + ORDER_WEIGHT × paid orders) of the app over the last
                POPULARITY_DAYS days; every doc of an app carries its app's value
                (`popularity_refresh`, run by the worker's sweep and by reindex).
    proximity   1 when the customer shares no location; else 1 / (1 + (d / NEAR_KM)²) with
                d the distance to the app's store (an equirectangular approximation, good
                at city scale; the hits show the exact great-circle distance), and
                UNLOCATED_PROXIMITY for a store with no location.

    The product makes the scales of bm25 and ts_rank irrelevant: each factor moves a doc
    by a ratio. Equal scores are ordered by popularity, then distance, then age.

Bounded candidates
    At most CANDIDATES docs are scored per search. A common word matches tens of thousands
    ("咖啡" a quarter of all products), and scoring them all costs ten times the budget; so
    when more match, the match is narrowed inside the full-text index by tags the database
    derives from each doc's columns (migration 0003): the docs in the 3×3 block of grid
    cells around the customer, then the popularity tiers, the widest that fits. The tags
    weigh nothing in the score. The counts that choose are bounded too (LIMIT), so every
    step costs at most CANDIDATES rows (docs/decisions/0009-search.md).

Only docs with `live` (a published app of an active merchant) are searched; products the
merchant marked unavailable (`available=False`) and articles that are not published have no
doc. A product whose stock ran out keeps its doc: its page says it is sold out.
"""

import logging
import math
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from html import unescape

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.html import strip_tags

from tapgo.catalog.models import Category, Product
from tapgo.discovery.models import SearchDoc
from tapgo.miniapps.models import MiniApp, Visit
from tapgo.official.models import Article
from tapgo.ordering.models import PAID_STATUSES, Order

log = logging.getLogger(__name__)

Kind = SearchDoc.Kind

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 12
MAX_TERM_CHARS = 12  # a query word longer than this is cut (its bigrams would all be required)
MAX_LEAVES = 32
MAX_WORD_CHARS = 40  # longer words are cut, in the index and in queries alike
MAX_BODY_CHARS = 4000
MAX_LIMIT = 50

TITLE_WEIGHT = 10.0
POPULARITY_WEIGHT = 0.25
POPULARITY_DAYS = 30
ORDER_WEIGHT = 5
NEAR_KM = 2.0
UNLOCATED_PROXIMITY = 0.1
KM_PER_DEGREE = 111.195  # on a sphere of the Earth's mean radius
EARTH_RADIUS_KM = 6371.0088

DICTIONARY_SECONDS = 2.0
DICTIONARY_LAG = timedelta(seconds=3)
DICTIONARY_WORD_FREQ = 1000  # enough for a name to win over its pieces in jieba's route
MAX_DICTIONARY_WORD = 16
POPULARITY_SECONDS = 300

STOP_WORDS = frozenset({"a", "an", "and", "at", "for", "in", "of", "on", "or", "the", "to", "with"})

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_OTHER_CJK = "\u3040-\u30ff\u31f0-\u31ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_WORDS = re.compile(r"[^\W_]+")
_SCRIPTS = re.compile(f"([{_HAN}]+)|([{_OTHER_CJK}]+)")


# --- text ------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """NFKC, casefolded, accents stripped; anything but letters and digits becomes a space."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = unicodedata.normalize(
            "NFC",
            "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)),
        )
    return " ".join(_WORDS.findall(text))


def stem(word: str) -> str:
    """A light plural and suffix folding for prefix matching: both sides get the same."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 5:
        word = word[:-3] + "i"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3:
        if word.endswith("y"):
            word = word[:-1] + "i"
        elif word.endswith("e"):
            word = word[:-1]
    return word


def _runs(text: str):
    """(kind, run) for each run of the normalised text: "han", "cjk" (kana, hangul), "word"."""
    for word in normalise(text).split():
        start = 0
        for match in _SCRIPTS.finditer(word):
            if match.start() > start:
                yield "word", word[start : match.start()]
            yield ("han" if match.group(1) else "cjk"), match.group(0)
            start = match.end()
        if start < len(word):
            yield "word", word[start:]


def _grams(run: str) -> list[str]:
    """Each character and each overlapping pair, in reading order."""
    out = []
    for i, char in enumerate(run):
        out.append(char)
        if i + 1 < len(run):
            out.append(run[i : i + 2])
    return out


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)] or [run]


def index_terms(text: str, *, limit: int | None = None) -> str:
    """The terms a doc is indexed under, space-separated (what both back ends index)."""
    if limit is not None:
        text = text[: limit * 2]
    tokens: list[str] = []
    for kind, run in _runs(text):
        if kind == "word":
            tokens.append(stem(run[:MAX_WORD_CHARS]))
            continue
        tokens.extend(_grams(run))
        if kind == "han":
            tokens.extend(w for w in dictionary.cut_for_search(run) if len(w) > 1)
        if limit is not None and len(tokens) > limit:
            break
    return " ".join(tokens[:limit] if limit else tokens)


@dataclass(frozen=True)
class Leaf:
    term: str
    prefix: bool = False


def query_leaves(query: str) -> list[Leaf]:
    """The terms a query must match, each a letters-and-digits string (never user syntax)."""
    if not isinstance(query, str):
        return []
    words: list[tuple[str, str]] = []
    for kind, run in _runs(query[:MAX_QUERY_CHARS]):
        if kind == "han":
            words.extend(("cjk", w) for w in _join_singles(dictionary.cut(run)))
        else:
            words.append((kind if kind == "word" else "cjk", run))
    meaningful = [w for w in words if not (w[0] == "word" and w[1] in STOP_WORDS)]
    words = (meaningful or words)[:MAX_QUERY_TERMS]
    leaves: list[Leaf] = []
    for kind, word in words:
        if kind == "word":
            term = stem(word[:MAX_WORD_CHARS])
            leaves.append(Leaf(term, prefix=len(term) > 1))
        else:
            leaves.extend(Leaf(g) for g in _bigrams(word[:MAX_TERM_CHARS]))
    return list(dict.fromkeys(leaves))[:MAX_LEAVES]


def _join_singles(words) -> list[str]:
    """jieba's words, with runs of single characters (words it did not know) joined again."""
    out: list[str] = []
    single = False
    for word in words:
        if len(word) == 1 and single:
            out[-1] += word
        else:
            out.append(word)
        single = len(word) == 1
    return out


class _Dictionary:
    """jieba, loaded when first needed, with the merchants' names added as words."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tokenizer = None
        self._known: set[str] = set()
        self._loaded_until = None  # the latest updated_at read from the index
        self._checked_at = -math.inf

    def tokenizer(self):
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import warnings

                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", SyntaxWarning)
                        import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._tokenizer = tokenizer
        return self._tokenizer

    def cut(self, run: str) -> list[str]:
        return list(self.tokenizer().cut(run, HMM=False))

    def cut_for_search(self, run: str) -> list[str]:
        return list(self.tokenizer().cut_for_search(run, HMM=False))

    def learn(self, names) -> int:
        """Add the Chinese runs of these names as words; the number of new words."""
        tokenizer = self.tokenizer()
        added = 0
        with self._lock:
            for name in names:
                for kind, run in _runs(name):
                    if kind != "han" or not 1 < len(run) <= MAX_DICTIONARY_WORD:
                        continue
                    if run in self._known:
                        continue
                    self._known.add(run)
                    if not tokenizer.FREQ.get(run):
                        tokenizer.add_word(run, freq=DICTIONARY_WORD_FREQ)
                        added += 1
        return added

    def knows(self, word: str) -> bool:
        return word in self._known

    def refresh(self, *, force: bool = False) -> int:
        """Learn the names other processes indexed since the last look (throttled).

        The cursor is the latest updated_at read; a look reads the docs written after it and
        at least DICTIONARY_LAG ago, so a writer's transaction has committed by then (a doc
        whose transaction took longer, or a writer whose clock lags, is missed until the
        doc changes again: its words are still found, the dictionary only sharpens them).
        Each doc is read once, however many share one timestamp (a bulk reindex)."""
        if not force and time.monotonic() - self._checked_at < DICTIONARY_SECONDS:
            return 0
        self.tokenizer()
        horizon = timezone.now() - DICTIONARY_LAG
        docs = SearchDoc.objects.filter(kind__in=(Kind.APP, Kind.PRODUCT), updated_at__lte=horizon)
        if self._loaded_until is not None:
            docs = docs.filter(updated_at__gt=self._loaded_until)
        rows = list(docs.values_list("title", "updated_at"))
        latest = max((row[1] for row in rows), default=None)
        if self._loaded_until is None:
            self._loaded_until = latest or horizon
        elif latest is not None and latest > self._loaded_until:
            self._loaded_until = latest
        learned = self.learn({row[0] for row in rows})
        self._checked_at = time.monotonic()
        return learned

    def forget(self) -> None:
        """Start again from jieba's own dictionary (tests)."""
        with self._lock:
            self._tokenizer = None
            self._known = set()
            self._loaded_until = None
            self._checked_at = -math.inf


dictionary = _Dictionary()


def warm_in_background() -> None:
    """Load jieba and the merchants' words in a thread, so that the first search (or the first
    catalogue write) of a freshly started web process does not pay for it (about 2 s).
    `tapgo serve` asks for it through TAPGO_WARM_SEARCH (see tapgo/wsgi.py)."""

    def run():
        from django.db import connections

        try:
            dictionary.refresh(force=True)
        except Exception:  # noqa: BLE001 - a warm-up that fails leaves the lazy load to do it
            log.warning("warming the search dictionary failed", exc_info=True)
        finally:
            connections.close_all()

    threading.Thread(target=run, name="search-warm-up", daemon=True).start()


# --- the index -------------------------------------------------------------------------------

_DOC_FIELDS = (
    "ref_public_id", "app_id", "merchant_id", "title", "summary", "title_terms", "body_terms",
    "live", "popularity", "latitude", "longitude",
)  # fmt: skip


def _text(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _app_live(app: MiniApp) -> bool:
    return app.status == MiniApp.Status.PUBLISHED and app.merchant.is_active


def _primary_apps(apps: list[MiniApp]) -> dict[int, MiniApp]:
    """Each merchant's app its products are shown in: its oldest live app, else its oldest."""
    primary: dict[int, MiniApp] = {}
    for app in sorted(apps, key=lambda a: (not _app_live(a), a.created_at, a.pk)):
        primary.setdefault(app.merchant_id, app)
    return primary


def _app_fields(app: MiniApp, popularity: float, categories: list[str]) -> dict:
    store = app.store
    dictionary.learn([app.name])
    body = _text(app.description, app.merchant.name, store.address, " ".join(categories))
    return {
        "ref_public_id": app.public_id,
        "app_id": app.pk,
        "merchant_id": app.merchant_id,
        "title": app.name[:200],
        "summary": app.description[:300],
        "title_terms": index_terms(app.name),
        "body_terms": index_terms(body[:MAX_BODY_CHARS]),
        "live": _app_live(app),
        "popularity": popularity,
        "latitude": _float(store.latitude),
        "longitude": _float(store.longitude),
    }


def _product_fields(product: Product, app: MiniApp, popularity: float) -> dict:
    dictionary.learn([product.name])
    body = _text(product.description, product.category.name, app.name)
    return {
        "ref_public_id": product.public_id,
        "app_id": app.pk,
        "merchant_id": product.merchant_id,
        "title": product.name[:200],
        "summary": (product.description or product.category.name)[:300],
        "title_terms": index_terms(product.name),
        "body_terms": index_terms(body[:MAX_BODY_CHARS]),
        "live": _app_live(app),
        "popularity": popularity,
        "latitude": _float(app.store.latitude),
        "longitude": _float(app.store.longitude),
    }


def article_text(html: str) -> str:
    return unescape(strip_tags(html or ""))


def _article_fields(article: Article, app: MiniApp, popularity: float) -> dict:
    body = _text(article.summary, article_text(article.body)[:MAX_BODY_CHARS], app.name)
    summary = article.summary or " ".join(article_text(article.body).split())[:140]
    return {
        "ref_public_id": article.public_id,
        "app_id": app.pk,
        "merchant_id": article.merchant_id,
        "title": article.title[:200],
        "summary": summary[:300],
        "title_terms": index_terms(article.title),
        "body_terms": index_terms(body, limit=MAX_BODY_CHARS),
        "live": _app_live(app),
        "popularity": popularity,
        "latitude": _float(app.store.latitude),
        "longitude": _float(app.store.longitude),
    }


def _apply(scope, desired: dict[tuple[str, int], dict]) -> int:
    """Make the docs in `scope` exactly `desired` ((kind, ref_id) → fields); rows changed."""
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        existing = {(d.kind, d.ref_id): d for d in scope}
        stale = [d.pk for key, d in existing.items() if key not in desired]
        if stale:
            SearchDoc.objects.filter(pk__in=stale).delete()
            changed += len(stale)
        for (kind, ref_id), fields in desired.items():
            doc = existing.get((kind, ref_id))
            if doc is None:
                _insert(kind, ref_id, fields, now)
                changed += 1
            elif any(getattr(doc, name) != value for name, value in fields.items()):
                SearchDoc.objects.filter(pk=doc.pk).update(updated_at=now, **fields)
                changed += 1
    return changed


def _insert(kind: str, ref_id: int, fields: dict, now) -> None:
    try:
        with transaction.atomic():
            SearchDoc.objects.create(kind=kind, ref_id=ref_id, updated_at=now, **fields)
    except IntegrityError:  # indexed meanwhile by another process: bring it up to date
        SearchDoc.objects.filter(kind=kind, ref_id=ref_id).update(updated_at=now, **fields)


def _merchant_docs(merchant_ids) -> dict[tuple[str, int], dict]:
    """What the index should hold for these merchants: their apps, products and articles."""
    apps = list(
        MiniApp.objects.filter(merchant_id__in=merchant_ids).select_related("merchant", "store")
    )
    if not apps:
        return {}
    by_pk = {a.pk: a for a in apps}
    popularity = popularity_of(list(by_pk))
    primary = _primary_apps(apps)
    categories: dict[int, list[str]] = {}
    for merchant_id, name in (
        Category.objects.filter(merchant_id__in=merchant_ids)
        .order_by("position", "id")
        .values_list("merchant_id", "name")
    ):
        categories.setdefault(merchant_id, []).append(name)
    desired = {}
    for app in apps:
        desired[(Kind.APP, app.pk)] = _app_fields(
            app, popularity.get(app.pk, 0.0), categories.get(app.merchant_id, [])
        )
    products = Product.objects.filter(merchant_id__in=merchant_ids, available=True)
    for product in products.select_related("category"):
        app = primary[product.merchant_id]
        desired[(Kind.PRODUCT, product.pk)] = _product_fields(
            product, app, popularity.get(app.pk, 0.0)
        )
    articles = Article.objects.filter(
        merchant_id__in=merchant_ids, status=Article.Status.PUBLISHED, app_id__in=list(by_pk)
    )
    for article in articles:
        app = by_pk[article.app_id]
        desired[(Kind.ARTICLE, article.pk)] = _article_fields(
            article, app, popularity.get(app.pk, 0.0)
        )
    return desired


def index_merchant(merchant_id: int) -> int:
    """Bring every doc of one merchant up to date (its apps' live flags, location, names)."""
    return _apply(SearchDoc.objects.filter(merchant_id=merchant_id), _merchant_docs([merchant_id]))


def index_app(app_id: int) -> int:
    """An app changed (name, description, published): its merchant's docs all show it."""
    merchant_id = MiniApp.objects.filter(pk=app_id).values_list("merchant_id", flat=True).first()
    if merchant_id is None:
        return remove_app(app_id)
    return index_merchant(merchant_id)


def _one(kind: str, ref_id: int, fields: dict | None) -> int:
    scope = SearchDoc.objects.filter(kind=kind, ref_id=ref_id)
    return _apply(scope, {} if fields is None else {(kind, ref_id): fields})


def _app_of_merchant(merchant_id: int) -> MiniApp | None:
    apps = list(MiniApp.objects.filter(merchant_id=merchant_id).select_related("merchant", "store"))
    return _primary_apps(apps).get(merchant_id)


def index_product(product_id: int) -> int:
    product = (
        Product.objects.select_related("category").filter(pk=product_id, available=True).first()
    )
    app = product and _app_of_merchant(product.merchant_id)
    if product is None or app is None:
        return remove_product(product_id)
    fields = _product_fields(product, app, popularity_of([app.pk]).get(app.pk, 0.0))
    return _one(Kind.PRODUCT, product_id, fields)


def index_category(category_id: int) -> int:
    """A category was renamed: its products' docs and its merchant's app docs carry it."""
    merchant_id = (
        Category.objects.filter(pk=category_id).values_list("merchant_id", flat=True).first()
    )
    return 0 if merchant_id is None else index_merchant(merchant_id)


def index_article(article_id: int) -> int:
    article = Article.objects.filter(pk=article_id, status=Article.Status.PUBLISHED).first()
    if article is None:
        return remove_article(article_id)
    app = MiniApp.objects.select_related("merchant", "store").get(pk=article.app_id)
    fields = _article_fields(article, app, popularity_of([app.pk]).get(app.pk, 0.0))
    return _one(Kind.ARTICLE, article_id, fields)


def remove_product(product_id: int) -> int:
    return SearchDoc.objects.filter(kind=Kind.PRODUCT, ref_id=product_id).delete()[0]


def remove_article(article_id: int) -> int:
    return SearchDoc.objects.filter(kind=Kind.ARTICLE, ref_id=article_id).delete()[0]


def remove_app(app_id: int) -> int:
    """Every doc shown in this app (its own, its products', its articles')."""
    return SearchDoc.objects.filter(app_id=app_id).delete()[0]


def _later(func, ref_id: int) -> None:
    # After the writer's transaction commits (at once outside one); a failure is logged and
    # the write stands: the next change or `tapgo search reindex` brings the doc up to date.
    transaction.on_commit(partial(func, ref_id), robust=True)


def index_merchant_later(merchant_id: int) -> None:
    _later(index_merchant, merchant_id)


def index_app_later(app_id: int) -> None:
    _later(index_app, app_id)


def index_product_later(product_id: int) -> None:
    _later(index_product, product_id)


def index_category_later(category_id: int) -> None:
    _later(index_category, category_id)


def index_article_later(article_id: int) -> None:
    _later(index_article, article_id)


def remove_product_later(product_id: int) -> None:
    _later(remove_product, product_id)


def remove_article_later(article_id: int) -> None:
    _later(remove_article, article_id)


def remove_app_later(app_id: int) -> None:
    _later(remove_app, app_id)


def reindex(*, batch: int = 200) -> dict:
    """Rebuild the whole index from the catalogue, a batch of merchants at a time, then
    drop docs whose merchant has no app left and refresh popularity."""
    merchant_ids = sorted(set(MiniApp.objects.values_list("merchant_id", flat=True)))
    changed = 0
    for start in range(0, len(merchant_ids), batch):
        ids = merchant_ids[start : start + batch]
        changed += _apply(SearchDoc.objects.filter(merchant_id__in=ids), _merchant_docs(ids))
    orphans = SearchDoc.objects.exclude(merchant_id__in=merchant_ids).delete()[0]
    popularity_refresh()
    return {
        "merchants": len(merchant_ids),
        "changed": changed + orphans,
        "docs": SearchDoc.objects.count(),
    }


# --- popularity ------------------------------------------------------------------------------


def popularity_of(app_ids: list[int] | None = None) -> dict[int, float]:
    """ln(1 + visits + ORDER_WEIGHT × paid orders) per app, over the last POPULARITY_DAYS."""
    since = timezone.now() - timedelta(days=POPULARITY_DAYS)
    visits = Visit.objects.filter(created_at__gte=since)
    orders = Order.objects.filter(created_at__gte=since, status__in=PAID_STATUSES)
    if app_ids is not None:
        if not app_ids:
            return {}
        visits, orders = visits.filter(app_id__in=app_ids), orders.filter(app_id__in=app_ids)
    counts: dict[int, int] = {}
    for app_id, n in visits.values("app_id").annotate(n=Count("id")).values_list("app_id", "n"):
        counts[app_id] = counts.get(app_id, 0) + n
    for app_id, n in orders.values("app_id").annotate(n=Count("id")).values_list("app_id", "n"):
        counts[app_id] = counts.get(app_id, 0) + ORDER_WEIGHT * n
    return {app_id: round(math.log1p(n), 4) for app_id, n in counts.items()}


def popularity_refresh() -> int:
    """Write each app's popularity to its docs where it changed; the number of apps."""
    fresh = popularity_of()
    stale: dict[int, float] = {}
    for app_id, value in SearchDoc.objects.values_list("app_id", "popularity").distinct():
        if value != fresh.get(app_id, 0.0):
            stale[app_id] = fresh.get(app_id, 0.0)
    for app_id, value in stale.items():
        SearchDoc.objects.filter(app_id=app_id).update(popularity=value)
    return len(stale)


_last_popularity = -math.inf


def popularity_sweep() -> int:
    """The worker's sweep: popularity_refresh() every POPULARITY_SECONDS."""
    global _last_popularity
    now = time.monotonic()
    if now - _last_popularity < POPULARITY_SECONDS:
        return 0
    _last_popularity = now
    return popularity_refresh()


# --- the query -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    kind: str
    title: str
    summary: str
    app_slug: str
    app_name: str
    ref_public_id: str
    distance_km: float | None
    score: float


def _valid_point(lat, lng) -> tuple[float, float] | None:
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine) on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# Tags (migration 0003): made by the database from the doc's own columns, matched but never
# scored, so a common word's tens of thousands of matches can be narrowed inside the index.
GEO_CELLS_PER_DEGREE = 20  # a 0.05° grid: about 5.5 km north-south, 4.8 km east-west at 30°
POPULARITY_TIERS = (2.0, 3.5, 5.0)  # zzp1, zzp2, zzp3 (cumulative)
CANDIDATES = 500  # docs scored for one search, at most


def kind_tag(kind: str) -> str:
    return f"zzk{kind}"


def cell_tag(lat: float, lng: float) -> str:
    row = math.floor((lat + 90) * GEO_CELLS_PER_DEGREE)
    col = math.floor((lng + 180) * GEO_CELLS_PER_DEGREE)
    return f"zzg{row}x{col}"


def tags_of(*, kind: str, latitude, longitude, popularity: float) -> list[str]:
    """What the database tags a doc with (the same rule as migration 0003's SQL)."""
    tags = [kind_tag(kind)]
    if latitude is not None and longitude is not None:
        tags.append(cell_tag(latitude, longitude))
    tags += [f"zzp{i}" for i, floor in enumerate(POPULARITY_TIERS, 1) if popularity >= floor]
    return tags


def _block(lat: float, lng: float) -> list[str]:
    """The customer's grid cell and the eight around it: every point within one cell."""
    step = 1 / GEO_CELLS_PER_DEGREE
    return list(
        dict.fromkeys(
            cell_tag(max(-90.0, min(90.0, lat + dy * step)), ((lng + dx * step + 180) % 360) - 180)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
    )


class _Expression:
    """The customer's terms (AND or OR) and tag groups (each group OR, groups AND), written
    for a back end. Terms are letters and digits only, and quoted besides."""

    def __init__(self, vendor: str, leaves: list[Leaf], op: str, groups: list[list[str]]):
        self.vendor, self.leaves, self.op, self.groups = vendor, leaves, op, groups

    def narrowed(self, group: list[str]) -> "_Expression":
        return _Expression(self.vendor, self.leaves, self.op, [*self.groups, group])

    def match(self) -> str:
        if self.vendor == "postgresql":
            words = f" {'&' if self.op == 'AND' else '|'} ".join(
                _pg_lexeme(leaf.term, prefix=leaf.prefix, weights="AB") for leaf in self.leaves
            )
            groups = "".join(
                " & (" + " | ".join(_pg_lexeme(tag) for tag in group) + ")" for group in self.groups
            )
            return f"({words}){groups}"
        words = f" {self.op} ".join(
            _fts_phrase(leaf.term) + ("*" if leaf.prefix else "") for leaf in self.leaves
        )
        groups = "".join(
            " AND {tags} : (" + " OR ".join(_fts_phrase(tag) for tag in group) + ")"
            for group in self.groups
        )
        return f"{{title_terms body_terms}} : ({words}){groups}"

    def rank(self) -> str:
        """PostgreSQL ranks with the customer's words alone (FTS5 gives tags no weight)."""
        return f" {'&' if self.op == 'AND' else '|'} ".join(
            _pg_lexeme(leaf.term, prefix=leaf.prefix) for leaf in self.leaves
        )


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _pg_lexeme(term: str, *, prefix: bool = False, weights: str = "") -> str:
    quoted = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
    label = ("*" if prefix else "") + weights
    return f"{quoted}:{label}" if label else quoted


def _count(expression: _Expression, cap: int) -> int:
    """How many docs match, counting no further than `cap`."""
    if expression.vendor == "postgresql":
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM discovery_searchdoc"
            " WHERE tsv @@ to_tsquery('simple', %s) LIMIT %s) m"
        )
    else:
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM discovery_searchfts"
            " WHERE discovery_searchfts MATCH %s LIMIT %s) m"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [expression.match(), cap])
        return cursor.fetchone()[0]


def _candidates(expression: _Expression, point, limit: int) -> _Expression | None:
    """The narrowest sensible set to score: all matches when there are at most CANDIDATES;
    else those near the customer (their grid cell and the eight around it), and of those, or
    of all when there is no location or too few near, the most popular tier that still holds
    `limit`. When even the narrowest holds more than CANDIDATES, CANDIDATES of it are scored
    (in index order). None when nothing matches."""
    cap = CANDIDATES
    found = _count(expression, cap + 1)
    if found == 0:
        return None
    if found <= cap:
        return expression
    tiers = [[f"zzp{i}"] for i in range(1, len(POPULARITY_TIERS) + 1)]
    chains = []
    if point is not None:
        near = expression.narrowed(_block(*point))
        chains.append([near, *(near.narrowed(t) for t in tiers)])
    chains.append([expression.narrowed(t) for t in tiers])
    for chain in chains:
        wider = None
        for stage in chain:
            found = _count(stage, cap + 1)
            if found <= cap:
                if found >= limit:
                    return stage
                if wider is not None:
                    return wider  # this one is too small: the one before, capped
                break  # the chain's widest is too small already: try the next chain
            wider = stage
        else:
            return wider
    return expression


def _sql(vendor: str, point, kinds: list[str]) -> tuple[str, list]:
    """The ranked query over at most CANDIDATES matches; its parameters are (before the
    expressions, [match (, rank)], after): the caller puts them together."""
    # (constants and placeholders only, here and below: no text from a request)
    if vendor == "postgresql":
        # The doc's row itself, read once by the match: no second look-up by id.
        source = (
            "(SELECT d.id, d.kind, d.title, d.summary, d.ref_public_id, d.app_id, d.live,"  # noqa: S608
            " d.latitude, d.longitude, d.popularity,"
            f" ts_rank('{{0, 0, {1 / TITLE_WEIGHT}, 1}}', d.tsv, to_tsquery('simple', %s), 1)"
            " AS relevance FROM discovery_searchdoc d"
            f" WHERE d.tsv @@ to_tsquery('simple', %s) LIMIT {CANDIDATES}) d"
        )
        relevance = "d.relevance"
    else:
        # CROSS JOIN keeps the matches as the outer loop (the planner may otherwise walk
        # every doc and probe the full-text index for each).
        source = (
            f"(SELECT rowid AS id, -bm25(discovery_searchfts, {TITLE_WEIGHT}, 1.0, 0.0)"  # noqa: S608
            " AS relevance FROM discovery_searchfts WHERE discovery_searchfts MATCH %s"
            f" LIMIT {CANDIDATES}) m CROSS JOIN discovery_searchdoc d ON d.id = m.id"
        )
        relevance = "m.relevance"
    before: list = []
    if point is None:
        proximity, distance2 = "1.0", "0.0"
    else:
        # Squared distance in degrees of latitude (equirectangular); across the antimeridian
        # it overstates, which only ranks such a store lower.
        lat, lng = point
        squeeze = math.cos(math.radians(lat)) ** 2
        squared = (
            "((d.latitude - %s) * (d.latitude - %s) + %s * (d.longitude - %s) * (d.longitude - %s))"
        )
        scale = (KM_PER_DEGREE / NEAR_KM) ** 2
        distance2 = f"COALESCE({squared}, 1e9)"
        proximity = (
            f"(CASE WHEN d.latitude IS NULL OR d.longitude IS NULL THEN {UNLOCATED_PROXIMITY}"
            f" ELSE 1.0 / (1.0 + {scale} * {squared}) END)"
        )
        before = [lat, lat, squeeze, lng, lng] * 2
    sql = (
        "SELECT d.kind, d.title, d.summary, a.slug, a.name, d.ref_public_id, d.latitude,"  # noqa: S608
        f" d.longitude, {distance2} AS distance2,"
        f" {relevance} * (1.0 + {POPULARITY_WEIGHT} * d.popularity) * {proximity} AS score"
        f" FROM {source} JOIN miniapps_miniapp a ON a.id = d.app_id"
        f" WHERE d.live AND d.kind IN ({', '.join(['%s'] * len(kinds))})"
        " ORDER BY score DESC, d.popularity DESC, distance2, d.id LIMIT %s"
    )
    return sql, before


def search(
    query: str,
    *,
    lat: float | None = None,
    lng: float | None = None,
    kinds: list[str] | tuple[str, ...] | None = None,
    limit: int = 20,
) -> list[Hit]:
    """Ranked hits for what a customer typed: results or nothing, never an error for input."""
    if kinds is None:
        kinds = list(Kind.values)
    kinds = [k for k in Kind.values if k in set(kinds or ())]
    try:
        limit = max(1, min(int(limit), MAX_LIMIT))
    except (TypeError, ValueError):
        limit = 20
    if not kinds:
        return []
    dictionary.refresh()
    leaves = query_leaves(query)
    if not leaves:
        return []
    point = _valid_point(lat, lng) if lat is not None and lng is not None else None
    vendor = connection.vendor
    # Kinds are narrowed inside the index when they leave out products (apps and articles are
    # few: their tags' lists are short); products are most docs, a filter that keeps them is
    # applied to the candidates, as `live` is: a tag that nearly every doc has would cost
    # more to intersect (and bm25 counts every phrase's docs) than it saves.
    groups = []
    if Kind.PRODUCT not in kinds:
        groups.append([kind_tag(k) for k in kinds])
    sql, before = _sql(vendor, point, kinds)
    rows: list = []
    for op in ("AND", "OR") if len(leaves) > 1 else ("AND",):
        chosen = _candidates(_Expression(vendor, leaves, op, groups), point, limit)
        if chosen is None:
            continue
        expressions = (
            [chosen.rank(), chosen.match()] if vendor == "postgresql" else [chosen.match()]
        )
        # In the text: the select list (the distance's parameters), the matches, kinds, LIMIT.
        with connection.cursor() as cursor:
            cursor.execute(sql, [*before, *expressions, *kinds, limit])
            rows = cursor.fetchall()
        if rows:  # (matches that are all not live count as none: then any word may do)
            break
    hits = []
    for kind, title, summary, slug, app_name, public_id, dlat, dlng, _d2, score in rows:
        distance = None
        if point is not None and dlat is not None and dlng is not None:
            distance = round(distance_km(point[0], point[1], dlat, dlng), 2)
        hits.append(Hit(kind, title, summary, slug, app_name, public_id, distance, float(score)))
    return hits
