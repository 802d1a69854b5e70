"""Browser tests: Playwright's pytest plugin driving Debian's Chromium (not a downloaded build).

Chromium is /usr/bin/chromium, or the path in TAPGO_CHROMIUM. Without it, tests marked
`browser` (every test in this folder is) are skipped with a loud reason; under CI (CI=true)
they fail instead, so a machine that lost its browser cannot pass quietly.
Install it with: apt-get install chromium fonts-noto-cjk
"""

import os
from pathlib import Path

import pytest
from tests.browser.helpers import STREAM_SECONDS, join_request_threads

# Playwright's sync API runs an event loop in the test's thread; the Django calls a test makes
# there (fixtures, the live server's database) are still ordinary synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "apt-get install chromium fonts-noto-cjk (or set TAPGO_CHROMIUM to its path)"


def chromium_path() -> str:
    return os.environ.get("TAPGO_CHROMIUM") or "/usr/bin/chromium"


def chromium_missing() -> str | None:
    """Why the browser cannot run, or None when it can."""
    path = Path(chromium_path())
    if not path.is_file() or not os.access(path, os.X_OK):
        return f"Chromium not found at {path}: {INSTALL_HINT}"
    return None


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_configure(config):
    # pytest-playwright's own session fixtures trip a pytest deprecation: not ours to fix.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods"
    )


def pytest_collection_modifyitems(config, items):
    missing = chromium_missing()
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
        if missing and item.get_closest_marker("browser") and not on_ci():
            item.add_marker(pytest.mark.skip(reason=f"SKIPPED BROWSER TEST: {missing}"))


def pytest_runtest_setup(item):
    missing = chromium_missing()
    if missing and item.get_closest_marker("browser") and on_ci():
        pytest.fail(f"CI=true but the browser tests cannot run: {missing}", pytrace=False)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture
def live(settings, live_server):
    """The live server, with printed links and the sandbox provider's webhooks pointing at it
    and live streams that end by themselves; its request threads are waited for at the end.
    A test module that needs more (a fake Stripe, a push endpoint) extends it by a fixture of
    the same name that asks for this one."""
    settings.PUBLIC_URL = live_server.url
    settings.SANDBOX_WEBHOOK_BASE_URL = live_server.url
    settings.LIVE_STREAM_SECONDS = STREAM_SECONDS
    yield live_server
    join_request_threads()
