"""Messaging's services, by sub-domain; the public names are all here.

- templates.py: the template library (operators), merchants switching templates on per app,
  and what merchants and operators see of them;
- consent.py: what a customer allowed, turning it off, what a paid order grants, which
  consent a message uses up, and a guest's consents (with messages and devices) moving to
  their account on signing in;
- sending.py: notify (the only way a message is made), its quiet form for business moments,
  and the fan-out to an app's followers;
- inbox.py: the customer's messages, reading and opening them, their text, one message's
  log for the operator, a merchant's messages about one order;
- devices.py: the customer's Web Push subscriptions.

What a consent or a message is about is a ConsentSubject and the built-in templates' keys are
TemplateKey (messaging/models.py, messaging/keys.py); the outbox's delivery is
messaging/delivery.py with its channels push.py and email.py.
"""

from tapgo.messaging.services.consent import (
    consent_covers,
    consent_give,
    consent_grant,
    consent_revoke,
    consent_set_email,
    consents_end,
    consents_of,
    customers_move,
    email_unsubscribe,
)
from tapgo.messaging.services.devices import (
    MAX_DEVICES,
    devices_of,
    push_subscribe,
    push_unsubscribe,
)
from tapgo.messaging.services.errors import MessagingError, NoConsent
from tapgo.messaging.services.inbox import (
    inbox_of,
    inbox_read_all,
    message_log,
    message_open,
    message_read,
    message_text,
    messages_about,
    open_token,
    unread_count,
)
from tapgo.messaging.services.sending import followers_notify, notify, notify_quietly
from tapgo.messaging.services.templates import (
    app_template_switch,
    app_templates_defaults,
    app_templates_on,
    apps_templates_on,
    template_by_key,
    template_name,
    template_offered,
    template_save,
    template_stats,
    templates_active,
    templates_with_usage,
)

__all__ = [
    "MAX_DEVICES",
    "MessagingError",
    "NoConsent",
    "app_template_switch",
    "app_templates_defaults",
    "app_templates_on",
    "apps_templates_on",
    "consent_covers",
    "consent_give",
    "consent_grant",
    "consent_revoke",
    "consent_set_email",
    "consents_end",
    "consents_of",
    "customers_move",
    "devices_of",
    "email_unsubscribe",
    "followers_notify",
    "inbox_of",
    "inbox_read_all",
    "message_log",
    "message_open",
    "message_read",
    "message_text",
    "messages_about",
    "notify",
    "notify_quietly",
    "open_token",
    "push_subscribe",
    "push_unsubscribe",
    "template_by_key",
    "template_name",
    "template_offered",
    "template_save",
    "template_stats",
    "templates_active",
    "templates_with_usage",
    "unread_count",
]
