"""Tapgo's one settings module. Every value comes from the environment with a safe default.

TAPGO_DATABASE_URL   PostgreSQL (or any dj-database-url URL); SQLite in WAL mode under ./var/ when unset
TAPGO_REDIS_URL      Redis for cache and rate limits; in-process when unset
TAPGO_SECRET_KEY     required when TAPGO_PRODUCTION=1
TAPGO_PRODUCTION     1 for production: DEBUG off, secure cookies, refuses the demo secret key
TAPGO_PUBLIC_URL     base URL printed codes and links carry (default http://127.0.0.1:8000)
TAPGO_VAR_DIR        where SQLite, media and collected static files live (default ./var)
TAPGO_SMTP_URL       smtp://user:pass@host:port for email; printed to the console when unset
TAPGO_ALLOWED_HOSTS  comma-separated host names (default: any in development)
TAPGO_TASKS_IMMEDIATE  1 to run background tasks in the request (tests)
"""

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from tapgo.core.csp import inline_style_hashes

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("TAPGO_VAR_DIR", "var")).resolve()

DEMO_SECRET_KEY = "tapgo-demo-secret-key-not-for-production"


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes"}


PRODUCTION = _flag("TAPGO_PRODUCTION")
# `tapgo serve` puts the shell's front door (shell/front.py) in front of Django.
FRONT_DOOR = _flag("TAPGO_FRONT_DOOR", default=True)
DEBUG = _flag("TAPGO_DEBUG") and not PRODUCTION
SECRET_KEY = os.environ.get("TAPGO_SECRET_KEY", DEMO_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEMO_SECRET_KEY or len(SECRET_KEY) < 32):
    raise RuntimeError(
        "TAPGO_PRODUCTION=1 needs TAPGO_SECRET_KEY set to a random value of 32+ characters; "
        "it refuses to start with the demo key."
    )

PUBLIC_URL = os.environ.get("TAPGO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("TAPGO_ALLOWED_HOSTS", "" if PRODUCTION else "*").split(",")
    if h.strip()
]
if PRODUCTION and (_public_host := urlsplit(PUBLIC_URL).hostname):
    ALLOWED_HOSTS.append(_public_host)
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "tapgo.core",
    "tapgo.identity",
    "tapgo.merchants",
    "tapgo.miniapps",
    "tapgo.catalog",
    "tapgo.ordering",
    "tapgo.payments",
    "tapgo.membership",
    "tapgo.coupons",
    "tapgo.bookings",
    "tapgo.official",
    "tapgo.discovery",
    "tapgo.messaging",
    "tapgo.analytics",
    "tapgo.shell",
    "tapgo.console",
    "tapgo.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tapgo.core.middleware.SecurityHeadersMiddleware",
    "tapgo.identity.middleware.GuestMiddleware",
]

ROOT_URLCONF = "tapgo.urls"
WSGI_APPLICATION = "tapgo.wsgi.application"
ASGI_APPLICATION = "tapgo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("TAPGO_DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"].setdefault("TEST", {})
    if os.environ.get("TAPGO_TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"]["NAME"] = os.environ["TAPGO_TEST_DATABASE_NAME"]
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "tapgo.sqlite3"),
            # Keep each thread's connection: opening one (and its PRAGMAs) per request cost
            # more than the menu page itself (bench/, docs/decisions/0001-serving.md).
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                # Writers take the lock when their transaction starts and wait for it, so
                # concurrent writers queue instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
                ),
            },
            # Tests use a file too: threads of a race test must share one real database.
            "TEST": {
                "NAME": os.path.join(tempfile.gettempdir(), f"tapgo-test-{os.getpid()}.sqlite3")
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache --------------------------------------------------------------------------------
REDIS_URL = os.environ.get("TAPGO_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Two Tapgo sites (or test runs) can share one Redis database.
            "KEY_PREFIX": os.environ.get("TAPGO_CACHE_PREFIX", "tapgo"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- background tasks ---------------------------------------------------------------------
if _flag("TAPGO_TASKS_IMMEDIATE"):
    TASKS: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
    }
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"

# --- email --------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("TAPGO_FROM_EMAIL", "Tapgo <no-reply@tapgo.invalid>")
SMTP_URL = os.environ.get("TAPGO_SMTP_URL", "")
if SMTP_URL:
    _smtp = urlsplit(SMTP_URL)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp.hostname,
                "port": _smtp.port or 25,
                "username": unquote(_smtp.username or ""),
                "password": unquote(_smtp.password or ""),
                "use_tls": _smtp.scheme == "smtp+tls",
                "use_ssl": _smtp.scheme == "smtps",
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- static and media ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# `tapgo serve` collects the static files, compressed, before its workers start (whitenoise
# then serves the gzip or Brotli copy to a browser that takes it): in production and in the
# demo alike, so a phone gets the same bytes from both. Other processes (tests, a manage
# command) find the files in the apps as they are.
STATIC_COLLECTED = PRODUCTION or _flag("TAPGO_STATIC_COLLECTED")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if STATIC_COLLECTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
WHITENOISE_MAX_AGE = 3600
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# --- security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "tapgo.core.views.forbidden"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, *inline_style_hashes()],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- product ------------------------------------------------------------------------------
# An unpaid order expires (and gives its stock back) after this many seconds.
ORDER_PAYMENT_SECONDS = int(os.environ.get("TAPGO_ORDER_PAYMENT_SECONDS", str(15 * 60)))
# An order whose payment the customer finished at the provider in time (its word not come
# yet) waits this much longer before it expires: the late word marks it paid, not refunded.
PAYMENT_CONFIRM_SECONDS = int(os.environ.get("TAPGO_PAYMENT_CONFIRM_SECONDS", str(15 * 60)))
# The sandbox payment provider signs its webhooks with this key; it POSTs them to
# SANDBOX_WEBHOOK_URL (by default this server's own public URL).
SANDBOX_WEBHOOK_SECRET = os.environ.get("TAPGO_SANDBOX_WEBHOOK_SECRET", SECRET_KEY + ":sandbox")
SANDBOX_WEBHOOK_BASE_URL = os.environ.get("TAPGO_SANDBOX_WEBHOOK_BASE_URL", PUBLIC_URL).rstrip("/")
# Customers can pay with the sandbox while a merchant has set up no real provider.
SANDBOX_PAYMENTS = _flag("TAPGO_SANDBOX_PAYMENTS", default=not PRODUCTION)
# Stripe's API (unset: the real Stripe; the tests point it at a localstripe server) and the
# Stripe.js the card page loads (that page's CSP allows this script's origin, and no other).
STRIPE_API_BASE = os.environ.get("TAPGO_STRIPE_API_BASE", "").strip().rstrip("/") or None
STRIPE_JS_URL = os.environ.get("TAPGO_STRIPE_JS_URL", "https://js.stripe.com/v3/")
# WeChat Pay's API v3 gateway (the tests point it at a fake on loopback).
WECHATPAY_API_BASE = (
    os.environ.get("TAPGO_WECHATPAY_API_BASE", "").strip().rstrip("/")
    or "https://api.mch.weixin.qq.com"
)
# The platform's fee on every captured provider payment, in basis points (60 = 0.6%).
PLATFORM_FEE_BPS = int(os.environ.get("TAPGO_FEE_BPS", "60"))
# A provider intent still open this long after its last change is asked about (a lost
# webhook never leaves a paid customer with an unpaid order).
RECONCILE_AFTER_SECONDS = int(os.environ.get("TAPGO_RECONCILE_AFTER_SECONDS", "120"))
# How often the worker runs its sweeps (expiry, reconciliation, refunds to resend).
SWEEP_SECONDS = float(os.environ.get("TAPGO_SWEEP_SECONDS", "30"))
# Notifications (tapgo.messaging): tries of a delivery before it is dead-lettered, the first
# retry's wait (doubling after), how long a worker holds a delivery, the rate limits (0: none).
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("TAPGO_NOTIFY_MAX_ATTEMPTS", "6"))
NOTIFY_RETRY_SECONDS = float(os.environ.get("TAPGO_NOTIFY_RETRY_SECONDS", "30"))
NOTIFY_LEASE_SECONDS = float(os.environ.get("TAPGO_NOTIFY_LEASE_SECONDS", "120"))
NOTIFY_PER_CUSTOMER_HOUR = int(os.environ.get("TAPGO_NOTIFY_PER_CUSTOMER_HOUR", "30"))
NOTIFY_PER_MERCHANT_MINUTE = int(os.environ.get("TAPGO_NOTIFY_PER_MERCHANT_MINUTE", "1200"))
# Web Push: the VAPID "sub" claim push services may use to reach the operator, and whether a
# device may name a loopback or private push endpoint (tests and bench/ only).
VAPID_SUBJECT = os.environ.get("TAPGO_VAPID_SUBJECT", "mailto:push@tapgo.invalid")
PUSH_ALLOW_LOCAL = _flag("TAPGO_PUSH_ALLOW_LOCAL")
# The font printable code posters are drawn with: a .ttf/.otf/.ttc path (`#N` picks a face of
# a collection) that has Chinese glyphs; unset, Noto Sans CJK SC through fontconfig.
POSTER_FONT = os.environ.get("TAPGO_POSTER_FONT", "").strip()
# Merchants' provider secrets are encrypted with keys derived from this (comma-separated,
# newest first, so a key can be rotated); by default from the secret key.
ENCRYPTION_KEYS = [
    k for k in os.environ.get("TAPGO_ENCRYPTION_KEYS", SECRET_KEY).split(",") if k.strip()
]
# How long one Server-Sent Events response stays open before the browser reconnects
# (with Last-Event-ID, so nothing is missed); bounds the threads a stream holds.
LIVE_STREAM_SECONDS = int(os.environ.get("TAPGO_LIVE_STREAM_SECONDS", "25"))
LIVE_POLL_SECONDS = float(os.environ.get("TAPGO_LIVE_POLL_SECONDS", "0.5"))
# How often an open page of a mini app asks whether ordering was paused or resumed.
SHELL_LIVE_STATE_SECONDS = float(os.environ.get("TAPGO_SHELL_LIVE_STATE_SECONDS", "10"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TAPGO_LOG_LEVEL", "WARNING")},
}
