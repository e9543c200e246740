"""Shared setup for tests that drive the stock mlflow client against a real server process."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pytest


@contextmanager
def fail_fast_client(tracking_uri: str | None) -> Iterator[None]:
    """Fail on a 5xx at once instead of retrying for minutes; restore the environment after."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        # set_tracking_uri exports MLFLOW_TRACKING_URI; the context restores it afterwards.
        if tracking_uri is None:
            mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        else:
            mp.setenv("MLFLOW_TRACKING_URI", tracking_uri)
            mlflow.set_tracking_uri(tracking_uri)
        yield
        mlflow.set_tracking_uri(None)


def assert_clean_log(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text and "unhandled error" not in text.lower(), text
