"""[burners] in station.toml and open_burner: the export workflow's way to a ready burner."""

from __future__ import annotations

from pathlib import Path

import pytest

from burners import FolderBurner, open_burner
from burners.optical import OpticalBurner
from burners.robots import PrimeraBurner
from burners.usb import FatImageTarget, UsbBurner
from mediastation.config import Settings, expand_home, parse_settings
from mediastation.errors import ConfigError
from support.cli import run, run_json

STATION_TOML = {
    "burners": {
        "default": "dvd-drive",
        "cd_capacity_mb": 650,
        "devices": [
            {"name": "dvd-drive", "kind": "optical", "device": "stdio:{home}/pseudo-drive.img"},
            {"name": "robot", "kind": "robot-primera", "path": "{home}/ptburn", "publisher": "Disc Publisher SE",
             "share_prefixes": {"{home}": r"\\STATION\ms"}, "timeout": 600},
            {"name": "usb-image", "kind": "usb", "device": "{home}/stick.img"},
            {"name": "share", "kind": "folder", "path": "{home}/share", "allow_overwrite": True},
        ],
    }
}


def test_defaults_work_out_of_the_box(tmp_path: Path) -> None:
    section = Settings().burners
    burner = open_burner(None, section, expand=lambda s: expand_home(s, tmp_path))
    assert isinstance(burner, FolderBurner) and burner.directory == tmp_path / "outbox"
    assert not burner.allow_overwrite
    assert section.cd_capacity_mb == 700 and section.dvd_capacity_mb == 4700 and section.dvd_dl_capacity_mb == 8500


def test_configured_devices_open_by_name_and_kind(tmp_path: Path, iso_image: Path) -> None:
    section = parse_settings(STATION_TOML).burners
    expand = lambda s: expand_home(s, tmp_path)  # noqa: E731
    drive = open_burner(None, section, expand=expand)
    assert isinstance(drive, OpticalBurner) and drive.device == f"stdio:{tmp_path}/pseudo-drive.img"
    written = drive.write_image(iso_image, label="TESTDISC")  # the whole path: config -> burner -> medium
    drive.verify(written)
    robot = open_burner("robot", section, expand=expand)
    assert isinstance(robot, PrimeraBurner) and robot.timeout == 600
    assert robot.share_map.translate(tmp_path / "jobs" / "a.iso") == r"\\STATION\ms\jobs\a.iso"
    assert robot.capacities["cd"] == 650_000_000
    assert isinstance(open_burner("robot-primera", section, expand=expand), PrimeraBurner)  # by kind
    FatImageTarget.create(tmp_path / "stick.img", 40 * 1024 * 1024, "USB")
    stick = open_burner("usb-image", section, expand=expand)
    assert isinstance(stick, UsbBurner) and isinstance(stick.volume, FatImageTarget)
    share = open_burner("share", section, expand=expand)
    assert isinstance(share, FolderBurner) and share.allow_overwrite and share.directory == tmp_path / "share"
    to_dir = open_burner("robot", section, expand=expand, directory=tmp_path / "manual")  # export --to DIR
    assert isinstance(to_dir, FolderBurner) and to_dir.directory == tmp_path / "manual"


def test_unknown_or_incomplete_burners_are_configuration_errors(tmp_path: Path) -> None:
    section = parse_settings(STATION_TOML).burners
    with pytest.raises(ConfigError) as unknown:
        open_burner("floppy", section)
    assert unknown.value.exit_status == 1 and "dvd-drive" in unknown.value.message
    with pytest.raises(ConfigError) as robot:
        open_burner("robot-epson", Settings().burners)
    assert "hot folder" in robot.value.message
    with pytest.raises(ConfigError, match="'a' is used more than once"):  # found when the file is read
        parse_settings({"burners": {"devices": [{"name": "a", "kind": "folder", "path": "/x"},
                                                {"name": "a", "kind": "optical"}]}})
    with pytest.raises(ConfigError) as bad_kind:
        parse_settings({"burners": {"devices": [{"name": "x", "kind": "floppy"}]}})
    assert "burners.devices.0.kind" in bad_kind.value.message


def test_devices_command_lists_configured_burners(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    with open(home / "station.toml", "a", encoding="utf-8") as fp:
        fp.write('\n[[burners.devices]]\nname = "robot"\nkind = "robot-epson"\npath = "/srv/tdbridge"\n')
    doc = run_json("devices", home=home)
    assert doc["burners"] == [
        {"name": "folder", "kind": "folder", "device": str(home.resolve() / "outbox"), "default": True},
        {"name": "robot", "kind": "robot-epson", "device": "/srv/tdbridge", "default": False}]
