"""The desk's two database roles.

- The **owner** (`DATABASE_OWNER_URL`) owns the tables and runs migrations.
- The **application role** (`DATABASE_URL`) is what the web processes and the workers
  use. It is neither a superuser nor the owner, so it cannot ALTER a table, disable a
  trigger or TRUNCATE; on the audit table it may only read (events are written by a
  SECURITY DEFINER trigger that runs as the owner).

`migrate` (annotations/management/commands/migrate.py) connects as the owner for the
migration and then calls `grant_app_role`, which gives the application role what it
needs and no more. Without `DATABASE_OWNER_URL` the desk runs with a single role
(fine for a laptop, flagged by the `annotations.W001` system check): the database's
protections then bind nobody who holds the application's password.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

# The connection settings that say who connects where; NAME stays the connection's own
# (a test run's `test_` database keeps its name).
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")

AUDIT_TABLE = "annotations_auditevent"


def owner_credentials() -> dict | None:
    """The owner's USER, PASSWORD, HOST and PORT, or None when the desk runs with one role."""
    owner = getattr(settings, "DATABASE_OWNER", None)
    if not owner:
        return None
    return {key: owner.get(key, "") for key in _CREDENTIALS}


def app_role_name() -> str:
    return settings.DATABASE_APP_ROLE


@contextmanager
def as_owner(connection: BaseDatabaseWrapper):
    """Within the block, `connection` connects as the owner (closing any open session)."""
    owner = owner_credentials()
    current = {key: connection.settings_dict.get(key, "") for key in _CREDENTIALS}
    if owner is None or owner == current:
        yield connection
        return
    connection.close()
    connection.settings_dict.update(owner)
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(current)


def grant_app_role(connection: BaseDatabaseWrapper) -> None:
    """Run as the owner after every migration: the application role may read and write the
    desk's tables and use their sequences, may only read the audit trail, and is the one
    role whose audit context (actor, request, reason) the audit trigger believes."""
    app = app_role_name()
    connection.ensure_connection()
    # A plain psycopg cursor: these statements are composed SQL, and write nothing audited.
    with connection.connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
        cursor.execute(
            sql.SQL("CREATE OR REPLACE FUNCTION public.factcheck_app_role() RETURNS name "
                    "LANGUAGE sql STABLE AS $body$ SELECT {}::name $body$").format(sql.Literal(app))
        )
        # pgtrigger's triggers skip themselves when a session lists them in the
        # `pgtrigger.ignore` setting. The application role may not.
        cursor.execute(IGNORE_FUNCTION_SQL)
        if app == owner:
            return
        role = sql.Identifier(app)
        for statement in (
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {role}",
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
        ):
            cursor.execute(sql.SQL(statement).format(role=role, audit=sql.Identifier(AUDIT_TABLE)))


# Same signature and body as pgtrigger's own (pgtrigger/compiler.py), with one rule first.
# pgtrigger re-creates the function whenever it installs a trigger; `migrate` runs
# `grant_app_role` afterwards, so this version is the one in place.
IGNORE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
    DECLARE
        _pgtrigger_ignore TEXT[];
        _result BOOLEAN;
    BEGIN
        IF session_user = public.factcheck_app_role() THEN
            RETURN FALSE;
        END IF;
        BEGIN
            SELECT INTO _pgtrigger_ignore CURRENT_SETTING('pgtrigger.ignore');
            EXCEPTION WHEN OTHERS THEN
        END;
        IF _pgtrigger_ignore IS NOT NULL THEN
            SELECT trigger_name = ANY(_pgtrigger_ignore) INTO _result;
            RETURN _result;
        ELSE
            RETURN FALSE;
        END IF;
    END;
$$ LANGUAGE plpgsql;
"""


def check_roles(app_configs=None, **kwargs):
    """System check: the application should not connect as the owner of its tables."""
    from django.core.checks import Warning

    owner = owner_credentials()
    if owner is not None and owner["USER"] != app_role_name():
        return []
    return [
        Warning(
            "The application connects to PostgreSQL as the owner of its tables, so it could alter "
            "the audit trail's protections.",
            hint="Set DATABASE_OWNER_URL to the owner's connection and DATABASE_URL to a role that "
            "owns nothing (README, \"Database roles\"); ./desk does this on a local PostgreSQL.",
            id="annotations.W001",
        )
    ]
