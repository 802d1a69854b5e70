"""The template library: operators add and change templates, merchants switch them on per
app, and what merchants and operators see of them (names, figures, usage)."""

import re

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.messaging import texts as template_texts
from tapgo.messaging.models import AppTemplate, Delivery, Message, Template
from tapgo.messaging.services.errors import MessagingError, NoConsent
from tapgo.miniapps.models import MiniApp

KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # ASCII only: it is part of URLs


# --- the template library (operators) ----------------------------------------------------


def template_save(
    *,
    key: str,
    fields,
    texts,
    subject: str = "",
    standing: bool = False,
    default_on: bool = False,
    active: bool = True,
    template: Template | None = None,
) -> Template:
    """Add a template (template=None) or change one; the key of an existing one stays.
    `subject` is what its messages are about: one of Template.Subject."""
    clean_fields, clean_texts = template_texts.check_template(fields, texts)
    if subject not in Template.Subject.values:
        raise MessagingError(_("Choose what the template is about."))
    if template is None:
        key = (key or "").strip().lower()
        if not KEY_RE.fullmatch(key):
            raise MessagingError(_("A key is a short word of letters, digits, - and _."))
    elif template.fields != clean_fields and Message.objects.filter(template=template).exists():
        # Messages already sent keep their values: their fields must not change under them.
        raise MessagingError(_("Messages were sent with this template: its fields stay."))
    values = dict(
        subject=subject,
        fields=clean_fields,
        texts=clean_texts,
        standing=standing,
        default_on=default_on,
        active=active,
        updated_at=timezone.now(),
    )
    if template is not None:
        Template.objects.filter(pk=template.pk).update(**values)
        template.refresh_from_db()
        return template
    try:
        with transaction.atomic():
            return Template.objects.create(key=key, **values)
    except IntegrityError:
        raise MessagingError(
            _("There is already a template called “%(key)s”.") % {"key": key}
        ) from None


def templates_active():
    return Template.objects.filter(active=True)


def template_name(template: Template, language: str | None = None) -> str:
    """The template's name for customers, in their language."""
    language = language or template_texts.current_language()
    return template_texts.text_for(template.texts, language)["name"]


# --- merchants switch templates on -------------------------------------------------------


def app_templates_on(app: MiniApp) -> set[int]:
    """The ids of the templates switched on for an app."""
    return set(AppTemplate.objects.filter(app=app).values_list("template_id", flat=True))


def apps_templates_on(apps) -> dict[int, set[int]]:
    """app_templates_on for many apps in one query: app id -> the ids of its templates on."""
    on: dict[int, set[int]] = {app.pk: set() for app in apps}
    if on:
        rows = AppTemplate.objects.filter(app_id__in=list(on)).values_list("app_id", "template_id")
        for app_id, template_id in rows:
            on[app_id].add(template_id)
    return on


def app_template_switch(*, app: MiniApp, template: Template, on: bool) -> None:
    if on:
        if not template.active:
            raise MessagingError(_("This template is not offered any more."))
        try:
            with transaction.atomic():
                AppTemplate.objects.create(merchant_id=app.merchant_id, app=app, template=template)
        except IntegrityError:
            pass  # on already
    else:
        AppTemplate.objects.filter(app=app, template=template).delete()


def app_templates_defaults(app: MiniApp) -> None:
    """Switch on the templates marked "on for new apps" (called when an app is created)."""
    for template in Template.objects.filter(active=True, default_on=True):
        app_template_switch(app=app, template=template, on=True)


def template_on(*, app: MiniApp, key: str) -> Template:
    """The active template `key` if the app sends it: MessagingError for no such template,
    NoConsent if the app has it off (nothing of it may be asked for or sent)."""
    template = Template.objects.filter(key=key, active=True).first()
    if template is None:
        raise MessagingError(_("There is no such notification."))
    if not AppTemplate.objects.filter(app=app, template=template).exists():
        raise NoConsent(_("This mini app does not send this notification."))
    return template


def template_offered(*, app: MiniApp, key: str) -> Template | None:
    """The template if the app sends it, for the shell to ask at the right moment."""
    try:
        return template_on(app=app, key=key)
    except MessagingError:
        return None


# --- what merchants see ------------------------------------------------------------------


def template_stats(merchant) -> list[dict]:
    """Per template: messages sent, delivered (to the inbox; by push; by email) and opened
    (the customer followed its link; "mark all read" is not opening). Counts only: no
    customer, endpoint or address."""
    sent = Q(deliveries__status=Delivery.Status.SENT)
    rows = (
        Message.objects.for_merchant(merchant)
        .values("template_id", "template__key")
        .annotate(
            sent=Count("pk", distinct=True),
            delivered=Count("pk", filter=Q(delivered_at__isnull=False), distinct=True),
            pushed=Count("pk", filter=sent & Q(deliveries__channel="push"), distinct=True),
            emailed=Count("pk", filter=sent & Q(deliveries__channel="email"), distinct=True),
            opened=Count("pk", filter=Q(opened_at__isnull=False), distinct=True),
        )
        .order_by("template__key")
    )
    return list(rows)


# --- operators (the ops console) ----------------------------------------------------------


def template_by_key(key) -> Template | None:
    """A template by its key, active or not (None for no such key)."""
    if not isinstance(key, str) or not key or len(key) > 40:
        return None
    return Template.objects.filter(key=key).first()


def templates_with_usage() -> list[Template]:
    """Every template, active or not, each with `apps_using`: the mini apps that have it on."""
    usage = dict(
        AppTemplate.objects.order_by()
        .values("template_id")
        .annotate(n=Count("pk"))
        .values_list("template_id", "n")
    )
    templates = list(Template.objects.order_by("key"))
    for template in templates:
        template.apps_using = usage.get(template.pk, 0)
    return templates
