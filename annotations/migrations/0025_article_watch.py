"""Import by URL and watch (issue 14): what a watched article's page answered last time,
when it is checked next (backing off while the page is unchanged), and an index for the
beat's "which watched articles are due" query."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0024_meaning_guard"),
    ]

    operations = [
        migrations.AddField(model_name="article", name="watch", field=models.BooleanField(default=False)),
        migrations.AddField(model_name="article", name="etag", field=models.CharField(blank=True, max_length=300)),
        migrations.AddField(
            model_name="article", name="last_modified", field=models.CharField(blank=True, max_length=100)
        ),
        migrations.AddField(model_name="article", name="last_checked_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="article", name="next_check_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="article", name="check_interval",
            field=models.PositiveIntegerField(default=0, help_text="Seconds until the next check."),
        ),
        migrations.AddField(
            model_name="article", name="check_failures",
            field=models.PositiveIntegerField(default=0, help_text="Failed checks in a row."),
        ),
        migrations.AddField(model_name="article", name="check_error", field=models.CharField(blank=True, max_length=500)),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(condition=models.Q(("watch", True)), fields=["next_check_at"], name="article_watch_due_idx"),
        ),
    ]
