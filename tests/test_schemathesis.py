"""schemathesis against the live OpenAPI schema: no 5xx, no response that breaks the schema."""

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotations.services.claims import claim_create
from annotations.services.tokens import api_token_create
from tests.test_api import approved_claim

# Bounded and derandomized: a few examples per operation, the same ones every run, keep
# the suite fast and repeatable while covering every route. SCHEMATHESIS_EXAMPLES=50 for a
# deeper run (the figures are printed: pytest -s).
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))

pytestmark = pytest.mark.django_db

# No 5xx, and every response as the schema documents it (status, content type, headers,
# body). Bad input getting a 400 is the API working; what the 400 says is tested in
# test_api.py, as is the 401 for a missing or revoked token.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: requests must not close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_operation_honours_the_schema(alice, bob, article, keep_test_connection):
    approved_claim(article, alice, bob)
    version = article.versions.get()
    claim_create(actor=alice, article=article, version=version, exact="Not yet",
                 start=version.text.index("Not yet"), end=version.text.index("Not yet") + 7)
    _, key = api_token_create(user=alice, name="schemathesis")
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())

    failures, operations, cases = [], 0, 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"An operation the schema describes badly: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            nonlocal cases
            cases += 1
            response = case.call(headers={"Authorization": f"Token {key}"})
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collect every failing operation, then report them all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    print(f"schemathesis: {operations} operations, {cases} cases, {len(failures)} failing operations "
          f"({EXAMPLES_PER_OPERATION} examples per operation)")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
