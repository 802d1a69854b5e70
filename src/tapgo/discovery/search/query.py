"""The query: what a customer typed, ranked, on SQLite FTS5 or PostgreSQL full text.

The expression
    Never what was typed: the query's terms (terms.py), each one quoted ("term" / 'term') and
    made only of letters and digits. All terms must match; when that finds nothing and there
    were several, any term may (ranked by how much matched).

Ranking (one formula, both back ends)
    score = relevance × (1 + POPULARITY_WEIGHT × popularity) × proximity

    relevance   SQLite: −bm25() with the title weighted TITLE_WEIGHT times the body;
                PostgreSQL: ts_rank() with weights title (A) 1.0, body (B) 1/TITLE_WEIGHT,
                normalised by the document's length (1 + log length).
    popularity  the app's recent visits and paid orders (popularity.py).
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
"""

import dataclasses
import math
from dataclasses import dataclass

from django.db import connection

from tapgo.core import translations as texts
from tapgo.discovery.models import SearchDoc
from tapgo.discovery.search.lexicon import dictionary
from tapgo.discovery.search.terms import Leaf, query_leaves

Kind = SearchDoc.Kind

MAX_LIMIT = 50

TITLE_WEIGHT = 10.0
POPULARITY_WEIGHT = 0.25
NEAR_KM = 2.0
UNLOCATED_PROXIMITY = 0.1
KM_PER_DEGREE = 111.195  # on a sphere of the Earth's mean radius
EARTH_RADIUS_KM = 6371.0088


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
    # The title and summary in the merchant's other languages ({language: {"title",
    # "summary"}}), and the app's names ({language: {"name", …}}): see `shown`.
    translations: dict | None = None
    app_translations: dict | None = None

    def shown(self, language: str | None = None) -> "Hit":
        """The hit in `language` (the current one): its title, summary and app name as the
        merchant gave them in it, else in its default language."""
        language = language or texts.current()
        given = (self.translations or {}).get(language) or {}
        return dataclasses.replace(
            self,
            title=given.get("title") or self.title,
            summary=given.get("summary") or self.summary,
            app_name=texts.text(self.app_translations, "name", self.app_name, language),
        )


def valid_point(lat, lng) -> tuple[float, float] | None:
    """(lat, lng) as floats when they are a point on the Earth; else None, whatever was sent."""
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
                _pg_leaf(leaf, weights="AB") for leaf in self.leaves
            )
            groups = "".join(
                " & (" + " | ".join(_pg_lexeme(tag) for tag in group) + ")" for group in self.groups
            )
            return f"({words}){groups}"
        words = f" {self.op} ".join(_fts_leaf(leaf) for leaf in self.leaves)
        groups = "".join(
            " AND {tags} : (" + " OR ".join(_fts_phrase(tag) for tag in group) + ")"
            for group in self.groups
        )
        return f"{{title_terms body_terms}} : ({words}){groups}"

    def rank(self) -> str:
        """PostgreSQL ranks with the customer's words alone (FTS5 gives tags no weight)."""
        return f" {'&' if self.op == 'AND' else '|'} ".join(_pg_leaf(leaf) for leaf in self.leaves)


def _fts_leaf(leaf: Leaf) -> str:
    """A leaf for MATCH: its term (a prefix or not), or it or a correction, in brackets."""
    star = "*" if leaf.prefix else ""
    if not leaf.alternatives:
        return _fts_phrase(leaf.term) + star
    return "(" + " OR ".join(_fts_phrase(t) + star for t in leaf.terms()) + ")"


def _pg_leaf(leaf: Leaf, *, weights: str = "") -> str:
    if not leaf.alternatives:
        return _pg_lexeme(leaf.term, prefix=leaf.prefix, weights=weights)
    return (
        "("
        + " | ".join(_pg_lexeme(t, prefix=leaf.prefix, weights=weights) for t in leaf.terms())
        + ")"
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
            "(SELECT d.id, d.kind, d.title, d.summary, d.translations, d.ref_public_id, d.app_id,"  # noqa: S608
            " d.live,"
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
        f" d.longitude, d.translations, a.translations, {distance2} AS distance2,"
        f" {relevance} * (1.0 + {POPULARITY_WEIGHT} * d.popularity) * {proximity} AS score"
        f" FROM {source} JOIN miniapps_miniapp a ON a.id = d.app_id"
        f" WHERE d.live AND d.kind IN ({', '.join(['%s'] * len(kinds))})"
        " ORDER BY score DESC, d.popularity DESC, distance2, d.id LIMIT %s"
    )
    return sql, before


def _json(value) -> dict:
    """A JSON column as a raw cursor gives it: text (SQLite, psycopg's jsonb as Django sets it
    up) or already a dict."""
    if isinstance(value, dict):
        return value
    return texts.parse(value) if value else {}


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
    point = valid_point(lat, lng) if lat is not None and lng is not None else None
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
    for (
        kind,
        title,
        summary,
        slug,
        app_name,
        public_id,
        dlat,
        dlng,
        own,
        app_own,
        _d2,
        score,
    ) in rows:
        distance = None
        if point is not None and dlat is not None and dlng is not None:
            distance = round(distance_km(point[0], point[1], dlat, dlng), 2)
        hits.append(
            Hit(
                kind,
                title,
                summary,
                slug,
                app_name,
                public_id,
                distance,
                float(score),
                _json(own) or None,
                _json(app_own) or None,
            )  # fmt: skip
        )
    return hits
