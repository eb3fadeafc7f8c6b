"""An article's versions, and what the publisher changed between two of them (word diff)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from annotations import access, selectors_versions
from annotations.textdiff import version_diff


@login_required
def article_versions(request, workspace_slug: str, article_id: int):
    article = access.article_get(user=request.user, workspace_slug=workspace_slug, article_id=article_id)
    versions = selectors_versions.article_versions(article=article)
    return render(request, "annotations/article_versions.html", {"article": article, "versions": versions})


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
