"""Database-side rules that span tables: the audit trigger with its hash chain, the
workflow's allowed state changes, and four eyes on reviews.

The state-change and four-eyes triggers are replaced by the models' own pgtrigger
declarations in 0011; this migration keeps the SQL it ran, as it ran it."""

from django.db import migrations

AUDITED = [
    "workspace", "membership", "ratingscale", "ratinglabel", "article", "articleversion",
    "claim", "source", "review",
]

AUDIT_SQL = r"""
CREATE OR REPLACE FUNCTION factcheck_audit_hash(
    prev text, id bigint, occurred_at timestamptz, object_type text, object_id text,
    action text, actor_id bigint, request text, reason text, before jsonb, after jsonb
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\x1f',
        coalesce(prev, ''), id::text,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        object_type, object_id, action, coalesce(actor_id::text, ''),
        coalesce(request, ''), coalesce(reason, ''),
        coalesce(before::text, ''), coalesce(after::text, '')), 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION factcheck_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ctx jsonb := coalesce(nullif(current_setting('factcheck.audit', true), ''), '{}')::jsonb;
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
    request text := coalesce(ctx->>'request', 'sql: ' || session_user || coalesce(' (' || nullif(current_setting('application_name', true), '') || ')', ''));
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

    -- One writer at a time extends the chain; held until this transaction ends.
    PERFORM pg_advisory_xact_lock(20151001);
    SELECT e.hash INTO prev FROM annotations_auditevent e ORDER BY e.id DESC LIMIT 1;
    event_id := nextval(pg_get_serial_sequence('annotations_auditevent', 'id'));
    at := clock_timestamp();
    INSERT INTO annotations_auditevent (
        id, occurred_at, object_type, object_id, action, workspace_id, claim_id, actor_id,
        request, reason, before, after, prev_hash, hash)
    VALUES (
        event_id, at, kind, one_row->>'id', kind || '.' || verb, ws, claim, actor,
        left(request, 300), reason, old_row, new_row, coalesce(prev, ''),
        factcheck_audit_hash(coalesce(prev, ''), event_id, at, kind, one_row->>'id',
                             kind || '.' || verb, actor, left(request, 300), reason, old_row, new_row));
    RETURN NULL;
END $$;
""" + "".join(
    f"""
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON annotations_{table}
    FOR EACH ROW EXECUTE FUNCTION factcheck_audit();"""
    for table in AUDITED
)

FOUR_EYES_SQL = r"""
CREATE OR REPLACE FUNCTION factcheck_review_four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.decision <> 'reopen' AND EXISTS (
        SELECT 1 FROM annotations_claim c
         WHERE c.id = NEW.claim_id
           AND (c.created_by_id = NEW.reviewer_id OR c.last_edited_by_id = NEW.reviewer_id)) THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'review_four_eyes',
            MESSAGE = 'Nobody reviews a claim they wrote or last edited.';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER review_four_eyes BEFORE INSERT ON annotations_review
    FOR EACH ROW EXECUTE FUNCTION factcheck_review_four_eyes();
"""

# What the workflow table generated when this migration was written. Frozen here: a
# migration that read the live table would change meaning whenever the table changed.
STATE_CHANGE_SQL = r"""
CREATE OR REPLACE FUNCTION factcheck_claim_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IS DISTINCT FROM NEW.state
       AND (OLD.state, NEW.state) NOT IN (('approved', 'changes_requested'), ('changes_requested', 'submitted'), ('draft', 'submitted'), ('in_review', 'approved'), ('in_review', 'changes_requested'), ('in_review', 'rejected'), ('in_review', 'submitted'), ('submitted', 'in_review')) THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'claim_state_change_allowed',
            MESSAGE = format('A claim cannot go from %s to %s.', OLD.state, NEW.state);
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS claim_state_change_allowed ON annotations_claim;
CREATE TRIGGER claim_state_change_allowed BEFORE UPDATE OF state ON annotations_claim
    FOR EACH ROW EXECUTE FUNCTION factcheck_claim_state_change();
"""

REVERSE_SQL = "".join(f"DROP TRIGGER IF EXISTS audit ON annotations_{t};" for t in AUDITED) + """
DROP TRIGGER IF EXISTS review_four_eyes ON annotations_review;
DROP TRIGGER IF EXISTS claim_state_change_allowed ON annotations_claim;
DROP FUNCTION IF EXISTS factcheck_audit();
DROP FUNCTION IF EXISTS factcheck_audit_hash(text, bigint, timestamptz, text, text, text, bigint, text, text, jsonb, jsonb);
DROP FUNCTION IF EXISTS factcheck_review_four_eyes();
DROP FUNCTION IF EXISTS factcheck_claim_state_change();
"""


class Migration(migrations.Migration):
    dependencies = [("annotations", "0004_review_queue_and_audit")]

    operations = [
        migrations.RunSQL(AUDIT_SQL + FOUR_EYES_SQL + STATE_CHANGE_SQL, REVERSE_SQL),
    ]
