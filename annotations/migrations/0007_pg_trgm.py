from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotations", "0006_api_tokens_exports")]
    operations = [TrigramExtension()]
