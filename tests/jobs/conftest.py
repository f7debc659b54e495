"""The jobs tests share ``tests/redis``'s fixture: a real redis-server on a free port."""

from tests.redis.test_redis_throttle import redis_url  # noqa: F401
