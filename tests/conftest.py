"""Shared fixtures. The same three people everywhere: alice owns the data, bob is her
teammate, charlie is an outsider with a desk of his own."""

import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

# Playwright's sync API keeps an event loop on the main thread; Django would
# otherwise refuse ORM calls made from a test while a browser is open.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        user = django_user_model.objects.create_user(
            username=username, password=f"{username}-password", email=f"{username}@example.org", **extra
        )
        return user

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", first_name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob", first_name="Bob")


@pytest.fixture
def charlie(make_user):
    return make_user("charlie", first_name="Charlie")


@pytest.fixture
def desk(alice, bob):
    """Alice's desk: alice annotates, bob reviews."""
    from annotations.models import Role
    from annotations.services.workspaces import membership_set, workspace_create

    workspace = workspace_create(name="Alice's desk", slug="alice-desk")
    membership_set(workspace=workspace, user=alice, role=Role.ANNOTATOR)
    membership_set(workspace=workspace, user=bob, role=Role.REVIEWER)
    return workspace


@pytest.fixture
def other_desk(charlie):
    from annotations.models import Role
    from annotations.services.workspaces import membership_set, workspace_create

    workspace = workspace_create(name="Charlie's desk", slug="charlie-desk")
    membership_set(workspace=workspace, user=charlie, role=Role.ADMIN)
    return workspace


@pytest.fixture
def article(desk, alice):
    from annotations.services.articles import article_import

    text = (ROOT / "fixtures" / "articles" / "001_c037270258430dbe.txt").read_text()
    return article_import(workspace=desk, text=text, actor=alice).article


# --- Database roles ------------------------------------------------------------------
# The suite runs as the application role (DATABASE_URL), as the web and the workers do.
# The test database is created, migrated, flushed and dropped as the owner
# (DATABASE_OWNER_URL); see annotations/dbroles.py. With no owner URL, one role does all.

_app_credentials: dict = {}


def _switch_default_connection(credentials: dict) -> None:
    from django.db import connections

    connection = connections["default"]
    connection.close()
    connection.settings_dict.update(credentials)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """pytest-django creates and migrates the test database with these settings: the owner's."""
    from django.db import connections

    from annotations import dbroles

    owner = dbroles.owner_credentials()
    if owner is not None:
        settings_dict = connections["default"].settings_dict
        _app_credentials.update({key: settings_dict.get(key, "") for key in owner})
        _switch_default_connection(owner)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Once the test database is made, the tests connect as the application role; at the
    end pytest-django drops the database as the owner again."""
    from annotations import dbroles

    if _app_credentials:
        _switch_default_connection(_app_credentials)
    yield
    owner = dbroles.owner_credentials()
    if owner is not None:
        _switch_default_connection(owner)


def connect_as(credentials: dict | None = None, *, admin: bool = False):
    """A psycopg connection to the test database: as the owner (default), as the
    superuser of DATABASE_ADMIN_URL (`admin=True`), or with `credentials`."""
    from urllib.parse import unquote, urlsplit

    import psycopg
    from django.db import connection

    from annotations import dbroles

    name = connection.settings_dict["NAME"]
    if admin:
        url = urlsplit(os.environ.get("DATABASE_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
        return psycopg.connect(host=url.hostname or "127.0.0.1", port=url.port or 5432, dbname=name,
                               user=unquote(url.username or "postgres"), password=unquote(url.password or "") or None)
    c = credentials or dbroles.owner_credentials() or connection.settings_dict
    return psycopg.connect(host=c["HOST"] or "127.0.0.1", port=c["PORT"] or 5432, dbname=name,
                           user=c["USER"] or "postgres", password=c["PASSWORD"] or None)


def _flush_as_owner(self) -> None:
    """TransactionTestCase's flush, as the owner: the application role may not TRUNCATE,
    and the audit table refuses TRUNCATE until its owner disables that trigger."""
    from django.core.management.color import no_style
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connections

    for db_name in self._databases_names(include_mirrors=False):
        connection = connections[db_name]
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        statements = connection.ops.sql_flush(no_style(), tables, allow_cascade=self.available_apps is not None)
        # A worker process of the test may still be finishing a task: the flush's locks can
        # then deadlock with it, and Postgres aborts one side. The flush tries again.
        for attempt in range(6):
            try:
                with connect_as() as owner:
                    owner.execute("ALTER TABLE annotations_auditevent DISABLE TRIGGER audit_no_truncate")
                    for statement in statements:
                        owner.execute(statement)
                    owner.execute("ALTER TABLE annotations_auditevent ENABLE TRIGGER audit_no_truncate")
                break
            except psycopg.errors.DeadlockDetected:
                if attempt == 5:
                    raise
                time.sleep(0.2 * (attempt + 1))
        inhibit = self.available_apps is not None or (
            self.serialized_rollback and hasattr(connection, "_test_serialized_contents"))
        if not inhibit:
            emit_post_migrate_signal(verbosity=0, interactive=False, db=db_name)


def pytest_configure(config):
    from django.test import TransactionTestCase

    TransactionTestCase._fixture_teardown = _flush_as_owner  # type: ignore[attr-defined]


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class WorkerProcess:
    """A real `celery worker` in a subprocess, on the test Redis and the test database."""

    def __init__(self, log_path: Path, **env):
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60, app=None) -> None:
        if app is None:
            from factcheck.celery import app
        app.control.purge()  # nothing left over from earlier tests

        mail_dir = self.log_path.parent / "mail"
        mail_dir.mkdir(exist_ok=True)
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url(),
            # The test worker may fetch the tests' own HTTP server on loopback.
            "LINKCHECK_ALLOW_LOOPBACK": "1",
            "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "TEST_EMAIL_FILE_PATH": str(mail_dir),
        } | self.env
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "factcheck", "worker",
                "--pool", "solo", "--hostname", self.name, "--loglevel", "INFO",
                "--without-gossip", "--without-mingle", "--queues", "celery,matching",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The Celery worker exited at start; see {self.log_path}.")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"The Celery worker did not answer within {timeout}s; see {self.log_path}.")

    @property
    def mail_dir(self) -> Path:
        return self.log_path.parent / "mail"

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task without acknowledging or cleaning up."""
        assert self.process is not None, "start() the worker before killing it"
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    worker = WorkerProcess(tmp_path_factory.mktemp("celery") / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"The browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def ready_and_submit(claim, actor=None):
    """Give a draft what submission needs (restatement, rating) and submit it."""
    from annotations.services.claims import claim_update
    from annotations.services.workflow import claim_submit

    actor = actor or claim.created_by
    rating = claim.workspace.rating_scale.labels.get(name="Mostly true")
    claim = claim_update(
        claim=claim, actor=actor, revision=claim.revision,
        fields={"claim_reviewed": "Abadi says Russian strikes are possible", "rating": rating},
    )
    return claim_submit(claim=claim, actor=actor, revision=claim.revision)


@pytest.fixture
def crew(desk, alice, bob, charlie, make_user, other_desk):
    """Every role at once: alice writes the claims, dave is a fellow annotator, bob
    reviews, erin is the desk's admin, charlie is an admin of another desk."""
    from annotations.models import Role
    from annotations.services.workspaces import membership_set

    dave, erin = make_user("dave"), make_user("erin")
    membership_set(workspace=desk, user=dave, role=Role.ANNOTATOR)
    membership_set(workspace=desk, user=erin, role=Role.ADMIN)
    return {"author": alice, "teammate": dave, "reviewer": bob, "admin": erin, "outsider": charlie}


def claim_in_state(state: str, article, crew, quote: str = "It is a possibility."):
    """A claim of crew["author"] brought to `state` through the workflow services."""
    from annotations.services.claims import claim_create
    from annotations.services.workflow import claim_decide, claim_take

    version = article.versions.get()
    start = version.text.index(quote)
    claim = claim_create(actor=crew["author"], article=article, version=version, exact=quote,
                         start=start, end=start + len(quote))
    if state == "draft":
        return claim
    claim = ready_and_submit(claim)
    if state == "submitted":
        return claim
    claim = claim_take(claim=claim, actor=crew["reviewer"])
    if state == "in_review":
        return claim
    return claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)


@contextmanager
def expect_queries(*expected: str):
    """Exactly these queries, one description each, in order (the healthchecks way of
    writing a query budget). A description may start with the table it reads, as
    "annotations_claim: the page of claims"; then the SQL must name that table.
    On a mismatch, the SQL that ran is printed beside the budget."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        yield ctx
    seen = [q["sql"] for q in ctx.captured_queries]
    report = "\n".join(
        f"{i + 1:>2}. {expected[i] if i < len(expected) else '(not in the budget)'}\n      {sql[:300]}"
        for i, sql in enumerate(seen)
    )
    assert len(seen) == len(expected), f"{len(seen)} queries ran, the budget is {len(expected)}:\n{report}"
    for i, (description, sql) in enumerate(zip(expected, seen, strict=True)):
        table = description.split(":", 1)[0] if ":" in description else ""
        if re.fullmatch(r"[a-z]+_[a-z_]+", table):  # a table name such as annotations_claim
            assert f'"{table}"' in sql, f"query {i + 1} should read {table}:\n{report}"
