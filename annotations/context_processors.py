"""What templates/base.html needs on every page: the top bar's desks and queue count, the
current page, and the time zone times are shown in.

`nav` is read lazily, in one query (selectors.desk_nav), and only on a desk's pages
(/w/<slug>/...) for a logged-in user: a page that never shows the top bar (the API, the
public verdict pages) never reads it.
"""

import zoneinfo

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from annotations import selectors


def _usable(zone: str) -> str:
    """A zone the page can activate: an unknown name (tzdata changed) falls back to TIME_ZONE."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return settings.TIME_ZONE
    return zone


def desk_nav(request) -> dict:
    match = getattr(request, "resolver_match", None)
    page = match.url_name if match is not None else ""
    slug = match.kwargs.get("workspace_slug") if match is not None and not match.namespace else None
    if not slug:
        return {"nav_page": page}

    def read():
        user = request.user
        if not user.is_authenticated:
            return None
        nav = selectors.desk_nav(user=user, slug=slug)
        nav.time_zone = _usable(nav.time_zone)
        return nav

    return {"nav": SimpleLazyObject(read), "nav_page": page}
