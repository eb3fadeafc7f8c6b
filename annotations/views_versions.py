"""An article's versions, and what the publisher changed between two of them (word diff);
the switch of the watch that fetches its page again."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotations import access, selectors_versions
from annotations.errors import PermissionDenied
from annotations.permissions import can
from annotations.services.articles import article_watch_set
from annotations.textdiff import version_diff


@login_required
def article_versions(request, workspace_slug: str, article_id: int):
    article = access.article_get(user=request.user, workspace_slug=workspace_slug, article_id=article_id)
    versions = selectors_versions.article_versions(article=article)
    return render(request, "annotations/article_versions.html", {
        "article": article, "versions": versions,
        "watch_state": selectors_versions.article_watch_state(article=article),
        "can_switch_watch": bool(article.url) and can(request.user, "annotations.watch_article", article.workspace),
    })


@login_required
@require_POST
def article_watch_switch(request, workspace_slug: str, article_id: int):
    """The versions page's button: `watch` is "on" or "off"."""
    article = access.article_get(user=request.user, workspace_slug=workspace_slug, article_id=article_id)
    watch = request.POST.get("watch")
    if watch not in ("on", "off"):
        messages.error(request, "The form was incomplete; reload the page and try again.")
        return redirect("article_versions", workspace_slug, article.pk)
    try:
        article_watch_set(article=article, actor=request.user, watch=watch == "on")
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, "The watch is on: the page will be checked within a few minutes."
                         if watch == "on" else "The watch is off: the page will not be checked again.")
    return redirect("article_versions", workspace_slug, article.pk)


@login_required
def article_version_diff(request, workspace_slug: str, article_id: int, number: int):
    article = access.article_get(user=request.user, workspace_slug=workspace_slug, article_id=article_id)
    pair = selectors_versions.article_version_pair(article=article, number=number)
    if pair is None:
        raise Http404("This article has no such version, or no version before it.")
    before, after = pair
    diff = version_diff(before.text, after.text)
    return render(request, "annotations/article_version_diff.html", {
        "article": article, "before": before, "after": after, "diff": diff,
    })
