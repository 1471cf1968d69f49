"""Errors a user or an outside party can cause.

The CLI prints these as one message (or one JSON document) without a traceback and exits with the
status of interfaces.md: 1 refused or bad input, 3 an outside party failed. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_OUTSIDE = 3


def listing(head: str, problems: Iterable[object]) -> str:
    """A message naming several problems: `head: problem` for one, otherwise the head and one
    problem per line, so a terminal shows a list instead of one long line."""
    items = [str(problem) for problem in problems]
    if len(items) == 1:
        return f"{head}: {items[0]}"
    return head + ":" + "".join(f"\n  {item}" for item in items)


class MediaStationError(Exception):
    """Base of every error the station reports to its user instead of crashing."""

    code = "error"
    exit_status = EXIT_REFUSED

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class ConfigError(MediaStationError):
    """station.toml (or a file it names) is wrong: the message names the key and what is allowed."""

    code = "config_invalid"


class InputError(MediaStationError):
    """A file or value the user gave is wrong (not the station's configuration)."""

    code = "invalid_input"


class NotFoundError(MediaStationError):
    """Something the user named (a request id, a file) does not exist."""

    code = "not_found"


class OutsidePartyError(MediaStationError):
    """The archive, a drive or the disk failed: not the user's mistake, may work on retry."""

    code = "outside_failure"
    exit_status = EXIT_OUTSIDE


class PacsError(OutsidePartyError):
    """The archive (PACS) did not answer or refused."""

    code = "pacs_failed"


class DatabaseError(OutsidePartyError):
    """The database could not be opened or migrated."""

    code = "database_failed"
