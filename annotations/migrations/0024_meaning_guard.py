"""The meaning-change guard (anchoring.py): the `changed` and `confirmed` anchor outcomes
(a `changed` move keeps its score, like a fuzzy one), the quote before a `changed` move
for its word diff, and the flag that puts an approved claim whose article changed back
in the reviewer queue, with the partial index the queue reads it by."""

from django.db import migrations, models

STATUSES = ['created', 'exact', 'fuzzy', 'changed', 'orphaned', 'reattached', 'confirmed']


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0023_dashboard_indexes'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='claim',
            name='claim_anchor_status_is_known',
        ),
        migrations.RemoveConstraint(
            model_name='claim',
            name='claim_fuzzy_anchor_has_score',
        ),
        migrations.AddField(
            model_name='claim',
            name='anchor_previous_exact',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='claim',
            name='article_changed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='claim',
            name='anchor_status',
            field=models.CharField(choices=[('created', 'Created on this version'), ('exact', 'Re-anchored exactly'), ('fuzzy', 'Re-anchored fuzzily'), ('changed', 'Moved, but its words changed meaning'), ('orphaned', 'Orphaned'), ('reattached', 'Re-attached by hand'), ('confirmed', 'Confirmed by hand after a change')], default='created', max_length=12),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(('anchor_status__in', STATUSES)), name='claim_anchor_status_is_known'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('anchor_score__gte', 0), ('anchor_score__isnull', False), ('anchor_score__lte', 1), ('anchor_status__in', ['fuzzy', 'changed'])), models.Q(models.Q(('anchor_status__in', ['fuzzy', 'changed']), _negated=True), ('anchor_score__isnull', True)), _connector='OR'), name='claim_fuzzy_anchor_has_score'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('article_changed_at__isnull', False)), fields=['workspace', 'article_changed_at'], name='claim_article_changed_idx'),
        ),
    ]
