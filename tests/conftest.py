"""Test-wide fixtures live in tests/support/ as plugins, one file per real peer."""

import hypothesis  # noqa: F401

# hypothesis is imported here, at collection, because its pytest plugin imports it lazily in the
# terminal summary, and there pytest's assertion rewriting parses it: on CPython 3.11.7 that parse
# failed with "SystemError: AST constructor recursion depth mismatch" after the PostgreSQL half of
# test_jobs_migration.py had run (the tests themselves passed). The whole suite imports hypothesis
# early anyway (tests/domain); this keeps a run of a few test files from ending in that error.

pytest_plugins = ["support.db_fixtures", "support.pacs_fixtures"]
