"""ISO 9660 level 1 + Joliet images with pycdlib, and reading them back to verify (b15, b16, b45).

Files stream from disk into the image (pycdlib copies at write time), so memory stays flat whatever
the study size. The volume id equals the file-set id (b9); Joliet names equal the ISO 9660 names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycdlib

from mediastation import __version__
from mediastation.errors import MediaStationError, OutsidePartyError
from mediastation.files import part_path, publish
from mediastation.media.direct_io import ImageWriter, read_chunks

Progress = Callable[[int, int | None, str], None]
DIR_NAME = re.compile(r"^[A-Z0-9_]{1,8}$")
FILE_NAME = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?$")
VOLUME_ID = re.compile(r"^[A-Z0-9_]{1,16}$")
CHUNK = 1 << 20
VERIFY_CHUNK = 8 << 20


class NotIso9660Name(MediaStationError):
    code = "invalid_medium_name"


class IsoVerificationFailed(OutsidePartyError):
    """The image read back differs from what was staged: the medium must not leave the house."""

    code = "verification_failed"


@dataclass(frozen=True)
class IsoImage:
    path: Path
    volume_id: str
    bytes: int
    sha256: str
    files: int


def build_iso(tree: Path, image: Path, *, volume_id: str, disc: tuple[int, int] = (1, 1),
              progress: Progress | None = None) -> IsoImage:
    """Write `tree` as an ISO 9660 level 1 + Joliet image at `image` (atomically)."""
    if not VOLUME_ID.match(volume_id):
        raise NotIso9660Name(f"volume id {volume_id!r} must be 1-16 of A-Z 0-9 _")
    entries = _entries(tree)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, vol_ident=volume_id, set_size=disc[1], seqnum=disc[0],
            app_ident_str=f"HUS MEDIASTATION {__version__}", preparer_ident_str="HUS MEDIASTATION")
    try:
        for relative, is_dir in entries:
            _add(iso, tree, relative, is_dir)
        tmp = part_path(image)
        callback = (lambda done, total, _opaque: progress(done, total, image.name)) if progress else None
        _in_extent_order(iso)
        out = ImageWriter(tmp)  # straight to the disk, hashed on the way
        try:
            iso.write_fp(out, blocksize=CHUNK, progress_cb=callback)  # 1 MB copies: pycdlib's 32 KB cost 25 %
        except BaseException:
            out.abort()
            raise
        sha256 = out.close()
    finally:
        iso.close()
    publish(tmp, image)
    return IsoImage(image, volume_id, image.stat().st_size, sha256, sum(1 for _r, d in entries if not d))


def _in_extent_order(iso: pycdlib.PyCdlib) -> None:
    """pycdlib writes the files' data in the order they were added, not in the order of their
    extents; sorted, the image goes out front to back, which the direct writer does at disk speed
    (out of order it still comes out right, through the page cache). Uses pycdlib's internals,
    so only where they are as expected."""
    reshuffle = getattr(iso, "_reshuffle_extents", None)
    inodes = getattr(iso, "inodes", None)
    if reshuffle is None or not isinstance(inodes, list):
        return
    if getattr(iso, "_needs_reshuffle", False):
        reshuffle()  # assigns the extents (write_fp would do it first thing)
    inodes.sort(key=lambda ino: ino.extent_location())


def _entries(tree: Path) -> list[tuple[str, bool]]:
    """Every directory and file under `tree`, parents first, names checked against level 1."""
    found: list[tuple[str, bool]] = []
    for path in sorted(tree.rglob("*")):
        relative = path.relative_to(tree).as_posix()
        is_dir = path.is_dir()
        name = path.name
        if not (DIR_NAME if is_dir else FILE_NAME).match(name):
            raise NotIso9660Name(f"{relative}: not an ISO 9660 level 1 name (8.3, A-Z 0-9 _)")
        if relative.count("/") >= 7:
            raise NotIso9660Name(f"{relative}: deeper than the 8 levels ISO 9660 allows")
        found.append((relative, is_dir))
    return found


def _add(iso: pycdlib.PyCdlib, tree: Path, relative: str, is_dir: bool) -> None:
    joliet = "/" + relative
    if is_dir:
        iso.add_directory(iso_path=joliet, joliet_path=joliet)
        return
    iso_path = joliet + ("" if "." in relative.rsplit("/", 1)[-1] else ".") + ";1"
    iso.add_file(str(tree / relative), iso_path=iso_path, joliet_path=joliet)


def verify_image(source: Path | str, tree: Path, *, volume_id: str | None = None,
                 expected_sha256: str | None = None) -> str:
    """Every staged file is on the medium with the same bytes, nothing else is, the volume id is
    right and (when given) the whole image has `expected_sha256` (b45). Returns the image's SHA-256.

    One sequential pass over the medium: the directory gives each file's extent, each extent is
    compared byte for byte with its staged file (stronger than equal digests, and cheaper), and a
    second thread hashes the whole image on the way; a read error is a failed verification."""
    try:
        extents, actual_volume = _extents(source)
    except (pycdlib.pycdlibexception.PyCdlibException, OSError) as exc:
        raise IsoVerificationFailed(f"{source}: cannot be read as ISO 9660: {exc}") from None
    staged = {p.relative_to(tree).as_posix(): p for p in sorted(tree.rglob("*")) if p.is_file()}
    problems = [f"{name}: missing on the medium" for name in sorted(staged.keys() - extents.keys())]
    problems += [f"{name}: on the medium but not staged" for name in sorted(extents.keys() - staged.keys())]
    if volume_id is not None and actual_volume != volume_id:
        problems.append(f"volume id is {actual_volume!r}, expected {volume_id!r}")
    shared = {name: extents[name] for name in staged.keys() & extents.keys()}
    try:
        differing, digest = _compare_pass(source, shared, staged)
    except OSError as exc:
        raise IsoVerificationFailed(f"{source}: reading it back failed: {exc.strerror or exc}") from None
    problems += [f"{name}: content differs (SHA-256)" for name in differing]
    if expected_sha256 is not None and digest != expected_sha256:
        problems.append(f"the image reads back with SHA-256 {digest}, {expected_sha256} was written")
    if problems:
        raise IsoVerificationFailed(f"{source}: verification failed: " + "; ".join(problems[:20]),
                                    details={"problems": problems})
    return digest


def _extents(source: Path | str) -> tuple[dict[str, tuple[int, int]], str]:
    """(byte offset, length) of every file on the medium by Joliet path, and the volume id."""
    iso = pycdlib.PyCdlib()
    iso.open(str(source))
    try:
        found: dict[str, tuple[int, int]] = {}
        block = iso.logical_block_size

        def walk(path: str) -> None:
            for child in iso.list_children(joliet_path=path):
                if child.is_dot() or child.is_dotdot():
                    continue
                name = child.file_identifier().decode("utf-16_be")
                full = f"{path.rstrip('/')}/{name}"
                if child.is_dir():
                    walk(full)
                else:
                    found[full.lstrip("/")] = (child.extent_location() * block, child.get_data_length())

        walk("/")
        return found, iso.pvd.volume_identifier.decode("ascii").strip()
    finally:
        iso.close()


def _compare_pass(source: Path | str, extents: dict[str, tuple[int, int]],
                  staged: dict[str, Path]) -> tuple[list[str], str]:
    """Read the medium once from start to end: each extent against its staged file, all of it hashed."""
    order = sorted(extents.items(), key=lambda item: item[1][0])
    differing: set[str] = set()
    digest = hashlib.sha256()
    opened: dict[str, Any] = {}
    position, index = 0, 0
    with ThreadPoolExecutor(max_workers=1) as hasher:
        pending = None
        try:
            for chunk in read_chunks(source, VERIFY_CHUNK):  # from the disk, not the page cache
                if pending is not None:
                    pending.result()
                pending = hasher.submit(digest.update, chunk)  # hashlib lets go of the GIL
                end = position + len(chunk)
                while index < len(order) and order[index][1][0] < end:
                    name, (start, length) = order[index]
                    _compare_slice(name, start, length, chunk, position, staged, opened, differing)
                    if start + length > end:
                        break  # continues into the next chunk
                    index += 1
                position = end
            if pending is not None:
                pending.result()
        finally:
            for handle in opened.values():
                handle.close()
    for name, (start, length) in order[index:]:  # extents beyond the end of a short medium
        if length:
            differing.add(name)
    for name, (_start, length) in order:
        if staged[name].stat().st_size != length:
            differing.add(name)
    return sorted(differing), digest.hexdigest()


def _compare_slice(name: str, start: int, length: int, chunk: bytes | memoryview, position: int, staged: dict[str, Path],
                   opened: dict[str, Any], differing: set[str]) -> None:
    """The part of `name`'s extent inside `chunk` against the same bytes of the staged file."""
    if length == 0 or name in differing:
        return
    handle = opened.get(name)
    if handle is None:
        handle = opened[name] = open(staged[name], "rb")
    begin = max(start, position)
    stop = min(start + length, position + len(chunk))
    piece = bytes(chunk[begin - position:stop - position])  # bytes, not a memoryview: compared with memcmp
    if handle.read(len(piece)) != piece:
        differing.add(name)
    if stop == start + length:
        opened.pop(name).close()
