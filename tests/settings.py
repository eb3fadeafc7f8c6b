"""Settings for the test suite: production settings with test-only values filled in.

The suite uses the real PostgreSQL (a test_ database pytest-django creates) and a
Redis database of its own (15), so it never touches a running desk's data.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-never-used-outside-the-test-suite")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
# Tests that need a task sent on commit turn this on (see OUTBOX_AUTOSEND in settings).
os.environ.setdefault("OUTBOX_AUTOSEND", "0")
# Export files of this run (and of the worker processes it starts) go to a temporary folder.
os.environ.setdefault("EXPORT_ROOT", tempfile.mkdtemp(prefix="factcheck-test-exports-"))
# Audit checkpoints too, signed with a key made for the test suite only.
os.environ.setdefault("AUDIT_CHECKPOINT_DIR", tempfile.mkdtemp(prefix="factcheck-test-checkpoints-"))
os.environ.setdefault(
    "AUDIT_SIGNING_KEY", "PRIVATE+KEY+127.0.0.1:8000/audit+544675c4+AcNzSVDVwkzwLcAmGwsZp931IK+mhRBvwaqMLQU39AoR"
)

from factcheck.settings import *  # noqa: F403

# Browser tests talk plain HTTP to the live server.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker processes started by the tests write e-mails to files the tests can read.
EMAIL_BACKEND = os.environ.get("TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("TEST_EMAIL_FILE_PATH", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": STORAGES["exports"],  # noqa: F405 (from EXPORT_STORAGE, as in production)
}
