"""Which drives and sticks exist, what is in them, and what was just inserted (pyudev).

Optical drives are block devices with udev's `ID_CDROM=1`; their medium comes from udev's cdrom_id
properties (`ID_CDROM_MEDIA`, `ID_CDROM_MEDIA_STATE`, `ID_CDROM_MEDIA_<TYPE>`), so listing never
grabs a drive. USB sticks are block devices with `ID_BUS=usb` that carry a file system (a partition,
or a whole disk without a partition table). Content is looked at without mounting: pycdlib reads
an ISO 9660 disc's root, mtools a FAT stick's root (feasibility.md §7), a mounted stick through its
mount point. A medium with `DICOMDIR` in its root is an import; a blank disc or empty FAT stick is
a target for the export queue.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Callable

from burners.base import MediaState
from burners.usb import DICOM_FAT_VERSIONS, mountpoint_of

EXPORT_QUEUE = "export queue"
IMPORT_SCAN = "import scan"
NO_ACTION = "none"
_MEDIA_STATES = {"blank": MediaState.BLANK, "appendable": MediaState.APPENDABLE, "complete": MediaState.CLOSED}


@dataclass(frozen=True)
class DeviceInfo:
    """One drive or stick as the station sees it."""

    device: str
    kind: str                       # "optical" | "usb"
    model: str | None
    state: MediaState
    medium_type: str | None = None  # "DVD-R", "CD-ROM", "vfat (FAT32)"
    fs_type: str | None = None
    fs_version: str | None = None
    label: str | None = None
    size_bytes: int | None = None
    mountpoint: str | None = None
    dicom: bool | None = None       # DICOMDIR in the root; None when it could not be looked at
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "kind": self.kind, "model": self.model, "state": self.state.value,
                "medium_type": self.medium_type, "fs_type": self.fs_type, "fs_version": self.fs_version,
                "label": self.label, "size_bytes": self.size_bytes, "mountpoint": self.mountpoint,
                "dicom": self.dicom, "detail": self.detail}


def list_devices(context: Any = None) -> list[DeviceInfo]:
    """Every optical drive and USB stick udev knows, with its medium; [] on a machine with none."""
    import pyudev

    context = context or pyudev.Context()
    found = [describe(device) for device in context.list_devices(subsystem="block")]
    return sorted((d for d in found if d is not None), key=lambda d: d.device)


def describe(device: Any, *, look_inside: bool = True) -> DeviceInfo | None:
    """A DeviceInfo for an optical drive or a USB stick's file system; None for anything else."""
    props = _properties(device)
    node = props.get("DEVNAME") or getattr(device, "device_node", None)
    if not node:
        return None
    if props.get("ID_CDROM") == "1":
        return _optical(node, props, look_inside)
    if props.get("ID_BUS") == "usb" and _is_stick_filesystem(props):
        return _usb(node, props, device, look_inside)
    return None


def station_action(info: DeviceInfo, event: str = "add") -> tuple[str, str]:
    """What the station does with this medium, and why: export queue, import scan or nothing."""
    if event == "remove":
        return NO_ACTION, "removed"
    if info.dicom:
        return IMPORT_SCAN, "DICOMDIR in the root: an outside medium to import"
    if info.state is MediaState.NONE:
        return NO_ACTION, "no medium"
    if info.kind == "optical":
        if info.state is MediaState.BLANK:
            return EXPORT_QUEUE, "blank disc"
        return NO_ACTION, info.detail or f"{info.state.value} disc without DICOMDIR"
    if info.state is MediaState.BLANK:
        return EXPORT_QUEUE, "empty FAT stick"
    return NO_ACTION, info.detail or "stick has files but no DICOMDIR"


def event_record(action: str, info: DeviceInfo) -> dict[str, Any]:
    """One line of `mediastation watch --json`."""
    what, why = station_action(info, action)
    return {"event": action, **info.to_json(), "action": what, "reason": why}


def watch(on_event: Callable[[dict[str, Any]], None], *, timeout: float | None = None, max_events: int | None = None,
          ready: Callable[[], None] | None = None, context: Any = None) -> int:
    """Call on_event for every drive/stick add, change or remove until timeout or max_events; returns the count."""
    import pyudev

    context = context or pyudev.Context()
    monitor = pyudev.Monitor.from_netlink(context)
    monitor.filter_by("block")
    monitor.start()
    if ready:
        ready()
    deadline = None if timeout is None else time.monotonic() + timeout
    seen = 0
    while max_events is None or seen < max_events:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            break
        device = monitor.poll(timeout=remaining if remaining is not None else 1.0)
        if device is None:
            continue
        action = device.action or "change"
        info = describe(device, look_inside=action != "remove")
        if info is None:
            continue
        on_event(event_record(action, info))
        seen += 1
    return seen


# --- optical ---------------------------------------------------------------------------------------

def _optical(node: str, props: dict[str, str], look_inside: bool) -> DeviceInfo:
    model = _model(props)
    if props.get("ID_CDROM_MEDIA") != "1":
        return DeviceInfo(node, "optical", model, MediaState.NONE, detail="no disc")
    state = _MEDIA_STATES.get(props.get("ID_CDROM_MEDIA_STATE", ""), MediaState.CLOSED)
    info = dict(medium_type=_medium_type(props), fs_type=props.get("ID_FS_TYPE"),
                label=props.get("ID_FS_LABEL"))
    dicom = detail = None
    if look_inside and state is not MediaState.BLANK:
        dicom, detail = _disc_has_dicomdir(node)
    return DeviceInfo(node, "optical", model, state, dicom=dicom, detail=detail, **info)


def _medium_type(props: dict[str, str]) -> str | None:
    types = [key[len("ID_CDROM_MEDIA_"):] for key, value in props.items()
             if key.startswith("ID_CDROM_MEDIA_") and value == "1"
             and key[len("ID_CDROM_MEDIA_"):].split("_")[0] in ("CD", "DVD", "BD", "HDDVD", "MO")]
    if not types:
        return None
    best = max(types, key=len)  # DVD_PLUS_R over DVD
    name = best.replace("_PLUS_", "+").replace("_", "-")
    return name if "-" in name or "+" in name else f"{name}-ROM"


def _disc_has_dicomdir(node: str) -> tuple[bool | None, str | None]:
    """DICOMDIR in an ISO 9660 disc's root, read with pycdlib; the node may be a file (umockdev)."""
    from burners.readback import iso_has_root_file

    try:
        with open(node, "rb") as fp:
            return iso_has_root_file(fp, "DICOMDIR"), None
    except OSError as exc:
        return None, f"cannot read the disc: {exc.strerror or exc}"
    except Exception as exc:  # pycdlib: not ISO 9660 (UDF-only, audio CD)
        return None, f"not an ISO 9660 disc ({exc.__class__.__name__})"


# --- USB -------------------------------------------------------------------------------------------

def _is_stick_filesystem(props: dict[str, str]) -> bool:
    if props.get("DEVTYPE") == "partition":
        return True
    return props.get("DEVTYPE") == "disk" and "ID_PART_TABLE_TYPE" not in props and bool(props.get("ID_FS_TYPE"))


def _usb(node: str, props: dict[str, str], device: Any, look_inside: bool) -> DeviceInfo:
    fs_type, fs_version = props.get("ID_FS_TYPE"), props.get("ID_FS_VERSION")
    size = _size_bytes(device)
    mountpoint = mountpoint_of(node) if look_inside else None
    medium_type = f"{fs_type} ({fs_version})" if fs_type and fs_version else fs_type
    common = dict(medium_type=medium_type, fs_type=fs_type, fs_version=fs_version, label=props.get("ID_FS_LABEL"),
                  size_bytes=size, mountpoint=str(mountpoint) if mountpoint else None)
    dicom_fat = fs_type == "vfat" and fs_version in DICOM_FAT_VERSIONS
    if not look_inside:
        return DeviceInfo(node, "usb", _model(props), MediaState.NONE, **common)
    entries, detail = _stick_entries(node, fs_type, mountpoint)
    dicom = None if entries is None else any(e.upper() == "DICOMDIR" for e in entries)
    if entries is None:
        state = MediaState.UNUSABLE
    elif not dicom_fat:
        state = MediaState.UNUSABLE
        detail = detail or f"{medium_type or 'no file system'}: not FAT16/FAT32 (PS3.12 Annex R)"
    else:
        state = MediaState.APPENDABLE if entries else MediaState.BLANK
    return DeviceInfo(node, "usb", _model(props), state, dicom=dicom, detail=detail, **common)


def _stick_entries(node: str, fs_type: str | None, mountpoint: Any) -> tuple[list[str] | None, str | None]:
    if mountpoint is not None:
        try:
            return [n for n in os.listdir(mountpoint) if n != "System Volume Information"], None
        except OSError as exc:
            return None, f"cannot list {mountpoint}: {exc.strerror or exc}"
    if fs_type != "vfat":
        return None, "not mounted; only FAT is read without mounting"
    try:
        result = subprocess.run(["mdir", "-b", "-i", node, "::/"], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot read the stick: {exc}"
    if result.returncode != 0:
        return None, f"cannot read the stick: {(result.stderr or result.stdout).strip()}"
    names = [line.removeprefix("::/").rstrip("/") for line in result.stdout.splitlines() if line.strip()]
    return [n for n in names if n and n != "System Volume Information"], None


def _size_bytes(device: Any) -> int | None:
    try:
        return int(device.attributes.asint("size")) * 512
    except (AttributeError, KeyError, ValueError, TypeError):
        return None


def _model(props: dict[str, str]) -> str | None:
    parts = [props.get("ID_VENDOR"), props.get("ID_MODEL")]
    text = " ".join(p.replace("_", " ").strip() for p in parts if p)
    return text or None


def _properties(device: Any) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in device.properties.items()}
    except AttributeError:
        return dict(device)
