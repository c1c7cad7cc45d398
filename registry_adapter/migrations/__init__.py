"""Alembic migrations of the embedded registry store (run through ``registry_adapter.migrate``)."""
