"""Writing a document so that a reader never sees half of it (house rule: stage, then commit)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: str | os.PathLike[str], build: Callable[[Path], None]) -> Path:
    """Let `build` write a temporary file beside `path`, flush it to disk, then rename it over `path`.

    The rename is atomic on one file system, so `path` is either the old file, absent, or the whole
    new one; on any error the temporary file is removed and `path` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL on a random name rather than mkstemp: the file gets the umask's usual mode, not 0600,
    # so a robot service or a print spooler running as another user can read it like any other.
    temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        build(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return target


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """`data` to `path` through `write_atomically`."""
    return write_atomically(path, lambda temp: temp.write_bytes(data))
