"""USB sticks: FAT16/FAT32 only (DICOM PS3.12 Annex R), written through the mounted path.

The policy (which sticks are acceptable, wiping only when confirmed, room checked before writing,
flush, read back, safe release) lives in `UsbBurner`; where the bytes go is a `FatVolume`:

- `MountedVolume`: a stick mounted by the desktop (udisks2) or by hand; files are staged in a hidden
  folder on the stick and renamed into the root, then flushed (fsync + sync), read back, and the
  stick is unmounted and powered off with `udisksctl` where present.
- `FatImageTarget`: a FAT image file written without mounting through mtools (`mcopy -s`, never
  `-b`, feasibility.md §7) and made with `mkfs.vfat`; used by the tests and for "USB image" output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from burners.base import (
    MIB, DriveError, DriveStatus, MediaState, MediumNotBlank, MediumTooSmall, MediumUnsuitable, NoMedium,
    ProgressCallback, WrittenMedium, no_progress, unsupported,
)
from burners.names import volume_label
from burners.readback import (
    IGNORED_ON_MEDIA, check_manifest, check_tree, copy_file, manifest_sha256, tree_digests, tree_files,
)

DICOM_FAT_VERSIONS = ("FAT16", "FAT32")     # PS3.12 Annex R: FAT16 or FAT32, not FAT12/exFAT/NTFS
FAT32_MIN_BYTES = 40 * MIB                  # below ~33 MiB mkfs.vfat cannot make FAT32 (65525 clusters)
STAGE_NAME = ".mediastation-partial"
TOOL_TIMEOUT = 600.0


@dataclass(frozen=True)
class FsInfo:
    """What blkid finds on a device or image: TYPE=vfat VERSION=FAT32 LABEL=..."""

    type: str | None
    version: str | None = None
    label: str | None = None

    @property
    def dicom_fat(self) -> bool:
        return self.type == "vfat" and self.version in DICOM_FAT_VERSIONS

    def describe(self) -> str:
        if not self.type:
            return "no file system"
        return f"{self.type} ({self.version})" if self.version else self.type


def probe_fs(device: str | Path) -> FsInfo:
    """The file system on a device or image, read by blkid's low-level probe (no udev needed)."""
    result = _tool(["blkid", "-p", "-o", "export", str(device)], check=False)
    if result.returncode == 2:  # nothing recognised
        return FsInfo(None)
    if result.returncode != 0:
        raise DriveError(f"cannot probe {device}: {(result.stderr or result.stdout).strip()}")
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return FsInfo(values.get("TYPE"), values.get("VERSION"), values.get("LABEL"))


class FatVolume(Protocol):
    """Where a USB burner's bytes go."""

    device: str
    location: str

    def fs(self) -> FsInfo: ...
    def entries(self) -> list[str]: ...
    def free_bytes(self) -> int: ...
    def capacity_bytes(self) -> int: ...
    def cluster_bytes(self) -> int: ...
    def wipe(self) -> None: ...
    def format(self, label: str) -> None: ...
    def copy_tree(self, tree: Path, progress: ProgressCallback) -> dict[str, str]: ...
    def digests(self) -> dict[str, str]: ...
    def flush(self) -> None: ...
    def release(self) -> None: ...


# --- the burner ------------------------------------------------------------------------------------

class UsbBurner:
    """A USB stick (or FAT image) that receives the PDI file tree."""

    kind = "usb"
    writes = frozenset({"tree"})

    def __init__(self, volume: FatVolume, *, name: str = "usb", wipe_confirmed: bool = False,
                 format_first: bool = False) -> None:
        self.volume = volume
        self.name = name
        self.wipe_confirmed = wipe_confirmed
        self.format_first = format_first

    def status(self) -> DriveStatus:
        fs = self.volume.fs()
        if not fs.dicom_fat:
            return DriveStatus(self.volume.device, self.kind, fs.describe(), MediaState.UNUSABLE, None, None,
                               label=fs.label, detail="not FAT16/FAT32 (PS3.12 Annex R)")
        state = MediaState.APPENDABLE if self.volume.entries() else MediaState.BLANK
        return DriveStatus(self.volume.device, self.kind, fs.describe(), state, self.volume.capacity_bytes(),
                           self.volume.free_bytes(), label=fs.label)

    def write_image(self, image: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium:
        raise unsupported(self, "image")

    def write_tree(self, tree: Path, *, label: str, progress: ProgressCallback | None = None) -> WrittenMedium:
        tree = Path(tree)
        report = progress or no_progress
        must_clear = self._check_medium()
        if self.format_first or not self.volume.fs().dicom_fat:
            self.volume.format(volume_label(label, 11))
            self._check_room(tree, self.volume.free_bytes())
        else:  # room is checked before anything on the stick is touched
            self._check_room(tree, self.volume.capacity_bytes() if must_clear else self.volume.free_bytes())
            if must_clear:
                self.volume.wipe()
        digests = self.volume.copy_tree(tree, report)
        self.volume.flush()
        size = sum(path.stat().st_size for _, path in tree_files(tree))
        report(size, size, "written")
        return WrittenMedium(burner=self.name, target=self.volume.device, bytes=size,
                             sha256=manifest_sha256(digests), location=self.volume.location, kind="tree",
                             label=label, files=len(digests))

    def _check_medium(self) -> bool:
        """Whether the stick must be wiped or formatted first; refuses what needs the operator."""
        fs = self.volume.fs()
        device = self.volume.device
        if not fs.dicom_fat and not self.format_first:
            raise MediumUnsuitable(
                f"the stick {device} has {fs.describe()}; DICOM media on USB must be FAT16 or FAT32 "
                "(PS3.12 Annex R): use another stick or let the station format it (confirm wiping)",
                details={"device": device, "fs_type": fs.type, "fs_version": fs.version})
        try:
            entries = self.volume.entries()
        except DriveError:  # a file system the tools cannot list: formatting destroys whatever it holds
            entries = [f"({fs.describe()})"] if fs.type else []
        if entries and not self.wipe_confirmed:
            shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
            raise MediumNotBlank(
                f"the stick {device} is not empty ({shown}); use an empty stick or confirm wiping it",
                details={"device": device, "entries": entries[:50]})
        return bool(entries) or self.format_first

    def _check_room(self, tree: Path, free: int) -> None:
        cluster = self.volume.cluster_bytes()
        files = tree_files(tree)
        folders = {rel.rsplit("/", 1)[0] for rel, _ in files if "/" in rel}
        needed = sum(-(-p.stat().st_size // cluster) * cluster for _, p in files) + len(folders) * cluster
        if needed > free:
            raise MediumTooSmall(
                f"the file set needs {needed} bytes on the stick but {self.volume.device} has {free} bytes "
                "free; use a larger stick", details={"device": self.volume.device, "needed_bytes": needed,
                                                      "free_bytes": free})

    def verify(self, written: WrittenMedium, *, expected_sha256: str | None = None,
               expected_tree: Path | None = None) -> None:
        actual = self.volume.digests()
        if expected_tree is not None:
            check_tree(self.volume.location, tree_digests(Path(expected_tree)), actual)
        check_manifest(self.volume.location, actual, written.sha256, expected_sha256)

    def eject(self) -> None:
        self.volume.release()


# --- a mounted stick -------------------------------------------------------------------------------

class MountedVolume:
    """A stick's partition mounted at `mountpoint`; `device` is probed for its file system."""

    def __init__(self, mountpoint: Path, device: str | Path | None = None) -> None:
        self.mountpoint = Path(mountpoint)
        found = find_mount(self.mountpoint)
        if device is None and found is None:
            raise NoMedium(f"nothing is mounted at {self.mountpoint}; insert the stick and let it mount")
        self.device = str(device if device is not None else found[0])
        self.location = str(self.mountpoint)

    @classmethod
    def for_device(cls, device: str) -> "MountedVolume":
        """The stick's partition, mounted by udisks2 when it is not yet mounted."""
        mountpoint = mountpoint_of(device)
        if mountpoint is None:
            if shutil.which("udisksctl") is None:
                raise NoMedium(f"the stick {device} is not mounted; mount it (or install udisks2)",
                               details={"device": device})
            _tool(["udisksctl", "mount", "--no-user-interaction", "-b", device])
            mountpoint = mountpoint_of(device)
            if mountpoint is None:
                raise DriveError(f"udisksctl did not mount {device}", details={"device": device})
        return cls(mountpoint, device)

    def fs(self) -> FsInfo:
        return probe_fs(self.device)

    def entries(self) -> list[str]:
        return sorted(name for name in os.listdir(self.mountpoint) if name not in IGNORED_ON_MEDIA)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.mountpoint).free

    def capacity_bytes(self) -> int:
        return shutil.disk_usage(self.mountpoint).total

    def cluster_bytes(self) -> int:
        return os.statvfs(self.mountpoint).f_bsize or 4096

    def wipe(self) -> None:
        for name in self.entries():
            path = self.mountpoint / name
            try:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
            except OSError as exc:
                raise DriveError(f"cannot wipe {path}: {exc.strerror or exc}") from None
        os.sync()

    def format(self, label: str) -> None:
        """mkfs.vfat -F 32 needs the partition unmounted; it is mounted again afterwards."""
        was = self.mountpoint
        if shutil.which("udisksctl"):
            _tool(["udisksctl", "unmount", "--no-user-interaction", "-b", self.device])
            _tool(["mkfs.vfat", "-F", "32", "-n", label, self.device])
            _tool(["udisksctl", "mount", "--no-user-interaction", "-b", self.device])
            self.mountpoint = mountpoint_of(self.device) or was
        else:
            _tool(["umount", str(was)])
            _tool(["mkfs.vfat", "-F", "32", "-n", label, self.device])
            _tool(["mount", "-t", "vfat", self.device, str(was)])
        self.location = str(self.mountpoint)

    def copy_tree(self, tree: Path, progress: ProgressCallback) -> dict[str, str]:
        """Copy into a hidden stage on the stick, then rename each top-level entry into the root."""
        files = tree_files(tree)
        total = sum(p.stat().st_size for _, p in files)
        stage = self.mountpoint / f"{STAGE_NAME}-{uuid.uuid4().hex[:8]}"
        digests: dict[str, str] = {}
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total, "copying")

        try:
            stage.mkdir()
            for rel, path in files:
                out = stage / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                digests[rel], _ = copy_file(path, out, progress=step)
            for entry in sorted(stage.iterdir()):
                os.replace(entry, self.mountpoint / entry.name)
            stage.rmdir()
        except OSError as exc:
            shutil.rmtree(stage, ignore_errors=True)
            raise DriveError(f"writing to the stick {self.device} failed: {exc.strerror or exc}; "
                             "use another stick", details={"device": self.device}) from None
        return digests

    def digests(self) -> dict[str, str]:
        self._drop_caches()
        return tree_digests(self.mountpoint)

    def flush(self) -> None:
        os.sync()

    def release(self) -> None:
        """Flush, unmount and power the stick off (udisks2), so it can be pulled out safely."""
        os.sync()
        if find_mount(self.mountpoint) is None:
            return  # not a mount point of its own (already released, or a plain folder in tests)
        if shutil.which("udisksctl"):
            _tool(["udisksctl", "unmount", "--no-user-interaction", "-b", self.device])
            _tool(["udisksctl", "power-off", "--no-user-interaction", "-b", parent_disk(self.device)])
        else:
            _tool(["umount", str(self.mountpoint)])

    def _drop_caches(self) -> None:
        """Ask the kernel to forget cached pages of the stick, so the read-back reads the medium."""
        try:
            with open("/proc/sys/vm/drop_caches", "w") as fp:
                fp.write("1\n")
        except OSError:
            pass  # not root: the read-back may come from the page cache; the write was still flushed


def find_mount(path: Path) -> tuple[str, str] | None:
    """(device, file system type) mounted exactly at path, from /proc/self/mounts."""
    target = os.path.realpath(path)
    for device, mountpoint, fstype in _mounts():
        if os.path.realpath(mountpoint) == target:
            return device, fstype
    return None


def mountpoint_of(device: str) -> Path | None:
    wanted = os.path.realpath(device)
    for mounted, mountpoint, _fstype in _mounts():
        if os.path.realpath(mounted) == wanted:
            return Path(mountpoint)
    return None


def parent_disk(device: str) -> str:
    """/dev/sdb1 -> /dev/sdb (a partition's disk, through sysfs); a whole disk is itself."""
    name = Path(os.path.realpath(device)).name
    sys_entry = Path("/sys/class/block") / name
    if (sys_entry / "partition").exists():
        return f"/dev/{sys_entry.resolve().parent.name}"
    return device


def _mounts() -> list[tuple[str, str, str]]:
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3:
            found.append(tuple(_unescape(p) for p in parts[:3]))
    return found  # type: ignore[return-value]


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


# --- a FAT image, without mounting -----------------------------------------------------------------

class FatImageTarget:
    """A FAT16/FAT32 image file read and written with mtools; no mount, no root needed."""

    def __init__(self, image: Path) -> None:
        self.image = Path(image)
        self.device = str(self.image)
        self.location = str(self.image)

    @classmethod
    def create(cls, image: Path, size_bytes: int, label: str = "DICOM", *, fat_bits: int = 32) -> "FatImageTarget":
        """A fresh, empty FAT image of the given size (rounded up to whole MiB)."""
        image = Path(image)
        size = -(-max(size_bytes, FAT32_MIN_BYTES if fat_bits == 32 else MIB) // MIB) * MIB
        with open(image, "wb") as fp:
            fp.truncate(size)
        target = cls(image)
        target._mkfs(volume_label(label, 11), fat_bits)
        return target

    @staticmethod
    def size_for(tree: Path, cluster: int = 4096) -> int:
        """An image size with room for the tree, its folders and the FAT's own tables."""
        files = tree_files(tree)
        data = sum(-(-p.stat().st_size // cluster) * cluster for _, p in files) + len(files) * 64
        return max(FAT32_MIN_BYTES, int(data * 1.05) + 16 * MIB)

    def fs(self) -> FsInfo:
        return probe_fs(self.image)

    def entries(self) -> list[str]:
        listing = self._mtools(["mdir", "-b", "-i", str(self.image), "::/"])
        names = [line.removeprefix("::/").rstrip("/") for line in listing.splitlines() if line.strip()]
        return sorted(name for name in names if name and name not in IGNORED_ON_MEDIA)

    def free_bytes(self) -> int:
        listing = self._mtools(["mdir", "-i", str(self.image), "::/"])
        for line in reversed(listing.splitlines()):
            if line.strip().endswith("bytes free"):
                return int("".join(ch for ch in line if ch.isdigit()))
        raise DriveError(f"mdir did not report the free space of {self.image}")

    def capacity_bytes(self) -> int:
        """Every data cluster of the file system (fsck.vfat -n counts them), in bytes."""
        summary = self.check()
        match = re.search(r"(\d+)/(\d+) clusters", summary)
        if not match:
            raise DriveError(f"fsck.vfat did not report the clusters of {self.image}: {summary}")
        return int(match.group(2)) * self.cluster_bytes()

    def cluster_bytes(self) -> int:
        info = self._mtools(["minfo", "-i", str(self.image), "::"])
        sector = cluster = None
        for line in info.splitlines():
            if line.startswith("sector size:"):
                sector = int(line.split(":")[1].split()[0])
            elif line.startswith("cluster size:"):
                cluster = int(line.split(":")[1].split()[0])
        return (sector or 512) * (cluster or 8)

    def wipe(self) -> None:
        fs = self.fs()
        self._mkfs(fs.label or "DICOM", 16 if fs.version == "FAT16" else 32)

    def format(self, label: str) -> None:
        self._mkfs(label, 32)

    def copy_tree(self, tree: Path, progress: ProgressCallback) -> dict[str, str]:
        """mcopy -s each top-level entry into the root (never -b: feasibility.md §7)."""
        files = tree_files(tree)
        total = sum(p.stat().st_size for _, p in files)
        entries = sorted(Path(tree).iterdir())
        done = 0
        copied: list[str] = []
        try:
            for entry in entries:
                if entry.name in IGNORED_ON_MEDIA:
                    continue
                self._mtools(["mcopy", "-s", "-m", "-o", "-i", str(self.image), str(entry), "::/"])
                copied.append(entry.name)
                done += sum(p.stat().st_size for rel, p in files
                            if rel == entry.name or rel.startswith(entry.name + "/"))
                progress(done, total, "copying")
        except DriveError:
            for name in copied:
                self._mtools(["mdeltree", "-i", str(self.image), f"::/{name}"], check=False)
                self._mtools(["mdel", "-i", str(self.image), f"::/{name}"], check=False)
            raise
        return tree_digests(tree)

    def digests(self) -> dict[str, str]:
        """Read every file back out of the image (mcopy) and hash it."""
        names = self.entries()
        if not names:
            return {}
        with tempfile.TemporaryDirectory(prefix="mediastation-fat-") as out:
            self._mtools(["mcopy", "-s", "-n", "-m", "-i", str(self.image), *[f"::/{n}" for n in names], out])
            return tree_digests(Path(out))

    def flush(self) -> None:
        with open(self.image, "rb+") as fp:
            os.fsync(fp.fileno())

    def release(self) -> None:
        """An image needs no unmounting; it is already flushed."""

    def check(self) -> str:
        """`fsck.vfat -n`: raises DriveError unless the file system is clean; returns its summary."""
        result = _tool(["fsck.vfat", "-n", str(self.image)], check=False)
        if result.returncode != 0:
            raise DriveError(f"fsck.vfat found problems in {self.image}: {result.stdout.strip()}")
        return result.stdout.strip().splitlines()[-1]

    def _mkfs(self, label: str, fat_bits: int) -> None:
        _tool(["mkfs.vfat", "-F", str(fat_bits), "-n", label, str(self.image)])

    def _mtools(self, command: list[str], *, check: bool = True) -> str:
        result = _tool(command, check=False, env={"MTOOLS_SKIP_CHECK": "1"})
        if check and result.returncode != 0:
            raise DriveError(f"{command[0]} on {self.image} failed: {(result.stderr or result.stdout).strip()}",
                             details={"image": str(self.image)})
        return result.stdout


def _tool(command: list[str], *, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=TOOL_TIMEOUT,
                                env={**os.environ, "LC_ALL": "C", **(env or {})})
    except FileNotFoundError:
        package = {"mkfs.vfat": "dosfstools", "fsck.vfat": "dosfstools", "udisksctl": "udisks2",
                   "blkid": "util-linux"}.get(command[0], "mtools")
        raise DriveError(f"{command[0]} is not installed; install the Debian package {package}") from None
    except subprocess.TimeoutExpired:
        raise DriveError(f"{command[0]} did not finish within {TOOL_TIMEOUT:.0f} s") from None
    if check and result.returncode != 0:
        raise DriveError(f"{command[0]} failed: {(result.stderr or result.stdout).strip()}")
    return result
