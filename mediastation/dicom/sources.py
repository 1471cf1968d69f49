"""Reading an outside medium without mounting it and without running anything on it.

An outside CD, DVD or USB stick is untrusted and read-only (R-A6, R-A8 of docs/import-requirements.md): an ISO
image or an optical device is read with pycdlib (ISO 9660, Joliet, Rock Ridge, UDF) without the
kernel's help, a mounted stick is walked as a folder without following links, and zip/tar/gz
archives found on the medium are read member by member in memory-bounded streams. Nothing is
extracted to a shared place and nothing is executed.

Every file is a `MediumFile`: its path relative to the medium's root (a member of an archive on
the medium is `DIR/ARCHIVE.ZIP/member/path`), its size, and a picklable `locator` that `open()`
turns into a fresh read-only stream, so threads and worker processes can each read on their own.
A file that must not be read (a link, a FIFO, a member with `..` in its name) carries `problem`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Union

from mediastation.errors import InputError

SECTOR = 2048
ISO_MAGIC_OFFSET = 16 * SECTOR + 1
SPOOL_LIMIT = 32 * 1024 * 1024  # tar members bigger than this spool to a private temporary file
MAX_MEMBER_BYTES = 8 * 1024 ** 3  # refuse members that claim more (zip bombs)


class MediumError(InputError):
    """The source cannot be read as a medium: the message says what was expected."""

    code = "medium_unreadable"


# -- locators: how to reopen a file, picklable -------------------------------------------------
@dataclass(frozen=True)
class OsFile:
    path: str


@dataclass(frozen=True)
class Extent:
    """A contiguous byte range of an image or device (an ISO 9660 file's single extent)."""

    image: str
    start: int
    length: int


@dataclass(frozen=True)
class IsoEntry:
    """A file pycdlib must assemble (UDF, multi-extent): reopened through pycdlib each time."""

    image: str
    kind: str  # rr_path | joliet_path | udf_path | iso_path
    path: str


@dataclass(frozen=True)
class ZipMember:
    container: Locator
    name: str


@dataclass(frozen=True)
class TarMember:
    container: Locator
    name: str


@dataclass(frozen=True)
class Compressed:
    """The single member of a .gz/.bz2/.xz file that is not a tar archive."""

    container: Locator
    codec: str


Locator = Union[OsFile, Extent, IsoEntry, ZipMember, TarMember, Compressed]


@dataclass(frozen=True)
class MediumFile:
    """One file of the medium; `open()` gives a new read-only binary stream each time."""

    path: str
    size: int
    locator: Locator | None = field(default=None, compare=False)
    problem: str | None = None
    archive: bool = False  # an archive whose members follow as their own MediumFiles
    member_of: str | None = None  # the archive's path when this is a member

    def open(self) -> BinaryIO:
        if self.locator is None or self.problem is not None:
            raise OSError(f"{self.path}: not readable ({self.problem or 'no locator'})")
        return open_locator(self.locator)


def open_locator(locator: Locator) -> BinaryIO:
    if isinstance(locator, OsFile):
        return open(locator.path, "rb")
    if isinstance(locator, Extent):
        return _buffered(ExtentReader(locator))
    if isinstance(locator, IsoEntry):
        return _open_iso_entry(locator)
    if isinstance(locator, ZipMember):
        return _zip_archive(locator.container).open(locator.name)
    if isinstance(locator, TarMember):
        return _open_tar_member(locator)
    if isinstance(locator, Compressed):
        return _DECOMPRESSORS[locator.codec](open_locator(locator.container))
    raise TypeError(f"unknown locator {locator!r}")


class ExtentReader(io.RawIOBase):
    """A seekable window on a byte range of an image file or block device; its own file handle."""

    def __init__(self, extent: Extent) -> None:
        super().__init__()
        self._fp = open(extent.image, "rb", buffering=0)
        self._start, self._length, self._pos = extent.start, extent.length, 0
        self.name = f"<{extent.image} bytes {extent.start}+{extent.length}>"  # pydicom wants a name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        remaining = self._length - self._pos
        if remaining <= 0:
            return 0
        view = memoryview(buffer).cast("B")[:remaining]
        self._fp.seek(self._start + self._pos)
        count = self._fp.readinto(view) or 0
        self._pos += count
        return count

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the file")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._fp.close()
        super().close()


def _buffered(raw: io.RawIOBase) -> BinaryIO:
    return io.BufferedReader(raw, buffer_size=256 * 1024)  # type: ignore[return-value]


_DECOMPRESSORS = {
    "gzip": lambda fp: gzip.GzipFile(fileobj=fp, mode="rb"),
    "bz2": lambda fp: bz2.BZ2File(fp, mode="rb"),
    "xz": lambda fp: lzma.LZMAFile(fp, mode="rb"),
}


# -- media ---------------------------------------------------------------------------------------
@dataclass
class Medium:
    """What `open_medium` found: a folder, an ISO image / optical device, or an archive file."""

    location: str
    kind: str  # folder | iso | archive
    description: str
    _files: list[MediumFile] = field(default_factory=list, repr=False)
    problems: list[str] = field(default_factory=list)  # what is wrong with the medium itself (a cut image)

    def files(self) -> list[MediumFile]:
        """Every file, archive members after their archive, in a stable order."""
        return list(self._files)


def open_medium(source: str | os.PathLike[str]) -> Medium:
    """The medium at `source`: a folder, an ISO image, an optical device, or a zip/tar file."""
    path = Path(source).expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        raise MediumError(f"{path}: cannot be read ({exc.strerror or exc}); give a folder, an ISO image, "
                          "a device such as /dev/sr0, or a zip file") from None
    location = str(path.resolve())
    if stat.S_ISDIR(info.st_mode):
        files = list(_expand_archives(sorted(_walk_folder(Path(location)), key=lambda f: f.path)))
        return Medium(location, "folder", f"folder {location}", files)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISBLK(info.st_mode)):
        raise MediumError(f"{path}: not a folder, a file or a block device")
    if _is_iso(location):
        files, flavour, problems = _walk_iso(location)
        return Medium(location, "iso", f"ISO 9660 image {location} ({flavour})", list(_expand_archives(files)),
                      problems)
    root = MediumFile(Path(location).name, _size(location, info), OsFile(location))
    try:
        members = _archive_members(root, prefix="")
    except _BrokenArchive as exc:
        raise MediumError(f"{path}: the archive cannot be read ({exc})") from None
    if members is None:
        raise MediumError(f"{path}: neither an ISO 9660 image nor a zip/tar archive; for a USB stick give its "
                          "mounted folder")
    return Medium(location, "archive", f"archive {location}", members)


def _size(location: str, info: os.stat_result) -> int:
    if stat.S_ISBLK(info.st_mode):
        with open(location, "rb") as fp:
            return fp.seek(0, os.SEEK_END)
    return info.st_size


def _is_iso(location: str) -> bool:
    try:
        with open(location, "rb") as fp:
            fp.seek(ISO_MAGIC_OFFSET)
            return fp.read(5) == b"CD001"
    except OSError:
        return False


# -- folder --------------------------------------------------------------------------------------
def _walk_folder(root: Path) -> Iterator[MediumFile]:
    """Every entry under root, links and special files included (as problems), sorted per folder."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield MediumFile(_relative(root, folder) or ".", 0, None, problem=f"io_error: {exc.strerror}")
            continue
        subfolders = []
        for entry in entries:
            rel = _relative(root, Path(entry.path))
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                yield MediumFile(rel, 0, None, problem="io_error")
                continue
            if stat.S_ISLNK(info.st_mode):
                yield MediumFile(rel, 0, None, problem="link")
            elif stat.S_ISDIR(info.st_mode):
                subfolders.append(Path(entry.path))
            elif stat.S_ISREG(info.st_mode):
                yield MediumFile(rel, info.st_size, OsFile(entry.path))
            else:
                yield MediumFile(rel, 0, None, problem="special_file")
        stack.extend(reversed(subfolders))


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else ""


# -- ISO 9660 / Joliet / Rock Ridge / UDF ----------------------------------------------------------
def _walk_iso(image: str) -> tuple[list[MediumFile], str, list[str]]:
    import pycdlib  # type: ignore[import-untyped]
    from pycdlib.pycdlibexception import PyCdlibException  # type: ignore[import-untyped]

    iso = pycdlib.PyCdlib()
    try:
        iso.open(image)
    except (PyCdlibException, OSError, ValueError) as exc:
        raise MediumError(f"{image}: the ISO 9660 file system cannot be read ({exc})") from None
    try:
        kind = ("rr_path" if iso.has_rock_ridge() else "joliet_path" if iso.has_joliet()
                else "udf_path" if iso.has_udf() else "iso_path")
        flavours = [name for name, present in (("Rock Ridge", iso.has_rock_ridge()), ("Joliet", iso.has_joliet()),
                                               ("UDF", iso.has_udf())) if present]
        files = list(_iso_entries(iso, image, kind))
        volume = int(iso.pvd.space_size) * int(iso.pvd.log_block_size)
    except PyCdlibException as exc:
        raise MediumError(f"{image}: the ISO 9660 directory tree is damaged ({exc})") from None
    finally:
        iso.close()
    files.sort(key=lambda f: f.path)
    actual = _size(image, os.stat(image))
    problems = []
    if actual < volume:  # a copy cut short, or a disc read back only in part
        files = [_cut(f, actual) for f in files]
        lost = sum(1 for f in files if f.problem and f.problem.startswith("truncated"))
        problems.append(f"the image ends at byte {actual} of {volume} (the volume's size): {lost} file(s) lie "
                        "wholly or partly beyond its end; copy the disc again, or import it from the drive")
    return files, ", ".join(["ISO 9660", *flavours]), problems


def _cut(medium_file: MediumFile, image_end: int) -> MediumFile:
    """A file of an image that ends before the volume does: truncated when its bytes reach the end.
    (pycdlib clamps the length of such a file to what the image holds, down to below zero: a file
    that reaches exactly to the end of a cut image is taken for cut.)"""
    locator = medium_file.locator
    if isinstance(locator, Extent) and (locator.length <= 0 or locator.start + locator.length >= image_end):
        where = "inside this file" if locator.start < image_end else "before this file"
        return MediumFile(medium_file.path, 0, None,
                          problem=f"truncated: the image ends at byte {image_end}, {where} (which starts at byte "
                                  f"{locator.start})")
    return medium_file


def _iso_entries(iso, image: str, kind: str) -> Iterator[MediumFile]:  # type: ignore[no-untyped-def]
    for folder, _subfolders, names in iso.walk(**{kind: "/"}):
        for name in names:
            full = f"{folder.rstrip('/')}/{name}"
            shown = _iso9660_name(full) if kind == "iso_path" else full
            rel = shown.lstrip("/")
            try:
                record = iso.get_record(**{kind: full})
                yield _iso_file(image, kind, full, rel, record)
            except Exception as exc:  # noqa: BLE001 - a damaged record is one unreadable file, not a failed medium
                yield MediumFile(rel, 0, None, problem=f"io_error: {exc}")


def _iso_file(image: str, kind: str, full: str, rel: str, record) -> MediumFile:  # type: ignore[no-untyped-def]
    rock_ridge = getattr(record, "rock_ridge", None)
    if rock_ridge is not None and rock_ridge.is_symlink():
        return MediumFile(rel, 0, None, problem="link")
    size = int(record.get_data_length())
    inode = getattr(record, "inode", None)
    single_extent = kind != "udf_path" and inode is not None and getattr(record, "data_continuation", None) is None
    if single_extent:
        return MediumFile(rel, size, Extent(image, inode.extent_location() * SECTOR, size))
    return MediumFile(rel, size, IsoEntry(image, kind, full))


def _iso9660_name(path: str) -> str:
    """`/DICOM/IM000001.;1` -> `/DICOM/IM000001`: the name a mounted disc shows (R-A3)."""
    parts = []
    for part in path.split("/"):
        base = part.split(";", 1)[0]
        parts.append(base.removesuffix("."))
    return "/".join(parts)


_ISO_LOCK = threading.Lock()


def _open_iso_entry(entry: IsoEntry) -> BinaryIO:
    """pycdlib's own reader for files that are not one extent; copied out under a lock (shared fp)."""
    import pycdlib

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_LIMIT)
    with _ISO_LOCK:
        iso = pycdlib.PyCdlib()
        iso.open(entry.image)
        try:
            with iso.open_file_from_iso(**{entry.kind: entry.path}) as source:
                while chunk := source.read(1024 * 1024):
                    spool.write(chunk)
        finally:
            iso.close()
    spool.seek(0)
    return spool  # type: ignore[return-value]


# -- archives found on the medium ------------------------------------------------------------------
def _expand_archives(files: Iterator[MediumFile] | list[MediumFile]) -> Iterator[MediumFile]:
    """Each file, and after an archive its members (one level: an archive in an archive is a file)."""
    for medium_file in files:
        if medium_file.problem is not None or medium_file.locator is None:
            yield medium_file
            continue
        try:
            members = _archive_members(medium_file, prefix=medium_file.path + "/")
        except _BrokenArchive as exc:
            yield MediumFile(medium_file.path, medium_file.size, medium_file.locator, problem=str(exc)[:300])
            continue
        if members is None:
            yield medium_file
            continue
        yield MediumFile(medium_file.path, medium_file.size, medium_file.locator, archive=True)
        yield from members


def _archive_kind(medium_file: MediumFile) -> str | None:
    try:
        with medium_file.open() as fp:
            head = fp.read(512)
    except OSError:
        return None
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    return None


def _archive_members(archive: MediumFile, *, prefix: str) -> list[MediumFile] | None:
    """The members of a zip/tar/gz file as MediumFiles, or None when it is not an archive."""
    kind = _archive_kind(archive)
    if kind is None or archive.locator is None:
        return None
    try:
        if kind == "zip":
            return _zip_members(archive, prefix)
        if kind == "tar" or _is_compressed_tar(archive.locator, kind):
            return _tar_members(archive, prefix)
        name = PurePosixPath(archive.path).stem or "member"
        return [MediumFile(prefix + name, -1, Compressed(archive.locator, kind), member_of=archive.path)]
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        raise _BrokenArchive(f"archive_unreadable: {exc}") from None


class _BrokenArchive(Exception):
    """An archive whose members cannot be listed: the archive itself is the unreadable file."""


def _is_compressed_tar(locator: Locator, codec: str) -> bool:
    try:
        with open_locator(Compressed(locator, codec)) as fp:
            head = fp.read(512)
    except (OSError, EOFError, lzma.LZMAError):
        return False
    return len(head) >= 262 and head[257:262] == b"ustar"


def unsafe_member_name(name: str) -> bool:
    """A member that would land outside its folder if extracted: absolute, a drive, or `..`."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return True
    return any(part == ".." for part in normal.split("/"))


def _zip_members(archive: MediumFile, prefix: str) -> list[MediumFile]:
    assert archive.locator is not None
    members = []
    for info in _zip_archive(archive.locator).infolist():
        if info.is_dir():
            continue
        shown = prefix + info.filename.replace("\\", "/").lstrip("/")
        problem = None
        if unsafe_member_name(info.filename):
            problem = "unsafe_path"
        elif info.flag_bits & 0x1:
            problem = "encrypted"
        elif info.file_size > MAX_MEMBER_BYTES:
            problem = "too_large"
        members.append(MediumFile(shown, info.file_size, ZipMember(archive.locator, info.filename),
                                  problem=problem, member_of=archive.path))
    return members


@lru_cache(maxsize=8)
def _zip_archive(container: Locator) -> zipfile.ZipFile:
    """One open ZipFile per archive and process: its central directory is read once."""
    return zipfile.ZipFile(open_locator(container))


def _tar_members(archive: MediumFile, prefix: str) -> list[MediumFile]:
    assert archive.locator is not None
    members = []
    with open_locator(archive.locator) as raw, tarfile.open(fileobj=raw, mode="r:*") as tar:
        for info in tar:
            if info.isdir():
                continue
            shown = prefix + info.name.lstrip("/")
            problem = None
            if unsafe_member_name(info.name):
                problem = "unsafe_path"
            elif info.issym() or info.islnk():
                problem = "link"
            elif not info.isfile():
                problem = "special_file"
            members.append(MediumFile(shown, info.size, TarMember(archive.locator, info.name),
                                      problem=problem, member_of=archive.path))
    return members


_TAR_LOCK = threading.Lock()


def _open_tar_member(member: TarMember) -> BinaryIO:
    """A tar member copied out (memory up to 32 MB, then a private temporary file)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_LIMIT)
    with _TAR_LOCK, open_locator(member.container) as raw, tarfile.open(fileobj=raw, mode="r:*") as tar:
        source = tar.extractfile(member.name)
        if source is None:
            raise OSError(f"{member.name}: not a regular file")
        while chunk := source.read(1024 * 1024):
            spool.write(chunk)
    spool.seek(0)
    return spool  # type: ignore[return-value]
