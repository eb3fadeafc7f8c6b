"""`migrate`, run as the database owner, then the application role's grants.

Django's own command does the migrating; this one only connects it as the owner named by
`DATABASE_OWNER_URL` (see annotations/dbroles.py) and, once the schema is in place, grants
the application role (`DATABASE_URL`) what it needs on the tables that now exist.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from annotations import dbroles


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Runs as the owner (DATABASE_OWNER_URL), then grants the application role."

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        with dbroles.as_owner(connection):
            super().handle(*args, **options)
            dbroles.grant_app_role(connection)
