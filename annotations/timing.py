"""`Server-Timing` on every response, when SERVER_TIMING is on: how long the desk took to
answer and how much of it was spent in PostgreSQL, for the browser's network panel and
for bench/hot_paths.py. Off by default in production: it tells clients how busy the
database is."""

import time

from django.db import connection


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        database = {"seconds": 0.0, "queries": 0}

        def timed(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                database["seconds"] += time.perf_counter() - started
                database["queries"] += 1

        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            response = self.get_response(request)
        total = (time.perf_counter() - started) * 1000
        # A streamed body is still being produced: this is the time to its first part.
        response["Server-Timing"] = (
            f'app;dur={total:.1f}, db;dur={database["seconds"] * 1000:.1f};desc="{database["queries"]} queries"'
        )
        return response
