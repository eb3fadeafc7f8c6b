"""Personal API token keys: how a key is made and how it is stored.

Below both the service that issues tokens and the API authentication that checks them,
so neither imports the other. Only a key's sha256 is stored; the key itself is shown once.
"""

import hashlib
import secrets

# Makes a leaked key recognisable to secret scanners and in logs.
API_TOKEN_KEY_PREFIX = "fc_"
# The part of a key kept in clear beside its hash, so a person can tell their tokens apart.
API_TOKEN_VISIBLE_LENGTH = 10


def api_token_key_new() -> str:
    return API_TOKEN_KEY_PREFIX + secrets.token_urlsafe(32)


def api_token_key_hash(*, key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- Partner keys: an organisation's, not a person's ---------------------------------------

# A different prefix from personal tokens, so a key says whose it is at a glance.
PARTNER_KEY_PREFIX = "pk_"


def partner_key_new() -> str:
    return PARTNER_KEY_PREFIX + secrets.token_urlsafe(32)


def partner_key_hash(*, key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
