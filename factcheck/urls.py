from django.contrib import admin
from django.urls import include, path, re_path

from annotations.api import errors as api_errors
from annotations.views_accounts import ThrottledAdminAuthenticationForm

# The admin's login counts failed logins on the same counters as the desk's (annotations/throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("annotations.api.urls")),
    # Any other /api/... address, whatever the method: a 404 in the API's error JSON.
    re_path(r"^api(?:/|$)", api_errors.api_not_found, name="api_not_found"),
    # Published verdicts, public (no login): the address ClaimReview's url points at.
    path("v/", include("annotations.publishing.urls")),
    path("", include("annotations.urls")),
]

# Errors Django answers itself (DEBUG off): the API's error JSON under /api/, the desk's
# pages elsewhere.
handler400 = api_errors.bad_request
handler403 = api_errors.permission_denied
handler404 = api_errors.not_found
handler500 = api_errors.server_error
