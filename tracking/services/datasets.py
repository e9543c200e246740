"""Dataset use cases: the summaries behind the UI's dataset filter."""

from tracking.entities import DatasetSummary
from tracking.errors import InvalidParameterValue
from tracking.services.validation import parse_experiment_id
from tracking.store import datasets as store
from tracking.store.database import Database

MAX_EXPERIMENT_IDS_PER_REQUEST = 20


class DatasetService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(self, experiment_ids: list[str]) -> list[DatasetSummary]:
        if not experiment_ids:
            raise InvalidParameterValue(
                "SearchDatasets request must specify at least one experiment_id."
            )
        if len(experiment_ids) > MAX_EXPERIMENT_IDS_PER_REQUEST:
            raise InvalidParameterValue(
                "SearchDatasets request cannot specify more than "
                f"{MAX_EXPERIMENT_IDS_PER_REQUEST} experiment_ids. "
                f"Received {len(experiment_ids)} experiment_ids."
            )
        ids = [parse_experiment_id(e) for e in experiment_ids]
        rows = await self.db.read(lambda conn: store.dataset_summaries(conn, ids))
        return [DatasetSummary(r.experiment_id, r.name, r.digest, r.value) for r in rows]
