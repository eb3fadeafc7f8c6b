from django.contrib.auth import views as auth_views
from django.urls import path

from annotations import views, views_review

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("w/<slug:workspace_slug>/articles/", views.article_list, name="article_list"),
    path("w/<slug:workspace_slug>/articles/new/", views.article_add, name="article_add"),
    path("w/<slug:workspace_slug>/articles/<int:article_id>/", views.article_detail, name="article_detail"),
    path("w/<slug:workspace_slug>/articles/<int:article_id>/claims/", views.claim_create_view, name="claim_create"),
    path("w/<slug:workspace_slug>/claims/<int:claim_id>/", views.claim_edit, name="claim_edit"),
    path("w/<slug:workspace_slug>/claims/<int:claim_id>/delete/", views.claim_delete_view, name="claim_delete"),
    path("w/<slug:workspace_slug>/claims/<int:claim_id>/reattach/", views.claim_reattach_view, name="claim_reattach"),
    path("w/<slug:workspace_slug>/queue/", views_review.queue, name="queue"),
    path("w/<slug:workspace_slug>/queue/next/", views_review.queue_take_next, name="queue_take_next"),
    path("w/<slug:workspace_slug>/queue/<int:claim_id>/take/", views_review.queue_take, name="queue_take"),
    path("w/<slug:workspace_slug>/review/<int:claim_id>/", views_review.review, name="review"),
    path(
        "w/<slug:workspace_slug>/claims/<int:claim_id>/<str:name>/",
        views_review.claim_transition,
        name="claim_transition",
    ),
    path("w/<slug:workspace_slug>/mine/", views_review.my_claims, name="my_claims"),
    path("w/<slug:workspace_slug>/audit/", views_review.audit_log, name="audit_log"),
    path("w/<slug:workspace_slug>/members/", views_review.members, name="members"),
    path("w/<slug:workspace_slug>/exports/", views_review.exports_page, name="exports"),
    path("w/<slug:workspace_slug>/scale/", views_review.rating_scale, name="rating_scale"),
    path("w/<slug:workspace_slug>/publishing/", views_review.publishing_settings, name="publishing_settings"),
    path("w/<slug:workspace_slug>/partners/", views_review.partners, name="partners"),
    path("profile/", views_review.profile, name="profile"),
    path("ops/", views_review.operations, name="operations"),
    path(
        "w/<slug:workspace_slug>/matches/<int:match_id>/<str:status>/",
        views_review.match_decide,
        name="match_decide",
    ),
]
