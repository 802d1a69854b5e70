"""The console's mini apps: the list with each app's public address, creating one, editing
it (name, slug, description, colour, logo and cover) and publishing or hiding it."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.console import forms
from tapgo.console.views.base import merchant_view, render_console, store_image
from tapgo.core.urls import absolute_url
from tapgo.flows import listings
from tapgo.miniapps import services as miniapps

# What the slug's help shows before a new app has one.
SLUG_EXAMPLE = "your-app"


@merchant_view()
@require_GET
def apps(request, merchant):
    items = [(app, absolute_url("shell:app", app.slug)) for app in miniapps.apps_of(merchant)]
    return render_console(request, "console/apps.html", {"apps": items})


def _app_images(form, merchant) -> dict:
    folder = f"apps/{merchant.public_id}"
    return {
        "logo": store_image(form, "logo", folder, "thumb"),
        "cover": store_image(form, "cover", folder, "large"),
    }


@merchant_view()
@require_http_methods(["GET", "POST"])
def app_new(request, merchant):
    form = forms.AppForm(
        request.POST or None,
        request.FILES or None,
        address=absolute_url("shell:app", SLUG_EXAMPLE),
        merchant=merchant,
    )
    if request.method == "POST" and form.is_valid():
        images = _app_images(form, merchant)
        if form.is_valid():  # no image was refused
            data = form.cleaned_data
            try:
                app = listings.app_create(
                    merchant=merchant,
                    name=data["name"],
                    slug=data["slug"],
                    description=data["description"],
                    brand_color=data["brand_color"],
                    template=data["template"],
                    logo=images["logo"] or "",
                    cover=images["cover"] or "",
                    translations=form.translations(),
                )
            except miniapps.MiniAppError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Mini app created. Publish it when it is ready."))
                return redirect("console:app", merchant.public_id, app.public_id)
    return render_console(request, "console/app_form.html", {"form": form})


@merchant_view()
@require_http_methods(["GET", "POST"])
def app_edit(request, merchant, app_id: str):
    app = miniapps.access_app(merchant=merchant, app_public_id=app_id)
    initial = {
        "name": app.name,
        "slug": app.slug,
        "description": app.description,
        "brand_color": app.brand_color,
        **forms.TranslatedForm.initial_of(app),
    }
    form = forms.AppForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        editing=True,
        address=absolute_url("shell:app", app.slug),
        merchant=merchant,
    )
    if request.method == "POST" and form.is_valid():
        images = _app_images(form, merchant)
        if form.is_valid():
            data = form.cleaned_data
            try:
                listings.app_update(
                    app=app,
                    name=data["name"],
                    slug=data["slug"],
                    description=data["description"],
                    brand_color=data["brand_color"],
                    logo=images["logo"],
                    cover=images["cover"],
                    translations=form.translations(),
                )
            except miniapps.MiniAppError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Mini app saved."))
                return redirect("console:app", merchant.public_id, app.public_id)
    return render_console(
        request,
        "console/app_form.html",
        {"form": form, "app": app, "public_url": absolute_url("shell:app", app.slug)},
    )


@merchant_view()
@require_POST
def app_publish(request, merchant, app_id: str):
    app = miniapps.access_app(merchant=merchant, app_public_id=app_id)
    published = request.POST.get("published") == "1"
    listings.app_set_published(app=app, published=published)
    if published:
        messages.success(request, _("Published: customers can open %(name)s.") % {"name": app.name})
    else:
        messages.success(request, _("Unpublished: %(name)s is hidden.") % {"name": app.name})
    return redirect("console:app", merchant.public_id, app.public_id)
