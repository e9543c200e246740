"""Side-by-side benchmark harness: our tracking server against stock MLflow and FastTrackML."""
