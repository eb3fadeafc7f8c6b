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
}


def start_django(env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION and not k.startswith(("DATABASE_", "REDIS_", "EMAIL_", "CELERY_", "SECURE_", "DJANGO_ALLOW_ASYNC"))
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
        ({"CELERY_TASK_TIME_LIMIT": "10", "CELERY_TASK_SOFT_TIME_LIMIT": "20"}, "CELERY_TASK_TIME_LIMIT must be greater"),
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
