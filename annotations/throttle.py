"""Counting failed logins and password reset requests in the cache (Redis).

Failed logins are counted three ways, each over LOGIN_FAILURE_WINDOW seconds from its
first failure:

- per username from one client address (LOGIN_FAILURE_LIMIT): someone mistyping, or
  guessing one person's password from one machine, stops there, and only that username
  at that address is held back;
- per username from any address (LOGIN_FAILURE_USER_LIMIT): guessing spread over many
  machines locks that one account everywhere;
- per client address over all usernames (LOGIN_FAILURE_ADDRESS_LIMIT): trying many
  accounts from one machine. Far higher, because a whole newsroom may reach the desk from
  one shared address, and one colleague's typos must not lock the others out.

Password reset e-mails are counted per e-mail address asked for (whether or not an
account has it, so the answer tells nothing) and per client address.

If Redis is down the throttle lets requests through (and logs it): an outage of the
cache must not lock every editor out of the desk.
"""

import contextlib
import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int
    window: int
    # Ends the message's first sentence: "Too many failed log-in attempts{scope}."
    scope: str


@dataclass(frozen=True)
class Blocked:
    scope: str
    retry_after: int  # seconds

    def message(self, what: str) -> str:
        """ "Too many failed log-in attempts. Try again in 12 minutes." """
        minutes = max(1, math.ceil(self.retry_after / 60))
        return f"{what}{self.scope}. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _digest(value: str) -> str:
    """A cache key part for what a client typed (any length, any character)."""
    return hashlib.sha256(value.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _login_counters(username: str, address: str) -> list[Counter]:
    name = _digest(username)
    window = settings.LOGIN_FAILURE_WINDOW
    return [
        Counter(f"login-fail:pair:{address}:{name}", settings.LOGIN_FAILURE_LIMIT, window, ""),
        Counter(f"login-fail:user:{name}", settings.LOGIN_FAILURE_USER_LIMIT, window, " for this account"),
        Counter(f"login-fail:addr:{address}", settings.LOGIN_FAILURE_ADDRESS_LIMIT, window, " from your network"),
    ]


def _reset_counters(email: str, address: str) -> list[Counter]:
    window = settings.PASSWORD_RESET_WINDOW
    return [
        Counter(f"reset:email:{_digest(email)}", settings.PASSWORD_RESET_EMAIL_LIMIT, window,
                " for this e-mail address"),
        Counter(f"reset:addr:{address}", settings.PASSWORD_RESET_ADDRESS_LIMIT, window, " from your network"),
    ]


def _blocked(counters: list[Counter]) -> Blocked | None:
    """The counter at its limit that frees up last, or None. One round trip to Redis."""
    keys = [c.key for c in counters] + [f"{c.key}:until" for c in counters]
    try:
        values = cache.get_many(keys)
    except RedisError:
        log.warning("Throttle skipped: Redis is unreachable.")
        return None
    now = time.time()
    found = None
    for c in counters:
        if values.get(c.key, 0) >= c.limit:
            retry_after = max(1, int(values.get(f"{c.key}:until", now + c.window) - now))
            if found is None or retry_after > found.retry_after:
                found = Blocked(c.scope, retry_after)
    return found


def _count(counters: list[Counter]) -> None:
    try:
        for c in counters:
            # add() is a no-op when the key exists, so the window starts at the first count;
            # the ":until" key remembers when it ends, for the message.
            if cache.add(c.key, 0, timeout=c.window):
                cache.set(f"{c.key}:until", time.time() + c.window, timeout=c.window)
            cache.incr(c.key)
    except (RedisError, ValueError):  # ValueError: the key expired between add() and incr()
        log.warning("Throttle count skipped: Redis is unreachable or the window just ended.")


def login_blocked(*, username: str, address: str) -> Blocked | None:
    return _blocked(_login_counters(username, address))


def login_failed(*, username: str, address: str) -> None:
    _count(_login_counters(username, address))


def login_succeeded(*, username: str, address: str) -> None:
    """Forget this person's own typos at this address. The other counters run out on their
    own: a correct password must not wipe the count of someone guessing elsewhere."""
    pair = _login_counters(username, address)[0]
    with contextlib.suppress(RedisError):
        cache.delete_many([pair.key, f"{pair.key}:until"])


def password_reset_blocked(*, email: str, address: str) -> Blocked | None:
    return _blocked(_reset_counters(email, address))


def password_reset_requested(*, email: str, address: str) -> None:
    _count(_reset_counters(email, address))
