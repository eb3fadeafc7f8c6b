"""Settings for the fact-check desk, all read from the environment.

Production is the default: DEBUG is off and SECRET_KEY and ALLOWED_HOSTS must be
given. `./desk run` sets DEBUG=1 for development, where a secret is generated
into .var/ on first run. See README.md, "Configuration", for every variable.
"""

from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from factcheck.env import (
    development_secret_key,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FACTCHECK_VAR_DIR", str(BASE_DIR / ".var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = development_secret_key(VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must name at least one host when DEBUG is off, "
        "e.g. ALLOWED_HOSTS=factcheck.example.org."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "pgtrigger",
    "django_celery_beat",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rules",
    "annotations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header (CONTENT_SECURITY_POLICY below, annotations/csp.py).
    "annotations.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A body over its route's limit is a 413 before anything reads it (annotations/api/limits.py).
    "annotations.api.limits.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "annotations.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Server-Timing headers (time in the app and in the database); on in development.
SERVER_TIMING = env_bool("SERVER_TIMING", DEBUG)
if SERVER_TIMING:
    MIDDLEWARE.insert(0, "annotations.timing.ServerTimingMiddleware")

ROOT_URLCONF = "factcheck.urls"
WSGI_APPLICATION = "factcheck.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # The top bar's desks and queue count, and the time zone pages show times in.
                "annotations.context_processors.desk_nav",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASE_URL = env_url(
    "DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/factcheck",
    schemes=("postgres", "postgresql"),
)
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL could not be read: {exc}") from None
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
# The role that owns the tables and runs `migrate` (annotations/dbroles.py). Unset: one
# role does both, and the `annotations.W001` check says what that gives away.
DATABASE_OWNER_URL = (
    env_url("DATABASE_OWNER_URL", "", schemes=("postgres", "postgresql")) if env_str("DATABASE_OWNER_URL") else ""
)
DATABASE_OWNER = dj_database_url.parse(DATABASE_OWNER_URL) if DATABASE_OWNER_URL else None
# The application role's name, kept apart from DATABASES (whose credentials `migrate` swaps).
DATABASE_APP_ROLE = DATABASES["default"]["USER"] or "postgres"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery --------------------------------------------------

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "factcheck",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss", "amqp", "amqps")
)
CELERY_RESULT_BACKEND = env_url(
    "CELERY_RESULT_BACKEND", REDIS_URL, schemes=("redis", "rediss")
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# A task is acknowledged only once it has finished, and handed back to the queue
# if the worker running it dies, so a crash never loses work.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT, "
        "so a task gets the chance to clean up before it is killed."
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the hard time limit: Redis re-delivers an unacknowledged task (its
    # worker died) after this many seconds, and must not do so while it still runs.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT * 4, minimum=1),
    # How often workers sweep for such tasks: every interval x throttle seconds.
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10, minimum=1),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10, minimum=1),
}
# Matching has its own queue and worker (Procfile "matcher"): link checks, e-mails and
# exports on the default queue are never stuck behind a burst of claim edits.
CELERY_TASK_ROUTES = {"annotations.tasks.match_claim": {"queue": "matching"}}
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "annotations.tasks.heartbeat", "schedule": 60.0},
    "expire-review-holds": {"task": "annotations.tasks.expire_holds", "schedule": 60.0},
    "expire-exports": {"task": "annotations.tasks.expire_exports", "schedule": 3600.0},
    "drain-outbox": {"task": "annotations.tasks.drain_outbox", "schedule": 30.0},
    "recheck-sources": {"task": "annotations.tasks.recheck_sources", "schedule": 3600.0},
    "remind-reviewers": {"task": "annotations.tasks.remind_reviewers", "schedule": 3600.0},
    "webhooks-catch-up": {"task": "annotations.tasks.webhooks_catch_up", "schedule": 300.0},
    # Re-fetch watched articles that are due (services.articles.articles_watch_due).
    "watch-articles": {"task": "annotations.tasks.watch_articles", "schedule": 300.0},
    # Sign the audit trail's head (annotations/checkpoints.py); nothing is written if it has not moved.
    "audit-checkpoint": {"task": "annotations.checkpoints.sign_checkpoint", "schedule": 600.0},
    # Overdue assignments by e-mail; at most one digest per person a day (services.assignments).
    "assignment-digest": {"task": "annotations.tasks.assignment_digest", "schedule": 3600.0},
}

# --- Auth, sessions, security -------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# How long a reviewer holds a claim taken from the queue before others may take it.
REVIEW_HOLD_MINUTES = env_int("REVIEW_HOLD_MINUTES", 30, minimum=1)
# Failed logins allowed in the window (seconds), counted three ways (annotations/throttle.py):
# per username from one client address; per username from any address (guessing spread
# over many machines); per client address over all usernames, far higher, since a whole
# newsroom may reach the desk from one address.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_USER_LIMIT = env_int("LOGIN_FAILURE_USER_LIMIT", 20, minimum=1)
LOGIN_FAILURE_ADDRESS_LIMIT = env_int("LOGIN_FAILURE_ADDRESS_LIMIT", 100, minimum=1)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 15 * 60, minimum=1)
# Password reset e-mails asked for in the window (seconds), per e-mail address and per
# client address; and how long the link in one works (Django's default is three days).
PASSWORD_RESET_EMAIL_LIMIT = env_int("PASSWORD_RESET_EMAIL_LIMIT", 3, minimum=1)
PASSWORD_RESET_ADDRESS_LIMIT = env_int("PASSWORD_RESET_ADDRESS_LIMIT", 20, minimum=1)
PASSWORD_RESET_WINDOW = env_int("PASSWORD_RESET_WINDOW", 60 * 60, minimum=1)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60, minimum=60)

# Scripts, styles, images and connections only from the desk itself: no inline script,
# event handler or style attribute anywhere (README.md, "Content-Security-Policy").
# NONCE appears in the header only on pages that use one (the API docs' start-up script);
# the few exceptions are in annotations/csp.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- E-mail -------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on; pick one.")


def _development_site_url() -> str:
    """The address `./desk run` serves on (HOST, PORT), as a browser on this machine reaches it."""
    host = env_str("HOST", "") or "127.0.0.1"
    if host in {"0.0.0.0", "::"}:  # listening on every address: loopback is one of them
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):  # an IPv6 address, bracketed in a URL
        host = f"[{host}]"
    return f"http://{host}:{env_int('PORT', 8000, minimum=1)}"


# The desk's address as people reach it, for links in e-mails and exports. In development
# it follows HOST and PORT unless set, so links lead to the desk that is running.
SITE_URL = env_url(
    "SITE_URL",
    _development_site_url() if DEBUG and env_str("SITE_URL") is None else "http://127.0.0.1:8000",
    schemes=("http", "https"),
).rstrip("/")

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "factcheck@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18n, static -------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Request limits -----------------------------------------------------------

# An article may hold 2,000,000 characters (annotations.validation.MAX_ARTICLE_CHARS), up
# to 4 bytes each in UTF-8: the routes that take articles (API and page) accept that plus
# 1 MiB for the other fields and the JSON or form around them. Django enforces this ceiling
# itself; every other route is held to REQUEST_BODY_MAX_BYTES (Django's usual 2.5 MB) by
# annotations.api.limits. A body over its limit is a 413 (the API's error JSON under /api/).
ARTICLE_BODY_MAX_BYTES = env_int("ARTICLE_BODY_MAX_BYTES", 2_000_000 * 4 + 1024 * 1024, minimum=1)
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 2_621_440, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(ARTICLE_BODY_MAX_BYTES, REQUEST_BODY_MAX_BYTES)
# JSON nested deeper than this (arrays and objects) is a 400 naming the limit, before parsing.
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 64, minimum=1)

# --- REST framework -----------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotations.api.auth.ApiTokenAuthentication",
        # `Authorization: Partner pk_...`: a partner organisation's key (annotations.api.partner_auth).
        "annotations.api.partner_auth.PartnerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Partner keys at their partner's rate, wherever they knock; members are not throttled here.
    "DEFAULT_THROTTLE_CLASSES": ["annotations.api.partner_auth.PartnerKeyThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotations.api.errors.handle",
    # JSON with a nesting limit; every parser refuses text Postgres cannot store (NUL, lone surrogates).
    "DEFAULT_PARSER_CLASSES": [
        "annotations.api.parsers.LimitedJSONParser",
        "annotations.api.parsers.CheckedFormParser",
        "annotations.api.parsers.CheckedMultiPartParser",
    ],
    # `format` is the export format parameter, not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fact-check desk API",
    "DESCRIPTION": "Claims, reviews and verdicts of the desks you belong to. Errors always have the shape "
    '{"error": {"status", "code", "message", "fields"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotations.api.schema.add_error_responses",
    ],
}

# --- Background work ------------------------------------------------------------

# Hand outbox messages to the broker as soon as their transaction commits (else only
# the periodic drain sends them). The test suite turns it off except where it tests it,
# so a worker never runs one test's tasks while the next test truncates the tables.
OUTBOX_AUTOSEND = env_bool("OUTBOX_AUTOSEND", True)
# Seconds an outbox send may wait to connect to the broker, and then for its answer; no
# retries. With Redis down a send gives up within about a second; the drain sends it later.
OUTBOX_SEND_TIMEOUT = env_float("OUTBOX_SEND_TIMEOUT", 0.5, minimum=0.05, maximum=10.0)

# Source link checks. Loopback is for tests only: never turn it on in production.
LINKCHECK_ALLOW_LOOPBACK = env_bool("LINKCHECK_ALLOW_LOOPBACK", False)
LINKCHECK_TIMEOUT = env_int("LINKCHECK_TIMEOUT", 10, minimum=1)
LINKCHECK_INTERVAL_HOURS = env_int("LINKCHECK_INTERVAL_HOURS", 24, minimum=1)
# Partner webhooks: seconds a receiver has to answer, failures in a row before the endpoint
# is disabled (with the retry backoff capped at WEBHOOK_RETRY_MAX_SECONDS, about a day).
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10, minimum=1)
WEBHOOK_MAX_FAILURES = env_int("WEBHOOK_MAX_FAILURES", 20, minimum=1)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600, minimum=1)
# Reviewers are reminded of claims waiting longer than this.
REVIEW_REMINDER_HOURS = env_int("REVIEW_REMINDER_HOURS", 24, minimum=1)
# Claim matching: suggestions at or above this score are shown, until a desk's own threshold
# is calibrated from its decisions (default calibrated on tests/data/matching_pairs.jsonl).
MATCH_THRESHOLD = env_float("MATCH_THRESHOLD", 0.50, minimum=0.0, maximum=1.0)
# The sentence-embedding scorer of claim matching (annotations/embeddings.py): "minilm" (the
# default; words alone when its packages are not installed) or "off" (words alone), and the
# CPU threads the matching worker gives it.
MATCHING_MODEL = env_str("MATCHING_MODEL", "minilm").strip().lower()
if MATCHING_MODEL not in ("minilm", "off"):
    raise ImproperlyConfigured(f'MATCHING_MODEL must be "minilm" or "off", not "{MATCHING_MODEL}".')
MATCHING_MODEL_THREADS = env_int("MATCHING_MODEL_THREADS", 1, minimum=1)

# --- Exports ------------------------------------------------------------------

EXPORT_ROOT = Path(env_str("EXPORT_ROOT", str(VAR_DIR / "exports")))
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 24, minimum=1)
# Where export jobs write their files, and downloads read them: `local`, the folder
# EXPORT_ROOT (web and workers on one machine), or `s3`, a bucket every web process and
# worker reaches (S3 or a compatible server, through django-storages).
EXPORT_STORAGE = (env_str("EXPORT_STORAGE", "local") or "local").lower()
# With s3: answer a download with a redirect to a signed address of the file that expires
# after AWS_QUERYSTRING_EXPIRE seconds, instead of streaming it through the web process.
# Only when the people downloading can reach the bucket.
EXPORT_DOWNLOAD_REDIRECT = env_bool("EXPORT_DOWNLOAD_REDIRECT", False)


def export_storage_from_env(kind: str, *, redirect: bool) -> dict:
    """STORAGES["exports"] for EXPORT_STORAGE=kind, the bucket's details read from the environment."""
    if kind == "local":
        if redirect:
            raise ImproperlyConfigured(
                "EXPORT_DOWNLOAD_REDIRECT needs EXPORT_STORAGE=s3: a local export folder has no address to redirect to."
            )
        return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": EXPORT_ROOT}}
    if kind != "s3":
        raise ImproperlyConfigured(f"EXPORT_STORAGE must be local or s3, not {kind!r}.")
    bucket = env_str("AWS_STORAGE_BUCKET_NAME", "")
    if not bucket:
        raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must name the bucket when EXPORT_STORAGE=s3.")
    addressing = (env_str("AWS_S3_ADDRESSING_STYLE", "") or "").lower() or None
    if addressing not in (None, "path", "virtual", "auto"):
        raise ImproperlyConfigured(f"AWS_S3_ADDRESSING_STYLE must be path, virtual or auto, not {addressing!r}.")
    key_id, secret = env_str("AWS_ACCESS_KEY_ID", ""), env_str("AWS_SECRET_ACCESS_KEY", "")
    if bool(key_id) != bool(secret):
        raise ImproperlyConfigured(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both, or neither to use the "
            "machine's own credentials (an instance role)."
        )
    options = {
        "bucket_name": bucket,
        # Files under this prefix of the bucket.
        "location": (env_str("AWS_EXPORT_LOCATION", "exports") or "").strip("/"),
        "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
        "access_key": key_id or None,
        "secret_key": secret or None,
        "addressing_style": addressing,
        "default_acl": None,  # the bucket's own policy: private unless it says otherwise
        "querystring_auth": True,
        "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300, minimum=1),
        # A download spills to a temporary file past this size instead of being held in memory.
        "max_memory_size": 8 * 1024 * 1024,
    }
    if env_str("AWS_S3_ENDPOINT_URL"):
        options["endpoint_url"] = env_url("AWS_S3_ENDPOINT_URL", "", schemes=("http", "https"))
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES["exports"] = export_storage_from_env(EXPORT_STORAGE, redirect=EXPORT_DOWNLOAD_REDIRECT)

# --- Audit checkpoints ----------------------------------------------------------
# The audit trail's head, signed every 10 minutes and written outside the database
# (annotations/checkpoints.py; README.md, "Signed checkpoints"). The private key is never in
# the database: give it, or a file holding it (`manage.py audit_checkpoint --generate-key`);
# with DEBUG=1 one is generated into .var/ on first use.
AUDIT_SIGNING_KEY = env_str("AUDIT_SIGNING_KEY", "")
AUDIT_SIGNING_KEY_FILE = env_str("AUDIT_SIGNING_KEY_FILE", "")
# Verifier keys of earlier signing keys, so the checkpoints they signed still verify.
AUDIT_VERIFIER_KEYS = env_list("AUDIT_VERIFIER_KEYS", [])
# The checkpoints' first line; by default the desk's host, e.g. factcheck.example.org/audit.
AUDIT_CHECKPOINT_ORIGIN = env_str("AUDIT_CHECKPOINT_ORIGIN", "") or (
    SITE_URL.split("://", 1)[1].split("@")[-1].rstrip("/") + "/audit"
)
if "+" in AUDIT_CHECKPOINT_ORIGIN or any(c.isspace() for c in AUDIT_CHECKPOINT_ORIGIN):
    raise ImproperlyConfigured(
        f"AUDIT_CHECKPOINT_ORIGIN may hold no spaces or '+', not {AUDIT_CHECKPOINT_ORIGIN!r}."
    )
# `local`: the folder AUDIT_CHECKPOINT_DIR. `exports`: the export storage (EXPORT_STORAGE),
# under audit-checkpoints/, which every web process and worker reaches.
AUDIT_CHECKPOINT_STORAGE = (env_str("AUDIT_CHECKPOINT_STORAGE", "local") or "local").lower()
if AUDIT_CHECKPOINT_STORAGE not in ("local", "exports"):
    raise ImproperlyConfigured(f"AUDIT_CHECKPOINT_STORAGE must be local or exports, not {AUDIT_CHECKPOINT_STORAGE!r}.")
AUDIT_CHECKPOINT_DIR = Path(env_str("AUDIT_CHECKPOINT_DIR", str(VAR_DIR / "checkpoints")))
# The checkpoint task is not in annotations.tasks, which autodiscovery imports; readiness
# has beat send a heartbeat as it starts, so /healthz (and `./desk run`) see beat at once.
CELERY_IMPORTS = ["annotations.checkpoints", "annotations.readiness"]

# --- Logging ------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # /healthz's 503 (a part of the desk is down, e.g. the worker still starting) is the probe
    # answering, not an error: annotations/logfilters.py.
    "filters": {"quiet_health_probes": {"()": "annotations.logfilters.QuietHealthProbes"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["quiet_health_probes"]},
    },
}
