"""A bad setting stops the desk at start-up with a sentence naming the variable."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "factcheck.settings",
    "DEBUG": "0",
    "SECRET_KEY": "a-long-production-secret-" + "k" * 40,
    "ALLOWED_HOSTS": "factcheck.example.org",
    "DATABASE_URL": "postgres://factcheck_app@db.example.org/factcheck",
    "DATABASE_OWNER_URL": "postgres://factcheck_owner@db.example.org/factcheck",
}


INHERITED_PREFIXES = ("DATABASE_", "REDIS_", "EMAIL_", "CELERY_", "SECURE_", "DJANGO_ALLOW_ASYNC")
# Set by a running desk or a developer's shell; each test says what it wants of them.
SERVED_AT = {"HOST", "PORT", "SITE_URL"}


def start_django(env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION and k not in SERVED_AT and not k.startswith(INHERITED_PREFIXES)
    }
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ("check",))],
        cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ({"DEBUG": "maybe"}, "DEBUG must be one of 1/0, true/false, yes/no or on/off, not 'maybe'."),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set when DEBUG is off"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must name at least one host when DEBUG is off"),
        ({"DATABASE_URL": "mysql://db/factcheck"}, "DATABASE_URL must be a URL starting with postgres://, postgresql://"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a URL starting with redis://, rediss://"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a whole number, not 'twenty-five'."),
        ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on"),
        (
            {"CELERY_TASK_TIME_LIMIT": "10", "CELERY_TASK_SOFT_TIME_LIMIT": "20"},
            "CELERY_TASK_TIME_LIMIT must be greater",
        ),
        ({"DEBUG": "1", "PORT": "eighty"}, "PORT must be a whole number, not 'eighty'."),
        ({"SITE_URL": "desk.example.org"}, "SITE_URL must be a URL starting with http://, https://"),
    ],
)
def test_a_bad_value_fails_at_start_up_naming_the_variable(override, message):
    result = start_django(PRODUCTION | override)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_settings_pass_the_deploy_checks():
    result = start_django(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_connecting_as_the_owner_of_the_tables_is_flagged():
    for database in ({"DATABASE_OWNER_URL": ""},
                     {"DATABASE_OWNER_URL": "postgres://factcheck_app@db.example.org/factcheck"}):
        result = start_django(PRODUCTION | database, "check", "--deploy", "--fail-level", "WARNING")
        assert result.returncode == 1
        assert "(annotations.W001) The application connects to PostgreSQL as the owner of its tables" in result.stderr


def test_development_generates_a_secret_once_and_keeps_it(tmp_path):
    env = {"DEBUG": "1", "FACTCHECK_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "factcheck.settings"}
    show = ("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)")
    first = start_django(env, *show)
    second = start_django(env, *show)
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert first.stdout.strip().splitlines()[-1] == second.stdout.strip().splitlines()[-1] == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def site_url_of(env: dict, tmp_path) -> str:
    show = ("shell", "-c", "from django.conf import settings; print(settings.SITE_URL)")
    result = start_django({"FACTCHECK_VAR_DIR": str(tmp_path)} | env, *show)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "served_at, site_url",
    [
        ({}, "http://127.0.0.1:8000"),
        ({"HOST": "127.0.0.1", "PORT": "8011"}, "http://127.0.0.1:8011"),
        ({"HOST": "localhost", "PORT": "9000"}, "http://localhost:9000"),
        ({"HOST": "0.0.0.0", "PORT": "8011"}, "http://127.0.0.1:8011"),
        ({"HOST": "::1", "PORT": "8011"}, "http://[::1]:8011"),
    ],
)
def test_in_development_links_point_at_the_address_the_desk_serves_on(served_at, site_url, tmp_path):
    assert site_url_of({"DEBUG": "1"} | served_at, tmp_path) == site_url


def test_a_site_url_that_is_set_wins_over_host_and_port(tmp_path):
    env = {"DEBUG": "1", "HOST": "127.0.0.1", "PORT": "8011", "SITE_URL": "https://desk.example.org/"}
    assert site_url_of(env, tmp_path) == "https://desk.example.org"


def test_in_production_host_and_port_do_not_make_the_site_url(tmp_path):
    # Production binds behind a proxy: the bind address is not where readers reach the desk.
    env = PRODUCTION | {"HOST": "0.0.0.0", "PORT": "8011"}
    assert site_url_of(env, tmp_path) == "http://127.0.0.1:8000"
    assert site_url_of(env | {"SITE_URL": "https://desk.example.org"}, tmp_path) == "https://desk.example.org"
