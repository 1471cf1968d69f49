"""A folder as the "medium": ISO images or file trees land in a directory.

Used by `export --to DIR`, by manual burning software (the operator burns the ISO with the tool they
know) and by a network share watched by another system. Writes are staged next to the target and
renamed into place, so a reader of the folder never sees half an image or half a tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from mediastation.files import sha256_file

from burners.base import (
    DriveError, DriveStatus, MediaState, MediumNotBlank, MediumTooSmall, NoMedium,
    ProgressCallback, VerificationFailed, WrittenMedium, no_progress,
)
from burners.readback import (
    check_digest, check_manifest, check_tree, copy_file, manifest_sha256, tree_digests, tree_files,
)

STAGE_PREFIX = ".mediastation-partial-"


class FolderBurner:
    """Writes into `directory`, keeping the image's or tree's own name."""

    kind = "folder"
    writes = frozenset({"image", "tree"})

    def __init__(self, directory: Path, *, name: str = "folder", allow_overwrite: bool = False,
                 create: bool = True) -> None:
        self.directory = Path(directory).expanduser().resolve()
        self.name = name
        self.allow_overwrite = allow_overwrite
        self.create = create

    def status(self) -> DriveStatus:
        if not self.directory.is_dir():
            state, free = (MediaState.BLANK, None) if self.create else (MediaState.NONE, None)
        else:
            busy = any(not p.name.startswith(".") for p in self.directory.iterdir())
            state = MediaState.APPENDABLE if busy else MediaState.BLANK
            free = shutil.disk_usage(self.directory).free
        return DriveStatus(device=str(self.directory), kind=self.kind, medium_type="folder", state=state,
                           capacity_bytes=None, free_bytes=free)

    # --- writing ---------------------------------------------------------------------------------

    def write_image(self, image: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium:
        image = Path(image)
        size = image.stat().st_size
        report = progress or no_progress
        existing = self.directory / image.name
        if existing.is_file() and not self.allow_overwrite and existing.stat().st_size == size:
            digest = sha256_file(image)
            if sha256_file(existing) == digest:  # a resumed export: the same image is already there
                report(size, size, "written")
                return WrittenMedium(burner=self.name, target=str(self.directory), bytes=size, sha256=digest,
                                     location=str(existing), kind="image", label=label)
        target = self._target(image.name, size)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            report(done, size, "copying")

        stage = self.directory / f"{STAGE_PREFIX}{uuid.uuid4().hex}"
        try:
            digest, written = copy_file(image, stage, progress=step)
            self._commit(stage, target)
        except OSError as exc:
            stage.unlink(missing_ok=True)
            raise DriveError(f"cannot write {target}: {exc.strerror or exc}") from None
        _fsync_dir(self.directory)
        report(written, size, "written")
        return WrittenMedium(burner=self.name, target=str(self.directory), bytes=written, sha256=digest,
                             location=str(target), kind="image", label=label)

    def move_image(self, image: Path, *, label: str, sha256: str, size: int,
                   progress: ProgressCallback | None = None) -> WrittenMedium:
        """Take the image file itself into the folder when both are on one file system: a rename
        instead of copying a gigabyte (the export's images are fsynced when built). The caller gives
        the image up; `sha256`/`size` are what it knows of the bytes and `verify` reads them again.
        On another file system, or when the image is gone but the folder already holds it (a
        resumed job), the same as `write_image` / an existing medium."""
        image = Path(image)
        report = progress or no_progress
        existing = self.directory / image.name
        if not image.exists():
            if existing.is_file() and existing.stat().st_size == size:  # moved by an earlier pass
                report(size, size, "written")
                return WrittenMedium(burner=self.name, target=str(self.directory), bytes=size, sha256=sha256,
                                     location=str(existing), kind="image", label=label)
            raise DriveError(f"{image} is gone and {existing} does not hold it; run the export again with --again")
        if existing.exists():
            return self.write_image(image, label=label, progress=progress)  # the same bytes there, or a refusal
        target = self._target(image.name, size)
        if image.stat().st_dev != self.directory.stat().st_dev:
            return self.write_image(image, label=label, progress=progress)
        stage = self.directory / f"{STAGE_PREFIX}{uuid.uuid4().hex}"
        try:
            os.replace(image, stage)
            self._commit(stage, target)
        except OSError as exc:
            raise DriveError(f"cannot move {image} to {target}: {exc.strerror or exc}") from None
        _fsync_dir(self.directory)
        report(size, size, "written")
        return WrittenMedium(burner=self.name, target=str(self.directory), bytes=size, sha256=sha256,
                             location=str(target), kind="image", label=label)

    def write_tree(self, tree: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium:
        tree = Path(tree)
        files = tree_files(tree)
        size = sum(path.stat().st_size for _, path in files)
        report = progress or no_progress
        existing = self.directory / tree.name
        if existing.is_dir() and not self.allow_overwrite:
            digests = tree_digests(tree)
            if tree_digests(existing) == digests:  # a resumed export: the same tree is already there
                report(size, size, "written")
                return WrittenMedium(burner=self.name, target=str(self.directory), bytes=size,
                                     sha256=manifest_sha256(digests), location=str(existing), kind="tree",
                                     label=label, files=len(digests))
        target = self._target(tree.name, size)
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=self.directory))
        digests: dict[str, str] = {}
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            report(done, size, "copying")

        try:
            for rel, path in files:
                out = stage / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                digests[rel], _ = copy_file(path, out, progress=step)
            for directory in sorted({p for p in stage.rglob("*") if p.is_dir()}, reverse=True):
                _fsync_dir(directory)
            self._commit(stage, target)
        except OSError as exc:
            shutil.rmtree(stage, ignore_errors=True)
            raise DriveError(f"cannot write {target}: {exc.strerror or exc}") from None
        _fsync_dir(self.directory)
        report(size, size, "written")
        return WrittenMedium(burner=self.name, target=str(self.directory), bytes=size,
                             sha256=manifest_sha256(digests), location=str(target), kind="tree",
                             label=label, files=len(digests))

    def _target(self, name: str, size: int) -> Path:
        if not self.directory.is_dir():
            if not self.create:
                raise NoMedium(f"folder {self.directory} does not exist; create it or fix the burner's directory")
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DriveError(f"cannot create folder {self.directory}: {exc.strerror or exc}") from None
        target = self.directory / name
        if target.exists() and not self.allow_overwrite:
            raise MediumNotBlank(f"{target} already exists; remove it, choose another folder, or allow "
                                 "overwriting ([burners] allow_overwrite = true)", details={"path": str(target)})
        free = shutil.disk_usage(self.directory).free
        if size > free:
            raise MediumTooSmall(f"{name} needs {size} bytes but {self.directory} has {free} bytes free; "
                                 "free some space or choose another folder",
                                 details={"needed_bytes": size, "free_bytes": free})
        return target

    def _commit(self, stage: Path, target: Path) -> None:
        if target.exists():  # only reached with allow_overwrite
            old = target.with_name(f"{STAGE_PREFIX}old-{target.name}")
            os.replace(target, old)
            os.replace(stage, target)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            os.replace(stage, target)

    # --- reading back ----------------------------------------------------------------------------

    def verify(self, written: WrittenMedium, *, expected_sha256: str | None = None,
               expected_tree: Path | None = None) -> None:
        location = Path(written.location)
        if not location.exists():
            raise VerificationFailed(f"{location} is gone; it was written by this export",
                                     details={"differences": [{"path": str(location), "problem": "missing"}]})
        if not location.is_dir():  # an image; a directory is a tree whatever `kind` says
            size = location.stat().st_size
            if size != written.bytes:
                raise VerificationFailed(f"{location} has {size} bytes, {written.bytes} were written; "
                                         "do not hand out this copy", details={"location": str(location)})
            actual = sha256_file(location)
            for expected in filter(None, (written.sha256, expected_sha256)):
                check_digest(str(location), expected, actual, size)
            return
        actual_digests = tree_digests(location)
        if expected_tree is not None:
            check_tree(str(location), tree_digests(Path(expected_tree)), actual_digests)
        check_manifest(str(location), actual_digests, written.sha256, expected_sha256)

    def eject(self) -> None:
        """Nothing to eject: the folder stays."""


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

