"""Signed checkpoints of the audit trail: the format, byte for byte as c2sp.org specifies it,
and what `verify_audit` says after each way a superuser could rewrite history."""

import base64
import hashlib
import io

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from annotations import checkpoints
from annotations.checkpoints import Checkpoint, CheckpointError, Signer, Verifier
from annotations.models import AuditEvent, Workspace
from tests.conftest import connect_as, expect_queries

SEED = bytes(range(32))
HEAD_HASH = hashlib.sha256(b"the newest event").hexdigest()


# --- The format ------------------------------------------------------------------------------


def test_a_checkpoint_is_the_signed_note_the_specs_describe_byte_for_byte():
    # Everything expected is computed here from the specs, with hashlib and cryptography.
    name = "factcheck.example.org/audit"
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + public).digest()[:4]
    text = name + "\n" + "1234\n" + base64.b64encode(bytes.fromhex(HEAD_HASH)).decode() + "\n"
    signature = base64.b64encode(key_id + private.sign(text.encode())).decode()
    expected = text + "\n" + "\u2014 " + name + " " + signature + "\n"
    typed_public, typed_seed = (base64.b64encode(b"\x01" + key).decode() for key in (public, SEED))

    signer = Signer(name=name, seed=SEED)
    note = checkpoints.checkpoint_sign(Checkpoint(origin=name, size=1234, hash=HEAD_HASH), signer)
    assert note == expected
    assert signer.verifier.vkey == f"{name}+{key_id.hex()}+{typed_public}"
    assert signer.skey == f"PRIVATE+KEY+{name}+{key_id.hex()}+{typed_seed}"
    # ...and back: the keys' text forms and the note read as they were written.
    assert Signer.from_skey(signer.skey) == signer
    verifier = Verifier.from_vkey(signer.verifier.vkey)
    assert checkpoints.checkpoint_open(note, [verifier]) == Checkpoint(origin=name, size=1234, hash=HEAD_HASH)


def test_the_go_note_package_example_signs_and_verifies_byte_for_byte():
    """The example of golang.org/x/mod/sumdb/note's documentation, the reference implementation."""
    signer = Signer.from_skey("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
    assert signer.verifier.vkey == "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    signature = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
    note = text + "\n\u2014 PeterNeumann " + signature + "\n"
    assert checkpoints.note_sign(text, signer) == note
    assert checkpoints.note_open(note, [signer.verifier]) == (text, [signer.verifier])


def test_a_changed_byte_or_another_key_does_not_verify():
    signer = Signer(name="factcheck.example.org/audit", seed=SEED)
    note = checkpoints.checkpoint_sign(Checkpoint(origin=signer.name, size=1234, hash=HEAD_HASH), signer)
    keys = [signer.verifier]
    for forged in (note.replace("\n1234\n", "\n1233\n"), note.replace("=\n\n", "=\nextra\n\n"),
                   note[:-6] + ("A" if note[-6] != "A" else "B") + note[-5:]):
        with pytest.raises(CheckpointError, match="does not verify: the note was changed after it was signed"):
            checkpoints.checkpoint_open(forged, keys)
    # Another key of the same name is an unknown key: its signature is no signature at all.
    stranger = Signer.generate(signer.name)
    with pytest.raises(CheckpointError, match="not signed by a known key"):
        checkpoints.checkpoint_open(note, [stranger.verifier])
    with pytest.raises(CheckpointError, match="no signature"):
        checkpoints.checkpoint_open(note.split("\n\n")[0] + "\n", keys)
    with pytest.raises(CheckpointError, match="does not belong to this name and key"):
        Verifier.from_vkey(signer.verifier.vkey.replace("+", "x+", 1))


# --- Signing the trail's head, and verify_audit ----------------------------------------------


@pytest.fixture
def folder(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    return settings.AUDIT_CHECKPOINT_DIR


def change(workspace: Workspace, times: int) -> None:
    """Events on the trail: one per rename (the audit trigger records queryset updates too)."""
    for i in range(times):
        Workspace.objects.filter(pk=workspace.pk).update(name=f"{workspace.name} ({i})")


def sign() -> Checkpoint:
    outcome = checkpoints.checkpoint_sign_head()
    assert outcome.written and outcome.signed, outcome.message
    return outcome.signed.checkpoint


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit", "--no-progress", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def two_checkpoints(desk, folder):
    """A checkpoint, three more events, a second checkpoint, two more events."""
    first = sign()
    change(desk, 3)
    second = sign()
    change(desk, 2)
    return first, second


def superuser(*statements: str) -> None:
    """What someone holding the database's superuser password can do: past every trigger."""
    with connect_as(admin=True) as conn:
        conn.execute("ALTER TABLE annotations_auditevent DISABLE TRIGGER USER")
        for statement in statements:
            conn.execute(statement)
        conn.execute("ALTER TABLE annotations_auditevent ENABLE TRIGGER USER")


@pytest.mark.django_db
def test_an_untouched_trail_is_intact_and_the_latest_checkpoint_is_printed(two_checkpoints, folder):
    first, second = two_checkpoints
    assert sorted(p.name for p in folder.iterdir()) == [first.file_name, second.file_name, "latest.txt"]
    assert second.size == first.size + 3 and second.hash == AuditEvent.objects.order_by("id")[second.size - 1].hash
    out = verify()
    assert f"The audit trail is intact: {second.size + 2} events" in out
    assert "It holds all 2 signed checkpoints" in out
    assert out.endswith((folder / second.file_name).read_text())
    assert second.text in out


@pytest.mark.django_db
def test_nothing_new_is_signed_while_the_head_has_not_moved(desk, folder):
    first = sign()
    again = checkpoints.checkpoint_sign_head()
    assert not again.written and again.signed and again.signed.checkpoint == first
    assert again.message == f"The audit trail has not moved since the checkpoint of {first.size} events."
    assert len(list(folder.iterdir())) == 2


@pytest.mark.django_db(transaction=True)
def test_a_truncated_trail_is_reported_with_the_first_checkpoint_it_breaks(two_checkpoints):
    first, _ = two_checkpoints
    superuser("TRUNCATE annotations_auditevent")
    with pytest.raises(CommandError) as raised:
        verify()
    assert str(raised.value) == (
        f"The audit trail no longer holds the checkpoint of {first.size} events "
        f"({settings.AUDIT_CHECKPOINT_DIR}/{first.file_name}): {first.size} events were signed, "
        "it is empty now: the table was truncated or emptied. 2 of the 2 checkpoints no longer hold."
    )


@pytest.mark.django_db(transaction=True)
def test_removing_the_newest_events_is_reported_with_the_checkpoint_it_breaks(two_checkpoints):
    _, second = two_checkpoints
    # The chain that is left is whole, so only the checkpoint shows what was cut off.
    kept = AuditEvent.objects.order_by("id")[second.size - 2]
    superuser(f"DELETE FROM annotations_auditevent WHERE id > {kept.pk}")
    with pytest.raises(CommandError, match=(
        rf"^The audit trail no longer holds the checkpoint of {second.size} events \(.*/{second.file_name}\): "
        rf"{second.size} events were signed, it has {second.size - 1} now: its newest events were removed\.$"
    )):
        verify()


@pytest.mark.django_db(transaction=True)
def test_a_whole_chain_rewritten_by_a_superuser_is_reported_with_the_first_checkpoint_it_breaks(two_checkpoints):
    first, _ = two_checkpoints
    second_event = AuditEvent.objects.order_by("id")[1]
    # Every event deleted and written again, the second one changed, and every hash
    # recomputed with the trigger's own function: a chain that is whole, and false.
    superuser(
        "CREATE TEMPORARY TABLE saved AS SELECT * FROM annotations_auditevent",
        "DELETE FROM annotations_auditevent",
        f"UPDATE saved SET reason = 'Nothing happened here.' WHERE id = {second_event.pk}",
        "INSERT INTO annotations_auditevent SELECT * FROM saved",
        """DO $$
           DECLARE event record; previous text := '';
           BEGIN
               FOR event IN SELECT id FROM annotations_auditevent ORDER BY id LOOP
                   UPDATE annotations_auditevent SET prev_hash = previous WHERE id = event.id;
                   UPDATE annotations_auditevent
                      SET hash = factcheck_audit_hash(prev_hash, id, occurred_at, object_type, object_id, action,
                                                      actor_id, request, reason, before, after, db_role)
                    WHERE id = event.id RETURNING hash INTO previous;
               END LOOP;
           END $$""",
    )
    assert AuditEvent.objects.get(pk=second_event.pk).reason == "Nothing happened here."
    with pytest.raises(CommandError) as raised:
        verify()
    assert str(raised.value).startswith(
        f"The audit trail no longer matches the checkpoint of {first.size} events "
        f"({settings.AUDIT_CHECKPOINT_DIR}/{first.file_name}): event number {first.size} has the hash "
        f"{AuditEvent.objects.order_by('id')[first.size - 1].hash}, the checkpoint signed {first.hash}: "
        "the chain was rewritten up to there."
    )
    # Nor does the desk sign the rewritten chain.
    with pytest.raises(CheckpointError, match="No new checkpoint was signed"):
        checkpoints.checkpoint_sign_head()


@pytest.mark.django_db
def test_a_checkpoint_changed_on_disk_or_a_partners_copy_is_checked_too(two_checkpoints, folder, tmp_path):
    first, second = two_checkpoints
    kept_by_partner = tmp_path / "partner-copy.txt"
    kept_by_partner.write_text((folder / second.file_name).read_text())
    assert "It holds all 2 signed checkpoints" in verify("--checkpoint", str(kept_by_partner))

    forged = folder / first.file_name
    forged.write_text(forged.read_text().replace(f"\n{first.size}\n", f"\n{first.size - 1}\n"))
    with pytest.raises(CommandError, match=f"The checkpoint .*/{first.file_name} cannot be trusted: The signature"):
        verify()


@pytest.mark.django_db
def test_production_refuses_to_sign_without_a_key_and_development_makes_one_once(desk, folder, settings, tmp_path):
    settings.AUDIT_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="No audit signing key is configured, so no checkpoint was signed"):
        call_command("audit_checkpoint", stdout=io.StringIO())
    assert not folder.exists()

    settings.DEBUG, settings.VAR_DIR = True, tmp_path / "var"
    call_command("audit_checkpoint", stdout=io.StringIO())
    key_file = tmp_path / "var" / "audit_signing_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert checkpoints.signer().skey == key_file.read_text().strip()
    assert (checkpoints.latest_note(fresh=True) or "").startswith(f"{settings.AUDIT_CHECKPOINT_ORIGIN}\n")


def test_generate_key_prints_a_key_pair_that_works():
    out = io.StringIO()
    call_command("audit_checkpoint", "--generate-key", "--name", "desk.example/audit", stdout=out)
    skey, vkey = (line for line in out.getvalue().splitlines() if line.startswith(("PRIVATE+KEY+", "desk.example")))
    note = checkpoints.note_sign("hello\n", Signer.from_skey(skey))
    assert checkpoints.note_open(note, [Verifier.from_vkey(vkey)])[0] == "hello\n"


# --- Where partners and the public find them ---------------------------------------------------


@pytest.mark.django_db
def test_the_key_page_is_public_and_shows_the_key_and_the_latest_checkpoint(desk, folder):
    latest = sign()
    note = (folder / "latest.txt").read_text()
    client = Client()
    with expect_queries():  # files and settings only
        page = client.get("/v/audit/key/")
    assert page.status_code == 200
    html = page.content.decode()
    assert checkpoints.signer().verifier.vkey in html and settings.AUDIT_CHECKPOINT_ORIGIN in html
    assert f"Signed for <strong>{latest.size}</strong> events" in html and latest.hash in html
    raw = client.get("/v/audit/checkpoint")
    assert raw["Content-Type"] == "text/plain; charset=utf-8" and raw.content.decode() == note
    # Nothing is signed or written over HTTP.
    assert client.post("/v/audit/key/").status_code == 405
    assert client.post("/v/audit/checkpoint").status_code == 405


@pytest.mark.django_db
def test_every_feed_page_carries_the_latest_checkpoint(desk, crew, folder):
    from annotations.publishing.partners import partner_create, partner_key_create

    partner = partner_create(workspace=desk, actor=crew["admin"], name="Wire Service",
                             contact_email="desk@wire.example", throttle_rate="10000/min")
    key = partner_key_create(partner=partner, actor=crew["admin"]).key
    feed = Client().get("/api/v1/feed/", HTTP_AUTHORIZATION=f"Partner {key}").json()
    assert feed["audit_checkpoint"] is None
    latest = sign()
    feed = Client().get("/api/v1/feed/", HTTP_AUTHORIZATION=f"Partner {key}").json()
    assert checkpoints.checkpoint_open(feed["audit_checkpoint"], [checkpoints.signer().verifier]) == latest


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_signs_the_head_in_a_real_worker(celery_worker, desk):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == checkpoints.sign_checkpoint.name and entry["schedule"] == 600
    folder = settings.AUDIT_CHECKPOINT_DIR  # the worker's too: it has the tests' environment
    assert not list(folder.glob("*.txt"))
    try:
        message = checkpoints.sign_checkpoint.delay().get(timeout=30)
        size = AuditEvent.objects.count()
        assert message == f"Signed the checkpoint of {size} events into {folder}."
        checkpoint = checkpoints.checkpoint_open((folder / f"{size:012d}.txt").read_text(), checkpoints.verifiers())
        assert checkpoint.hash == AuditEvent.objects.latest("id").hash
    finally:  # the next test's trail is a new one: leave no checkpoint of this one behind
        for path in folder.glob("*.txt"):
            path.unlink()
