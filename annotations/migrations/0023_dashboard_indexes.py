"""Indexes the dashboard reads at 100,000 claims (bench/dashboard.py): the queue index
carries the claim's state and hold so the queue's counts read it alone, the verdicts of
the last weeks with their times, the reviews of the last 30 days, and sources with their
link status by claim."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0022_time_zones'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='claim',
            name='claim_queue_idx',
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('state__in', ['submitted', 'in_review'])), fields=['workspace', 'submitted_at', 'id'], include=('state', 'held_until'), name='claim_queue_idx'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('state', 'approved')), fields=['workspace', 'first_approved_at'], include=('rating', 'created_at', 'submitted_at', 'last_approved_at'), name='claim_verdict_week_idx'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(fields=['created_at'], include=('claim', 'reviewer', 'decision'), name='review_created_idx'),
        ),
        migrations.AddIndex(
            model_name='source',
            index=models.Index(fields=['claim', 'link_status'], name='source_claim_status_idx'),
        ),
    ]
