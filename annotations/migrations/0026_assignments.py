"""Assignments (issue 15): Assignment, AssignmentDigest, Workspace.assignment_grace_hours.

The new table is audited by the same trigger as the others (0005/0020). factcheck_audit is
0020's function with one change: an assignment's event carries its claim_id, so a claim's
assignments are on the claim's timeline.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

AUDIT_0020 = importlib.import_module("annotations.migrations.0020_audit_protection").AUDIT_SQL
_CLAIM_0020 = "                       WHEN 'review' THEN (one_row->>'claim_id')::bigint END;"
if AUDIT_0020.count(_CLAIM_0020) != 1:
    raise RuntimeError("0020's factcheck_audit changed: update 0026's claim derivation.")
AUDIT_SQL = AUDIT_0020.replace(
    _CLAIM_0020,
    "                       WHEN 'review' THEN (one_row->>'claim_id')::bigint\n"
    "                       WHEN 'assignment' THEN (one_row->>'claim_id')::bigint END;",
)

TRIGGER_SQL = """
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON annotations_assignment
    FOR EACH ROW EXECUTE FUNCTION factcheck_audit();
"""
REVERSE_TRIGGER_SQL = "DROP TRIGGER IF EXISTS audit ON annotations_assignment;"


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0025_article_watch"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="workspace",
            name="assignment_grace_hours",
            field=models.PositiveIntegerField(default=24),
        ),
        migrations.CreateModel(
            name="Assignment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("article", "Article"), ("claim", "Claim")], max_length=10)),
                ("due_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.TextField(blank=True)),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("article", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                              related_name="assignments", to="annotations.article")),
                ("assigned_by", models.ForeignKey(blank=True, null=True,
                                                  on_delete=django.db.models.deletion.SET_NULL,
                                                  related_name="+", to=settings.AUTH_USER_MODEL)),
                ("assignee", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                               related_name="assignments", to=settings.AUTH_USER_MODEL)),
                ("claim", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="assignments", to="annotations.claim")),
                ("workspace", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                related_name="assignments", to="annotations.workspace")),
            ],
            options={
                "ordering": ["due_at", "id"],
                "indexes": [
                    models.Index(condition=models.Q(("done_at__isnull", True)), fields=["assignee", "due_at"],
                                 name="assignment_open_assignee_idx"),
                    models.Index(condition=models.Q(("done_at__isnull", True)), fields=["workspace", "due_at"],
                                 name="assignment_open_due_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("kind__in", ["article", "claim"])),
                                           name="assignment_kind_is_known"),
                    models.CheckConstraint(
                        condition=models.Q(models.Q(("claim__isnull", False), ("kind", "claim")),
                                           models.Q(("claim__isnull", True), ("kind", "article")),
                                           _connector="OR"),
                        name="assignment_kind_matches_target"),
                    models.UniqueConstraint(condition=models.Q(("done_at__isnull", True), ("kind", "claim")),
                                            fields=("claim",), name="assignment_one_open_per_claim"),
                    models.UniqueConstraint(condition=models.Q(("done_at__isnull", True), ("kind", "article")),
                                            fields=("article", "assignee"),
                                            name="assignment_one_open_per_article_assignee"),
                ],
            },
        ),
        migrations.CreateModel(
            name="AssignmentDigest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("sent_at", models.DateTimeField(auto_now_add=True)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                           to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("user", "day"), name="assignment_digest_once_a_day")],
            },
        ),
        migrations.RunSQL(AUDIT_SQL + TRIGGER_SQL, reverse_sql=REVERSE_TRIGGER_SQL + AUDIT_0020),
    ]
