"""Index params by key only: PostgreSQL cannot index a param value of 6000 characters.

A btree entry holds at most 2704 bytes, so the (key, value) index made logging a long,
incompressible param value fail with a server error. Searches reach params through the
(run_uuid, key) primary key; the key index serves lookups across runs, as ix_tags_key does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_params_key_value", table_name="params")
    op.create_index("ix_params_key", "params", ["key"])


def downgrade() -> None:
    op.drop_index("ix_params_key", table_name="params")
    op.create_index("ix_params_key_value", "params", ["key", "value"])
