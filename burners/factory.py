"""From `[burners]` in station.toml to a ready `Burner`.

Takes the section as plain values (any object with the attributes of `BurnersSection`), so burners
never import the station's configuration module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from mediastation.errors import ConfigError

from burners.base import BURNER_KINDS, Burner, NoMedium

MB = 1_000_000


def open_burner(name_or_kind: str | None = None, section: Any = None, *, expand: Callable[[str], str] = str,
                directory: Path | None = None, allow_overwrite: bool | None = None,
                wipe_confirmed: bool = False) -> Burner:
    """The burner named (or the first of that kind) in [burners]; `directory` forces the folder
    burner (`export --to DIR`). `expand` resolves `{home}` in configured paths."""
    if directory is not None:  # `--to DIR`: the caller made sure it exists; a vanished one is not re-made
        return _folder(Path(directory), section, allow_overwrite, create=False)
    entry, kind = burner_entry(name_or_kind, section)
    if entry is not None:
        return _from_entry(entry, section, expand, allow_overwrite, wipe_confirmed)
    return _default_of_kind(kind, section, expand, allow_overwrite, wipe_confirmed)


def burner_entry(name_or_kind: str | None, section: Any) -> tuple[Any, str]:
    """(the [[burners.devices]] entry or None, its kind) of the burner named, or the first of that
    kind, or [burners] default; ConfigError when there is none (checked before an export is queued)."""
    wanted = name_or_kind or (getattr(section, "default", None) or "folder")
    entries = list(getattr(section, "devices", None) or [])
    _check_unique(entries)
    entry = next((e for e in entries if e.name == wanted), None) or next((e for e in entries if e.kind == wanted), None)
    if entry is not None:
        return entry, entry.kind
    if wanted not in BURNER_KINDS or wanted.startswith("robot"):
        names = ", ".join(e.name for e in entries) or "none configured"
        kinds = ", ".join(k for k in BURNER_KINDS if not k.startswith("robot"))
        raise ConfigError(f"no burner named '{wanted}'; [burners] devices: {names}; kinds: {kinds} (a robot needs "
                          "its [[burners.devices]] entry naming the hot folder its service watches)", details={"burner": wanted})
    return None, wanted


def capacities(section: Any) -> dict[str, int]:
    """Nominal media capacities in bytes from [burners] (MB of 10^6)."""
    from burners.base import DEFAULT_CAPACITY_BYTES

    if section is None:
        return dict(DEFAULT_CAPACITY_BYTES)
    return {"cd": int(section.cd_capacity_mb * MB), "dvd": int(section.dvd_capacity_mb * MB),
            "dvd-dl": int(section.dvd_dl_capacity_mb * MB)}


def _overwrite(entry: Any, section: Any, override: bool | None) -> bool:
    if override is not None:
        return override
    if entry is not None and getattr(entry, "allow_overwrite", None) is not None:
        return bool(entry.allow_overwrite)
    return bool(getattr(section, "allow_overwrite", False))


def _folder(directory: Path, section: Any, override: bool | None, name: str = "folder", *,
            create: bool = True) -> Burner:
    from burners.folder import FolderBurner

    return FolderBurner(directory, name=name, allow_overwrite=_overwrite(None, section, override), create=create)


def _from_entry(entry: Any, section: Any, expand: Callable[[str], str], override: bool | None,
                wipe_confirmed: bool) -> Burner:
    overwrite = _overwrite(entry, section, override)
    if entry.kind == "folder":
        folder = expand(entry.path or getattr(section, "folder", "") or "")
        if not folder:
            raise ConfigError(f"[burners] device '{entry.name}': a folder burner needs `path`")
        from burners.folder import FolderBurner

        return FolderBurner(Path(folder), name=entry.name, allow_overwrite=overwrite)
    if entry.kind == "optical":
        from burners.optical import OpticalBurner

        return OpticalBurner(expand(entry.device) or _first_drive(), name=entry.name, allow_overwrite=overwrite)
    if entry.kind == "usb":
        return _usb(expand(entry.device), entry.name, wipe_confirmed, entry.format_usb)
    return _robot(entry, section, expand)


def _default_of_kind(kind: str, section: Any, expand: Callable[[str], str], override: bool | None,
                     wipe_confirmed: bool) -> Burner:
    if kind == "folder":
        folder = expand(getattr(section, "folder", "") or "")
        if not folder:
            raise ConfigError("the folder burner needs a folder: set [burners] folder or use --to DIR")
        return _folder(Path(folder), section, override)
    if kind == "optical":
        from burners.optical import OpticalBurner

        return OpticalBurner(_first_drive(), name="optical", allow_overwrite=_overwrite(None, section, override))
    if kind == "usb":
        return _usb("", "usb", wipe_confirmed, False)
    raise ConfigError(f"a {kind} burner needs its hot folder: add a [[burners.devices]] entry with kind = \"{kind}\" "
                      "and path = the folder the robot's service watches")


def _robot(entry: Any, section: Any, expand: Callable[[str], str]) -> Burner:
    from burners.robots import EpsonBurner, PrimeraBurner

    if not entry.path:
        raise ConfigError(f"[burners] device '{entry.name}': a robot needs `path`, the hot folder its service watches")
    cls = EpsonBurner if entry.kind == "robot-epson" else PrimeraBurner
    return cls(Path(expand(entry.path)), name=entry.name, publisher=entry.publisher,
               status_path=Path(expand(entry.status_path)) if entry.status_path else None,
               share_map={expand(k): v for k, v in entry.share_prefixes.items()}, timeout=entry.timeout,
               poll_interval=entry.poll_interval, copies=entry.copies,
               label_file=Path(expand(entry.label_file)) if entry.label_file else None, media=entry.media,
               data_format=entry.data_format or None, verify_disc=entry.verify_disc, capacities=capacities(section))


def _usb(device: str, name: str, wipe_confirmed: bool, format_first: bool) -> Burner:
    from burners.usb import FatImageTarget, MountedVolume, UsbBurner

    if device and Path(device).is_file():  # a FAT image file: "USB image" output
        volume: Any = FatImageTarget(Path(device))
    else:
        volume = MountedVolume.for_device(device or _the_stick())
    return UsbBurner(volume, name=name, wipe_confirmed=wipe_confirmed, format_first=format_first)


def _the_stick() -> str:
    from burners.discovery import list_devices

    sticks = [d.device for d in list_devices() if d.kind == "usb"]
    if not sticks:
        raise NoMedium("no USB stick found; insert one (FAT32, empty) and try again")
    if len(sticks) > 1:
        raise NoMedium(f"several USB sticks are inserted ({', '.join(sticks)}); remove the others or name one "
                       "in [[burners.devices]] device", details={"sticks": sticks})
    return sticks[0]


def _first_drive() -> str:
    from burners.discovery import list_devices

    drives = [d.device for d in list_devices() if d.kind == "optical"]
    return drives[0] if drives else "/dev/sr0"


def _check_unique(entries: list[Any]) -> None:
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"[burners] devices: the name {', '.join(repr(n) for n in twice)} is used more than once")
