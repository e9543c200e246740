"""How big the read-side populations are and how many clients read them (full run defaults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sizes:
    search_runs: int = 10_000  # runs in the runs/search experiment, ~5 params/metrics/tags each
    deep_offset: int = 5_000  # where the deep runs/search page starts (clamped to half the runs)
    history_points: int = 100_000  # points of the one metric read by get-history
    bulk_runs: int = 100  # runs read together by get-history-bulk-interval (MLflow's maximum)
    bulk_points: int = 1_000  # points per run of that metric
    bulk_max_results: int = 320  # fewer than stored, so the server has to sample
    experiments: int = 1_000  # experiments listed by experiments/search
    read_clients: int = 4  # concurrent clients for every read workload
    populate_clients: int = 8  # concurrency while populating (not measured)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sizes:
        return cls(**data)

    def deep_page_offset(self) -> int:
        # A multiple of the 100-run page, at most half the runs so the filter still reaches it.
        return max(100, min(self.deep_offset, self.search_runs // 2) // 100 * 100)


QUICK = Sizes(
    search_runs=500,
    deep_offset=200,
    history_points=5_000,
    bulk_runs=100,
    bulk_points=100,
    bulk_max_results=50,
    experiments=50,
)
