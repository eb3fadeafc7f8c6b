"""Claim matching: a per-desk threshold, "Reuse this verdict" links, and the indexes the
matcher fetches its candidates from (full text of restatement + quote) instead of scanning
the desk's claims."""

import django.db.models.deletion
from django.db import migrations, models

MATCH_DOCUMENT = "to_tsvector('english'::regconfig, claim_reviewed::text || ' ' || exact)"


class Migration(migrations.Migration):
    dependencies = [("annotations", "0027_bulk_jobs")]

    operations = [
        migrations.AddField(
            model_name="workspace",
            name="match_threshold",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="claim",
            name="reused_from",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                related_name="reused_by", to="annotations.claim",
            ),
        ),
        migrations.RunSQL(
            f"CREATE INDEX claim_match_document_idx ON annotations_claim USING gin (({MATCH_DOCUMENT}))",
            "DROP INDEX claim_match_document_idx",
        ),
    ]
