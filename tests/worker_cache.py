"""The Redis cache of a test worker: the PostgreSQL run's workers (pytest-xdist) share one
Redis database, so each keeps to a key prefix of its own, and clearing its cache (every test
starts with an empty one) deletes its own keys only. Django's RedisCache.clear() empties the
whole database, the other workers' keys with it."""

from django.core.cache.backends.redis import RedisCache


class WorkerRedisCache(RedisCache):
    def clear(self) -> None:
        client = self._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
