"""Every fault a clear message, nothing half-done, no silent fall-backs: what a new user runs into,
through the CLI as a subprocess (exit status, stdout's one JSON document, stderr's message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import run, run_json


def init_home(tmp_path: Path, name: str = "home", *args: str) -> Path:
    home = tmp_path / name
    result = run("init", *args, home=home)
    assert result.returncode == 0, result.stderr
    return home


def refused(result, code: int = 1) -> str:  # type: ignore[no-untyped-def]
    """The one clear message of a refusal: the exit status, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


# -- configuration ----------------------------------------------------------------------------------

def _config_with(home: Path, tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = (home / "station.toml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "edited.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("url", ["mysql://x", "postgresql://u@h/db", "sqlite:relative.db", "oracle://x"])
def test_config_check_refuses_a_database_the_station_does_not_run_on(tmp_path: Path, url: str) -> None:
    home = init_home(tmp_path)
    bad = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', f'url = "{url}"'))
    doc = run_json("config", "check", str(bad), home=home, expect=1)
    assert doc["error"]["code"] == "config_invalid"
    assert "database.url" in doc["error"]["message"] and "postgresql+psycopg://" in doc["error"]["message"]
    message = refused(run("--config", str(bad), "request", "list", home=home))
    assert "database.url" in message and "ModuleNotFoundError" not in message


@pytest.mark.parametrize("url", ["sqlite:///{home}/other.db", "postgresql+psycopg://station@db.example/media"])
def test_config_check_passes_the_supported_databases(tmp_path: Path, url: str) -> None:
    home = init_home(tmp_path)
    good = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', f'url = "{url}"'))
    assert run_json("config", "check", str(good), home=home)["ok"] is True


@pytest.mark.parametrize("default, accepted", [
    ("robot9", False), ("robot-epson", False),  # no robot without its device entry (its hot folder)
    ("folder", True), ("optical", True), ("usb", True),
])
def test_config_check_refuses_a_default_burner_that_does_not_exist(tmp_path: Path, default: str,
                                                                  accepted: bool) -> None:
    home = init_home(tmp_path)
    edited = _config_with(home, tmp_path, ('default = "folder"', f'default = "{default}"'))
    if accepted:
        assert run_json("config", "check", str(edited), home=home)["ok"] is True
        return
    doc = run_json("config", "check", str(edited), home=home, expect=1)
    assert "[burners]" in doc["error"]["message"] and repr(default) in doc["error"]["message"]


def test_a_default_burner_named_in_devices_passes_and_a_name_used_twice_does_not(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    device = '\n[[burners.devices]]\nname = "robot9"\nkind = "robot-epson"\npath = "/srv/hot"\n'
    named = _config_with(home, tmp_path, ('default = "folder"', 'default = "robot9"'))
    named.write_text(named.read_text(encoding="utf-8") + device, encoding="utf-8")
    assert run_json("config", "check", str(named), home=home)["ok"] is True
    named.write_text(named.read_text(encoding="utf-8") + device, encoding="utf-8")
    doc = run_json("config", "check", str(named), home=home, expect=1)
    assert "'robot9' is used more than once" in doc["error"]["message"]


def test_several_problems_come_one_per_line(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    bad = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', 'url = "mysql://x"'),
                       ('default = "folder"', 'default = "robot9"'))
    lines = refused(run("config", "check", str(bad), home=home)).splitlines()
    assert len(lines) == 3 and lines[0].endswith("edited.toml:")
    assert "database.url" in lines[1] and "[burners]" in lines[2]


# -- a station home and its configuration file must exist --------------------------------------------

def test_a_missing_config_file_is_refused_not_replaced_by_defaults(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    missing = tmp_path / "nowhere.toml"
    message = refused(run("--config", str(missing), "request", "list", home=home))
    assert str(missing) in message and "no such file" in message
    doc = run_json("--config", str(missing), "config", "show", home=home, expect=1)
    assert doc["error"]["code"] == "config_invalid"


@pytest.mark.parametrize("command", [
    ("request", "list"), ("log", "verify"), ("shipments", "list"), ("config", "show"), ("jobs", "list"),
    ("export", "R-AAAA-BBBB"), ("billing", "export", "--from", "2026-01-01", "--to", "2026-01-31", "--format", "json"),
])
def test_a_home_never_initialised_is_refused(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = tmp_path / "never"
    doc = run_json(*command, home=home, expect=1)
    assert doc["error"]["code"] == "not_a_station_home"
    assert "not a station home" in doc["error"]["message"] and "mediastation init" in doc["error"]["message"]
    assert not home.exists(), "nothing is created in passing"


def test_a_sqlite_database_never_initialised_is_refused(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    other = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', 'url = "sqlite:///{home}/new.db"'))
    doc = run_json("--config", str(other), "request", "list", home=home, expect=1)
    assert doc["error"]["code"] == "not_a_station_home" and "new.db" in doc["error"]["message"]
    assert not (home / "new.db").exists()


def test_commands_that_need_no_home_still_run_without_one(tmp_path: Path) -> None:
    home = tmp_path / "never"
    assert run("--help", home=home).returncode == 0
    assert run("fileset", "--help", home=home).returncode == 0
    config = init_home(tmp_path) / "station.toml"
    assert run_json("config", "check", str(config), home=home)["ok"] is True
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_json("import", "scan", str(empty), home=home)["files"] == []
    assert not home.exists()
