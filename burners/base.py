"""What every burner is: a device (or folder, or robot) that writes a medium and reads it back.

The export workflow says "write this ISO image" or "write this file tree" and "verify it"; it never
knows whether a drive, a stick, a folder or a disc robot is behind the `Burner`. Burners know
nothing of DICOM: they move bytes and check them (architecture.md, "burners does not know DICOM").

Exit statuses of the errors (interfaces.md): 1 where the operator must act on the medium (insert
one, use a blank or bigger one, confirm wiping, use a FAT stick), 3 where the drive, robot or disk
failed or the written medium does not read back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Protocol, runtime_checkable

from mediastation.errors import EXIT_OUTSIDE, EXIT_REFUSED, MediaStationError

BurnerKind = Literal["optical", "usb", "folder", "robot-epson", "robot-primera"]
BURNER_KINDS: tuple[str, ...] = ("optical", "usb", "folder", "robot-epson", "robot-primera")

ProgressCallback = Callable[[int, "int | None", str], None]
"""`progress(done, total, what)`: bytes done, bytes in all (None when unknown), a short word."""

SECTOR = 2048
MIB = 1024 * 1024

# Nominal capacities in bytes (MB of 10^6, as [export] and [burners] count them) for where the
# medium cannot be measured (robots, planning). Each is below the real medium's size (CD-R 80 min
# 737 280 000, DVD±R 4 700 372 992, DVD±R DL 8 547 991 552 bytes); a real drive reports the inserted
# blank's own size, which always wins (export_anchors.md B3 18).
DEFAULT_CAPACITY_BYTES: dict[str, int] = {"cd": 700_000_000, "dvd": 4_700_000_000, "dvd-dl": 8_500_000_000}


class MediaState(str, enum.Enum):
    """The medium in a drive (or the state of a stick/folder, by analogy)."""

    NONE = "none"              # no medium present
    BLANK = "blank"            # writable from scratch (empty stick, empty folder target)
    APPENDABLE = "appendable"  # has data, more could be added (open disc, stick with files)
    CLOSED = "closed"          # finalized disc: nothing more can be written
    UNUSABLE = "unusable"      # present but unreadable/unsuitable (unknown disc, wrong file system)


@dataclass(frozen=True)
class DriveStatus:
    device: str
    kind: str
    medium_type: str | None
    state: MediaState
    capacity_bytes: int | None
    free_bytes: int | None
    label: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "kind": self.kind, "medium_type": self.medium_type,
                "state": self.state.value, "capacity_bytes": self.capacity_bytes,
                "free_bytes": self.free_bytes, "label": self.label, "detail": self.detail}


@dataclass(frozen=True)
class WrittenMedium:
    """What was written and where it can be read back.

    `sha256` is the image's digest for an image, and for a tree the digest of its manifest (the
    sorted lines `relative/path<TAB>sha256-of-file`), see `burners.readback.manifest_sha256`.
    `location` is what `verify` reads: a file, a directory, a device node, a FAT image or, for a
    robot, its job file.
    """

    burner: str
    target: str
    bytes: int
    sha256: str
    location: str
    kind: Literal["image", "tree"] = "image"
    label: str = ""
    files: int = 1
    job_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"burner": self.burner, "target": self.target, "bytes": self.bytes, "sha256": self.sha256,
                "location": self.location, "kind": self.kind, "label": self.label, "files": self.files,
                "job_id": self.job_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "WrittenMedium":
        """Read back what `to_json` saved (a resumed job verifies what an earlier pass wrote)."""
        return cls(**data)


@runtime_checkable
class Burner(Protocol):
    """One device that writes media. `writes` says which of write_image/write_tree it accepts."""

    name: str
    kind: str
    writes: frozenset[str]

    def status(self) -> DriveStatus: ...

    def write_image(self, image: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium: ...

    def write_tree(self, tree: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium: ...

    def verify(self, written: WrittenMedium, *, expected_sha256: str | None = None,
               expected_tree: Path | None = None) -> None: ...

    def eject(self) -> None: ...


# --- errors ------------------------------------------------------------------------------------

class BurnerError(MediaStationError):
    """A burner could not do what was asked. Subclasses say whether the operator or the device must act."""

    code = "burner_failed"
    exit_status = EXIT_OUTSIDE


class NoMedium(BurnerError):
    """No disc in the drive, no stick inserted: the operator inserts one."""

    code = "no_medium"
    exit_status = EXIT_REFUSED


class MediumNotBlank(BurnerError):
    """The disc or stick holds data (or the target file exists) and overwriting was not allowed."""

    code = "medium_not_blank"
    exit_status = EXIT_REFUSED


class MediumTooSmall(BurnerError):
    """The content is larger than the medium's free space; found before a byte was written."""

    code = "medium_too_small"
    exit_status = EXIT_REFUSED


class MediumUnsuitable(BurnerError):
    """The medium cannot take this content: a stick not FAT16/FAT32 (PS3.12 Annex R), a closed disc."""

    code = "medium_unsuitable"
    exit_status = EXIT_REFUSED


class UnsupportedWrite(BurnerError):
    """This burner does not write that form (an image to a USB stick, say): a caller's mistake."""

    code = "burner_unsupported"
    exit_status = EXIT_REFUSED


class DriveError(BurnerError):
    """The drive or the tool driving it failed; the message carries the tool's own words."""

    code = "drive_failed"


class VerificationFailed(BurnerError):
    """Reading the medium back did not give what was written; `details["differences"]` lists them."""

    code = "verification_failed"


class RobotError(BurnerError):
    """The disc robot reported an error; the message carries the robot's own words."""

    code = "robot_failed"


class RobotTimeout(RobotError):
    """The disc robot did not finish (or did not even pick up) the job in time."""

    code = "robot_timeout"


def no_progress(done: int, total: int | None, what: str) -> None:
    """The progress callback used when the caller gives none."""


def unsupported(burner: Burner, form: str) -> UnsupportedWrite:
    given, wanted = ("an ISO image", "a file tree (write_tree)") if form == "image" else \
        ("a file tree", "an ISO image (write_image)")
    return UnsupportedWrite(f"burner '{burner.name}' ({burner.kind}) does not write {given}; give it {wanted}",
                            details={"burner": burner.name, "kind": burner.kind})
