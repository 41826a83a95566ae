"""Alembic revisions for the node database (SQLite and PostgreSQL alike)."""
