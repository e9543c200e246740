"""Use cases: one transaction per use case, returning entities."""
