"""The audit trail's protections, in the database where no session setting lifts them.

Append-only and no-TRUNCATE as plain triggers; events written as the owner (the
application role only reads the table); the writer's database role recorded and hashed,
and only the application role's audit context believed. See annotations/dbroles.py.
"""

import importlib

import pgtrigger.migrations
from django.db import migrations, models

AUDIT_0005 = importlib.import_module("annotations.migrations.0005_audit_triggers").AUDIT_SQL

# The hash of 0005 with the writing role appended. An event written before this migration
# has an empty db_role and hashes exactly as it did (concat_ws skips the NULL).
HASH_SQL = r"""
CREATE OR REPLACE FUNCTION factcheck_audit_hash(
    prev text, id bigint, occurred_at timestamptz, object_type text, object_id text,
    action text, actor_id bigint, request text, reason text, before jsonb, after jsonb, db_role text
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\x1f',
        coalesce(prev, ''), id::text,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        object_type, object_id, action, coalesce(actor_id::text, ''),
        coalesce(request, ''), coalesce(reason, ''),
        coalesce(before::text, ''), coalesce(after::text, ''), nullif(db_role, '')), 'UTF8')), 'hex')
$$;
"""

# Replaced with the application role's name by `migrate` (annotations/dbroles.py).
APP_ROLE_SQL = """
CREATE OR REPLACE FUNCTION public.factcheck_app_role() RETURNS name LANGUAGE sql STABLE AS $$ SELECT NULL::name $$;
"""

# As 0005, except:
# - SECURITY DEFINER: it writes as the owner, so the application role needs (and has) no
#   INSERT on the audit table; search_path is pinned so no temporary table can stand in.
# - The session's audit context (actor, request, reason, transition) is believed only from
#   the application role. Any other role's writes name that role ("sql: <role>").
# - Every event records session_user, the role that wrote it, and hashes it.
AUDIT_SQL = r"""
CREATE OR REPLACE FUNCTION factcheck_audit() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    trusted boolean := session_user = public.factcheck_app_role();
    ctx jsonb := CASE WHEN trusted
        THEN coalesce(nullif(current_setting('factcheck.audit', true), ''), '{}')::jsonb
        ELSE '{}'::jsonb END;
    old_row jsonb;
    new_row jsonb;
    one_row jsonb;
    kind text := substr(TG_TABLE_NAME, length('annotations_') + 1);
    verb text;
    event_id bigint;
    at timestamptz;
    prev text;
    ws bigint;
    claim bigint;
    actor bigint := (ctx->>'actor_id')::bigint;
    reason text := coalesce(ctx->>'reason', '');
    request text := left(coalesce(ctx->>'request', 'sql: ' || session_user), 300);
    role text := session_user;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN new_row := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN RETURN NULL; END IF;
    one_row := coalesce(new_row, old_row);
    verb := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END;
    IF kind = 'claim' AND TG_OP = 'UPDATE' AND old_row->>'state' IS DISTINCT FROM new_row->>'state' THEN
        verb := coalesce(ctx->>'transition', new_row->>'state');
    END IF;
    ws := CASE kind
        WHEN 'workspace' THEN (one_row->>'id')::bigint
        WHEN 'ratinglabel' THEN (SELECT s.workspace_id FROM annotations_ratingscale s WHERE s.id = (one_row->>'scale_id')::bigint)
        WHEN 'articleversion' THEN (SELECT a.workspace_id FROM annotations_article a WHERE a.id = (one_row->>'article_id')::bigint)
        WHEN 'source' THEN (SELECT c.workspace_id FROM annotations_claim c WHERE c.id = (one_row->>'claim_id')::bigint)
        WHEN 'review' THEN (SELECT c.workspace_id FROM annotations_claim c WHERE c.id = (one_row->>'claim_id')::bigint)
        ELSE (one_row->>'workspace_id')::bigint
    END;
    claim := CASE kind WHEN 'claim' THEN (one_row->>'id')::bigint
                       WHEN 'source' THEN (one_row->>'claim_id')::bigint
                       WHEN 'review' THEN (one_row->>'claim_id')::bigint END;

    -- One writer at a time extends the chain; held until this transaction ends. The
    -- partner feed's positions are drawn under the same lock (migration 0017).
    PERFORM pg_advisory_xact_lock(20151001);
    SELECT e.hash INTO prev FROM annotations_auditevent e ORDER BY e.id DESC LIMIT 1;
    event_id := nextval(pg_get_serial_sequence('annotations_auditevent', 'id'));
    at := clock_timestamp();
    INSERT INTO annotations_auditevent (
        id, occurred_at, object_type, object_id, action, workspace_id, claim_id, actor_id,
        request, reason, db_role, before, after, prev_hash, hash)
    VALUES (
        event_id, at, kind, one_row->>'id', kind || '.' || verb, ws, claim, actor,
        request, reason, role, old_row, new_row, coalesce(prev, ''),
        factcheck_audit_hash(coalesce(prev, ''), event_id, at, kind, one_row->>'id',
                             kind || '.' || verb, actor, request, reason, old_row, new_row, role));
    RETURN NULL;
END $$;
"""

# Plain triggers: unlike a pgtrigger.Protect, nothing a session sets switches them off.
# Only the table's owner (ALTER TABLE ... DISABLE TRIGGER) or a superuser can get past
# them, and the signed checkpoints (annotations/checkpoints.py) show what they did.
PROTECT_SQL = r"""
CREATE OR REPLACE FUNCTION factcheck_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '42501', CONSTRAINT = 'audit_is_append_only',
        MESSAGE = format('The audit trail is append-only: %s on %s is refused.', TG_OP, TG_TABLE_NAME);
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON annotations_auditevent
    FOR EACH ROW EXECUTE FUNCTION factcheck_audit_refuse();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON annotations_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION factcheck_audit_refuse();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS audit_append_only ON annotations_auditevent;
DROP TRIGGER IF EXISTS audit_no_truncate ON annotations_auditevent;
DROP FUNCTION IF EXISTS factcheck_audit_refuse();
""" + AUDIT_0005.split("\nCREATE TRIGGER", 1)[0] + """
DROP FUNCTION IF EXISTS factcheck_audit_hash(text, bigint, timestamptz, text, text, text, bigint, text, text, jsonb, jsonb, text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0019_webhooks'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='auditevent',
            name='audit_is_append_only',
        ),
        migrations.AddField(
            model_name='auditevent',
            name='db_role',
            field=models.CharField(blank=True, db_default='', default='', max_length=63),
        ),
        migrations.RunSQL(HASH_SQL + APP_ROLE_SQL + AUDIT_SQL + PROTECT_SQL, REVERSE_SQL),
    ]
