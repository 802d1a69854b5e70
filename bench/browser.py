"""What a phone sees when a customer scans a table code: bytes, requests and first paint.

Playwright (python) drives Debian's Chromium; Playwright cannot download a browser of its own
here. Every run is a new browser context (no cookies: a first-time customer, as after a real
scan) with the cache disabled, on a throttled phone link set through the DevTools protocol.
"""

import os
import statistics
import time

# Debian's Chromium (apt-get install chromium), or TAPGO_CHROMIUM as for the browser tests.
CHROMIUM = os.environ.get("TAPGO_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A slow phone link: 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up.
PHONE_LINK = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Mobile Safari/537.36"
    ),
}

_PAINT_JS = """() => new Promise((resolve) => {
  const read = () => {
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    if (!fcp) { setTimeout(read, 25); return; }
    const nav = performance.getEntriesByType('navigation')[0];
    resolve({
      fcp: fcp.startTime,
      origin: performance.timeOrigin,
      html_done: nav ? nav.responseEnd : null,
      html_decoded: nav ? nav.decodedBodySize : null,
      images: document.images.length,
    });
  };
  read();
})"""

KINDS = {"Document": "html", "Stylesheet": "css", "Script": "js", "Image": "image"}


def _one_run(browser, url: str, *, throttle: bool) -> dict:
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        requests: dict[str, dict] = {}

        def sent(event):
            requests.setdefault(event["requestId"], {})
            requests[event["requestId"]].update(
                url=event["request"]["url"], wall=event["wallTime"], type=event.get("type", "")
            )

        def received(event):
            entry = requests.setdefault(event["requestId"], {})
            response = event["response"]
            headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
            entry.update(
                status=response["status"],
                encoding=headers.get("content-encoding", ""),
                type=event.get("type", entry.get("type", "")),
            )

        def finished(event):
            requests.setdefault(event["requestId"], {})["wire"] = int(event["encodedDataLength"])

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.responseReceived", received)
        cdp.on("Network.loadingFinished", finished)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttle:
            cdp.send("Network.emulateNetworkConditions", PHONE_LINK)
        page.goto(url, wait_until="load", timeout=60_000)
        paint = page.evaluate(_PAINT_JS)
        # Let lazy thumbnails that the first screen shows arrive, then stop counting.
        try:
            page.wait_for_load_state("networkidle", timeout=15_000)
        except Exception:  # a busy page still gives its figures
            pass
        time.sleep(0.2)
    finally:
        context.close()
    fcp_wall = paint["origin"] + paint["fcp"]
    listed = []
    for entry in requests.values():
        if "url" not in entry:
            continue
        listed.append(
            {
                "url": entry["url"],
                "kind": KINDS.get(entry.get("type", ""), entry.get("type", "").lower() or "other"),
                "status": entry.get("status"),
                "encoding": entry.get("encoding", ""),
                "wire_bytes": entry.get("wire", 0),
                "before_first_paint": entry["wall"] * 1000 < fcp_wall,
            }
        )
    return {"fcp_ms": paint["fcp"], "html_done_ms": paint["html_done"], "paint": paint,
            "requests": listed}  # fmt: skip


def _weight(run: dict) -> dict:
    by_kind: dict[str, int] = {}
    for request in run["requests"]:
        by_kind[request["kind"]] = by_kind.get(request["kind"], 0) + request["wire_bytes"]
    images = [r for r in run["requests"] if r["kind"] == "image"]
    early = sum(1 for r in images if r["before_first_paint"])
    return {
        "html_bytes": by_kind.get("html", 0),
        "css_bytes": by_kind.get("css", 0),
        "js_bytes": by_kind.get("js", 0),
        "html_css_js_bytes": sum(by_kind.get(k, 0) for k in ("html", "css", "js")),
        "html_decoded_bytes": run["paint"]["html_decoded"],
        "html_encoding": next((r["encoding"] for r in run["requests"] if r["kind"] == "html"), ""),
        "requests_before_first_paint": sum(r["before_first_paint"] for r in run["requests"]),
        "requests_before_first_paint_list": [
            f"{r['kind']} {r['url'].split('/', 3)[-1]}"
            for r in run["requests"]
            if r["before_first_paint"]
        ],
        "images_on_page": run["paint"]["images"],
        # Thumbnails whose request waited until after the first paint (or never came).
        "images_deferred": run["paint"]["images"] - early,
        "images_before_first_paint": early,
        "images_loaded": len(images),
        "image_max_bytes": max((r["wire_bytes"] for r in images), default=0),
        "image_bytes": sum(r["wire_bytes"] for r in images),
        "all_requests": len(run["requests"]),
    }


def measure(url: str, *, runs: int) -> dict:
    """Median scan-to-first-paint over `runs` cold, throttled loads; the first screen's weight."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            _one_run(browser, url, throttle=False)  # warm the server (menu cache), not counted
            results = [_one_run(browser, url, throttle=True) for _ in range(runs)]
        finally:
            browser.close()
    fcps = [r["fcp_ms"] for r in results]
    html_done = [r["html_done_ms"] for r in results if r["html_done_ms"] is not None]
    weight = _weight(results[len(results) // 2])
    return {
        "url_path": "/" + url.split("/", 3)[-1],
        "runs": runs,
        "fcp_ms_median": round(statistics.median(fcps), 1),
        "fcp_ms_all": [round(f, 1) for f in fcps],
        # When the last byte of the HTML arrived (Navigation Timing's responseEnd).
        "html_done_ms_median": round(statistics.median(html_done), 1) if html_done else None,
        **weight,
    }
