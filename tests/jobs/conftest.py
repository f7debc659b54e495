"""The jobs tests share ``tests/redis``'s fixture (a real redis-server on a free port) and
``tests/_postgres``'s (a real PostgreSQL on a free port, for the dlt sink)."""

from tests._postgres import postgres_url  # noqa: F401
from tests.redis.test_redis_throttle import redis_url  # noqa: F401
