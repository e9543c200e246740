"""Model registry: registered models, their tags and aliases, model versions and their tags.

MLflow's table and column names, without its workspace column (this server has one workspace).
Sources and storage locations are TEXT (MLflow: VARCHAR(500)); model_versions keeps the
model_id of a version registered from a logged model.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _model_name(primary_key: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "name",
        sa.String(256),
        sa.ForeignKey("registered_models.name", onupdate="CASCADE", ondelete="CASCADE"),
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=True),
        sa.Column("description", sa.String(5000), nullable=True),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("key", sa.String(250), primary_key=True),
        _model_name(),
        sa.Column("value", sa.Text, nullable=True),
    )
    op.create_table(
        "model_versions",
        _model_name(),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=True),
        sa.Column("description", sa.String(5000), nullable=True),
        sa.Column("user_id", sa.String(256), nullable=True),
        sa.Column("current_stage", sa.String(20), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("storage_location", sa.Text, nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("run_link", sa.Text, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.String(500), nullable=True),
        sa.Column("model_id", sa.String(64), nullable=True),
    )
    op.create_table(
        "model_version_tags",
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("value", sa.Text, nullable=True),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("alias", sa.String(256), primary_key=True),
        _model_name(),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("registered_model_aliases")
    op.drop_table("model_version_tags")
    op.drop_table("model_versions")
    op.drop_table("registered_model_tags")
    op.drop_table("registered_models")
