"""Publishing: how verdicts leave the desk.

Approval is publication. The workflow service calls `publish` when a claim is approved and
`withdraw` when it is reopened; everything outside the desk (public pages, exports, the
ClaimReview a search engine reads) reads the published records these write, never live
rows. This package stands above the services and selectors it uses. Below it, three
services reach into it and nothing else does: the workflow service through these two
functions, the desk's settings service through `republish_job_create` (a label renamed or
a new publisher name makes new records of the verdicts in force), and the export-job
service through `publishing.exports` (it streams the records into a file).
"""

from annotations.publishing.services import publish, republish_job_create, withdraw

__all__ = ["publish", "republish_job_create", "withdraw"]
