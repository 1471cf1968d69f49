"""Fixtures for the database: SQLite and a private PostgreSQL server."""
