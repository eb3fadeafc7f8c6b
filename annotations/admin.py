from django.contrib import admin

from annotations.models import (
    Article,
    ArticleVersion,
    AuditEvent,
    Claim,
    Membership,
    RatingLabel,
    RatingScale,
    Review,
    Source,
    Workspace,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "publisher_name", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "workspace__name"]
    list_select_related = ["user", "workspace"]


class RatingLabelInline(admin.TabularInline):
    model = RatingLabel
    extra = 0


@admin.register(RatingScale)
class RatingScaleAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace"]
    list_select_related = ["workspace"]
    inlines = [RatingLabelInline]


class ArticleVersionInline(admin.TabularInline):
    model = ArticleVersion
    extra = 0
    # A tuple: one sequence typed for both attributes (a list is invariant in its items).
    readonly_fields = ("number", "sha256", "source_name", "created_at")
    fields = readonly_fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "workspace", "publisher", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["title", "url", "publisher"]
    list_select_related = ["workspace"]
    inlines = [ArticleVersionInline]


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin):
    """Versions are immutable (the database refuses UPDATE), so the admin only shows them."""

    list_display = ["article", "number", "sha256", "created_at"]
    list_select_related = ["article"]
    search_fields = ["article__title", "sha256"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


class SourceInline(admin.StackedInline):
    model = Source
    extra = 0


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ["__str__", "article", "state", "rating", "created_by", "updated_at"]
    list_filter = ["state", "anchor_status", "workspace"]
    search_fields = ["exact", "claim_reviewed", "claimant"]
    list_select_related = ["article", "rating", "created_by"]
    raw_id_fields = ["article", "version", "created_by", "last_edited_by"]
    # State and queue fields change only through the workflow (and the database refuses
    # state changes outside its table), so the admin shows them without editing them.
    readonly_fields = ["state", "revision", "submitted_at", "held_by", "held_until"]
    inlines = [SourceInline, ReviewInline]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "claim", "stance", "accessed_on"]
    list_filter = ["stance"]
    search_fields = ["url", "title", "publisher"]
    raw_id_fields = ["claim", "created_by"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["claim", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]
    raw_id_fields = ["claim", "reviewer"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The trail is append-only in the database; here it is read-only too."""

    list_display = ["id", "occurred_at", "action", "object_type", "object_id", "actor", "request"]
    list_filter = ["object_type", "action"]
    search_fields = ["object_id", "reason", "request"]
    list_select_related = ["actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
