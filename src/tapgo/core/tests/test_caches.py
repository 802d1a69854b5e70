"""Per-process caches (core/caches.py) under the server's threads."""

import sys
import threading
import time

import pytest

from tapgo.core import caches
from tapgo.core.caches import ExpiringCache


@pytest.fixture
def fast_switching():
    """Switch threads as often as the interpreter allows, so a walk of a dict meets another
    thread's insert within a few thousand steps (the crash seen under load took seconds)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def hammer(work, *, threads: int = 8) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            work(i)
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            errors.append(exc)

    started = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(60)
    assert not any(thread.is_alive() for thread in started), "a thread hung"
    return errors


def test_entries_expire_and_are_copied_with_their_expiry(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(caches.time, "monotonic", lambda: now[0])
    cache = ExpiringCache("test.expiry", size=10, seconds=30)
    cache.set("a", 1)
    now[0] += 20
    cache.copy("a", "b")
    cache.set("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, 1, 3)
    now[0] += 11  # a and its copy are 31 s old, c 11 s
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, 3)
    cache.copy("a", "d")  # an expired entry is not copied
    assert cache.get("d", "none") == "none"


def test_a_full_cache_drops_what_it_was_given_longest_ago():
    cache = ExpiringCache("test.size", size=3, seconds=60)
    for key in "abcd":
        cache.set(key, key)
    cache.set("b", "b again")  # set again: the newest now
    cache.set("e", "e")
    assert len(cache) == 3
    assert [cache.get(k) for k in "abcde"] == [None, "b again", None, "d", "e"]


def test_a_cache_needs_a_size_and_a_lifetime():
    with pytest.raises(ValueError):
        ExpiringCache("test.bad", size=0, seconds=1)
    with pytest.raises(ValueError):
        ExpiringCache("test.bad", size=1, seconds=0)


def test_the_old_unlocked_cache_broke_under_threads(fast_switching):
    """What the shell's recently used list did before: walk the dict to sweep it while other
    threads insert. The same hammer on an ExpiringCache (below) finds nothing."""

    class Unlocked:
        def __init__(self, size):
            self.size, self.items = size, {}

        def set(self, key, value):
            if len(self.items) >= self.size:
                now = time.monotonic()
                self.items = {k: v for k, v in self.items.items() if v[0] >= now}
                while len(self.items) >= self.size:
                    self.items.pop(next(iter(self.items)))
            self.items[key] = (time.monotonic() + 60, value)

    unlocked = Unlocked(200)
    errors = hammer(lambda i: [unlocked.set((i, n), n) for n in range(20_000)])
    assert any(isinstance(e, RuntimeError) for e in errors)


def _workload(cache: ExpiringCache, rounds: int):
    def work(i: int) -> None:
        for n in range(rounds):
            key = ("hammer", i, n)
            cache.set(key, n)
            assert cache.get(key) in (n, None)  # None: another thread pushed it out
            cache.get(("hammer", i, n - 1))
            cache.copy(key, ("hammer", i, n, "copy"))
            if n % 97 == 0:
                cache.pop(("hammer", (i + 1) % 8, n))

    return work


def test_every_expiring_cache_holds_under_many_threads_past_its_size(fast_switching):
    # Import what serves requests, so every per-process cache there exists.
    import tapgo.coupons.services  # noqa: F401
    import tapgo.shell.front  # noqa: F401
    import tapgo.shell.page  # noqa: F401

    names = sorted(caches.ALL)
    expected = {"shell.recent", "shell.unread", "front.headers", "front.app_states"}
    assert expected | {"coupons.claim_batches"} <= set(names)
    for name in names:
        cache = caches.ALL[name]
        rounds = max(2_000, 3 * cache.size // 8 + 100)  # 8 threads: past the size, 3 times
        try:
            errors = hammer(_workload(cache, rounds))
            assert errors == [], f"{name}: {errors[:3]}"
            assert len(cache) <= cache.size
        finally:
            cache.clear()
