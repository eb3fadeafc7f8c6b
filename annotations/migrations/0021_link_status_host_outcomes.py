"""Link checks say why a link is broken: the host name does not resolve ("unresolvable")
or cannot be a host name ("invalid_host"); both flag the claim like a broken link, and
neither is "refused" (an unsafe address) any more."""

from django.db import migrations, models

STATUSES = [
    ('pending', 'Not checked yet'), ('ok', 'Reachable'), ('changed', 'Changed since the last check'),
    ('broken', 'Broken'), ('unresolvable', 'Broken (host not found)'),
    ('invalid_host', 'Broken (invalid host name)'), ('refused', 'Refused (unsafe address)'),
]


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0020_audit_protection'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='source',
            name='source_problem_idx',
        ),
        migrations.AlterField(
            model_name='source',
            name='link_status',
            field=models.CharField(choices=STATUSES, default='pending', max_length=20),
        ),
        migrations.AlterField(
            model_name='sourcecheck',
            name='status',
            field=models.CharField(choices=STATUSES, max_length=20),
        ),
        migrations.AddIndex(
            model_name='source',
            index=models.Index(condition=models.Q(('link_status__in', ['broken', 'unresolvable', 'invalid_host', 'changed', 'refused'])), fields=['claim'], name='source_problem_idx'),
        ),
    ]
