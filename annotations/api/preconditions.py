"""No lost updates over HTTP: a claim's ETag, and the one helper every claim write runs
through (If-Match, or the revision in the body)."""

from collections.abc import Callable
from typing import TypeVar

from rest_framework.response import Response

from annotations.api.errors import PreconditionFailed, PreconditionRequired
from annotations.errors import ConflictError
from annotations.models import Claim

T = TypeVar("T")


def claim_etag(claim: Claim) -> str:
    return f'"claim-{claim.pk}-r{claim.revision}"'


def with_etag(response: Response, claim: Claim) -> Response:
    response["ETag"] = claim_etag(claim)
    return response


def write_claim(request, claim: Claim, *, body_revision: int | None, write: Callable[[int], T]) -> T:
    """Run `write(revision)` based on the revision the client read.

    With If-Match, that is the claim's revision if the header matches its ETag (412 if not,
    and 412 too if the claim changes before the write lands). Without it, the revision
    sent in the body (409 when stale, as the pages report it); with neither, 428.
    """
    header = (request.headers.get("If-Match") or "").strip()
    if not header:
        if body_revision is None:
            raise PreconditionRequired()
        return write(body_revision)
    if header != claim_etag(claim):
        raise PreconditionFailed()
    try:
        return write(claim.revision)
    except ConflictError:
        raise PreconditionFailed() from None
