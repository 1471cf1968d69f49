"""Files written so that a reader never sees half of one, staged without copying, and hashed.

The station's one home for these helpers (the burners use them too), so it imports nothing of the
project. Every file that must appear whole is written under its part name (`part_path`) and renamed
over its final name when complete (house rule: stage, then commit).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1024 * 1024
PART_SUFFIX = ".part"

ProgressCallback = Callable[[int, "int | None", str], None]
"""`progress(done, total, what)`: bytes so far, of how many (None: unknown), and the activity."""


def part_path(final: Path) -> Path:
    """Where a file is written before it is complete.

    Beside it, so the rename is atomic (one file system); hidden, so a folder scan never takes it
    for a finished file; one fixed name, so a run killed half-way leaves one file that the next run
    writes over instead of a heap of them.
    """
    return final.with_name(f".{final.name}{PART_SUFFIX}")


def publish(part: Path, final: Path) -> None:
    """Give a completely written file its final name (atomic on one file system)."""
    os.replace(part, final)


def write_atomic(path: str | os.PathLike[str], build: Callable[[Path], object], *, fsync: bool = True) -> Path:
    """Let `build` write `part_path(path)`, flush it to disk (unless `fsync` is False), then rename
    it over `path`; parent folders are created. Returns `path`.

    The rename is atomic on one file system, so `path` is either the old file, absent, or the whole
    new one; on any error the part file is removed and `path` is left as it was. A part file left by
    a killed run is removed first: it may be a hard link to another file (a retrieve links archive
    files in under part names), which writing into it in place would change.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    part.unlink(missing_ok=True)
    try:
        # `build` creates the file itself, not mkstemp: it gets the umask's usual mode, not 0600, so
        # a robot service or a print spooler running as another user can read it like any other.
        build(part)
        if fsync:
            with open(part, "rb+") as handle:
                os.fsync(handle.fileno())
        publish(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return target


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    """`data` to `path` through `write_atomic`."""
    return write_atomic(path, lambda part: part.write_bytes(data), fsync=fsync)


def write_text_atomic(path: str | os.PathLike[str], text: str, *, fsync: bool = True,
                      encoding: str = "utf-8") -> Path:
    """`text` to `path` (UTF-8 unless told) through `write_atomic`."""
    return write_atomic(path, lambda part: part.write_text(text, encoding=encoding), fsync=fsync)


def write_json_atomic(path: str | os.PathLike[str], data: Any, *, fsync: bool = True) -> Path:
    """`data` as indented UTF-8 JSON (what is not JSON by itself as its str) through `write_atomic`."""
    return write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=1, default=str), fsync=fsync)


def create_private_file(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write `data` as a new file readable by its owner only (mode 0600), whole or not at all;
    False (and nothing written) when the file exists already: a secret is never replaced.

    The part file is created with mode 0600 from the start (never readable by others, not even for
    a moment), then linked to its final name, which fails when a file got there first.
    """
    target = Path(path)
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    part.unlink(missing_ok=True)
    try:
        descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(part, target)
    except FileExistsError:
        return False
    finally:
        part.unlink(missing_ok=True)
    return True


def link_or_copy(source: Path, target: Path) -> None:
    """Stage a file without copying its bytes when the file system allows (b43): a hard link, else a
    copy (another file system, or links not allowed). Parent folders are created; a file already at
    `target` is replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def sha256_stream(fp: BinaryIO, size: int | None = None, *,
                  progress: ProgressCallback | None = None, what: str = "reading") -> tuple[str, int]:
    """SHA-256 of the next `size` bytes of `fp` (all of it when None), read in CHUNK pieces so memory
    stays flat whatever the size; returns (hex, bytes read). `progress(done, size, what)` after each."""
    digest = hashlib.sha256()
    done = 0
    while size is None or done < size:
        want = CHUNK if size is None else min(CHUNK, size - done)
        chunk = fp.read(want)
        if not chunk:
            break
        digest.update(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, size, what)
    return digest.hexdigest(), done


def sha256_file(path: str | os.PathLike[str], size: int | None = None, *,
                progress: ProgressCallback | None = None, what: str = "reading") -> str:
    """SHA-256 of the file's first `size` bytes (all of it when None), as `sha256_stream`."""
    with open(path, "rb") as fp:
        return sha256_stream(fp, size, progress=progress, what=what)[0]
