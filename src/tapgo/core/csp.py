"""Small inline stylesheets allowed by a CSP hash (not a nonce: a nonce defeats caching).

The shell inlines its CSS so the first paint needs no second request; the policy lists the
hash of exactly that text, computed once from the same file the template tag reads.
"""

import base64
import hashlib
from functools import cache
from pathlib import Path

STATIC_ROOTS = [Path(__file__).resolve().parent.parent / name / "static" for name in ("shell",)]
INLINE_STYLES = ["shell/shell.css"]


@cache
def inline_style(path: str) -> str:
    for root in STATIC_ROOTS:
        candidate = root / path
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(path)


def style_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def inline_style_hashes() -> list[str]:
    return [style_hash(inline_style(path)) for path in INLINE_STYLES]


def enforced_policy() -> str:
    """The Content-Security-Policy header for settings.SECURE_CSP, built once per setting.

    Django's middleware builds it for every response; a hot view sets this one (the same
    text: the shell uses no nonce) and the middleware leaves a header already set alone.
    """
    from django.conf import settings  # settings.py imports this module
    from django.utils.csp import build_policy  # settings.py imports this module

    config = settings.SECURE_CSP
    built = _built.get(id(config))
    if built is None or built[0] is not config:
        built = _built[id(config)] = (config, build_policy(config))
    return built[1]


_built: dict[int, tuple[dict, str]] = {}
