"""Logging filters (settings.LOGGING).

Django logs every 5xx answer on `django.request` at ERROR. /healthz answers 503 on
purpose while a part of the desk is down (at start, until the worker answers), and load
balancers ask it every few seconds: those answers are the probe working, not an error, so
they are not logged. The access log still has them, and /healthz's body names what is
down. Any other 5xx, and a 500 from /healthz itself (a bug), is logged as before.
"""

import logging

HEALTH_PROBES = {"healthz"}  # url names


class QuietHealthProbes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 503:
            return True
        request = getattr(record, "request", None)
        match = getattr(request, "resolver_match", None)
        return getattr(match, "url_name", None) not in HEALTH_PROBES
