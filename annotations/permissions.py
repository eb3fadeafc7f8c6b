"""Every access rule of the desk, as named predicates (django-rules).

Views and the API ask these; nothing else decides who may do what.
"""

import rules

from annotations.models import Membership, Workspace


def membership_of(user, workspace: Workspace) -> Membership | None:
    if not user.is_authenticated:
        return None
    cache = getattr(user, "_membership_cache", None)
    if cache is None:
        cache = user._membership_cache = {}
    if workspace.pk not in cache:
        cache[workspace.pk] = Membership.objects.filter(user=user, workspace=workspace).first()
    return cache[workspace.pk]


@rules.predicate
def is_workspace_member(user, workspace: Workspace) -> bool:
    return membership_of(user, workspace) is not None


rules.add_perm("annotations.view_workspace", is_workspace_member)
