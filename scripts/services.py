"""Probes used by ./desk before Django is set up: is Postgres/Redis up, create the database,
is the running desk up (web, worker and scheduler, from /healthz).

Exit status: 0 ready, 1 not reachable, 2 reachable but refused (the message says why).
"""

import os
import sys
import urllib.request
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/factcheck"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
OWNER_ROLE, APP_ROLE = "factcheck_owner", "factcheck_app"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def database_params(variable: str = "DATABASE_URL") -> tuple[dict, str]:
    default = DEFAULT_ADMIN_URL if variable == "DATABASE_ADMIN_URL" else DEFAULT_DATABASE_URL
    parts = urlsplit(os.environ.get(variable) or default)
    params = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or "") or None,
        "connect_timeout": 3,
    }
    return params, unquote(parts.path.lstrip("/")) or "factcheck"


def postgres_ready(variable: str = "DATABASE_URL") -> int:
    import psycopg

    params, _ = database_params(variable)
    try:
        psycopg.connect(dbname="postgres", **params).close()
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        if "password" in message or "authentication" in message or "role" in message:
            print(
                f"PostgreSQL at {params['host']}:{params['port']} refused user "
                f"{params['user']!r}: {message}. Set {variable} with the right credentials.",
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


def create_roles(env_file: str) -> int:
    """On a local PostgreSQL: the owner and application roles, and the database owned by
    the owner. Writes DATABASE_URL (application role) and DATABASE_OWNER_URL to `env_file`,
    keeping the passwords it wrote before. Connects with DATABASE_ADMIN_URL (a superuser)."""
    import secrets

    import psycopg
    from psycopg import sql

    admin, _ = database_params("DATABASE_ADMIN_URL")
    name = os.environ.get("DATABASE_NAME") or "factcheck"
    known = {}
    if os.path.exists(env_file):
        with open(env_file, encoding="utf-8") as lines:
            for line in lines:
                key, _, value = line.strip().partition("=")
                known[key] = urlsplit(value).password
    passwords = {
        OWNER_ROLE: known.get("DATABASE_OWNER_URL") or secrets.token_urlsafe(18),
        APP_ROLE: known.get("DATABASE_URL") or secrets.token_urlsafe(18),
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        for role, options in ((OWNER_ROLE, "CREATEDB"), (APP_ROLE, "NOCREATEDB")):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            if not exists:
                print(f"==> Creating the database role {role}")
            conn.execute(sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION "
                                 "NOBYPASSRLS " + options + " PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(passwords[role])))
        for database in (name, f"test_{name}"):
            row = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                               [database]).fetchone()
            if row is None or row[0] == OWNER_ROLE:
                continue
            if database.startswith("test_"):
                # A test database left by a run under another role: the next run makes a new one.
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
                continue
            print(f"==> Handing the database {database} and its tables to {OWNER_ROLE}")
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(OWNER_ROLE)))
            with psycopg.connect(dbname=database, autocommit=True, **admin) as db:
                db.execute(REASSIGN_SQL.replace("OWNER_ROLE", OWNER_ROLE))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"==> Creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name), sql.Identifier(OWNER_ROLE)))
    host, port = admin["host"], admin["port"]
    with open(env_file, "w", encoding="utf-8") as out:
        os.chmod(env_file, 0o600)
        for variable, role in (("DATABASE_URL", APP_ROLE), ("DATABASE_OWNER_URL", OWNER_ROLE)):
            out.write(f"{variable}=postgres://{role}:{passwords[role]}@{host}:{port}/{name}\n")
    return 0


# Tables, sequences, views and functions of the public schema made by an earlier role
# (a database first migrated as `postgres`) go to the owner, so it can migrate them.
REASSIGN_SQL = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                   AND pg_get_userbyid(c.relowner) <> 'OWNER_ROLE'
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO OWNER_ROLE',
                       CASE item.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                            WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, item.name);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS name FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'OWNER_ROLE'
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO OWNER_ROLE', item.name);
    END LOOP;
END $$;
"""


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


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def desk_waiting_for(url: str, since: str) -> list[str]:
    """What /healthz at `url` says is not up yet: "web" (no answer), the parts it names down
    ("worker", ...), and "scheduler" unless beat has beaten since `since` (an ISO time; beat
    sends a heartbeat as it starts, annotations/readiness.py). Empty: everything is up."""
    import json

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as answer:  # 503 while a part is down; its body says which
        try:
            body = json.load(answer)
        except ValueError:
            return ["web"]
    except (OSError, ValueError):
        return ["web"]
    waiting = [str(part) for part in body.get("down") or []]
    if body.get("status") != "ok" and not waiting:
        waiting.append("web")
    beat = body.get("scheduler_last_beat")
    try:
        beaten = bool(beat) and _when(beat) >= _when(since)
    except ValueError:
        beaten = False
    if not beaten:
        waiting.append("scheduler")
    return waiting


def desk_ready(url: str, since: str, explain: bool = False) -> int:
    """0 when web, worker and scheduler are all up (desk_waiting_for); else 1, and with
    `explain` it prints what is still down."""
    waiting = desk_waiting_for(url, since)
    if waiting and explain:
        print(", ".join(waiting))
    return 1 if waiting else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "postgres-ready":
        sys.exit(postgres_ready(*sys.argv[2:3]))
    if command == "create-roles" and len(sys.argv) == 3:
        sys.exit(create_roles(sys.argv[2]))
    if command == "redis-ready":
        sys.exit(redis_ready())
    if command == "create-database":
        sys.exit(create_database())
    if command == "http-ready" and len(sys.argv) == 3:
        sys.exit(http_ready(sys.argv[2]))
    if command == "desk-ready" and len(sys.argv) in (4, 5):
        sys.exit(desk_ready(sys.argv[2], sys.argv[3], explain=sys.argv[4:] == ["--explain"]))
    print("usage: services.py postgres-ready [VARIABLE]|create-roles ENV_FILE|redis-ready|create-database|"
          "http-ready URL|desk-ready HEALTHZ_URL SINCE [--explain]", file=sys.stderr)
    sys.exit(64)
