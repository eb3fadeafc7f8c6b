from django.contrib.auth import views as auth_views
from django.urls import path

from annotations import views, views_accounts, views_dashboard, views_review

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views_accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views_accounts.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views_accounts.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views_accounts.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views_accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", views_accounts.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
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
    path("w/<slug:workspace_slug>/dashboard/", views_dashboard.dashboard, name="dashboard"),
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
