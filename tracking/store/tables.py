"""SQLAlchemy Core table definitions; the schema itself is owned by the alembic migrations."""

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid alias, not BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("artifact_location", sa.Text, nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
)
# search_experiments' default order (migration 0007).
sa.Index("ix_experiments_creation", experiments.c.creation_time.desc(), experiments.c.experiment_id)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column(
        "experiment_id",
        BigId,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Versions of data that readers cache. "experiments" is raised by triggers on every change to
# experiments and experiment_tags (migration 0008); experiment search's page cache checks it.
data_versions = sa.Table(
    "data_versions",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_uuid", sa.String(32), primary_key=True),
    sa.Column(
        "experiment_id",
        BigId,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("user_id", sa.String(256), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("lifecycle_stage", sa.String(20), nullable=False),
    sa.Column("artifact_uri", sa.Text, nullable=False),
    sa.Column("deleted_time", sa.BigInteger, nullable=True),
    # The runs table's default order is start_time DESC, run_uuid within an experiment.
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time", "run_uuid"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Every logged point. The primary key makes identical (step, timestamp, value) points idempotent
# and orders a run's history by key, timestamp, step: MLflow's get-history order. NaN is stored as
# value=0 with is_nan=1 because SQLite turns a NaN REAL into NULL.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Double, primary_key=True),
    sa.Column("is_nan", sa.Boolean, primary_key=True),
    sa.Column("model_id", sa.String(64), nullable=True),
    sa.Column("dataset_name", sa.String(500), nullable=True),
    sa.Column("dataset_digest", sa.String(36), nullable=True),
    sqlite_with_rowid=False,
)

# The value shown in RunData.metrics: the point with the greatest (step, timestamp, value),
# maintained in the same transaction as the insert so search never scans history.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    # The run's experiment (runs never move), so a search ordered by a metric walks
    # (experiment_id, key, is_nan, value) in order instead of sorting every run.
    sa.Column("experiment_id", sa.BigInteger, nullable=True),
    sa.Index("ix_latest_metrics_experiment_key", "experiment_id", "key", "is_nan", "value"),
    sqlite_with_rowid=False,
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("dataset_uuid", sa.String(36), primary_key=True),
    sa.Column(
        "experiment_id",
        BigId,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("digest", sa.String(36), nullable=False),
    sa.Column("source_type", sa.String(36), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("schema", sa.Text, nullable=True),
    sa.Column("profile", sa.Text, nullable=True),
    sa.UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_experiment_name"),
)

# A dataset used by a run, with the input's tags (e.g. mlflow.data.context).
dataset_inputs = sa.Table(
    "dataset_inputs",
    metadata,
    sa.Column("input_uuid", sa.String(36), primary_key=True),
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "dataset_uuid",
        sa.String(36),
        sa.ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.UniqueConstraint("run_uuid", "dataset_uuid", name="uq_dataset_inputs_run_dataset"),
)

input_tags = sa.Table(
    "input_tags",
    metadata,
    sa.Column(
        "input_uuid",
        sa.String(36),
        sa.ForeignKey("dataset_inputs.input_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.String(500), nullable=False),
)

run_model_inputs = sa.Table(
    "run_model_inputs",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("model_id", sa.String(64), primary_key=True),
)

run_model_outputs = sa.Table(
    "run_model_outputs",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("model_id", sa.String(64), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
)

# -- logged models (MLflow 3): MLflow's table and column names. A model's metrics are the rows of
# `metrics` carrying its model_id; no copy is kept. --

logged_models = sa.Table(
    "logged_models",
    metadata,
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
    # search_logged_models' default order within an experiment.
    sa.Index(
        "ix_logged_models_experiment_created",
        "experiment_id",
        "creation_timestamp_ms",
        "model_id",
    ),
)


def _logged_model_children(name: str, prefix: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
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


logged_model_tags = _logged_model_children("logged_model_tags", "tag")
logged_model_params = _logged_model_children("logged_model_params", "param")

# Partial: run metrics without a model (nearly all of them) cost this index nothing.
sa.Index(
    "ix_metrics_model_id",
    metrics.c.model_id,
    metrics.c.key,
    sqlite_where=metrics.c.model_id.is_not(None),
    postgresql_where=metrics.c.model_id.is_not(None),
)
# A model's outputs by model: the metrics its source run logged at that step are the model's.
sa.Index("ix_run_model_outputs_model_id", run_model_outputs.c.model_id)

# -- model registry: MLflow's table and column names (without its workspace column). Sources and
# storage locations are TEXT here (MLflow: VARCHAR(500), which PostgreSQL answers with a 500). --

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_updated_time", sa.BigInteger, nullable=True),
    sa.Column("description", sa.String(5000), nullable=True),
)

registered_model_tags = sa.Table(
    "registered_model_tags",
    metadata,
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column(
        "name",
        sa.String(256),
        sa.ForeignKey("registered_models.name", onupdate="CASCADE", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("value", sa.Text, nullable=True),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column(
        "name",
        sa.String(256),
        sa.ForeignKey("registered_models.name", onupdate="CASCADE", ondelete="CASCADE"),
        primary_key=True,
    ),
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

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
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

registered_model_aliases = sa.Table(
    "registered_model_aliases",
    metadata,
    sa.Column("alias", sa.String(256), primary_key=True),
    sa.Column(
        "name",
        sa.String(256),
        sa.ForeignKey("registered_models.name", onupdate="CASCADE", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, nullable=False),
)
