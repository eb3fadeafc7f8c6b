"""Who may see what: every lookup that scopes the desk's objects by membership and role.

The pages and the API call these same functions, so an object of a desk the user does
not belong to is missing (404) on both paths in the same way. Querysets named
`<objects>_of(user)` hold everything the user may read; `<object>_get(...)` fetches one
or raises: `Http404` for an object named in the URL, or a `ValidationError` on `field`
for one named in a request body (the API answers 400 naming the field).

What a user may *do* with what they see is decided in `permissions.py`.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from annotations.models import (
    ApiToken,
    Article,
    ArticleVersion,
    AuditEvent,
    Claim,
    ClaimMatch,
    ExportJob,
    Membership,
    RatingScale,
    Review,
    Role,
    Source,
    Workspace,
)
from annotations.permissions import remember_membership

User = AbstractBaseUser | AnonymousUser


def _user_id(user: User) -> int:
    """The user's id; an anonymous user's matches no row."""
    return user.pk if user.pk is not None else 0


def _missing(field: str | None, message: str) -> Exception:
    return ValidationError({field: message}) if field else Http404(message)


# --- Everything a user may read ------------------------------------------------------------

def workspace_ids_of(user: User, *, role: str | None = None) -> QuerySet:
    """The ids of the user's desks, as a subquery. By id, so an anonymous user (the schema
    generator's) simply gets nothing."""
    memberships = Membership.objects.filter(user_id=_user_id(user))
    if role is not None:
        memberships = memberships.filter(role=role)
    return memberships.values("workspace_id")


def workspaces_of(user: User) -> QuerySet[Workspace]:
    return Workspace.objects.filter(pk__in=workspace_ids_of(user))


def rating_scales_of(user: User) -> QuerySet[RatingScale]:
    return RatingScale.objects.filter(workspace_id__in=workspace_ids_of(user))


def memberships_of(user: User) -> QuerySet[Membership]:
    """Memberships of the desks the user belongs to: who else works there."""
    return Membership.objects.filter(workspace_id__in=workspace_ids_of(user))


def articles_of(user: User) -> QuerySet[Article]:
    return Article.objects.filter(workspace_id__in=workspace_ids_of(user))


def article_versions_of(user: User) -> QuerySet[ArticleVersion]:
    return ArticleVersion.objects.filter(article__workspace_id__in=workspace_ids_of(user))


def claims_of(user: User) -> QuerySet[Claim]:
    return Claim.objects.filter(workspace_id__in=workspace_ids_of(user))


def sources_of(user: User) -> QuerySet[Source]:
    return Source.objects.filter(claim__workspace_id__in=workspace_ids_of(user))


def reviews_of(user: User) -> QuerySet[Review]:
    return Review.objects.filter(claim__workspace_id__in=workspace_ids_of(user))


def audit_events_of(user: User) -> QuerySet[AuditEvent]:
    """The audit trail is read by the admins of a desk only."""
    return AuditEvent.objects.filter(workspace_id__in=workspace_ids_of(user, role=Role.ADMIN))


def export_jobs_of(user: User) -> QuerySet[ExportJob]:
    """A user's own export jobs, in desks they still belong to."""
    return ExportJob.objects.filter(requested_by_id=user.pk, workspace_id__in=workspace_ids_of(user))


def assignments_of(user: User):
    """Assignments of the user's desks (services/assignments.py); other desks' are missing."""
    from annotations.models import Assignment

    return Assignment.objects.filter(workspace_id__in=workspace_ids_of(user))


def assignment_get(*, user: User, workspace: Workspace, assignment_id: int | None):
    """An assignment of this desk (the user is a member: workspace_get said so); else missing."""
    from annotations.models import Assignment

    assignment = (Assignment.objects.select_related("workspace").filter(pk=assignment_id, workspace=workspace).first()
                  if assignment_id else None)
    if assignment is None:
        raise Http404("No such assignment on this desk.")
    return assignment


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=_user_id(user))


# --- One object, or a clear refusal --------------------------------------------------------

def workspace_get(*, user: User, slug: str, field: str | None = None) -> Workspace:
    """The desk, read with the user's membership in one query; the membership is kept
    where the permission predicates look for it, so asking `can(...)` next costs nothing."""
    membership = (
        Membership.objects.select_related("workspace").filter(user_id=_user_id(user), workspace__slug=slug).first()
        if user.is_authenticated else None
    )
    if membership is None:
        raise _missing(field, f"You are not a member of a desk called {slug!r}.")
    remember_membership(user, membership)
    return membership.workspace


def _with_membership(objects: QuerySet, user: User) -> QuerySet:
    """Only objects of the user's desks, each carrying the user's membership id and role
    (two probes of the membership's unique index, in the same query)."""
    mine = Membership.objects.filter(workspace_id=OuterRef("workspace_id"), user_id=_user_id(user))
    return objects.annotate(
        membership_id=Subquery(mine.values("id")[:1]), membership_role=Subquery(mine.values("role")[:1])
    ).filter(membership_id__isnull=False)


def _remember(user: User, obj: Article | Claim) -> None:
    """Keep the membership read with `obj` where the permission predicates look first."""
    annotated: Any = obj  # membership_id and membership_role come from _with_membership
    remember_membership(user, Membership(
        pk=annotated.membership_id, workspace_id=obj.workspace_id, user_id=_user_id(user),
        role=annotated.membership_role,
    ))


def article_get(
    *, user: User, article_id: int | None, workspace_slug: str | None = None, field: str | None = None
) -> Article:
    """The article, with its desk and the user's membership, in one query."""
    articles = _with_membership(Article.objects.select_related("workspace"), user)
    if workspace_slug is not None:
        articles = articles.filter(workspace__slug=workspace_slug)
    article = articles.filter(pk=article_id).first() if article_id and user.is_authenticated else None
    if article is None:
        raise _missing(field, "No such article in your desks.")
    _remember(user, article)
    return article


def article_version_get(*, article: Article, version_id: int | None, field: str = "version") -> ArticleVersion:
    """A version of this article (named in a request body, hence a field error)."""
    version = ArticleVersion.objects.filter(article=article, pk=version_id).first() if version_id else None
    if version is None:
        raise ValidationError({field: "That version does not belong to the article."})
    version.article = article  # already read: claim_create asks for its desk
    return version


# What the claim pages, the workflow services and the permission predicates read from a
# claim: one query with the joins they need.
CLAIM_RELATED = ("workspace", "article", "version", "rating", "created_by", "last_edited_by", "held_by")


def claim_get(
    *, user: User, claim_id: int | None, workspace_slug: str | None = None, field: str | None = None
) -> Claim:
    """The claim, with what its pages show and the user's membership, in one query."""
    claims = _with_membership(Claim.objects.select_related(*CLAIM_RELATED), user)
    if workspace_slug is not None:
        claims = claims.filter(workspace__slug=workspace_slug)
    claim = claims.filter(pk=claim_id).first() if claim_id and user.is_authenticated else None
    if claim is None:
        raise _missing(field, "No such claim in your desks.")
    _remember(user, claim)
    return claim


def bulk_job_get(*, user: User, workspace: Workspace, job_id: int):
    """A bulk job of the desk the user started (services/bulk.py); anyone else's is missing."""
    from annotations.models import BulkJob

    job = BulkJob.objects.filter(pk=job_id, workspace=workspace, requested_by_id=_user_id(user)).first()
    if job is None:
        raise Http404("No such bulk job of yours on this desk.")
    return job


def claim_match_get(*, user: User, workspace_slug: str, match_id: int) -> ClaimMatch:
    match = (
        ClaimMatch.objects.select_related("claim__workspace")
        .filter(pk=match_id, claim__workspace__slug=workspace_slug,
                claim__workspace_id__in=workspace_ids_of(user))
        .first()
    )
    if match is None:
        raise Http404("No such suggestion in your desks.")
    return match


def user_get_by_username(*, username: str, field: str = "username"):
    """Any user of the desk's installation, by name: admins add people to their desk."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({field: f"There is no user called {username!r}."})
    return user
