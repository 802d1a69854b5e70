"""Link-preview fetchers and crawlers: requests that are not a person opening a page.

A chat app fetching a shared link to draw its preview (facebookexternalhit, Twitterbot,
Slackbot-LinkExpanding, TelegramBot, WhatsApp, Discordbot, LinkedInBot, SkypeUriPreview, ...)
or a search engine's crawler gets the page as anyone does (with its Open Graph tags), but
counts as no visit, makes no guest customer and no share link.
"""

import re

# Named fetchers whose user agent says neither bot, crawler, spider nor preview, and the
# generic words the others use.
_BOT = re.compile(
    r"facebookexternalhit|facebookcatalog|whatsapp|embedly|vkshare|iframely"
    r"|bot\b|bot/|bot-|crawl|spider|preview|slurp",
    re.IGNORECASE,
)


def is_bot(request) -> bool:
    """Whether the request comes from a link-preview fetcher or a crawler (by user agent)."""
    agent = request.META.get("HTTP_USER_AGENT", "")
    return bool(agent) and _BOT.search(agent) is not None
