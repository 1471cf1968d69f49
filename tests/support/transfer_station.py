"""A station home for electronic release tests and benchmarks: `init` against a test Orthanc as the
HUS archive, the station's own port the one that Orthanc knows, and `[[release.electronic_destinations]]`
entries naming the receiving archives."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from support.cli import run
from support.orthanc import OrthancServer


def electronic_destination(name: str, receiver: OrthancServer, **extra: Any) -> str:
    """One `[[release.electronic_destinations]]` entry (station.toml) for `receiver`."""
    lines = ["[[release.electronic_destinations]]", f'name = "{name}"', f'ae_title = "{receiver.ae_title}"',
             f'host = "{receiver.host}"', f"port = {receiver.dicom_port}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def station_home(home: Path, hus: OrthancServer, *, release: str = "") -> Path:
    """`mediastation init` at `home` with `hus` as [archive], [station] port the one `hus` knows, and
    `release` (TOML lines) at the top of [release]."""
    done = run("init", "--archive-host", hus.host, "--archive-port", str(hus.dicom_port), "--archive-ae",
               hus.ae_title, home=home)
    assert done.returncode == 0, done.stderr
    config = home / "station.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^port = \d+(\s+# our listening)", rf"port = {hus.station_port}\1", text)
    config.write_text(text.replace("[release]", "[release]\n" + release, 1), encoding="utf-8")
    return home
