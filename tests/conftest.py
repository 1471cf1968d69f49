"""Test-wide fixtures live in tests/support/ as plugins, one file per real peer."""

pytest_plugins = ["support.db_fixtures", "support.pacs_fixtures"]
