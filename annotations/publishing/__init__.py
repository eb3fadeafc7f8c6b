"""Publishing: how verdicts leave the desk.

Approval is publication. The workflow service calls `publish` when a claim is approved and
`withdraw` when it is reopened; everything outside the desk (public pages, exports, the
ClaimReview a search engine reads) reads the published records these write, never live
rows. This package stands above the services and selectors it uses; nothing below it
imports it but the workflow service, through these two functions.
"""

from annotations.publishing.services import publish, withdraw

__all__ = ["publish", "withdraw"]
