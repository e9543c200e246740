"""Drop the key-led indexes on latest_metrics, params and tags.

Search reaches these tables through correlated lookups on (run_uuid, key), which the primary
keys serve. With fresh statistics (a newly filled experiment, before autoanalyze) PostgreSQL
instead drove a metric filter through (key, value) once per run: 2,000 bitmap scans and 785 ms
for a search that takes 18 ms on the primary key. The indexes also cost every insert.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    op.drop_index("ix_params_key", table_name="params")
    op.drop_index("ix_tags_key", table_name="tags")


def downgrade() -> None:
    op.create_index("ix_tags_key", "tags", ["key"])
    op.create_index("ix_params_key", "params", ["key"])
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
