"""MLflow-compatible tracking server on aiohttp."""

__version__ = "0.1.0"
# The MLflow release whose REST contract (and web UI) this server answers.
MLFLOW_COMPAT_VERSION = "3.17.2"
