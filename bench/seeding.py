"""What the benches share: a throwaway database to seed, and seed INSERTs that survive
columns added after they were written. Imported by the bench scripts as `seeding` (a
script's own folder is first on sys.path)."""

import sys
from collections.abc import Callable


def in_throwaway_database(name: str, run: Callable[[], None]) -> None:
    """Create the test database `name` (migrated), call `run`, then drop the database."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = name
    print("creating a throwaway database ...", file=sys.stderr)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run()
    finally:
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)


def fill_new_columns(sql: str) -> str:
    """The seed INSERT, plus an empty value for any NOT NULL text column without a default
    that it does not name (columns added after the bench was written)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""SELECT column_name FROM information_schema.columns
                           WHERE table_name = 'annotations_claim' AND is_nullable = 'NO' AND column_default IS NULL
                             AND data_type IN ('text', 'character varying')""")
        named = sql.split("SELECT", 1)[0]
        extra = [name for (name,) in cursor.fetchall() if name not in named]
    if not extra:
        return sql
    columns, rest = sql.split(")\nSELECT ", 1)
    values, tail = rest.split("\n  FROM generate_series", 1)
    return (f"{columns}, {', '.join(extra)})\nSELECT {values}, {', '.join(repr('') for _ in extra)}"
            f"\n  FROM generate_series{tail}")
