"""Errors a user or an outside party can cause.

The CLI prints these as one message (or one JSON document) without a traceback and exits with the
status of interfaces.md: 1 refused or bad input, 3 an outside party failed. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import errno
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


class DiskError(OutsidePartyError):
    """A file system failed the station (full, read-only, gone, broken): exit 3 with the path."""

    code = "disk_failed"


# What to do about a disk error, by errno: the operator can act on each without reading code.
_DISK_ADVICE = {
    errno.ENOSPC: "no space left on the device: free space there (or point the folder at a larger disk)",
    errno.EDQUOT: "the disk quota is used up: free space there (or point the folder at another disk)",
    errno.EROFS: "the file system is read-only: remount it writable or choose another folder",
    errno.EACCES: "permission denied: give the station's user access to it or choose another folder",
    errno.EPERM: "the operation is not permitted there: give the station's user access or choose another folder",
    errno.ENOENT: "it is gone (unmounted or removed): mount or create it again",
    errno.ENOTDIR: "a part of the path is not a folder: fix the path",
    errno.EIO: "the disk reported an input/output error: check the disk (dmesg) before using it again",
}


def disk_error(exc: OSError, where: object = None, *, then: str = "then run the same command again") -> DiskError:
    """A DiskError for an OSError: the path (the error's own file, else `where`: the folder the work
    was in), what happened and what to do. The errno is looked for along the exception's causes: a
    library may re-raise a write error under its own message (pydicom does, without the errno)."""
    cause: BaseException | None = exc
    found = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            found = cause
            break
        cause = cause.__cause__ or cause.__context__
    path = found.filename or exc.filename or where
    advice = _DISK_ADVICE.get(found.errno or -1) or f"{found.strerror or exc}: check the disk"
    place = f"{path}: " if path else ""
    return DiskError(f"{place}{advice}; {then}",
                     details={"path": str(path) if path else None, "errno": found.errno,
                              "errno_name": errno.errorcode.get(found.errno or -1)})


class PacsError(OutsidePartyError):
    """The archive (PACS) did not answer or refused."""

    code = "pacs_failed"


class DatabaseError(OutsidePartyError):
    """The database could not be opened or migrated."""

    code = "database_failed"
