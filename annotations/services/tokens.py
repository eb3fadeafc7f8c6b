from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotations.api.auth import hash_key, new_key
from annotations.models import ApiToken


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token and its key. The key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after where it will be used, e.g. 'partner sync'."})
    if len(name) > 100:
        raise ValidationError({"name": f"The name can be at most 100 characters (it has {len(name)})."})
    key = new_key()
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_key(key), prefix=key[:10])
    return token, key


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> None:
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise ValidationError({"token": "No such active token of yours."})
