"""The station's database: SQLAlchemy tables, repositories and Alembic migrations."""

from mediastation.store.db import Database, open_database

__all__ = ["Database", "open_database"]
