
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0016_publication_export_storage'),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE annotations_publication_feed_position_seq",
            reverse_sql="DROP SEQUENCE annotations_publication_feed_position_seq",
        ),
        migrations.AddField(
            model_name='publication',
            name='feed_position',
            field=models.BigIntegerField(editable=False, null=True, unique=True),
        ),
        # Records published before the feed existed get positions in publication order.
        # Records are immutable, so the trigger that guards them steps aside for this once.
        migrations.RunSQL(
            """
            ALTER TABLE annotations_publication DISABLE TRIGGER USER;
            UPDATE annotations_publication p SET feed_position = n.position
              FROM (SELECT id, nextval('annotations_publication_feed_position_seq') AS position
                      FROM (SELECT id FROM annotations_publication ORDER BY id) ordered) n
             WHERE p.id = n.id;
            ALTER TABLE annotations_publication ENABLE TRIGGER USER;
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='publication',
            trigger=pgtrigger.compiler.Trigger(name='publication_feed_position', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    PERFORM pg_advisory_xact_lock(20151001);\n    NEW.feed_position := nextval('annotations_publication_feed_position_seq');\n    RETURN NEW;\n", hash='cd589adf98d53dfdf1426fe53a008d3c96640302', operation='INSERT', pgid='pgtrigger_publication_feed_position_1aac9', table='annotations_publication', when='BEFORE')),
        ),
    ]
