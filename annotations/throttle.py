"""Counting failed logins in the cache (Redis), per username and per client address.

If Redis is down the throttle lets logins through (and logs it): an outage of the
cache must not lock every editor out of the desk.
"""

import contextlib
import logging

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def _keys(username: str, address: str) -> list[str]:
    return [f"login-fail:user:{username.lower()}", f"login-fail:addr:{address}"]


def login_blocked(*, username: str, address: str) -> bool:
    try:
        counts = cache.get_many(_keys(username, address))
    except RedisError:
        log.warning("Login throttle skipped: Redis is unreachable.")
        return False
    return any(n >= settings.LOGIN_FAILURE_LIMIT for n in counts.values())


def login_failed(*, username: str, address: str) -> None:
    try:
        for key in _keys(username, address):
            # add() is a no-op when the key exists, so the window starts at the first failure.
            cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW)
            cache.incr(key)
    except RedisError:
        log.warning("Failed login not counted: Redis is unreachable.")


def login_succeeded(*, username: str, address: str) -> None:
    # Without Redis there is no count to clear.
    with contextlib.suppress(RedisError):
        cache.delete(_keys(username, address)[0])
