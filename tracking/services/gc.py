"""Garbage collection (`gc`): permanently remove deleted runs and experiments with their artifacts.

Follows `mlflow gc`: only runs and experiments in the `deleted` lifecycle stage are removed; a
run's age is its deleted_time, an experiment's its last_update_time (set when it was deleted).
Everything is checked before anything is removed, so bad input changes nothing. Artifacts go
before rows: a crash in between leaves rows that the next gc finds again, never orphaned files.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tracking.artifacts.roots import ArtifactRoots, Located
from tracking.config import Settings
from tracking.entities import DELETED
from tracking.errors import InvalidParameterValue
from tracking.services.clock import now_ms
from tracking.services.experiments import not_found as experiment_not_found
from tracking.services.runs import run_not_found
from tracking.services.validation import parse_experiment_id
from tracking.store import gc as store
from tracking.store import migrate
from tracking.store.database import Database

# Uploads still in staging after a day are leftovers of a crash or a dropped client.
INCOMPLETE_UPLOAD_AGE_SECONDS = 24 * 3600
# Runs whose artifacts are deleted before one transaction removes their rows.
RUNS_PER_TRANSACTION = 100

# MLflow's --older-than format: 30d, 1d2h3m4s, 1.5h, ...
_AGE = re.compile(
    r"^((?P<days>[.\d]+?)d)?((?P<hours>[.\d]+?)h)?((?P<minutes>[.\d]+?)m)?((?P<seconds>[.\d]+?)s)?$"
)

Echo = Callable[[str], None]


def parse_age(text: str) -> int:
    """Milliseconds in an MLflow age string such as '30d' or '1d2h3m4s'."""
    match = _AGE.match(text)
    try:
        parts = {k: float(v) for k, v in match.groupdict().items() if v} if match else {}
        millis = int(timedelta(**parts).total_seconds() * 1000) if parts else None
    except (ValueError, OverflowError):
        millis = None
    if millis is None:
        raise InvalidParameterValue(
            f"Could not parse any time information from '{text}'. "
            "Examples of valid strings: '8h', '2d8h5m20s', '2m4s'"
        )
    return millis


@dataclass(frozen=True)
class GcRequest:
    older_than: str | None = None  # None: every deleted run, however recent
    run_ids: Sequence[str] | None = None
    experiment_ids: Sequence[str] | None = None

    @property
    def targeted(self) -> bool:
        return self.run_ids is not None or self.experiment_ids is not None


@dataclass
class GcReport:
    runs: list[str] = field(default_factory=list)
    experiments: list[int] = field(default_factory=list)
    artifact_folders: int = 0  # folders removed from artifact storage
    left_in_place: int = 0  # artifact locations gc could not or would not delete
    incomplete_uploads: int = 0


@dataclass
class _Plan:
    runs: list[tuple[str, str]]  # (run_id, artifact_uri) outside the experiments below
    experiments: list[tuple[int, str]]  # (experiment_id, artifact_location)
    experiment_runs: dict[int, list[tuple[str, str]]]
    other_locations: list[str]  # artifact_location of every experiment that stays


class GarbageCollector:
    def __init__(self, db: Database, roots: ArtifactRoots, echo: Echo = print) -> None:
        self.db = db
        self.roots = roots
        self.echo = echo
        self.report = GcReport()

    async def collect(self, request: GcRequest) -> GcReport:
        for flag, ids in (
            ("--run-ids", request.run_ids),
            ("--experiment-ids", request.experiment_ids),
        ):
            if ids is not None and not ids:
                raise InvalidParameterValue(f"{flag} names no ids")
        cutoff = None if request.older_than is None else now_ms() - parse_age(request.older_than)
        experiment_ids = [parse_experiment_id(e) for e in request.experiment_ids or ()]
        plan: _Plan = await self.db.read(
            lambda conn: _plan(conn, request, cutoff, list(request.run_ids or ()), experiment_ids)
        )
        for start in range(0, len(plan.runs), RUNS_PER_TRANSACTION):
            await self._remove_runs(plan.runs[start : start + RUNS_PER_TRANSACTION])
        for experiment_id, location in plan.experiments:
            await self._remove_experiment(
                experiment_id, location, plan.experiment_runs[experiment_id], plan.other_locations
            )
        repositories = {id(r): r for r in [self.roots.proxy, *self.roots.served.values()]}
        for repository in repositories.values():
            purged = await repository.purge_incomplete(INCOMPLETE_UPLOAD_AGE_SECONDS)
            self.report.incomplete_uploads += purged
        return self.report

    async def _remove_runs(self, batch: list[tuple[str, str]]) -> None:
        for run_id, artifact_uri in batch:
            await self._delete_run_artifacts(run_id, artifact_uri)

        async def op(conn: Any) -> list[str]:
            # A run restored since planning keeps its rows.
            ids = await store.still_deleted_runs(conn, [run_id for run_id, _ in batch])
            await store.delete_runs(conn, ids)
            return ids

        for run_id in await self.db.write(op):
            self.report.runs.append(run_id)
            self.echo(f"Run with ID {run_id} has been permanently deleted.")

    async def _remove_experiment(
        self,
        experiment_id: int,
        location: str,
        runs: list[tuple[str, str]],
        other_locations: list[str],
    ) -> None:
        for run_id, artifact_uri in runs:
            await self._delete_run_artifacts(run_id, artifact_uri)
        located = self._locate(location, f"experiment {experiment_id}")
        if located is not None:
            if self._shared(located, other_locations):
                self._note(
                    f"artifacts of experiment {experiment_id} at {location} overlap another "
                    "experiment's artifact location"
                )
            else:
                await located.repository.delete(located.path)
                self.report.artifact_folders += 1

        async def op(conn: Any) -> list[str] | None:
            if not await store.still_deleted_experiments(conn, [experiment_id]):
                return None  # restored since planning
            ids = [row.run_uuid for row in await store.runs_of_experiments(conn, [experiment_id])]
            await store.delete_runs(conn, ids)
            await store.delete_experiments(conn, [experiment_id])
            return ids

        removed = await self.db.write(op)
        if removed is None:
            return
        for run_id in removed:
            self.report.runs.append(run_id)
            self.echo(f"Run with ID {run_id} has been permanently deleted.")
        self.report.experiments.append(experiment_id)
        self.echo(f"Experiment with ID {experiment_id} has been permanently deleted.")

    async def _delete_run_artifacts(self, run_id: str, artifact_uri: str) -> None:
        located = self._locate(artifact_uri, f"run {run_id}")
        if located is None:
            return
        path = located.path
        parent, _, leaf = path.rpartition("/")
        if leaf == "artifacts" and parent.rpartition("/")[2] == run_id:
            path = parent  # the run's own folder, <experiment>/<run_id>
        await located.repository.delete(path)
        self.report.artifact_folders += 1

    def _locate(self, uri: str, owner: str) -> Located | None:
        try:
            located = self.roots.locate(uri)
        except InvalidParameterValue:
            located = None
        if located is None:
            self._note(f"artifacts of {owner} at {uri} are not in this server's artifact storage")
        elif not located.path:
            self._note(f"artifacts of {owner} at {uri} are an artifact root itself")
            located = None
        return located

    def _shared(self, located: Located, other_locations: list[str]) -> bool:
        for location in other_locations:
            try:
                other = self.roots.locate(location)
            except InvalidParameterValue:
                continue
            if other is None or other.repository is not located.repository:
                continue
            a, b = located.path + "/", other.path + "/"
            if a.startswith(b) or b.startswith(a):
                return True
        return False

    def _note(self, text: str) -> None:
        self.report.left_in_place += 1
        self.echo(f"Note: {text}; left in place.")


async def _plan(
    conn: Any,
    request: GcRequest,
    cutoff: int | None,
    run_ids: list[str],
    experiment_ids: list[int],
) -> _Plan:
    if request.targeted:
        await _check_runs(conn, request, cutoff, run_ids)
        await _check_experiments(conn, request, cutoff, experiment_ids)
    else:
        run_ids = await store.deleted_run_ids(conn, cutoff)
        experiment_ids = await store.deleted_experiment_ids(conn, cutoff)
    experiment_ids = sorted(set(experiment_ids))
    experiment_runs = {
        e: [(r.run_uuid, r.artifact_uri) for r in await store.runs_of_experiments(conn, [e])]
        for e in experiment_ids
    }
    # A run inside an experiment being removed goes with its experiment.
    rows = await store.run_rows(conn, sorted(set(run_ids))) if run_ids else []
    standalone = [
        (r.run_uuid, r.artifact_uri) for r in rows if r.experiment_id not in experiment_runs
    ]
    experiments = await store.experiment_rows(conn, experiment_ids) if experiment_ids else []
    return _Plan(
        runs=sorted(standalone),
        experiments=sorted((e.experiment_id, e.artifact_location) for e in experiments),
        experiment_runs=experiment_runs,
        other_locations=await store.other_artifact_locations(conn, experiment_ids),
    )


async def _check_runs(
    conn: Any, request: GcRequest, cutoff: int | None, run_ids: list[str]
) -> None:
    rows = {r.run_uuid: r for r in await store.run_rows(conn, run_ids)} if run_ids else {}
    for run_id in run_ids:
        row = rows.get(run_id)
        if row is None:
            raise run_not_found(run_id)
        if row.lifecycle_stage != DELETED:
            raise InvalidParameterValue(
                f"Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` "
                "lifecycle stage can be deleted."
            )
        if cutoff is not None and (row.deleted_time is None or row.deleted_time > cutoff):
            raise InvalidParameterValue(
                f"Run {run_id} is not older than the required age. Only runs older than "
                f"{request.older_than} can be deleted."
            )


async def _check_experiments(
    conn: Any, request: GcRequest, cutoff: int | None, experiment_ids: list[int]
) -> None:
    rows = {e.experiment_id: e for e in await store.experiment_rows(conn, experiment_ids)}
    missing = [e for e in experiment_ids if e not in rows]
    if missing:
        raise experiment_not_found(missing[0])
    active = [str(e) for e in experiment_ids if rows[e].lifecycle_stage != DELETED]
    if active:
        raise InvalidParameterValue(
            f"Experiments {active} are not in the deleted lifecycle stage. Only experiments in "
            "the deleted lifecycle stage can be hard-deleted."
        )
    young = [
        str(e) for e in experiment_ids if cutoff is not None and rows[e].last_update_time >= cutoff
    ]
    if young:
        raise InvalidParameterValue(
            f"Experiments {young} are not older than the required age. Only experiments older "
            f"than {request.older_than} can be deleted."
        )


async def collect_garbage(settings: Settings, request: GcRequest, echo: Echo = print) -> GcReport:
    """Open the database and artifact storage named by `settings`, collect, close both."""
    db = Database(settings.backend_store_uri, pool_size=1, max_batch_ops=1)
    try:
        await migrate.check_schema(db.reader, settings.backend_store_uri)
        await db.start()
        roots = await ArtifactRoots.open(settings.artifacts_destination, settings.artifact_roots)
        try:
            return await GarbageCollector(db, roots, echo).collect(request)
        finally:
            await roots.close()
    finally:
        await db.close()
