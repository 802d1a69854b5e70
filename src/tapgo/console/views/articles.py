"""The console's official-account articles: list, write, publish, delete.

Thin, like the rest of the console: the form parses input, official.services decides and
sanitises, and every article is reached through access_article with the merchant (another
merchant's id answers 404). Any member of the team may write and publish, as with the menu.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.console.forms import ImageInput
from tapgo.console.views.base import merchant_view, render_console, store_image
from tapgo.core.urls import absolute_url
from tapgo.flows import listings
from tapgo.miniapps import services as miniapps
from tapgo.official import services as official

# Help texts are shown as HTML by Django's form rendering: these mention tags, so escaped.
BODY_HELP = escape(
    gettext_lazy(
        "Plain text (a blank line starts a new paragraph) or simple HTML. Kept: <p>, <br>, "
        "<h2>, <h3>, <strong>, <em>, lists (<ul>, <ol>, <li>), <blockquote>, links "
        '<a href="https://…"> (http, https or mailto) and pictures uploaded below. '
        "Everything else (scripts, styles, frames, colours) is removed when you save."
    )
)


class ArticleForm(forms.Form):
    app = forms.ChoiceField(label=gettext_lazy("Mini app"))
    title = forms.CharField(label=gettext_lazy("Title"), max_length=official.TITLE_MAX)
    summary = forms.CharField(
        label=gettext_lazy("Summary"),
        max_length=official.SUMMARY_MAX,
        required=False,
        widget=forms.Textarea({"rows": 2}),
        help_text=gettext_lazy("One or two sentences shown in lists, search and chat previews."),
    )
    body = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=official.BODY_MAX,
        required=False,
        strip=False,
        widget=forms.Textarea({"rows": 16}),
        help_text=BODY_HELP,
    )
    cover = forms.FileField(label=gettext_lazy("Cover image"), required=False, widget=ImageInput)
    remove_cover = forms.BooleanField(label=gettext_lazy("Remove the cover image"), required=False)
    picture = forms.FileField(
        label=gettext_lazy("Add a picture to the text"),
        required=False,
        widget=ImageInput,
        help_text=escape(
            gettext_lazy("It goes at the end of the text; move its <img> line where you want it.")
        ),
    )

    def __init__(self, *args, apps, has_cover: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.apps = {a.public_id: a for a in apps}
        app_field = self.fields["app"]
        assert isinstance(app_field, forms.ChoiceField)  # as declared above
        app_field.choices = [(a.public_id, a.name) for a in apps]
        if len(apps) < 2:  # nothing to choose: the one app
            self.fields["app"].widget = forms.HiddenInput()
            self.fields["app"].initial = apps[0].public_id
        if not has_cover:
            del self.fields["remove_cover"]

    def clean_app(self):
        return self.apps[self.cleaned_data["app"]]  # ChoiceField checked it is one of them


def _picture_html(name: str) -> str:
    # On its own line: in plain text it becomes a paragraph of its own (services.paragraphs).
    return f'\n\n<img src="{escape(settings.MEDIA_URL + name)}" alt="">'


def _save(request, merchant, form, article=None):
    """Save the form through the services; the article, or None with errors on the form."""
    folder = f"articles/{merchant.public_id}"
    cover = store_image(form, "cover", folder, "large")
    picture = store_image(form, "picture", folder, "large")
    if not form.is_valid():  # an image was refused
        return None
    data = form.cleaned_data
    body = data["body"] + (_picture_html(picture) if picture else "")
    if cover is None and data.get("remove_cover"):
        cover = ""
    try:
        if article is None:
            return listings.article_create(
                merchant=merchant,
                app=data["app"],
                title=data["title"],
                summary=data["summary"],
                body=body,
                cover=cover or "",
            )
        return listings.article_update(
            article=article,
            app=data["app"],
            title=data["title"],
            summary=data["summary"],
            body=body,
            cover=cover,
        )
    except official.ArticleError as error:
        form.add_error(None, str(error))
        return None


@merchant_view()
@require_http_methods(["GET"])
def articles(request, merchant):
    return render_console(
        request, "console/articles.html", {"articles": list(official.articles_of(merchant))}
    )


@merchant_view()
@require_http_methods(["GET", "POST"])
def article_new(request, merchant):
    apps = list(miniapps.apps_of(merchant))
    if not apps:
        messages.info(request, _("Create your mini app first: articles lead customers into it."))
        return redirect("console:app_new", merchant.public_id)
    form = ArticleForm(request.POST or None, request.FILES or None, apps=apps)
    if request.method == "POST" and form.is_valid():
        article = _save(request, merchant, form)
        if article is not None:
            messages.success(request, _("Draft saved. Publish it when it is ready."))
            return redirect("console:article", merchant.public_id, article.public_id)
    return render_console(request, "console/article_form.html", {"form": form})


@merchant_view()
@require_http_methods(["GET", "POST"])
def article_edit(request, merchant, article_id: str):
    article = official.access_article(merchant=merchant, public_id=article_id)
    apps = list(miniapps.apps_of(merchant))
    initial = {
        "app": article.app.public_id,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
    }
    form = ArticleForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        apps=apps,
        has_cover=bool(article.cover),
    )
    if request.method == "POST" and form.is_valid():
        saved = _save(request, merchant, form, article)
        if saved is not None:
            messages.success(request, _("“%(title)s” saved.") % {"title": saved.title})
            return redirect("console:article", merchant.public_id, saved.public_id)
    public_url = None
    if article.status == article.Status.PUBLISHED:
        public_url = absolute_url("shell:article", article.app.slug, article.public_id)
    return render_console(
        request,
        "console/article_form.html",
        {"form": form, "article": article, "public_url": public_url},
    )


@merchant_view()
@require_POST
def article_publish(request, merchant, article_id: str):
    article = official.access_article(merchant=merchant, public_id=article_id)
    published = request.POST.get("published") == "1"
    listings.article_set_published(article=article, published=published)
    if published:
        messages.success(
            request, _("Published: customers can read “%(title)s”.") % {"title": article.title}
        )
    else:
        messages.success(
            request, _("Back to draft: “%(title)s” is hidden.") % {"title": article.title}
        )
    return redirect("console:article", merchant.public_id, article.public_id)


@merchant_view()
@require_http_methods(["GET", "POST"])
def article_delete(request, merchant, article_id: str):
    """GET asks for confirmation (works without JavaScript); POST deletes."""
    article = official.access_article(merchant=merchant, public_id=article_id)
    if request.method == "POST":
        listings.article_delete(article=article)
        messages.success(request, _("“%(title)s” deleted.") % {"title": article.title})
        return redirect("console:articles", merchant.public_id)
    return render_console(request, "console/article_delete.html", {"article": article})
