"""Server-Sent Events for live pages (the order board, a customer's order).

Each response streams for LIVE_STREAM_SECONDS, then ends; the browser's EventSource
reconnects by itself and sends Last-Event-ID, so the next response starts exactly after the
last event the page saw: a dropped connection catches up and misses nothing. Bounding the
stream bounds how long it holds a server thread (see docs/decisions/0001-serving.md).

A stream holds one of the worker's few threads while it is open, so a worker keeps at most
max_streams() open (half its threads unless TAPGO_LIVE_STREAMS says otherwise); pages always
have the rest. Past that, a stream answers at once with what is new and asks the browser to
come back in LIVE_POLL_RETRY_MS: the page polls instead of waiting, and still misses nothing.
"""

import itertools
import json
import os
import threading
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


LIVE_POLL_RETRY_MS = 3000
_open: dict[int, float] = {}  # stream → when it must have ended (a lost close() expires)
_open_lock = threading.Lock()
_ids = itertools.count()


def max_streams() -> int:
    """How many streams one worker process keeps open at once."""
    configured = os.environ.get("TAPGO_LIVE_STREAMS", "")
    if configured.strip():
        return max(0, int(configured))
    return max(1, int(os.environ.get("TAPGO_THREADS", "8")) // 2)


def _open_stream(seconds: float) -> int | None:
    """A slot for a long stream, or None when this worker has none free."""
    now = time.monotonic()
    with _open_lock:
        for key, until in list(_open.items()):
            if until < now:
                del _open[key]
        if len(_open) >= max_streams():
            return None
        key = next(_ids)
        _open[key] = now + seconds + 5
        return key


def _close_stream(key: int) -> None:
    with _open_lock:
        _open.pop(key, None)


def stream(
    request,
    fetch: Callable[[int], Iterable[tuple[int, str, dict]]],
    *,
    after: int | None = None,
) -> StreamingHttpResponse:
    """Stream what fetch(after_id) returns as (id, event name, data), polling the database."""
    start_after = last_event_id(request) if after is None else after

    def poll() -> Iterator[str]:
        yield f"retry: {LIVE_POLL_RETRY_MS}\n: busy, polling\n\n"
        for event_id, name, data in fetch(start_after):
            yield _frame(event_id, name, data)

    def body(slot: int) -> Iterator[str]:
        try:
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
        finally:
            _close_stream(slot)

    slot = _open_stream(settings.LIVE_STREAM_SECONDS)
    events = poll() if slot is None else body(slot)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"
    return response
