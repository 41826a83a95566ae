"""Storage: the async engine and sessions, and Alembic migrations to head."""
