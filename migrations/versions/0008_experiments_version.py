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
# Each change moves the version by a random step (and it starts at a random value), so a
# database restored from a backup, or recreated, does not reach numbers a running process has
# already seen with other data.
_STEP = {
    "postgresql": "1 + floor(random() * 1000000000)::bigint",
    "sqlite": "1 + abs(random() % 1000000000)",
}


def _bump(dialect: str) -> str:
    step = _STEP[dialect]
    return f"UPDATE data_versions SET version = version + {step} WHERE name = 'experiments'"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute(
        f"INSERT INTO data_versions (name, version) VALUES ('experiments', {_STEP[dialect]})"
    )
    if dialect == "postgresql":
        # Deferred to COMMIT: the version row is locked only while a transaction commits, so
        # writers of different experiments do not queue on it (nor deadlock through it) for
        # the rest of their transactions. TRUNCATE has statement-level triggers only.
        op.execute(
            "CREATE FUNCTION bump_experiments_version() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN {_bump(dialect)}; RETURN NULL; END $$"
        )
        for table in _TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE"
                f" ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                " EXECUTE FUNCTION bump_experiments_version()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_version_truncate AFTER TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION bump_experiments_version()"
            )
        return
    # SQLite has one writer at a time and row-level triggers only: one bump per row.
    for table in _TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table}"
                f" BEGIN {_bump(dialect)}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"DROP TRIGGER {table}_version ON {table}")
            op.execute(f"DROP TRIGGER {table}_version_truncate ON {table}")
        op.execute("DROP FUNCTION bump_experiments_version()")
    else:
        for table in _TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_version_{event}")
    op.drop_table("data_versions")
