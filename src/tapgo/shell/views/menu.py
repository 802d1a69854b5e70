"""The mini app's menu page (/m/<slug>/) and what a scanned code (/s/<code>) opens.

The menu page is the hot path: shell/page.py serves it from a cached skeleton and a few
per-request bits. A scanned code renders the page it opens at the code's own address.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tapgo.core.bots import is_bot
from tapgo.core.scenes import Scene
from tapgo.miniapps import live
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.shell import page
from tapgo.shell import state as shell_state
from tapgo.shell.views.base import record_entry
from tapgo.shell.views.product import render_product


@require_GET
@shell_state.keeps
def scan(request, code: str):
    """A scanned code renders the mini app itself (no redirect: a round trip saved): the
    app's page for a store or campaign code, with the table for a table code, the product's
    page for a product code. What it opens (app, table, product, scene parameter) comes from
    the code's row alone; nothing in the query string changes it. A disabled or expired code
    of a live app opens a friendly page leading to the app's home; either way the visit is
    recorded (scene scan, the code, its parameter and its state), unless a link preview or a
    crawler fetched it (core/bots.py)."""
    found = live.code_state(code)  # one prepared query
    if found is None:
        return render(request, "shell/code_unavailable.html", status=404)
    entry, state, status = found
    app = state.app()
    st = shell_state.of(request)
    if is_bot(request):  # a link preview or a crawler: the page, but no visit, no guest
        return _scanned_page(request, entry, state, st, status)
    customer = st.customer(request)
    if status == miniapps.CODE_WORKING and entry.kind == entry.Kind.TABLE:
        # The phone sits at the table: its cart joins the table's shared cart (a phone the
        # shell cookie knows at this table sits there already; one whose table's bill was
        # paid meanwhile joins the table's next group when it orders).
        known = st.cart(app.pk)
        if known is None or known[1] != entry.table_label:
            ordering.group_join(customer=customer, app=app, table_label=entry.table_label)
            if known is not None:
                st.remember(app.pk, known[0], entry.table_label, checked=False)
    miniapps.visit_record(
        app=app, customer=customer, scene=Scene.SCAN, code=entry, code_state=status
    )
    page.note_visit(request, st, state)
    return _scanned_page(request, entry, state, st, status)


def _scanned_page(request, entry, state: live.AppState, st, status):
    """What a scanned code shows (its visit recorded, or not, by scan)."""
    if status != miniapps.CODE_WORKING:
        # The home link carries ?from=code: a move inside the app, so it records no second
        # visit (base._entry_scene), with or without a Referer.
        context = {"app": state.app(), "expired": status == miniapps.CODE_EXPIRED}
        return render(request, "shell/code_inactive.html", context)
    if entry.kind == entry.Kind.PRODUCT and entry.product_public_id:
        shown = render_product(request, state, entry.product_public_id)
        if shown is not None:
            return shown
    return page.render_app(request, state, st, table_label=entry.table_label)


@require_GET
@shell_state.keeps
def app(request, slug: str):
    """The mini app's menu page: the hot path (see shell/page.py)."""
    state = live.app_state(slug)
    record_entry(request, state)
    return page.render_app(request, state, shell_state.of(request))


def paused_notice(state: live.AppState) -> str:
    """What an app's pages say while its merchant has paused ordering ("" while open)."""
    if not state.ordering_paused:
        return ""
    said = _("Ordering is paused")
    return f"{said}: {state.pause_reason}" if state.pause_reason else said


@require_GET
def app_live(request, slug: str):
    """What an open page of the app follows live (shell.js asks every few seconds): whether
    ordering is paused, and what to say. One prepared query; nothing about the customer."""
    state = live.app_state(slug)
    response = JsonResponse({"paused": state.ordering_paused, "notice": paused_notice(state)})
    response["Cache-Control"] = "no-store"
    return response
