"""Email: one message through the SMTP settings (MAILERS), with a one-click unsubscribe link
(RFC 8058: List-Unsubscribe and List-Unsubscribe-Post headers) and the same link in the text."""

import smtplib

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from tapgo.core import links
from tapgo.messaging.push import Outcome
from tapgo.messaging.services.inbox import message_text, open_token

SALT = "tapgo.messaging.unsubscribe"


def unsubscribe_token(message) -> str:
    """Names the customer, app and template; signed, so it cannot be made up or changed."""
    return signing.dumps(
        [message.customer_id, message.app_id, message.template_id], salt=SALT, compress=True
    )


def unsubscribe_target(token: str) -> tuple[int, int, int] | None:
    try:
        customer, app, template = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not all(type(v) is int and 0 < v < 2**63 for v in (customer, app, template)):
        return None
    return customer, app, template


def unsubscribe_url(message) -> str:
    return links.absolute(links.unsubscribe(unsubscribe_token(message)))


def open_url(message) -> str:
    """The message's link for a push or an email, signed (services.open_token)."""
    return f"{links.absolute(links.message_open(message.public_id))}?k={open_token(message)}"


def send(message) -> Outcome:
    """Send the message to the customer's address in the language of their consent."""
    address = message.customer.email
    if not address:
        return Outcome("gone", "the customer has no email address")
    language = message.language or settings.LANGUAGE_CODE
    title, body = message_text(message, language)
    unsubscribe = unsubscribe_url(message)
    with translation.override(language):
        text = "\n\n".join(
            [
                body,
                _("Open: %(url)s") % {"url": open_url(message)},
                "—",
                _("You get this because you asked %(app)s to tell you. Stop these emails: %(url)s")
                % {"app": message.app.name, "url": unsubscribe},
            ]
        )
    # Who it is from leads the subject, unless the title already says it ("New from …").
    name = message.app.name
    email = EmailMessage(
        subject=title if name in title else f"{name}: {title}",
        body=text,
        to=[address],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        # 5xx is for good (no such user); 4xx (greylisting, a full mailbox) is for later.
        codes = [code for code, _reply in exc.recipients.values()]
        result = "dead" if codes and all(500 <= code < 600 for code in codes) else "retry"
        return Outcome(result, f"the mail server refused the address ({codes})")
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            return Outcome("dead", f"mail server: {exc.smtp_code} {exc.smtp_error!r}"[:300])
        return Outcome("retry", f"mail server: {exc.smtp_code} {exc.smtp_error!r}"[:300])
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        return Outcome("retry", f"mail server unreachable: {exc}"[:300])
    return Outcome("sent")
