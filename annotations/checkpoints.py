"""Signed checkpoints of the audit trail: what lets a rewrite of the whole chain show.

The hash chain of annotations_auditevent proves each event follows the one before it, but
whoever can write the table can also write a new, consistent chain, or cut its end off. So
every ten minutes (the beat task below, or `manage.py audit_checkpoint`) the desk signs the
chain's head and writes the signature outside the database: files named by size in
AUDIT_CHECKPOINT_DIR (or the export storage), the partner feed (`audit_checkpoint` of
every page), and the public page /v/audit/key/. `verify_audit` then checks each checkpoint
it can read against the current chain.

A checkpoint is a transparency-log checkpoint (https://c2sp.org/tlog-checkpoint), which is
a signed note (https://c2sp.org/signed-note)::

    factcheck.example.org/audit                    the origin
    1234                                           the size: how many audit events
    m0G4c8Q2...=                                   base64 of the newest event's hash
                                                   a blank line
    — factcheck.example.org/audit AbCd...          key name, base64(key id || Ed25519 signature)

The signature covers the three lines with their final newline. The key id is the first four
bytes of SHA-256(key name || 0x0A || 0x01 || public key). The "root hash" here is the hash of
the chain's newest event, which covers every event before it, rather than an RFC 6962 Merkle
root, so any tool that reads checkpoints and notes (Go's golang.org/x/mod/sumdb/note, for
one) verifies the signature. Keys are written as Go's note package writes them:
`PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>` for the signer and
`<name>+<key id>+<base64(0x01 || public key)>` for a verifier.
"""

import base64
import binascii
import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from celery import shared_task
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import InterfaceError, OperationalError, connection, transaction

logger = logging.getLogger(__name__)

ED25519 = 0x01  # the signature type byte of c2sp.org/signed-note
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space open every signature line
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 64 * 1024
# Held while a checkpoint is signed and written, so two signers never write out of order.
SIGN_LOCK = 20151002
LATEST = "latest.txt"
NUMBERED = re.compile(r"(\d+)\.txt")
# A web process reads the latest checkpoint from the folder at most this often.
LATEST_CACHE_SECONDS = 60

NO_KEY = (
    "No audit signing key is configured, so no checkpoint was signed: set AUDIT_SIGNING_KEY, or "
    "AUDIT_SIGNING_KEY_FILE to a file holding it, to a key from `manage.py audit_checkpoint --generate-key`."
)


class CheckpointError(Exception):
    """A note, key or checkpoint that is malformed, does not verify, or does not fit the trail."""


# --- Keys ------------------------------------------------------------------------------------


def key_name_check(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise CheckpointError(f"A key name must be non-empty, without spaces or '+', not {name!r}.")
    return name


def key_id(name: str, public: bytes) -> int:
    """SHA-256(name || 0x0A || 0x01 || public key), its first four bytes read big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError("The key or signature is not valid base64.") from None


def _typed_key(name: str, hex_id: str, encoded: str) -> bytes:
    """The 32 key bytes of `<name>+<hex id>+<base64(0x01 || key)>`, its parts checked."""
    key_name_check(name)
    if not re.fullmatch(r"[0-9a-fA-F]{8}", hex_id):
        raise CheckpointError(f"The key id must be 8 hexadecimal digits, not {hex_id!r}.")
    raw = _b64decode(encoded)
    if len(raw) != 33 or raw[0] != ED25519:
        raise CheckpointError("The key is not an Ed25519 key (type byte 0x01 and 32 bytes).")
    return raw[1:]


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes  # the 32-byte Ed25519 public key

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> "Verifier":
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointError("A verifier key reads <name>+<key id>+<base64 key>.")
        verifier = cls(name=parts[0], public=_typed_key(*parts))
        if verifier.key_id != int(parts[1], 16):
            raise CheckpointError(f"The key id {parts[1]} does not belong to this name and key.")
        return verifier

    def verifies(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes  # the 32-byte Ed25519 private key (RFC 8032 calls it the seed)

    @property
    def verifier(self) -> Verifier:
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return Verifier(name=self.name, public=public)

    @property
    def skey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{encoded}"

    @classmethod
    def from_skey(cls, skey: str) -> "Signer":
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise CheckpointError("A signing key reads PRIVATE+KEY+<name>+<key id>+<base64 key>.")
        signer = cls(name=parts[2], seed=_typed_key(*parts[2:]))
        if signer.verifier.key_id != int(parts[3], 16):
            raise CheckpointError(f"The key id {parts[3]} does not belong to this name and key.")
        return signer

    @classmethod
    def generate(cls, name: str) -> "Signer":
        seed = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return cls(name=key_name_check(name), seed=seed)

    def sign(self, text: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(text)


# --- Signed notes ----------------------------------------------------------------------------


def _text_check(text: str) -> None:
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise CheckpointError("A note may hold no control characters but newlines.")


def note_sign(text: str, signer: Signer) -> str:
    """The note: its text, a blank line, and the signer's line."""
    if not text.endswith("\n") or "\n\n" in text:
        raise CheckpointError("A note's text ends with a newline and has no blank line.")
    _text_check(text)
    signature = signer.verifier.key_id.to_bytes(4, "big") + signer.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(signature).decode()}\n"


def note_open(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """The note's text and the known keys that signed it. Signatures of unknown keys are
    skipped; a known key's signature that fails, or none that verifies, is refused
    (c2sp.org/signed-note, "Signatures")."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise CheckpointError(f"The note is longer than {MAX_NOTE_BYTES} bytes.")
    _text_check(note)
    split = note.rfind("\n\n")
    if not note.endswith("\n") or split < 0:
        raise CheckpointError("The note has no signature: its text is not followed by a blank line and signatures.")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"A note carries from 1 to {MAX_SIGNATURES} signature lines.")
    known = {(v.name, v.key_id): v for v in verifiers}
    signed_by: list[Verifier] = []
    for line in lines:
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not line.startswith(SIGNATURE_PREFIX) or not encoded or " " in encoded:
            raise CheckpointError(f"This is not a signature line: {line[:80]!r}.")
        key_name_check(name)
        signature = _b64decode(encoded)
        if len(signature) < 5:
            raise CheckpointError(f"The signature of {name} is too short.")
        verifier = known.get((name, int.from_bytes(signature[:4], "big")))
        if verifier is None:
            continue
        if not verifier.verifies(text.encode(), signature[4:]):
            raise CheckpointError(
                f"The signature of {name} does not verify: the note was changed after it was signed."
            )
        signed_by.append(verifier)
    if not signed_by:
        known_keys = ", ".join(sorted(f"{v.name}+{v.key_id:08x}" for v in verifiers)) or "none are configured"
        raise CheckpointError(f"The note is not signed by a known key (known keys: {known_keys}).")
    return text, signed_by


# --- Checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int  # how many audit events
    hash: str  # the size-th event's hash, hex, as the audit table keeps it
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        root = base64.b64encode(bytes.fromhex(self.hash)).decode()
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions))

    @property
    def file_name(self) -> str:
        return f"{self.size:012d}.txt"

    def describe(self) -> str:
        return f"the checkpoint of {self.size} event{'s' if self.size != 1 else ''}"


def checkpoint_parse(text: str) -> Checkpoint:
    """A checkpoint's text (the note's, signatures off) read line by line."""
    lines = text.split("\n")
    if lines[-1] != "" or len(lines) < 4 or any(not line for line in lines[:-1]):
        raise CheckpointError("A checkpoint is at least three non-empty lines: origin, size and hash.")
    origin, size, root, *extensions = lines[:-1]
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size):
        raise CheckpointError(f"A checkpoint's size is a whole number without leading zeros, not {size[:40]!r}.")
    digest = _b64decode(root)
    if len(digest) != 32:
        raise CheckpointError("A checkpoint's hash is base64 of 32 bytes.")
    return Checkpoint(origin=origin, size=int(size), hash=digest.hex(), extensions=tuple(extensions))


def checkpoint_sign(checkpoint: Checkpoint, signer: Signer) -> str:
    return note_sign(checkpoint.text, signer)


def checkpoint_open(note: str, verifiers: list[Verifier]) -> Checkpoint:
    """The checkpoint a signed note holds, once one of the keys has verified it."""
    text, _ = note_open(note, verifiers)
    return checkpoint_parse(text)


def prefix_problem(checkpoint: Checkpoint, *, size: int, hash_at_size: str | None, where: str = "") -> str | None:
    """How the chain (of `size` events, whose `checkpoint.size`-th has `hash_at_size`) breaks
    the checkpoint, as a sentence; None while the checkpoint is a prefix of it."""
    named = f"{checkpoint.describe()} ({where})" if where else checkpoint.describe()
    if checkpoint.size > size:
        now = "it is empty now: the table was truncated or emptied" if size == 0 else (
            f"it has {size} now: its newest events were removed"
        )
        return f"The audit trail no longer holds {named}: {checkpoint.size} events were signed, {now}."
    if checkpoint.size and hash_at_size != checkpoint.hash:
        return (
            f"The audit trail no longer matches {named}: event number {checkpoint.size} has the "
            f"hash {hash_at_size}, the checkpoint signed {checkpoint.hash}: the chain was rewritten up to there."
        )
    return None


# --- Configuration ---------------------------------------------------------------------------


def origin() -> str:
    return settings.AUDIT_CHECKPOINT_ORIGIN


def _key_from(setting: str, text: str) -> Signer:
    try:
        return Signer.from_skey(text)
    except CheckpointError as exc:
        raise ImproperlyConfigured(f"{setting} is not a usable signing key: {exc}") from None


def _development_key(path: Path) -> Signer:
    """Read the development key from `path`, creating it on first use (in git-ignored .var/)."""
    if path.exists():
        return _key_from(str(path), path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate(origin())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _key_from(str(path), path.read_text())
    with os.fdopen(fd, "w") as fh:
        fh.write(signer.skey + "\n")
    logger.warning("Generated a development audit signing key in %s.", path)
    return signer


def signer() -> Signer:
    """The configured signing key; in development one is generated on first use."""
    if settings.AUDIT_SIGNING_KEY:
        return _key_from("AUDIT_SIGNING_KEY", settings.AUDIT_SIGNING_KEY)
    if settings.AUDIT_SIGNING_KEY_FILE:
        path = Path(settings.AUDIT_SIGNING_KEY_FILE)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE could not be read: {exc.strerror} ({path}).") from None
        return _key_from("AUDIT_SIGNING_KEY_FILE", text)
    if settings.DEBUG:
        return _development_key(Path(settings.VAR_DIR) / "audit_signing_key")
    raise ImproperlyConfigured(NO_KEY)


def signing_configured() -> bool:
    return bool(settings.AUDIT_SIGNING_KEY or settings.AUDIT_SIGNING_KEY_FILE or settings.DEBUG)


def verifiers() -> list[Verifier]:
    """The keys a checkpoint may be signed with: the signing key's own, and the older ones in
    AUDIT_VERIFIER_KEYS (so checkpoints signed before a key rotation still verify)."""
    found = [signer().verifier] if signing_configured() else []
    for vkey in settings.AUDIT_VERIFIER_KEYS:
        try:
            verifier = Verifier.from_vkey(vkey)
        except CheckpointError as exc:
            raise ImproperlyConfigured(f"AUDIT_VERIFIER_KEYS holds a key that cannot be read: {exc}") from None
        if verifier not in found:
            found.append(verifier)
    return found


# --- Where checkpoints are kept --------------------------------------------------------------


class Folder:
    """AUDIT_CHECKPOINT_DIR, or with AUDIT_CHECKPOINT_STORAGE=exports the export storage
    (a bucket every machine reaches) under audit-checkpoints/. One file per checkpoint,
    named by its size, and latest.txt, a copy of the newest."""

    def __init__(self) -> None:
        self.storage: Storage
        if settings.AUDIT_CHECKPOINT_STORAGE == "exports":
            self.storage, self.prefix = storages["exports"], "audit-checkpoints/"
            self.where = "the export storage, audit-checkpoints/"
        else:
            self.storage, self.prefix = FileSystemStorage(location=settings.AUDIT_CHECKPOINT_DIR), ""
            self.where = str(settings.AUDIT_CHECKPOINT_DIR)

    def describe(self, name: str) -> str:
        """Where a file is, for a sentence."""
        if self.prefix:
            return f"{self.prefix}{name} in the export storage"
        return str(Path(self.where) / name)

    def numbered(self) -> list[tuple[int, str]]:
        """The checkpoints' files, (size, name), smallest first."""
        try:
            _, files = self.storage.listdir(self.prefix.rstrip("/"))
        except FileNotFoundError:
            return []
        return sorted((int(m[1]), name) for name in files if (m := NUMBERED.fullmatch(name)))

    def read(self, name: str) -> str | None:
        try:
            with self.storage.open(self.prefix + name, "rb") as fh:
                raw = fh.read(MAX_NOTE_BYTES + 1)
        except FileNotFoundError:
            return None
        return raw.decode("utf-8", errors="replace")

    def write(self, name: str, text: str) -> None:
        """Write whole or not at all: a reader never sees half a checkpoint."""
        if isinstance(self.storage, FileSystemStorage):
            path = Path(self.storage.path(self.prefix + name))
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, path)
            return
        if self.storage.exists(self.prefix + name):  # an object store replaces an object whole
            self.storage.delete(self.prefix + name)
        self.storage.save(self.prefix + name, ContentFile(text.encode()))


@dataclass(frozen=True)
class Signed:
    checkpoint: Checkpoint
    note: str  # the whole signed note, as written
    source: str  # where it was read


_latest_memo: dict[str, tuple[float, str | None]] = {}


def latest_note(*, fresh: bool = False) -> str | None:
    """The newest checkpoint's note as written (latest.txt), for the feed and the public page;
    read from the folder at most every LATEST_CACHE_SECONDS per process."""
    folder = Folder()
    cached = _latest_memo.get(folder.where)
    if not fresh and cached and time.monotonic() - cached[0] < LATEST_CACHE_SECONDS:
        return cached[1]
    try:
        note = folder.read(LATEST)
        if note is not None:  # shaped like a checkpoint; its signature is the reader's to check
            checkpoint_parse(note[: note.rfind("\n\n") + 1])
    except (OSError, CheckpointError):
        logger.exception("The latest audit checkpoint could not be read from %s.", folder.where)
        note = None
    _latest_memo[folder.where] = (time.monotonic(), note)
    return note


def checkpoints_read(*, extra: tuple[Path, ...] = ()) -> list[tuple[str, str]]:
    """Every checkpoint note there is to check, as (where, note): the folder's, then `extra`
    files (copies a partner kept, say). The same note twice is read once."""
    folder = Folder()
    found: dict[str, str] = {}
    for name in [name for _, name in folder.numbered()] + [LATEST]:
        note = folder.read(name)
        if note is not None:
            found.setdefault(note, folder.describe(name))
    for path in extra:
        found.setdefault(Path(path).read_text(encoding="utf-8", errors="replace"), str(path))
    return [(where, note) for note, where in found.items()]


@dataclass(frozen=True)
class PublicKeys:
    """What the public page shows: enough for anyone to check a checkpoint."""

    origin: str
    vkeys: list[str]
    note: str | None  # the latest checkpoint as written
    checkpoint: Checkpoint | None  # the latest, if it verifies with one of `vkeys`
    problem: str  # why the latest is not shown as verified, if it is not


def public_keys() -> PublicKeys:
    note = latest_note()
    try:
        keys = verifiers()
    except ImproperlyConfigured:
        logger.exception("The audit checkpoint keys are misconfigured.")
        keys = []
    checkpoint, problem = None, ""
    if note is not None:
        try:
            checkpoint = checkpoint_open(note, keys)
        except CheckpointError as exc:
            problem = str(exc)
    return PublicKeys(origin=origin(), vkeys=[k.vkey for k in keys], note=note, checkpoint=checkpoint,
                      problem=problem)


# --- Signing the chain's head ----------------------------------------------------------------


@dataclass(frozen=True)
class ChainHead:
    size: int
    head_id: int | None
    head_hash: str | None
    hash_at: str | None  # the hash of event number `at` (in id order), if asked


# One statement, so one snapshot: the count, the head and the earlier event agree. The trigger
# extends the chain under a lock held until commit, so ids commit in order and a snapshot
# always holds a prefix of the chain.
HEAD = """
    SELECT c.size, h.id, h.hash, p.hash
      FROM (SELECT count(*) AS size FROM annotations_auditevent) AS c
      LEFT JOIN LATERAL (SELECT id, hash FROM annotations_auditevent ORDER BY id DESC LIMIT 1) AS h ON true
      LEFT JOIN LATERAL (SELECT hash FROM annotations_auditevent ORDER BY id OFFSET %s LIMIT 1) AS p ON %s
"""


def chain_head(*, at: int = 0) -> ChainHead:
    with connection.cursor() as cursor:
        cursor.execute(HEAD, [max(at - 1, 0), at > 0])
        size, head_id, head_hash, hash_at = cursor.fetchone()
    return ChainHead(size=size, head_id=head_id, head_hash=head_hash, hash_at=hash_at)


@dataclass(frozen=True)
class Outcome:
    signed: Signed | None
    written: bool
    message: str


def _newest(folder: Folder, keys: list[Verifier]) -> Signed | None:
    """The newest checkpoint written (latest.txt, or a larger numbered file if latest.txt
    was lost), verified."""
    newest: Signed | None = None
    for name in [name for _, name in folder.numbered()[-1:]] + [LATEST]:
        note = folder.read(name)
        if note is None:
            continue
        try:
            checkpoint = checkpoint_open(note, keys)
        except CheckpointError as exc:
            raise CheckpointError(f"The checkpoint {folder.describe(name)} does not verify: {exc}") from None
        if newest is None or checkpoint.size > newest.checkpoint.size:
            newest = Signed(checkpoint=checkpoint, note=note, source=folder.describe(name))
    return newest


def checkpoint_sign_head() -> Outcome:
    """Sign the chain's head and write it, unless it has not moved since the last checkpoint.
    Refuses (CheckpointError) to sign a chain that no longer holds the last checkpoint: a log
    never signs a head inconsistent with one it signed before."""
    key = signer()
    keys = verifiers()
    folder = Folder()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGN_LOCK])
        previous = _newest(folder, keys)
        head = chain_head(at=previous.checkpoint.size if previous else 0)
        if previous is not None:
            problem = prefix_problem(previous.checkpoint, size=head.size, hash_at_size=head.hash_at,
                                     where=previous.source)
            if problem:
                raise CheckpointError(f"{problem} No new checkpoint was signed; run `manage.py verify_audit`.")
            if previous.checkpoint.size == head.size:
                unmoved = f"The audit trail has not moved since {previous.checkpoint.describe()}."
                return Outcome(previous, False, unmoved)
        if head.size == 0 or head.head_hash is None:
            return Outcome(None, False, "The audit trail is empty: there is nothing to sign.")
        checkpoint = Checkpoint(origin=origin(), size=head.size, hash=head.head_hash)
        note = checkpoint_sign(checkpoint, key)
        folder.write(checkpoint.file_name, note)
        folder.write(LATEST, note)
    _latest_memo[folder.where] = (time.monotonic(), note)
    return Outcome(Signed(checkpoint=checkpoint, note=note, source=folder.describe(checkpoint.file_name)), True,
                   f"Signed {checkpoint.describe()} into {folder.where}.")


@shared_task(autoretry_for=(OSError, OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def sign_checkpoint() -> str:
    """Run by beat every ten minutes (CELERY_BEAT_SCHEDULE, "audit-checkpoint")."""
    return checkpoint_sign_head().message
