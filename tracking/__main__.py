"""Command line: `serve`, `db upgrade` and `gc`, with MLflow's flag names where they exist."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tracking import startup, workers
from tracking.config import Settings, from_env, split_list

if TYPE_CHECKING:
    from tracking.services.gc import GcReport

# Only what `serve` needs is imported up here: a supervisor of several workers stays a small
# process (tracking/startup.py). The other commands import their own.


def _storage_flags(parser: argparse.ArgumentParser) -> None:
    """Where the database and the artifacts are: shared by `serve` and `gc`."""
    parser.add_argument("--backend-store-uri", help="sqlite:///path.db or postgresql://...")
    parser.add_argument("--default-artifact-root", help="default mlflow-artifacts:/")
    parser.add_argument("--artifacts-destination", help="default ./mlartifacts")
    parser.add_argument(
        "--allowed-artifact-locations",
        type=split_list,
        help="comma-separated folders or s3:// prefixes an experiment's artifact_location may "
        "name besides the artifact root (TRACKING_ALLOWED_ARTIFACT_LOCATIONS)",
    )


def _gc_flags(parser: argparse.ArgumentParser) -> None:
    _storage_flags(parser)
    parser.add_argument(
        "--older-than",
        help="only runs deleted longer ago than this, e.g. 30d or 1d2h3m4s (default: all)",
    )
    parser.add_argument(
        "--run-ids", type=split_list, help="comma-separated deleted runs to remove (only these)"
    )
    parser.add_argument(
        "--experiment-ids",
        type=split_list,
        help="comma-separated deleted experiments to remove with all their runs (only these)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracking", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the tracking API", add_help=False)
    serve.add_argument("--host", "-h", dest="host", help="default 127.0.0.1 (MLFLOW_HOST)")
    serve.add_argument("--port", "-p", type=int, help="default 5000 (MLFLOW_PORT)")
    _storage_flags(serve)
    serve.add_argument("--workers", "-w", type=int, help="processes sharing the port")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="never apply migrations at startup (SQLite applies them by default)",
    )
    serve.add_argument(
        "--static-prefix",
        help="serve the UI and the API under this path, e.g. /mlflow (MLFLOW_STATIC_PREFIX)",
    )
    serve.add_argument(
        "--no-ui", action="store_true", help="do not serve the web UI (TRACKING_UI=0)"
    )
    serve.add_argument("--help", action="help", help="show this help message and exit")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply schema migrations")
    upgrade.add_argument("--backend-store-uri", help="defaults to MLFLOW_BACKEND_STORE_URI")

    ui = sub.add_parser("ui", help="the MLflow web UI")
    ui_sub = ui.add_subparsers(dest="ui_command", required=True)
    ui_install = ui_sub.add_parser(
        "install",
        help="download the pinned mlflow wheel (sha256-checked) and keep only its web UI build",
    )
    ui_install.add_argument("--dir", help="install here (default: TRACKING_UI_DIR or <venv>/share)")
    ui_install.add_argument("--wheel", help="use this local mlflow wheel instead of downloading")
    ui_install.add_argument("--force", action="store_true", help="reinstall if present")

    gc = sub.add_parser(
        "gc",
        help="permanently remove deleted runs and experiments with their artifacts",
        description="Like `mlflow gc`: permanently removes runs and experiments in the deleted "
        "lifecycle stage, with their metrics, params, tags, inputs and artifacts.",
    )
    _gc_flags(gc)
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
            "allowed_artifact_locations",
            "workers",
            "static_prefix",
        )
    }
    if getattr(args, "no_ui", False):
        overrides["ui_enabled"] = False
    if getattr(args, "no_migrate", False):
        overrides["auto_migrate"] = False
    return from_env(**overrides)


def serve(settings: Settings) -> int:
    worker_settings = settings.with_(auto_migrate=False)
    if settings.workers <= 1:
        code = startup.prepare(settings)
        if code == 0:
            workers.run_worker(worker_settings)
        return code
    code = startup.prepare_in_child(settings)
    if code != 0:
        return code
    return workers.supervise(worker_settings)


def gc(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from tracking.errors import MlflowError
    from tracking.services.gc import GcRequest, collect_garbage
    from tracking.store import migrate

    request = GcRequest(args.older_than, args.run_ids, args.experiment_ids)
    try:
        report = asyncio.run(collect_garbage(settings, request))
    except migrate.SchemaOutdated as exc:
        print(exc, file=sys.stderr)
        return startup.SCHEMA_OUTDATED
    except (MlflowError, ValueError) as exc:
        print(f"gc: {exc}", file=sys.stderr)
        return 1
    print(_gc_summary(report))
    return 0


def _gc_summary(report: GcReport) -> str:
    summary = (
        f"gc: removed {len(report.runs)} run(s) and {len(report.experiments)} experiment(s), "
        f"{report.artifact_folders} artifact folder(s) and {report.incomplete_uploads} "
        "incomplete upload(s)"
    )
    if report.left_in_place:
        summary += f"; {report.left_in_place} artifact location(s) left in place (see notes)"
    return summary + "."


def ui_install(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from tracking.ui import build, install

    target = Path(args.dir) if args.dir else build.build_dir(settings)
    wheel = Path(args.wheel) if args.wheel else None
    try:
        print(install.install(target, wheel, force=args.force))
    except (install.InstallError, OSError) as exc:
        print(f"ui install: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    if args.command == "serve":
        return serve(settings)
    if args.command == "ui":
        return ui_install(settings, args)
    if args.command == "gc":
        return gc(settings, args)
    from tracking.store import migrate

    migrate.upgrade(settings.backend_store_uri)
    print(f"Database is at revision {migrate.head_revision()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
