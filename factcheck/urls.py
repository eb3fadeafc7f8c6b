from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("annotations.api.urls")),
    # Published verdicts, public (no login): the address ClaimReview's url points at.
    path("v/", include("annotations.publishing.urls")),
    path("", include("annotations.urls")),
]
