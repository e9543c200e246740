"""Carry each run's experiment on latest_metrics, indexed as (experiment_id, key, is_nan, value).

Ordering a run search by a metric ("metrics.accuracy DESC", the leaderboard query) had to visit
every candidate run and sort them, because nothing ordered runs by a metric within an
experiment. With this index the search walks one experiment's values of one key in order and
stops after offset + limit matches: the first page of 100 over 10,000 runs went from 66 ms to
4 ms on PostgreSQL. Led by the experiment, unlike the key-led index 0003 dropped, so a filter
on a metric cannot be driven through it across the whole table.

A run never changes experiment, so the copy cannot go stale; every write of latest_metrics
sets it. The column stays nullable: SQLite cannot add a NOT NULL column without a default
or a table rebuild.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("latest_metrics", sa.Column("experiment_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE latest_metrics SET experiment_id = "
        "(SELECT runs.experiment_id FROM runs WHERE runs.run_uuid = latest_metrics.run_uuid)"
    )
    op.create_index(
        "ix_latest_metrics_experiment_key",
        "latest_metrics",
        ["experiment_id", "key", "is_nan", "value"],
    )


def downgrade() -> None:
    op.drop_index("ix_latest_metrics_experiment_key", table_name="latest_metrics")
    op.drop_column("latest_metrics", "experiment_id")  # SQLite >= 3.35 drops columns in place
