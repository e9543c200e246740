"""SQL only: engine, tables and query functions that take a connection and never commit."""
