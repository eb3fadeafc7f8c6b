"""The public pages, at /v/ (factcheck/urls.py): no login."""

from django.urls import path

from annotations.publishing import views

app_name = "publishing"

urlpatterns = [
    # Two segments, the second not a number: no desk's pages have such an address.
    path("audit/key/", views.audit_key, name="audit_key"),
    path("audit/checkpoint", views.audit_checkpoint, name="audit_checkpoint"),
    path("<slug:workspace_slug>/", views.desk_index, name="desk"),
    path("<slug:workspace_slug>/<int:claim_id>/", views.verdict, name="verdict"),
    path("<slug:workspace_slug>/<int:claim_id>/embed/", views.verdict_embed, name="embed"),
]
