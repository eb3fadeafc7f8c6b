"""Published records keep their four texts in the row, uncompressed.

The export streams one text column of every record in force with COPY
(`publishing.exports`). With Postgres' defaults a record (about 5 kB: four texts and the
snapshot) is over the 2 kB toast target, so the texts were compressed (and decompressed on
every export) or moved out of the row into the TOAST table (one more index probe per
record): the JSON lines and W3C exports ran at 0.67x the speed of COPY of the joined live
rows (bench/export.py, 100k verdicts). Here the snapshot, read one record at a time by the
public pages, is the one moved out of the row, and the texts stay in it while the row fits
in half a page; a longer record still gets its texts compressed, then moved out, as before.
Only rows written from now on are stored this way; records are never rewritten.
"""

from django.db import migrations

TEXTS = ("jsonl", "csv", "claimreview", "w3c")


class Migration(migrations.Migration):
    dependencies = [("annotations", "0015_publication_search")]

    operations = [
        migrations.RunSQL(
            sql="ALTER TABLE annotations_publication ALTER COLUMN snapshot SET STORAGE EXTERNAL, "
            + ", ".join(f"ALTER COLUMN {column} SET STORAGE MAIN" for column in TEXTS)
            + ", SET (toast_tuple_target = 4080)",
            reverse_sql="ALTER TABLE annotations_publication ALTER COLUMN snapshot SET STORAGE EXTENDED, "
            + ", ".join(f"ALTER COLUMN {column} SET STORAGE EXTENDED" for column in TEXTS)
            + ", RESET (toast_tuple_target)",
        ),
    ]
