"""Command line: `serve` and `db upgrade`, with MLflow's flag names where they exist."""

import argparse
import asyncio
import sys

from tracking import workers
from tracking.config import Settings, from_env
from tracking.store import migrate
from tracking.store.engine import make_engine


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracking", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the tracking API", add_help=False)
    serve.add_argument("--host", "-h", dest="host", help="default 127.0.0.1 (MLFLOW_HOST)")
    serve.add_argument("--port", "-p", type=int, help="default 5000 (MLFLOW_PORT)")
    serve.add_argument("--backend-store-uri", help="sqlite:///path.db or postgresql://...")
    serve.add_argument("--default-artifact-root", help="default mlflow-artifacts:/")
    serve.add_argument("--artifacts-destination", help="default ./mlartifacts")
    serve.add_argument("--workers", "-w", type=int, help="processes sharing the port")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="never apply migrations at startup (SQLite applies them by default)",
    )
    serve.add_argument("--help", action="help", help="show this help message and exit")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply schema migrations")
    upgrade.add_argument("--backend-store-uri", help="defaults to MLFLOW_BACKEND_STORE_URI")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        name: getattr(args, name, None)
        for name in (
            "host",
            "port",
            "backend_store_uri",
            "default_artifact_root",
            "artifacts_destination",
            "workers",
        )
    }
    if getattr(args, "no_migrate", False):
        overrides["auto_migrate"] = False
    return from_env(**overrides)


async def _check(settings: Settings) -> None:
    engine = make_engine(settings.backend_store_uri, pool_size=1)
    try:
        await migrate.check_schema(engine, settings.backend_store_uri)
    finally:
        await engine.dispose()


def _prepare(settings: Settings) -> None:
    """Migrate (SQLite) or verify (PostgreSQL) once, before any worker starts."""
    if settings.should_migrate:
        migrate.upgrade(settings.backend_store_uri)
    asyncio.run(_check(settings))


def serve(settings: Settings) -> int:
    try:
        _prepare(settings)
    except migrate.SchemaOutdated as exc:
        print(exc, file=sys.stderr)
        return 2
    worker_settings = settings.with_(auto_migrate=False)
    if settings.workers <= 1:
        workers.run_worker(worker_settings, reuse_port=False)
        return 0
    return workers.supervise(worker_settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    if args.command == "serve":
        return serve(settings)
    migrate.upgrade(settings.backend_store_uri)
    print(f"Database is at revision {migrate.head_revision()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
