"""The stock MLflow web UI: its installed React build, its GraphQL endpoint and its ajax extras."""
