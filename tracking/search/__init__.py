"""Parsing of MLflow search filters, order_by clauses and page tokens (pure, no I/O)."""
