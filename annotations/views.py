from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from annotations import health, selectors, throttle


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses further attempts after LOGIN_FAILURE_LIMIT failures in the window."""

    def clean(self):
        username = self.data.get("username", "")
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if throttle.login_blocked(username=username, address=address):
            raise forms.ValidationError(
                "Too many failed log-in attempts. Wait a few minutes and try again.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.login_failed(username=username, address=address)
            raise
        throttle.login_succeeded(username=username, address=address)
        return cleaned


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True


@login_required
def home(request):
    workspaces = selectors.workspace_list_for_user(user=request.user)
    return render(request, "annotations/home.html", {"workspaces": workspaces})


@login_required
def article_detail(request, workspace_slug: str, article_id: int):
    article = selectors.article_get_for_user(
        user=request.user, workspace_slug=workspace_slug, article_id=article_id
    )
    if article is None:
        raise Http404("No such article in your workspaces.")
    version = selectors.article_latest_version(article=article)
    return render(
        request, "annotations/article_detail.html", {"article": article, "version": version}
    )


@never_cache
@require_GET
def healthz(request):
    """200 when the database, Redis and a Celery worker are all up; 503 naming what is down."""
    checks = {
        "database": health.check_database(),
        "redis": health.check_redis(),
    }
    # Asking workers goes through Redis; with Redis down the answer is already known.
    checks["worker"] = (
        health.check_workers() if checks["redis"][0] else (False, "unknown: redis is down")
    )
    down = [name for name, (ok, _) in checks.items() if not ok]
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "checks": {name: detail for name, (_, detail) in checks.items()},
        "scheduler_last_beat": health.last_scheduler_beat() if checks["redis"][0] else None,
    }
    return JsonResponse(body, status=503 if down else 200)
