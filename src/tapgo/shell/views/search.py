"""The search page: /search?q=… finds mini apps, products and articles (discovery/search/).

Thin: it reads the query string, asks discovery.search and links each hit to the page it
opens with `?scene=search`, so the visit that follows records the search door. A location
(`lat`, `lng`, sent by shell/search.js after the customer allows it) ranks nearer stores
higher and shows distances; one that is not a valid point is ignored, with a word to say so.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from tapgo.core.scenes import Scene
from tapgo.core.text import printable
from tapgo.discovery import search as search_index

MAX_QUERY = search_index.MAX_QUERY_CHARS
KIND_LABELS = {
    "app": gettext_lazy("Mini app"),
    "product": gettext_lazy("Product"),
    "article": gettext_lazy("Article"),
}
FILTERS = [
    ("", gettext_lazy("All")),
    ("app", gettext_lazy("Mini apps")),
    ("product", gettext_lazy("Products")),
    ("article", gettext_lazy("Articles")),
]
SCENE = urlencode({"scene": Scene.SEARCH})


@dataclass(frozen=True)
class Result:
    hit: search_index.Hit
    url: str
    label: str
    distance: str


def distance_text(km: float | None) -> str:
    if km is None:
        return ""
    if km < 1:
        return _("%(m)d m") % {"m": max(10, round(km * 1000, -1))}
    if km < 100:
        return _("%(km).1f km") % {"km": km}
    return _("%(km)d km") % {"km": round(km)}


def _page_url(name: str, slug: str, ref: str) -> str | None:
    try:
        return reverse(name, args=[slug, ref])
    except NoReverseMatch:
        return None


def hit_url(hit: search_index.Hit) -> str:
    """Where a hit leads, with the search scene: the app, the product's page, the article."""
    app_url = reverse("shell:app", args=[hit.app_slug])
    if hit.kind == "product":
        url = _page_url("shell:product", hit.app_slug, hit.ref_public_id)
        return f"{url}?{SCENE}" if url else f"{app_url}?{SCENE}#p-{hit.ref_public_id}"
    if hit.kind == "article":
        url = _page_url("shell:article", hit.app_slug, hit.ref_public_id)
        return f"{url or app_url}?{SCENE}"
    return f"{app_url}?{SCENE}"


def _location(request) -> tuple[float | None, float | None, bool]:
    """(lat, lng, bad): a valid point from the query string, or none (bad if one was sent)."""
    lat, lng = request.GET.get("lat", ""), request.GET.get("lng", "")
    if not lat and not lng:
        return None, None, False
    point = search_index.valid_point(lat[:32], lng[:32])
    if point is None:
        return None, None, True
    return point[0], point[1], False


@require_GET
def search(request):
    query = printable(request.GET.get("q", "")[:MAX_QUERY]).strip()
    kind = request.GET.get("kind", "")
    if kind not in KIND_LABELS:
        kind = ""
    lat, lng, bad_location = _location(request)
    results = []
    if query:
        hits = search_index.search(
            query, lat=lat, lng=lng, kinds=[kind] if kind else None, limit=30
        )
        results = [
            Result(h, hit_url(h), KIND_LABELS[h.kind], distance_text(h.distance_km))
            for h in (hit.shown() for hit in hits)  # in the customer's language
        ]
    located = {"lat": f"{lat:.4f}", "lng": f"{lng:.4f}"} if lat is not None else {}
    filters = [
        (
            value,
            label,
            "?" + urlencode({"q": query, **({"kind": value} if value else {}), **located}),
        )
        for value, label in FILTERS
    ]
    context = {
        "query": query,
        "kind": kind,
        "results": results,
        "filters": filters,
        "located": located,
        "location_note": _(
            "That location could not be read, so results are not sorted by distance."
        )
        if bad_location
        else "",
    }
    return render(request, "shell/search.html", context)
