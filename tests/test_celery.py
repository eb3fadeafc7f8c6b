"""A task goes web -> Redis -> a real worker process -> result backend and back."""

import pytest

from annotations import tasks
from annotations.health import last_scheduler_beat


def test_ping_runs_when_called_directly():
    assert tasks.ping() == "pong"


@pytest.mark.django_db(transaction=True)
def test_ping_round_trips_through_a_real_worker(celery_worker):
    result = tasks.ping.delay()
    assert result.get(timeout=20) == "pong"
    assert result.successful()


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_heartbeat_is_recorded_by_the_worker(celery_worker):
    stamp = tasks.heartbeat.delay().get(timeout=20)
    assert last_scheduler_beat() == stamp


def test_celery_is_configured_not_to_lose_work():
    from factcheck.celery import app

    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit > conf.task_soft_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
