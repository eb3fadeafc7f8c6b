"""Probes used by ./desk before Django is set up: is Postgres/Redis up, create the database.

Exit status: 0 ready, 1 not reachable, 2 reachable but refused (the message says why).
"""

import os
import sys
import urllib.request
from urllib.parse import unquote, urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/factcheck"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def database_params() -> tuple[dict, str]:
    parts = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    params = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or "") or None,
        "connect_timeout": 3,
    }
    return params, unquote(parts.path.lstrip("/")) or "factcheck"


def postgres_ready() -> int:
    import psycopg

    params, _ = database_params()
    try:
        psycopg.connect(dbname="postgres", **params).close()
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        if "password" in message or "authentication" in message or "role" in message:
            print(
                f"PostgreSQL at {params['host']}:{params['port']} refused user "
                f"{params['user']!r}: {message}. Set DATABASE_URL with the right credentials.",
                file=sys.stderr,
            )
            return 2
        print(f"PostgreSQL at {params['host']}:{params['port']} is not reachable: {message}", file=sys.stderr)
        return 1
    return 0


def create_database() -> int:
    import psycopg
    from psycopg import sql

    params, name = database_params()
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"==> Creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(name)))
    return 0


def redis_ready() -> int:
    import redis

    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.AuthenticationError as exc:
        print(f"Redis at {url} refused the login: {exc}. Fix REDIS_URL.", file=sys.stderr)
        return 2
    except redis.exceptions.RedisError as exc:
        print(f"Redis at {url} is not reachable: {exc}", file=sys.stderr)
        return 1
    return 0


def http_ready(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return 0
    except urllib.error.HTTPError:
        return 0  # it answered; /healthz says 503 until the worker is up
    except OSError:
        return 1


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "postgres-ready":
        sys.exit(postgres_ready())
    if command == "redis-ready":
        sys.exit(redis_ready())
    if command == "create-database":
        sys.exit(create_database())
    if command == "http-ready" and len(sys.argv) == 3:
        sys.exit(http_ready(sys.argv[2]))
    print("usage: services.py postgres-ready|redis-ready|create-database|http-ready URL", file=sys.stderr)
    sys.exit(64)
