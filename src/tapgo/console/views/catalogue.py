"""The console's catalogue: the menu page (categories in order, each with its products),
adding, renaming, moving and deleting categories, and adding, editing, selling out and
deleting products with their variants."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.catalog import services as catalog
from tapgo.console import forms
from tapgo.console.views.base import merchant_view, render_console, store_image
from tapgo.flows import listings


@merchant_view()
@require_GET
def menu(request, merchant):
    categories = list(catalog.categories_of(merchant))
    products = list(catalog.products_of(merchant))
    by_category = {c.pk: [] for c in categories}
    for product in products:
        by_category.setdefault(product.category_id, []).append(product)
    sections = [
        (
            c,
            by_category[c.pk],
            forms.CategoryForm(
                initial={"name": c.name, **forms.TranslatedForm.initial_of(c)},
                merchant=merchant,
                auto_id=f"rename-{c.public_id}-%s",
            ),
        )
        for c in categories
    ]
    return render_console(
        request,
        "console/menu.html",
        {
            "sections": sections,
            "category_form": forms.CategoryForm(merchant=merchant),
            "last": len(categories) - 1,
        },
    )


@merchant_view()
@require_POST
def category_new(request, merchant):
    form = forms.CategoryForm(request.POST, merchant=merchant)
    if not form.is_valid():
        messages.error(request, _("Give the category a name (at most 60 characters)."))
    else:
        try:
            catalog.category_create(
                merchant=merchant, name=form.cleaned_data["name"], translations=form.translations()
            )
        except catalog.CatalogError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Category added."))
    return redirect("console:menu", merchant.public_id)


@merchant_view()
@require_POST
def category_action(request, merchant, category_id: str, action: str):
    category = catalog.access_category(merchant=merchant, public_id=category_id)
    try:
        if action == "rename":
            form = forms.CategoryForm(request.POST, merchant=merchant)
            if not form.is_valid():
                raise catalog.CatalogError(_("Give the category a name (at most 60 characters)."))
            listings.category_rename(
                category=category, name=form.cleaned_data["name"], translations=form.translations()
            )
            messages.success(request, _("Category renamed."))
        elif action == "up":
            catalog.category_move(category=category, direction=-1)
        elif action == "down":
            catalog.category_move(category=category, direction=1)
        elif action == "delete":
            catalog.category_delete(category=category)
            messages.success(request, _("Category deleted."))
        else:
            raise Http404
    except catalog.CatalogError as error:
        messages.error(request, str(error))
    return redirect("console:menu", merchant.public_id)


def _product_form(request, merchant, product=None):
    currency = merchant.currency
    if request.method == "POST":
        form = forms.ProductForm(request.POST, request.FILES, merchant=merchant)
        variants = forms.VariantFormSet(
            request.POST,
            prefix="variants",
            form_kwargs={"currency": currency, "merchant": merchant},
        )
        if form.is_valid() and variants.is_valid():
            image = store_image(form, "image", f"products/{merchant.public_id}")
            if form.is_valid():
                data = form.cleaned_data
                fields = {
                    "category": data["category"],
                    "name": data["name"],
                    "price": data["price"],
                    "description": data["description"],
                    "stock": data["stock"],
                    "translations": form.translations(),
                }
                try:
                    if product is None:
                        listings.product_create(
                            merchant=merchant,
                            image=image or "",
                            variants=variants.variants() or None,
                            **fields,
                        )
                    else:
                        listings.product_update(
                            product=product, image=image, variants=variants.variants(), **fields
                        )
                except catalog.CatalogError as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(request, _("%(name)s saved.") % {"name": data["name"]})
                    return redirect("console:menu", merchant.public_id)
    else:
        initial, variant_initial = {}, []
        if product is not None:
            initial = {
                "name": product.name,
                "category": product.category.public_id,
                "price": product.price,
                "description": product.description,
                "stock": product.stock,
                **forms.TranslatedForm.initial_of(product),
            }
            variant_initial = [
                {
                    "name": v.name,
                    "price": v.price,
                    "stock": v.stock,
                    **forms.TranslatedForm.initial_of(v),
                }
                for v in product.variants.order_by("position", "id")
            ]
        else:
            initial = {"category": request.GET.get("category")}
        form = forms.ProductForm(initial=initial, merchant=merchant)
        variants = forms.VariantFormSet(
            initial=variant_initial,
            prefix="variants",
            form_kwargs={"currency": currency, "merchant": merchant},
        )
    return render_console(
        request,
        "console/product_form.html",
        {"form": form, "variants": variants, "product": product},
    )


@merchant_view()
@require_http_methods(["GET", "POST"])
def product_new(request, merchant):
    if not catalog.categories_of(merchant).exists():
        messages.info(request, _("Add a category first, for example “Coffee”."))
        return redirect("console:menu", merchant.public_id)
    return _product_form(request, merchant)


@merchant_view()
@require_http_methods(["GET", "POST"])
def product_edit(request, merchant, product_id: str):
    product = catalog.access_product(merchant=merchant, public_id=product_id)
    return _product_form(request, merchant, product)


@merchant_view()
@require_POST
def product_action(request, merchant, product_id: str, action: str):
    product = catalog.access_product(merchant=merchant, public_id=product_id)
    if action == "available":
        available = request.POST.get("available") == "1"
        listings.product_set_available(product=product, available=available)
        if available:
            messages.success(request, _("%(name)s is available.") % {"name": product.name})
        else:
            messages.success(request, _("%(name)s is sold out.") % {"name": product.name})
    elif action == "delete":
        if listings.product_delete(product=product):
            messages.success(request, _("%(name)s deleted.") % {"name": product.name})
        else:
            messages.info(
                request,
                _("%(name)s has been ordered before, so it was hidden (sold out) instead.")
                % {"name": product.name},
            )
    else:
        raise Http404
    return redirect("console:menu", merchant.public_id)
