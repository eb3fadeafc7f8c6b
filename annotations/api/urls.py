from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from annotations.api import partner, views

router = DefaultRouter()
router.register("workspaces", views.WorkspaceViewSet, basename="workspace")
router.register("rating-scales", views.RatingScaleViewSet, basename="ratingscale")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("articles", views.ArticleViewSet, basename="article")
router.register("article-versions", views.ArticleVersionViewSet, basename="articleversion")
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("queue", views.QueueViewSet, basename="queue")
router.register("sources", views.SourceViewSet, basename="source")
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")
router.register("exports", views.ExportJobViewSet, basename="exportjob")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("partners", partner.PartnerViewSet, basename="partner")

urlpatterns = [
    path("verdicts/export", views.VerdictExportView.as_view(), name="verdict_export"),
    path("feed/", partner.FeedView.as_view(), name="partner_feed"),
    path("partner/verdicts/", partner.PartnerVerdictsView.as_view(), name="partner_verdicts"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api_schema"), name="api_redoc"),
    path("", include(router.urls)),
]
