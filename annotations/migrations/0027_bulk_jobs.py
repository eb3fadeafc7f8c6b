"""Bulk actions run as a job (annotations.services.bulk): BulkJob."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0026_assignments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BulkJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("action", models.CharField(max_length=30)),
                ("params", models.JSONField(blank=True, default=dict)),
                ("items", models.JSONField(default=list)),
                ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"),
                                                     ("failed", "Failed"), ("expired", "Expired")],
                                            default="queued", max_length=10)),
                ("total", models.PositiveIntegerField(default=0)),
                ("done", models.PositiveIntegerField(default=0)),
                ("applied", models.PositiveIntegerField(default=0)),
                ("failures", models.JSONField(blank=True, default=list)),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("requested_by", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                   to=settings.AUTH_USER_MODEL)),
                ("workspace", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="bulk_jobs",
                                                to="annotations.workspace")),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["workspace", "requested_by", "-created_at"], name="bulk_ws_user_idx")],
                "constraints": [models.CheckConstraint(
                    condition=models.Q(("status__in", ["queued", "running", "done", "failed", "expired"])),
                    name="bulk_status_is_known")],
            },
        ),
    ]
