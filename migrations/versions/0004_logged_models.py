"""Logged models: logged_models with their tags and params, MLflow's table and column names.

A model's metrics stay in `metrics` (rows carrying its model_id), found through a partial index
that run metrics without a model never enter, and through the run that output it (indexed by
model here).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(36), primary_key=True),
        sa.Column(
            "experiment_id",
            BigId,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("model_type", sa.String(500), nullable=True),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("status_message", sa.String(1000), nullable=True),
    )
    op.create_index(
        "ix_logged_models_experiment_created",
        "logged_models",
        ["experiment_id", "creation_timestamp_ms", "model_id"],
    )
    for name, prefix in (("logged_model_tags", "tag"), ("logged_model_params", "param")):
        op.create_table(
            name,
            sa.Column(
                "model_id",
                sa.String(36),
                sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("experiment_id", BigId, nullable=False),
            sa.Column(f"{prefix}_key", sa.String(255), primary_key=True),
            sa.Column(f"{prefix}_value", sa.Text, nullable=False),
        )
    op.create_index(
        "ix_metrics_model_id",
        "metrics",
        ["model_id", "key"],
        sqlite_where=sa.text("model_id IS NOT NULL"),
        postgresql_where=sa.text("model_id IS NOT NULL"),
    )
    op.create_index("ix_run_model_outputs_model_id", "run_model_outputs", ["model_id"])


def downgrade() -> None:
    op.drop_index("ix_run_model_outputs_model_id", table_name="run_model_outputs")
    op.drop_index("ix_metrics_model_id", table_name="metrics")
    op.drop_table("logged_model_params")
    op.drop_table("logged_model_tags")
    op.drop_index("ix_logged_models_experiment_created", table_name="logged_models")
    op.drop_table("logged_models")
