"""A version number of the experiments' data, raised by the database on every change.

Experiment search answers from a per-process cache of pages, each kept with the version it was
read at; a request reads the version first (one primary-key lookup) and uses a cached page only
if it was read at that same version. Triggers raise it in the transaction of any change to
`experiments` or `experiment_tags`, whoever makes it (any server process or host, gc, or plain
SQL), so no cache can serve a page the database no longer holds.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TABLES = ("experiments", "experiment_tags")
_BUMP = "UPDATE data_versions SET version = version + 1 WHERE name = 'experiments'"


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO data_versions (name, version) VALUES ('experiments', 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_experiments_version() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table in _TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
                f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_experiments_version()"
            )
        return
    # SQLite has row-level triggers only; experiments change rarely, so one bump per row.
    for table in _TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table}"
                f" BEGIN {_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"DROP TRIGGER {table}_version ON {table}")
        op.execute("DROP FUNCTION bump_experiments_version()")
    else:
        for table in _TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_version_{event}")
    op.drop_table("data_versions")
