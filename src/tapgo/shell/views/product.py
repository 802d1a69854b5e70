"""The product page: /m/<slug>/p/<product public id>/, and what a product's code opens.

A door can lead here (a product's printed code, a shared or searched product, a link from
outside): opened at its own address, the page records the visit as every door's page does
(base.record_entry); a product code renders it at the code's address (/s/<code>, no
redirect), where menu.scan has recorded the visit already. Its forms and language
switch go back to the product's own address, so they never count as another scan.
"""

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET

from tapgo.catalog import services as catalog
from tapgo.catalog.models import Product, Variant
from tapgo.miniapps import live
from tapgo.shell import page
from tapgo.shell import state as shell_state
from tapgo.shell.views.base import frame, record_entry


@require_GET
@shell_state.keeps
def product(request, slug: str, product_id: str):
    state = live.app_state(slug)
    found = _product(state, product_id)
    if found is None:
        raise Http404
    record_entry(request, state)  # after the lookup: an unknown product is no visit
    return _render(request, state, *found)


def render_product(request, state: live.AppState, product_public_id: str):
    """The product's page for a scanned product code, or None when the product is gone."""
    found = _product(state, product_public_id)
    return None if found is None else _render(request, state, *found)


def _product(state: live.AppState, public_id: str) -> tuple[Product, list[Variant]] | None:
    """This app's merchant's product and its variants (two queries), or None."""
    try:
        found = catalog.access_product(merchant=state.app().merchant, public_id=public_id)
    except Http404:
        return None
    return found, list(found.variants.all())


def _render(request, state: live.AppState, product: Product, variants: list[Variant]):
    app = state.app()
    here = reverse("shell:product", args=[app.slug, product.public_id])
    catalog.mark_stock(product, variants)
    in_stock = [v for v in variants if not v.sold_out]
    context = frame(
        request,
        app,
        product=product,
        variants=variants,
        chosen=in_stock[0].public_id if in_stock else "",
        sold_out=product.sold_out,
        here=here,
    )
    # The language switch comes back to the product's own address (never the code's, which
    # would count as another scan).
    # Its Share shares the product (at its own address), not the app's home.
    context["bits"] = dict(
        context["bits"], next=escape(here), share=page.share_endpoint(app.slug, here)
    )
    return render(request, "shell/product.html", context)
