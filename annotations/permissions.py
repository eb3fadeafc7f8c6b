"""Every access rule of the desk, as named predicates (django-rules).

Views, services and the API ask these; nothing else decides who may do what.
Objects of a workspace the user is not a member of are reported as missing (404).
"""

import rules

from annotations.errors import PermissionDenied
from annotations.models import Claim, ClaimState, Membership, Role, Workspace

EDITABLE_STATES = {ClaimState.DRAFT, ClaimState.CHANGES_REQUESTED}


def _membership_cache(user) -> dict[int, Membership | None]:
    """Memberships already read during this request, by workspace id, on the user object."""
    cache = getattr(user, "_membership_cache", None)
    if cache is None:
        cache = user._membership_cache = {}
    return cache


def remember_membership(user, membership: Membership) -> None:
    """For lookups that read the membership anyway (access.workspace_get)."""
    _membership_cache(user)[membership.workspace_id] = membership


def membership_of(user, workspace: Workspace) -> Membership | None:
    if not user.is_authenticated:
        return None
    cache = _membership_cache(user)
    if workspace.pk not in cache:
        cache[workspace.pk] = Membership.objects.filter(user=user, workspace=workspace).first()
    return cache[workspace.pk]


@rules.predicate
def is_workspace_member(user, workspace: Workspace) -> bool:
    return membership_of(user, workspace) is not None


@rules.predicate
def is_workspace_admin(user, workspace: Workspace) -> bool:
    membership = membership_of(user, workspace)
    return membership is not None and membership.role == Role.ADMIN


@rules.predicate
def is_claim_author(user, claim: Claim) -> bool:
    return claim.created_by_id == user.pk


@rules.predicate
def is_admin_of_claim_workspace(user, claim: Claim) -> bool:
    membership = membership_of(user, claim.workspace)
    return membership is not None and membership.role == Role.ADMIN


@rules.predicate
def is_member_of_claim_workspace(user, claim: Claim) -> bool:
    return membership_of(user, claim.workspace) is not None


@rules.predicate
def claim_is_editable(user, claim: Claim) -> bool:
    return claim.state in EDITABLE_STATES


@rules.predicate
def claim_is_draft(user, claim: Claim) -> bool:
    return claim.state == ClaimState.DRAFT


@rules.predicate
def can_review_in_claim_workspace(user, claim: Claim) -> bool:
    membership = membership_of(user, claim.workspace)
    return membership is not None and membership.role in (Role.REVIEWER, Role.ADMIN)


@rules.predicate
def is_last_editor(user, claim: Claim) -> bool:
    return claim.last_edited_by_id == user.pk


@rules.predicate
def holds_claim(user, claim: Claim) -> bool:
    return claim.held_by_id == user.pk


@rules.predicate
def is_reviewer_of_workspace(user, workspace: Workspace) -> bool:
    membership = membership_of(user, workspace)
    return membership is not None and membership.role in (Role.REVIEWER, Role.ADMIN)


# Four eyes: nobody reviews a claim they wrote or last edited.
four_eyes = ~is_claim_author & ~is_last_editor

rules.add_perm("annotations.view_workspace", is_workspace_member)
rules.add_perm("annotations.view_queue", is_reviewer_of_workspace)
rules.add_perm("annotations.view_audit_log", is_workspace_admin)
rules.add_perm("annotations.manage_members", is_workspace_admin)
rules.add_perm("annotations.manage_rating_scale", is_workspace_admin)
rules.add_perm("annotations.manage_publishing", is_workspace_admin)
rules.add_perm("annotations.manage_partners", is_workspace_admin)
rules.add_perm("annotations.manage_desk_time_zone", is_workspace_admin)
rules.add_perm("annotations.submit_claim", is_member_of_claim_workspace & is_claim_author)
rules.add_perm("annotations.review_claim", can_review_in_claim_workspace & four_eyes)
rules.add_perm("annotations.decide_claim", can_review_in_claim_workspace & four_eyes & holds_claim)
rules.add_perm("annotations.release_claim", is_member_of_claim_workspace & holds_claim)
# An admin gives any reviewer's hold back to the queue (someone left for the day).
rules.add_perm("annotations.release_hold", is_admin_of_claim_workspace)
rules.add_perm("annotations.bulk_release_holds", is_workspace_admin)  # services/bulk.py
# Assignments (services/assignments.py): admins give work out; see assignee_problem for who may get it.
rules.add_perm("annotations.assign", is_workspace_admin)
rules.add_perm("annotations.view_assignments", is_workspace_member)
rules.add_perm("annotations.bulk_assign", is_workspace_admin)  # services/bulk.py
rules.add_perm("annotations.reopen_claim", is_admin_of_claim_workspace)
rules.add_perm("annotations.add_article", is_workspace_member)
# Watching an article's page for the publisher's edits (services.articles.article_watch_set):
# the people who add the desk's articles switch it on or off.
rules.add_perm("annotations.watch_article", is_workspace_member)
rules.add_perm("annotations.add_claim", is_workspace_member)
# Dismissing a suggested sentence (or undoing that) hides a hint for the whole desk: anyone
# who may mark claims (services/suggestions.py).
rules.add_perm("annotations.dismiss_suggestion", is_workspace_member)
rules.add_perm("annotations.view_claim", is_member_of_claim_workspace)
rules.add_perm(
    "annotations.change_claim", is_member_of_claim_workspace & is_claim_author & claim_is_editable
)
rules.add_perm(
    "annotations.delete_claim", is_member_of_claim_workspace & is_claim_author & claim_is_draft
)
# Re-attaching an orphan is fixing the desk's data, not changing the verdict: the
# author, or an admin of the workspace.
rules.add_perm(
    "annotations.reattach_claim",
    is_member_of_claim_workspace & (is_claim_author | is_admin_of_claim_workspace),
)
# A claim whose words changed meaning in a new version: confirming its new position is
# the same kind of fix as re-attaching it (services.claims.claim_position_confirm).
rules.add_perm(
    "annotations.confirm_position",
    is_member_of_claim_workspace & (is_claim_author | is_admin_of_claim_workspace),
)
# The article changed under an approved claim: a reviewer (four eyes) says the verdict stands.
rules.add_perm("annotations.confirm_verdict", can_review_in_claim_workspace & four_eyes)


def can(user, perm: str, obj) -> bool:
    """The desk's own rules only: being a Django superuser grants nothing inside a desk."""
    return rules.has_perm(perm, user, obj)


def require(user, perm: str, obj, message: str) -> None:
    if not can(user, perm, obj):
        raise PermissionDenied(message)


ASSIGN_DENIED = "Only admins of this desk assign work."
ASSIGNABLE_CLAIM_STATES = {ClaimState.SUBMITTED, ClaimState.IN_REVIEW}


def assignee_problem(*, kind: str, role: str | None, assignee_id: int, claim: Claim | None = None) -> str | None:
    """Why this person may not be given this work, as a sentence, or None. `role` is the
    assignee's role on the desk (None: not a member). Annotators are given articles;
    reviewers and admins claims, never one they wrote or last edited (four eyes)."""
    if role is None:
        return "The assignee is not a member of this desk."
    if kind == "article":
        if role != Role.ANNOTATOR:
            return "Articles are assigned to annotators of this desk."
        return None
    if role not in (Role.REVIEWER, Role.ADMIN):
        return "Claims are assigned to reviewers or admins of this desk."
    if claim is not None:
        if claim.state not in ASSIGNABLE_CLAIM_STATES:
            return (f"Only a claim waiting for review can be assigned; this one is "
                    f"{claim.get_state_display().lower()}.")
        if assignee_id in (claim.created_by_id, claim.last_edited_by_id):
            return "Nobody reviews a claim they wrote or last edited: choose another reviewer."
    return None
