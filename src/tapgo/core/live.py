"""Server-Sent Events for live pages (the order board, a customer's order).

Each response streams for LIVE_STREAM_SECONDS, then ends; the browser's EventSource
reconnects by itself and sends Last-Event-ID, so the next response starts exactly after the
last event the page saw: a dropped connection catches up and misses nothing. Bounding the
stream bounds how long it holds a server thread (see docs/decisions/0001-serving.md).
"""

import json
import time
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import StreamingHttpResponse


def last_event_id(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        value = int(raw)
    except ValueError:
        return 0
    return value if 0 <= value < 2**63 else 0


def _frame(event_id: int, name: str, data: dict) -> str:
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream(
    request,
    fetch: Callable[[int], Iterable[tuple[int, str, dict]]],
    *,
    after: int | None = None,
) -> StreamingHttpResponse:
    """Stream what fetch(after_id) returns as (id, event name, data), polling the database."""
    start_after = last_event_id(request) if after is None else after

    def body() -> Iterator[str]:
        cursor = start_after
        deadline = time.monotonic() + settings.LIVE_STREAM_SECONDS
        yield "retry: 1000\n: connected\n\n"
        idle = 0.0
        while time.monotonic() < deadline:
            sent = False
            for event_id, name, data in fetch(cursor):
                cursor = max(cursor, event_id)
                sent = True
                yield _frame(event_id, name, data)
            if not sent:
                idle += settings.LIVE_POLL_SECONDS
                if idle >= 10:
                    idle = 0.0
                    yield ": keep-alive\n\n"
            time.sleep(settings.LIVE_POLL_SECONDS)

    response = StreamingHttpResponse(body(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"
    return response
