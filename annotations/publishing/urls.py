"""The public pages, at /v/ (factcheck/urls.py): no login."""

from django.urls import path

from annotations.publishing import views

app_name = "publishing"

urlpatterns = [
    path("<slug:workspace_slug>/", views.desk_index, name="desk"),
    path("<slug:workspace_slug>/<int:claim_id>/", views.verdict, name="verdict"),
    path("<slug:workspace_slug>/<int:claim_id>/embed/", views.verdict_embed, name="embed"),
]
