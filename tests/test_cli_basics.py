"""The CLI's contract: exit statuses, --json anywhere, init idempotent, config errors name the key."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import run


def test_version_prints_and_exits_zero() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert "mediastation, version" in result.stdout


def test_init_is_idempotent_and_keeps_an_edited_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run("init", "--json", home=home)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["config_created"] is True
    assert doc["schema_revision"]
    config = home / "station.toml"
    edited = config.read_text(encoding="utf-8").replace('name = "HUS media station"', 'name = "Jorvi"')
    config.write_text(edited, encoding="utf-8")
    second = run("--json", "init", home=home)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["config_created"] is False
    assert 'name = "Jorvi"' in config.read_text(encoding="utf-8")


def test_wrong_config_key_exits_1_naming_key_and_allowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    config = home / "station.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("retrieve =", "retreive ="), encoding="utf-8")
    result = run("pacs", "echo", home=home)
    assert result.returncode == 1
    assert "archive.retreive" in result.stderr and "retrieve" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = run("pacs", "echo", "--json", home=home)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "config_invalid"


def test_wrong_config_value_names_allowed_values(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "station.toml").write_text('[archive]\nkind = "tape"\n', encoding="utf-8")
    result = run("--json", "config", "show", home=home)
    assert result.returncode == 1
    message = json.loads(result.stdout)["error"]["message"]
    assert "archive.kind" in message and "'dicom'" in message and "'folder'" in message


def test_usage_error_exits_2_with_json_document() -> None:
    result = run("--json", "pacs", "nosuch")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage"
