"""`mediastation pacs echo`: the foundation's "done when", run as the user runs it (a subprocess)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.orthanc import OrthancServer, free_port

TIMEOUT = 2.0


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mediastation", "--home", str(home), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def init_dicom_station(home: Path, host: str, port: int, ae_title: str, timeout: float = TIMEOUT) -> None:
    """`mediastation init --archive-*`, then [archive] timeout set so a dead archive fails fast."""
    result = run(home, "init", "--archive-host", host, "--archive-port", str(port), "--archive-ae", ae_title)
    assert result.returncode == 0, result.stderr
    config = home / "station.toml"
    text, count = re.subn(r"(?m)^timeout = [0-9.]+", f"timeout = {timeout}", config.read_text(encoding="utf-8"))
    assert count == 1, "station.toml template has no `timeout =` line in [archive]"
    config.write_text(text, encoding="utf-8")


def one_json_document(stdout: str) -> dict:
    """stdout must be exactly one JSON document (json.loads refuses trailing data)."""
    return json.loads(stdout)


@pytest.mark.orthanc
def test_echo_to_orthanc_prints_one_document_and_exits_0(orthanc: OrthancServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_dicom_station(home, orthanc.host, orthanc.dicom_port, orthanc.ae_title)
    result = run(home, "pacs", "echo", "--json")
    assert result.returncode == 0, result.stderr
    doc = one_json_document(result.stdout)
    assert set(doc) == {"ok", "ae_title", "host", "port", "ms"}
    assert doc["ok"] is True
    assert (doc["ae_title"], doc["host"], doc["port"]) == (orthanc.ae_title, "127.0.0.1", orthanc.dicom_port)
    assert isinstance(doc["ms"], (int, float)) and 0 <= doc["ms"] < TIMEOUT * 1000


def test_echo_where_nothing_listens_exits_3_without_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    init_dicom_station(home, "127.0.0.1", port, "NOBODY")
    started = time.monotonic()
    result = run(home, "pacs", "echo", "--json")
    assert time.monotonic() - started < 20
    assert result.returncode == 3, (result.stdout, result.stderr)
    error = one_json_document(result.stdout)["error"]
    assert error["code"] == "pacs_failed"
    assert "NOBODY" in error["message"] and str(port) in error["message"]
    assert "Traceback" not in result.stderr


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_echo_to_a_silent_peer_gives_up_after_the_configured_timeout(tmp_path: Path, silent_listener: int) -> None:
    home = tmp_path / "home"
    init_dicom_station(home, "127.0.0.1", silent_listener, "SILENT")
    started = time.monotonic()
    result = run(home, "pacs", "echo", "--json")
    elapsed = time.monotonic() - started
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert one_json_document(result.stdout)["error"]["code"] == "pacs_failed"
    assert "Traceback" not in result.stderr
    assert TIMEOUT <= elapsed < TIMEOUT * 3 + 5, elapsed  # waited for the timeout, and not for the default 30 s


def test_echo_with_the_default_folder_archive_is_ok(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init").returncode == 0
    result = run(home, "pacs", "echo", "--json")
    assert result.returncode == 0, result.stderr
    doc = one_json_document(result.stdout)
    assert doc["ok"] is True and doc["kind"] == "folder"
    assert Path(doc["path"]).is_dir() and Path(doc["path"]).is_relative_to(home.resolve())
