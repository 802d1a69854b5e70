"""Per-process caches that the server's threads share.

`tapgo serve` runs several threads per worker process, and whatever a module keeps between
requests is read and written by all of them at once. A plain dict is safe for one get or one
set, but not for anything that walks it (a sweep of expired entries, "drop the oldest"): a
walk while another thread inserts raises "dictionary changed size during iteration". So
every per-process cache is one of these, or an `functools.lru_cache` (which holds its own
lock), and each is listed, with its key, lifetime and invalidation, in docs/architecture.md.

`ExpiringCache` is a bounded map whose entries expire. When full it drops the entry put in
longest ago (every entry lives the same time, so that is also the one closest to expiring);
an expired entry is dropped when it is next read. Every operation holds the cache's lock for
a few dictionary steps, never for a query or any I/O.
"""

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

# Every expiring cache made, by name: what the architecture document lists and what the
# tests hammer from many threads.
ALL: "weakref.WeakValueDictionary[str, ExpiringCache]" = weakref.WeakValueDictionary()


class ExpiringCache:
    def __init__(self, name: str, *, size: int, seconds: float):
        if size < 1 or seconds <= 0:
            raise ValueError("an expiring cache needs a size and a lifetime above zero")
        self.name, self.size, self.seconds = name, size, seconds
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        ALL[name] = self

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, default: Any = None) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return default
            if found[0] < now:
                del self._items[key]
                return default
            return found[1]

    def set(self, key: Hashable, value: Any) -> None:
        self._put(key, (time.monotonic() + self.seconds, value))

    def copy(self, old: Hashable, new: Hashable) -> None:
        """What `old` holds, under `new` too, expiring when `old` does."""
        now = time.monotonic()
        with self._lock:
            found = self._items.get(old)
        if found is not None and found[0] >= now:
            self._put(new, found)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def _put(self, key: Hashable, entry: tuple[float, Any]) -> None:
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
