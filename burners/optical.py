"""CD/DVD drives through xorriso (Debian `xorriso`, libburn): status, burn, read-back verify, eject.

A prebuilt ISO 9660 image is burnt with xorriso's cdrecord emulation in one DAO session without
`-multi`, so the disc is closed (feasibility.md §5; xorrecord(1)). Before a byte is written the
medium's state and free space are read with `-toc`; a non-blank medium is refused unless
overwriting is allowed (then `blank=as_needed`), an image larger than the free space is refused
with both sizes. Verification reads exactly the image's extent back from the drive and compares its
SHA-256, and, given the source tree, every file through pycdlib.

Drive addresses are xorriso's: `/dev/sr0` for a real drive, `stdio:/path` for a pseudo-drive (a
file or a block device such as a loop device, used by the tests).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mediastation.files import sha256_file, sha256_stream

from burners.base import (
    MIB, SECTOR, DriveError, DriveStatus, MediaState, MediumNotBlank, MediumTooSmall, MediumUnsuitable,
    NoMedium, ProgressCallback, VerificationFailed, WrittenMedium, no_progress, unsupported,
)
from burners.readback import check_digest, check_tree, iso_tree_digests, tree_digests

PAD_BYTES = 300 * 1024      # xorrecord's default padsize (300 kB of zeros after the track)
STATUS_TIMEOUT = 120.0      # seconds: a drive spinning up a disc may take a while
_UPDATE = re.compile(r"UPDATE\s*:\s*(\d+)\s+of\s+(\d+)\s+MB written")
_BLOCKS = re.compile(r"Media blocks\s*:\s*(\d+)\s+readable\s*,\s*(\d+)\s+writable\s*,\s*(\d+)\s+overall")
_SUMMARY_FREE = re.compile(r"Media summary:.*,\s*([\d.]+)([kmg]?)\s+free")
_DEVICE = re.compile(r"^\s*\d+\s+-dev\s+'([^']+)'\s+(\S+)\s*:\s*'([^']*)'\s*'([^']*)'")
_PROBLEM = re.compile(r":\s*(FAILURE|SORRY|FATAL|ABORT)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class OpticalDrive:
    device: str
    vendor: str
    model: str
    access: str


def list_drives(xorriso: str = "xorriso") -> list[OpticalDrive]:
    """The drives libburn can use (`xorriso -devices`); none is an empty list, not an error."""
    rc, output = _run([xorriso, "-devices"], timeout=STATUS_TIMEOUT)
    drives = parse_devices(output)
    if rc not in (0, 32) and not drives:  # 32: "No drives found" (SORRY)
        raise DriveError(f"xorriso -devices failed: {_problems(output)}")
    return drives


def parse_devices(output: str) -> list[OpticalDrive]:
    drives = []
    for line in output.splitlines():
        match = _DEVICE.match(line)
        if match:
            device, access, vendor, model = match.groups()
            drives.append(OpticalDrive(device, vendor.strip(), model.strip(), access))
    return drives


def parse_toc(device: str, output: str) -> DriveStatus:
    """The drive's medium from `xorriso -outdev DEV -toc` output (libburn's wording, xorriso drive_mgt.c)."""
    medium_type = _field(output, "Media current")
    status_text = _field(output, "Media status")
    if status_text is None:
        raise DriveError(f"cannot read the medium in {device}: {_problems(output)}",
                         details={"device": device})
    state = _state(status_text)
    if medium_type and medium_type.startswith("is not"):
        medium_type = None
    capacity = free = None
    blocks = _BLOCKS.search(output)
    if blocks:
        free = int(blocks.group(2)) * SECTOR
        capacity = int(blocks.group(3)) * SECTOR
    else:
        summary = _SUMMARY_FREE.search(output)
        if summary:
            free = int(float(summary.group(1)) * {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[summary.group(2)])
    if state in (MediaState.NONE, MediaState.UNUSABLE):
        capacity = free = None
    return DriveStatus(device=device, kind="optical", medium_type=medium_type, state=state,
                       capacity_bytes=capacity, free_bytes=free, detail=status_text)


def _state(status_text: str) -> MediaState:
    text = status_text.lower()
    if "is blank" in text:
        return MediaState.BLANK
    if "is appendable" in text:
        return MediaState.APPENDABLE
    if "is closed" in text:
        return MediaState.CLOSED
    if "not present" in text:
        return MediaState.NONE
    return MediaState.UNUSABLE


def _field(output: str, name: str) -> str | None:
    for line in output.splitlines():
        if line.startswith(name):
            return line.split(":", 1)[1].strip()
    return None


def device_path(device: str) -> Path:
    """The file to read back: `stdio:/x` -> /x, `mmc:/dev/sr0` -> /dev/sr0."""
    for prefix in ("stdio:", "mmc:"):
        if device.startswith(prefix):
            return Path(device[len(prefix):])
    return Path(device)


class OpticalBurner:
    """One CD/DVD drive (or xorriso pseudo-drive)."""

    kind = "optical"
    writes = frozenset({"image"})

    def __init__(self, device: str = "/dev/sr0", *, name: str | None = None, allow_overwrite: bool = False,
                 xorriso: str = "xorriso") -> None:
        self.device = device
        self.name = name or device
        self.allow_overwrite = allow_overwrite
        self.xorriso = xorriso

    def status(self) -> DriveStatus:
        rc, output = _run([self.xorriso, "-outdev", self.device, "-toc"], timeout=STATUS_TIMEOUT)
        if "Media status" not in output:
            raise DriveError(f"drive {self.device} cannot be used: {_problems(output)} (xorriso exit {rc})",
                             details={"device": self.device})
        return parse_toc(self.device, output)

    def write_image(self, image: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium:
        image = Path(image)
        report = progress or no_progress
        size = image.stat().st_size
        status = self.status()
        blank_first = self._check_medium(status)
        self._check_space(status, size, blank_first)
        digest = sha256_file(image, progress=report, what="checksumming")
        command = [self.xorriso, "-as", "cdrecord", "-v", f"dev={self.device}", "-dao"]
        if blank_first:
            command.append("blank=as_needed")
        command.append(str(image))

        def on_line(line: str) -> None:
            match = _UPDATE.search(line)
            if match:
                report(int(match.group(1)) * MIB, size, "writing")

        rc, output = _run(command, on_line=on_line)
        if rc != 0:
            self._raise_burn_failure(output, size, rc)
        report(size, size, "written")
        return WrittenMedium(burner=self.name, target=self.device, bytes=size, sha256=digest,
                             location=str(device_path(self.device)), kind="image", label=label)

    def write_tree(self, tree: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium:
        raise unsupported(self, "tree")

    def _check_medium(self, status: DriveStatus) -> bool:
        """Whether the medium must be blanked first; raises when it cannot be written at all."""
        if status.state is MediaState.NONE:
            raise NoMedium(f"no disc in {self.device}; insert a blank CD or DVD", details={"device": self.device})
        if status.state is MediaState.UNUSABLE:
            raise MediumUnsuitable(f"the disc in {self.device} cannot be written ({status.detail}); "
                                   "insert a blank CD or DVD", details={"device": self.device})
        if status.state is MediaState.BLANK:
            return False
        if not self.allow_overwrite:
            raise MediumNotBlank(
                f"the disc in {self.device} is not blank ({status.state.value}); insert a blank disc "
                "(or allow overwriting rewritable discs: [burners] allow_overwrite = true)",
                details={"device": self.device, "state": status.state.value})
        return True

    def _check_space(self, status: DriveStatus, size: int, blank_first: bool) -> None:
        free = status.capacity_bytes if blank_first else status.free_bytes
        needed = -(-size // SECTOR) * SECTOR + PAD_BYTES
        if free is not None and needed > free:
            raise MediumTooSmall(
                f"the image needs {needed} bytes ({size} + padding) but the "
                f"{status.medium_type or 'medium'} in {self.device} has {free} bytes free; "
                "use a larger medium (DVD instead of CD) or split the export",
                details={"device": self.device, "needed_bytes": needed, "free_bytes": free, "image_bytes": size})

    def _raise_burn_failure(self, output: str, size: int, rc: int) -> None:
        problems = _problems(output)
        if "exceeds free space" in output:
            raise MediumTooSmall(f"xorriso refused: {problems}; use a larger medium",
                                 details={"device": self.device, "image_bytes": size})
        raise DriveError(f"burning to {self.device} failed (xorriso exit {rc}): {problems}",
                         details={"device": self.device, "exit": rc})

    def verify(self, written: WrittenMedium, *, expected_sha256: str | None = None,
               expected_tree: Path | None = None) -> None:
        path = Path(written.location) if written.location else device_path(self.device)
        try:
            if expected_tree is not None:  # first per file: names what is damaged
                with open(path, "rb") as fp:
                    on_disc = iso_tree_digests(fp)
                check_tree(str(path), tree_digests(Path(expected_tree)), on_disc)
            with open(path, "rb") as fp:
                actual, read = sha256_stream(fp, written.bytes, what="reading back")
        except OSError as exc:
            raise DriveError(f"cannot read back {path}: {exc.strerror or exc}",
                             details={"device": self.device}) from None
        if read < written.bytes:
            raise VerificationFailed(f"{path}: only {read} of {written.bytes} bytes could be read back",
                                     details={"location": str(path), "read_bytes": read})
        for want in filter(None, (written.sha256, expected_sha256)):
            check_digest(str(path), want, actual, written.bytes)

    def eject(self) -> None:
        if self.device.startswith("stdio:"):
            return  # a pseudo-drive has no tray
        rc, output = _run([self.xorriso, "-outdev", self.device, "-eject", "all"], timeout=STATUS_TIMEOUT)
        if rc != 0:
            raise DriveError(f"cannot eject {self.device}: {_problems(output)}", details={"device": self.device})


def _problems(output: str) -> str:
    """xorriso's own problem lines (FAILURE/SORRY/...), else its last line."""
    lines = [line.strip() for line in output.splitlines() if _PROBLEM.search(line)]
    lines = [line for line in lines if "-abort_on" not in line and "Tolerated problem" not in line
             and "Job could not be performed" not in line] or lines
    if lines:
        return "; ".join(dict.fromkeys(lines))
    tail = [line.strip() for line in output.splitlines() if line.strip()]
    return tail[-1] if tail else "no output"


def _run(command: list[str], *, timeout: float | None = None, on_line=None) -> tuple[int, str]:
    """Run xorriso with its messages merged into one stream, line by line; (exit status, output)."""
    env = {**os.environ, "LC_ALL": "C"}
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   errors="replace", env=env, bufsize=1)
    except FileNotFoundError:
        raise DriveError(f"{command[0]} is not installed; install the Debian package xorriso") from None
    lines: list[str] = []
    try:
        assert process.stdout is not None
        if timeout is not None:
            out, _ = process.communicate(timeout=timeout)
            return process.returncode, out
        for line in process.stdout:
            lines.append(line)
            if on_line:
                on_line(line)
        return process.wait(), "".join(lines)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise DriveError(f"{' '.join(command[:3])}: no answer within {timeout:.0f} s; is the drive busy?") from None
    except BaseException:
        process.kill()
        process.wait()
        raise
