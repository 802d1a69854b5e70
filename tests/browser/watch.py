"""What the browser tests watch for: no page may log an error, throw, break its
Content-Security-Policy or get a 4xx/5xx answer.

`CSP_REPORTER` runs in a page before its scripts and turns CSP violations into console
errors. `Watch` opens pages that report console errors, page errors and failed responses
into `watch.problems`; a test ends with `assert watch.problems == []`.
"""

from collections.abc import Iterable

from playwright.sync_api import BrowserContext, Page

# In every page before its scripts: CSP violations become console errors.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});
"""


class Watch:
    """Pages opened through it report console errors, page errors and failed responses.

    Before its first page in a context it adds `scripts` to the context (the CSP reporter
    unless told otherwise; pass `scripts=()` when the test installs its own) and sets the
    context's default timeout (`timeout=None` leaves it alone).
    """

    def __init__(
        self, *, scripts: Iterable[str] = (CSP_REPORTER,), timeout: float | None = 15_000
    ) -> None:
        self.problems: list[str] = []
        self.scripts = tuple(scripts)
        self.timeout = timeout
        self._prepared: list[BrowserContext] = []

    def page(self, context: BrowserContext, who: str = "") -> Page:
        if not any(known is context for known in self._prepared):
            for script in self.scripts:
                context.add_init_script(script)
            if self.timeout is not None:
                context.set_default_timeout(self.timeout)
            self._prepared.append(context)
        prefix = f"{who}: " if who else ""
        page = context.new_page()
        page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and self.problems.append(f"{prefix}console error on {page.url}: {msg.text}")
            ),
        )
        page.on("pageerror", lambda exc: self.problems.append(f"{prefix}page error: {exc}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"{prefix}HTTP {r.status} {r.url}"),
        )
        return page
