"""Digests of what was written and of what reads back: the burn-verify of export_anchors.md B7 40.

Everything streams in fixed-size chunks, so memory stays flat whatever the medium's size (the
SHA-256 of one file or stream is mediastation.files.sha256_file / sha256_stream).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Mapping

from mediastation.files import CHUNK, sha256_stream

from burners.base import ProgressCallback, VerificationFailed, no_progress

IGNORED_ON_MEDIA = frozenset({"System Volume Information"})  # created by Windows on every FAT stick


def copy_file(source: Path, target: Path, *, progress: Callable[[int], None] | None = None,
              fsync: bool = True) -> tuple[str, int]:
    """Stream `source` into `target` (created), hashing on the way; returns (sha256, bytes)."""
    digest = hashlib.sha256()
    done = 0
    with open(source, "rb") as src, open(target, "xb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(len(chunk))
        if fsync:
            dst.flush()
            os.fsync(dst.fileno())
    return digest.hexdigest(), done


def tree_files(root: Path) -> list[tuple[str, Path]]:
    """(relative posix path, path) of every regular file under root, sorted; symlinks are followed."""
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_ON_MEDIA)
        for name in filenames:
            path = Path(dirpath) / name
            found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def tree_digests(root: Path, *, progress: ProgressCallback = no_progress) -> dict[str, str]:
    """relative path -> sha256 of every file under root."""
    files = tree_files(root)
    total = sum(path.stat().st_size for _, path in files)
    done = 0
    digests: dict[str, str] = {}
    for rel, path in files:
        with open(path, "rb") as fp:
            digests[rel], size = sha256_stream(fp)
        done += size
        progress(done, total, "reading back")
    return digests


def manifest_sha256(digests: Mapping[str, str]) -> str:
    """One digest for a whole tree: sha256 of its sorted `path<TAB>sha256` lines."""
    lines = "".join(f"{rel}\t{digests[rel]}\n" for rel in sorted(digests))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def compare_digests(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[dict[str, str]]:
    """Every difference between two trees' digests: missing, unexpected or changed files."""
    differences: list[dict[str, str]] = []
    for rel in sorted(set(expected) | set(actual)):
        if rel not in actual:
            differences.append({"path": rel, "problem": "missing"})
        elif rel not in expected:
            differences.append({"path": rel, "problem": "unexpected"})
        elif expected[rel] != actual[rel]:
            differences.append({"path": rel, "problem": "content differs",
                                "expected_sha256": expected[rel], "actual_sha256": actual[rel]})
    return differences


def check_tree(where: str, expected: Mapping[str, str], actual: Mapping[str, str]) -> None:
    """Raise VerificationFailed naming the differing files (the first few in the message)."""
    differences = compare_digests(expected, actual)
    if differences:
        shown = ", ".join(f"{d['path']} ({d['problem']})" for d in differences[:5])
        more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
        raise VerificationFailed(
            f"{where} does not read back as written: {shown}{more}; do not hand out this medium",
            details={"differences": differences, "location": where})


def check_digest(where: str, expected: str, actual: str, size: int) -> None:
    if expected != actual:
        raise VerificationFailed(
            f"{where}: the first {size} bytes read back with SHA-256 {actual}, written {expected}; "
            "do not hand out this medium",
            details={"differences": [{"path": "", "problem": "content differs", "expected_sha256": expected,
                                      "actual_sha256": actual}], "location": where})


def check_manifest(where: str, digests: Mapping[str, str], *expected: str | None) -> None:
    """Raise VerificationFailed unless the tree's manifest digest equals every expected one given."""
    actual = manifest_sha256(digests)
    for want in filter(None, expected):
        if actual != want:
            raise VerificationFailed(
                f"{where} does not read back as written (manifest SHA-256 {actual}, expected {want}); "
                "do not hand out this medium", details={"location": where, "actual_sha256": actual,
                                                        "expected_sha256": want})


def iso_tree_digests(fp: BinaryIO) -> dict[str, str]:
    """relative path -> sha256 of every file of an ISO 9660 image or disc, read with pycdlib.

    Names come from Joliet when present, else Rock Ridge, else ISO 9660 with the `;1` version and a
    trailing dot removed (feasibility.md §5: `DICOMDIR.;1` is `DICOMDIR`).
    """
    import pycdlib  # imported here: only burners that read discs need it
    from pycdlib.pycdlibexception import PyCdlibException

    iso = pycdlib.PyCdlib()
    try:
        iso.open_fp(fp)
    except PyCdlibException as exc:
        raise VerificationFailed(f"the medium does not read back as an ISO 9660 file system: {exc}",
                                 details={"differences": [{"path": "", "problem": "unreadable file system"}]}) from None
    try:
        if iso.has_joliet():
            facade_key = "joliet_path"
        elif iso.has_rock_ridge():
            facade_key = "rr_path"
        else:
            facade_key = "iso_path"
        digests: dict[str, str] = {}
        for root, _dirs, files in iso.walk(**{facade_key: "/"}):
            for name in files:
                media_path = str(PurePosixPath(root) / name)
                rel = _plain_name(media_path.lstrip("/")) if facade_key == "iso_path" else media_path.lstrip("/")
                sink = _HashSink()
                iso.get_file_from_iso_fp(sink, **{facade_key: media_path})
                digests[rel] = sink.hexdigest()
        return digests
    finally:
        iso.close()


def iso_has_root_file(fp: BinaryIO, name: str) -> bool:
    """Whether an ISO 9660 image/disc has `name` (e.g. DICOMDIR) in its root, without mounting it."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.open_fp(fp)
    try:
        for facade_key in ("joliet_path", "rr_path", "iso_path"):
            if facade_key == "joliet_path" and not iso.has_joliet():
                continue
            if facade_key == "rr_path" and not iso.has_rock_ridge():
                continue
            for _root, _dirs, files in iso.walk(**{facade_key: "/"}):
                names = {_plain_name(f).upper() for f in files}
                if name.upper() in names:
                    return True
                break
        return False
    finally:
        iso.close()


def _plain_name(path: str) -> str:
    parts = []
    for part in path.split("/"):
        part = part.split(";", 1)[0]
        parts.append(part[:-1] if part.endswith(".") else part)
    return "/".join(parts)


class _HashSink:
    """A write-only file object that hashes what pycdlib writes into it."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
