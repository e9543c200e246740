"""Metric history use cases: full, paged, bulk and sampled histories."""

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import MetricPoints, PointRow
from tracking.errors import InvalidParameterValue
from tracking.search import tokens
from tracking.services.runs import require_run, run_not_found
from tracking.store import metric_history as store
from tracking.store import runs as run_store
from tracking.store.database import Database

MAX_RUNS_BULK = 100
MAX_HISTORY_BULK_RESULTS = 25000
MAX_RESULTS_PER_RUN = 2500


@dataclass(frozen=True)
class MetricPage:
    metrics_json: bytes  # the points as an encoded JSON array
    count: int
    next_page_token: str | None


class MetricService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def history(
        self, run_id: str, key: str, *, max_results: int | None, page_token: str | None
    ) -> MetricPage:
        if max_results is not None and max_results <= 0:
            raise InvalidParameterValue(
                f"Invalid value {max_results} for parameter 'max_results' supplied. "
                "It must be a positive integer."
            )
        offset = tokens.decode_page_token(page_token)

        async def op(conn: AsyncConnection) -> MetricPage:
            await require_run(conn, run_id)
            if max_results is None:
                return MetricPage(*await store.history_json(conn, run_id, key, offset=offset), None)
            rows = await store.history(conn, run_id, key, offset=offset, limit=max_results + 1)
            page, token = tokens.split_page(rows, offset, max_results)
            return MetricPage(orjson.dumps(MetricPoints(key, page).to_dicts()), len(page), token)

        return await self.db.read(op)

    async def history_bulk(
        self, run_ids: list[str], key: str | None, max_results: int | None
    ) -> MetricPoints:
        """The ajax-only bulk history: every point of one key across up to 100 runs."""
        if not run_ids:
            raise InvalidParameterValue(
                "GetMetricHistoryBulk request must specify at least one run_id."
            )
        if len(run_ids) > MAX_RUNS_BULK:
            raise InvalidParameterValue(
                f"GetMetricHistoryBulk request cannot specify more than {MAX_RUNS_BULK}"
                f" run_ids. Received {len(run_ids)} run_ids."
            )
        if key is None:
            raise InvalidParameterValue("GetMetricHistoryBulk request must specify a metric_key.")
        limit = min(max_results or MAX_HISTORY_BULK_RESULTS, MAX_HISTORY_BULK_RESULTS)
        rows = await self.db.read(
            lambda conn: store.bulk_history(conn, sorted(set(run_ids)), key, limit=limit)
        )
        return MetricPoints(key, rows)

    async def history_bulk_interval(
        self,
        run_ids: list[str],
        key: str,
        *,
        max_results: int | None,
        start_step: int | None,
        end_step: int | None,
    ) -> MetricPoints:
        if not run_ids:
            raise InvalidParameterValue(
                "Missing value for required parameter 'run_ids'. "
                "See the API docs for more information about request parameters."
            )
        if len(run_ids) > MAX_RUNS_BULK:
            raise InvalidParameterValue(
                f"GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS_BULK}"
                f" run_ids. Received {len(run_ids)} run_ids."
            )
        per_run = MAX_RESULTS_PER_RUN if max_results is None else max_results
        if not 1 <= per_run <= MAX_RESULTS_PER_RUN:
            raise InvalidParameterValue(f"max_results must be between 1 and {MAX_RESULTS_PER_RUN}.")
        if (start_step is None) != (end_step is None):
            raise InvalidParameterValue(
                "If either start step or end step are specified, both must be specified."
            )
        if start_step is not None and end_step is not None and start_step > end_step:
            raise InvalidParameterValue(
                "end_step must be greater than start_step. "
                f"Found start_step={start_step} and end_step={end_step}."
            )
        unique_ids = list(dict.fromkeys(run_ids))

        async def op(conn: AsyncConnection) -> MetricPoints:
            present = await run_store.existing_run_ids(conn, unique_ids)
            for run_id in unique_ids:
                if run_id not in present:
                    raise run_not_found(run_id)
            rows = await store.sampled_history(
                conn,
                unique_ids,
                key,
                max_results=per_run,
                start_step=start_step,
                end_step=end_step,
            )
            return MetricPoints(key, _assemble_samples(unique_ids, rows, per_run))

        return await self.db.read(op)


def _assemble_samples(run_ids: list[str], rows: Any, per_run: int) -> list[PointRow]:
    """MLflow's rule: the first point of each bucket, and the run's last point always kept
    (replacing the final sample when the page is already full)."""
    by_run: dict[str, list[PointRow]] = {}
    last: dict[str, PointRow] = {}
    for run_uuid, timestamp, step, value, is_nan, first, is_last in rows:
        row: PointRow = (run_uuid, timestamp, step, value, is_nan, None, None, None)
        if first:
            by_run.setdefault(run_uuid, []).append(row)
        if is_last:
            last[run_uuid] = row
    out: list[PointRow] = []
    for run_id in run_ids:
        sampled = by_run.get(run_id, [])
        final = last.get(run_id)
        if final is not None and (not sampled or sampled[-1] != final):
            if len(sampled) >= per_run:
                sampled[-1] = final
            else:
                sampled.append(final)
        out.extend(sampled)
    return out
