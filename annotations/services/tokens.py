from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotations.models import ApiToken
from annotations.tokens import API_TOKEN_VISIBLE_LENGTH, api_token_key_hash, api_token_key_new


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token and its key. The key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after where it will be used, e.g. 'partner sync'."})
    if len(name) > 100:
        raise ValidationError({"name": f"The name can be at most 100 characters (it has {len(name)})."})
    key = api_token_key_new()
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=api_token_key_hash(key=key), prefix=key[:API_TOKEN_VISIBLE_LENGTH]
    )
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> None:
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise ValidationError({"token": "No such active token of yours."})
