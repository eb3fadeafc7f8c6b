from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from tqdm import tqdm

from annotations.models import AuditEvent

# The hash is recomputed by the same SQL function the trigger used to write it.
ROWS = """
    SELECT id, prev_hash, hash,
           factcheck_audit_hash(prev_hash, id, occurred_at, object_type, object_id, action,
                                actor_id, request, reason, before, after, db_role)
      FROM annotations_auditevent ORDER BY id
"""


def first_break(rows) -> str | None:
    """The first place the chain is broken, as a sentence; None if it is whole.

    Each event stores the hash of the one before it. A removed event leaves the next
    one pointing at a hash nobody has; an inserted event is skipped over by the one
    after it, which still points at the event before the intruder.
    """
    before_previous: tuple[int, str] | None = None  # (id, hash)
    previous: tuple[int, str] | None = None
    for event_id, prev_hash, stored, recomputed in rows:
        expected_prev = previous[1] if previous else ""
        if prev_hash != expected_prev:
            if previous is None:
                return f"The first event, {event_id}, points at an earlier event: events before it were removed."
            if before_previous is not None and prev_hash == before_previous[1]:
                return (
                    f"Event {previous[0]} was inserted: "
                    f"event {event_id} follows event {before_previous[0]} in the chain."
                )
            return (
                f"The chain breaks between event {previous[0]} and event {event_id}: an event between "
                f"them was removed, or event {previous[0]} was altered and re-hashed."
            )
        if stored != recomputed:
            return f"Event {event_id} was altered: its content no longer matches its hash."
        before_previous, previous = previous, (event_id, stored)
    return None


class Command(BaseCommand):
    help = "Prove the audit trail intact, or name the first event that was altered, removed or inserted."

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, no_progress, **options):
        total = AuditEvent.objects.count()
        with transaction.atomic(), connection.cursor() as cursor:
            # A named (server-side) cursor streams the rows: memory stays flat.
            cursor.execute("DECLARE audit_rows NO SCROLL CURSOR FOR " + ROWS)

            def rows():
                while True:
                    cursor.execute("FETCH 5000 FROM audit_rows")
                    batch = cursor.fetchall()
                    if not batch:
                        return
                    yield from batch

            bar = tqdm(rows(), total=total, unit="event", disable=no_progress, file=self.stderr._out, leave=False)
            problem = first_break(bar)
            bar.close()
        if problem:
            raise CommandError(problem)
        head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        if head is None:
            self.stdout.write("The audit trail is empty.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"The audit trail is intact: {total} events, chain head #{head[0]} {head[1]}. "
            "Keep the head hash somewhere else to detect a rewrite of the whole chain."
        ))
