from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from tqdm import tqdm

from annotations import checkpoints
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


class Tap:
    """Passes the chain's rows through, noting the hash of the events at the positions the
    checkpoints ask about, how many events there were and the last one. Columns are found by
    name, so ROWS may select whatever else it needs."""

    def __init__(self, positions: set[int]):
        self.positions = positions
        self.seen: dict[int, str] = {}  # position -> hash
        self.count = 0
        self.head: tuple[int, str] | None = None  # the last event's (id, hash)

    def rows(self, batches, columns):
        for batch in batches:
            id_at, hash_at = columns().index("id"), columns().index("hash")
            for row in batch:
                self.count += 1
                self.head = (row[id_at], row[hash_at])
                if self.count in self.positions:
                    self.seen[self.count] = row[hash_at]
                yield row


class Command(BaseCommand):
    help = (
        "Prove the audit trail intact, or name the first event that was altered, removed or inserted, "
        "and the first signed checkpoint it no longer holds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--checkpoint", action="append", default=[], type=Path, metavar="FILE",
            help="Also check this checkpoint (a copy a partner kept, say); may be given more than once.",
        )

    def handle(self, *args, no_progress, checkpoint, **options):
        # Read before the chain's snapshot is taken: every checkpoint read then describes a
        # chain at most as long as the one walked, unless events were removed since.
        try:
            notes = checkpoints.checkpoints_read(extra=tuple(checkpoint))
            keys = checkpoints.verifiers() if notes else []
        except (OSError, ImproperlyConfigured) as exc:
            raise CommandError(f"The checkpoints could not be read: {exc}") from None
        if notes and not keys:
            raise CommandError(
                "Signed checkpoints were found but there is no key to check them with: set AUDIT_VERIFIER_KEYS "
                "to the verifier key shown at /v/audit/key/ (or configure AUDIT_SIGNING_KEY)."
            )
        signed: list[checkpoints.Signed] = []
        for where, note in notes:
            try:
                signed.append(checkpoints.Signed(checkpoint=checkpoints.checkpoint_open(note, keys),
                                                 note=note, source=where))
            except checkpoints.CheckpointError as exc:
                raise CommandError(f"The checkpoint {where} cannot be trusted: {exc}") from None
        tap = Tap({s.checkpoint.size for s in signed})

        total = AuditEvent.objects.count()
        with transaction.atomic(), connection.cursor() as cursor:
            # A named (server-side) cursor streams the rows: memory stays flat.
            cursor.execute("DECLARE audit_rows NO SCROLL CURSOR FOR " + ROWS)

            def batches():
                while True:
                    cursor.execute("FETCH 5000 FROM audit_rows")
                    batch = cursor.fetchall()
                    if not batch:
                        return
                    yield batch

            def columns():
                return [column.name for column in cursor.description]

            bar = tqdm(tap.rows(batches(), columns), total=total, unit="event", disable=no_progress,
                       file=self.stderr._out, leave=False)
            problem = first_break(bar)
            bar.close()
        if problem:
            raise CommandError(problem)

        signed.sort(key=lambda s: s.checkpoint.size)
        broken = [
            sentence for s in signed
            if (sentence := checkpoints.prefix_problem(
                s.checkpoint, size=tap.count, hash_at_size=tap.seen.get(s.checkpoint.size), where=s.source,
            ))
        ]
        if broken:
            more = f" {len(broken)} of the {len(signed)} checkpoints no longer hold." if len(broken) > 1 else ""
            raise CommandError(broken[0] + more)

        if tap.head is None:
            self.stdout.write("The audit trail is empty.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"The audit trail is intact: {tap.count} events, chain head #{tap.head[0]} {tap.head[1]}."
        ))
        if not signed:
            self.stdout.write(
                "No signed checkpoint yet: `manage.py audit_checkpoint` signs one (beat does every 10 minutes)."
            )
            return
        latest = signed[-1]
        self.stdout.write(
            f"It holds all {len(signed)} signed checkpoint{'s' if len(signed) != 1 else ''}; "
            f"the latest ({latest.source}):\n{latest.note}"
        )
