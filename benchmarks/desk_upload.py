"""An importer's upload at the desk: `POST /api/v1/imports/uploads` with zip files of 20 MB up to
1 GB (one random member, stored), against `mediastation serve --no-worker` on a fresh home with
`[desk] upload_limit_mb = 2000`. Printed per size: the seconds from the first byte sent to the
scan's answer (the upload streamed to its file, then the zip read as a medium), MB/s, and the desk
process's peak resident memory (VmHWM): the upload is streamed to disk (desk/imports.py), so the
peak must not grow with the file.

    .venv/bin/python benchmarks/desk_upload.py [--sizes 20,300,1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.cli import run  # noqa: E402
from support.desk import PASSWORD, Client, start_desk  # noqa: E402


def make_zip(path: Path, megabytes: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        with archive.open("data.bin", "w", force_zip64=True) as member:
            block = os.urandom(1 << 20)
            for _ in range(megabytes):
                member.write(block)
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20,300,1000", help="MB per upload, comma-separated")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="desk-upload-"))
    try:
        home = work / "home"
        assert run("init", home=home).returncode == 0
        config = home / "station.toml"
        config.write_text(re.sub(r"(?m)^upload_limit_mb = \d+", "upload_limit_mb = 2000", config.read_text()))
        added = run("users", "add", "imp", "--role", "importer", "--password-stdin", home=home, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        server = start_desk(home, "--no-worker")
        results = []
        try:
            client = Client(server.url)
            csrf = client.sign_in_api("imp")
            cookie = "; ".join(f"{c.name}={c.value}" for c in client.jar)
            url = urlparse(server.url)
            for megabytes in sizes:
                upload = make_zip(work / f"{megabytes}.zip", megabytes)
                connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
                began = time.monotonic()
                with upload.open("rb") as body:
                    connection.request("POST", f"/api/v1/imports/uploads?name={upload.name}", body=body,
                                       headers={"Cookie": cookie, "X-CSRF-Token": csrf,
                                                "Content-Type": "application/zip",
                                                "Content-Length": str(upload.stat().st_size)})
                    answer = connection.getresponse()
                    answer.read()
                seconds = time.monotonic() - began
                connection.close()
                upload.unlink()
                status = Path(f"/proc/{server.process.pid}/status").read_text()
                peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024  # type: ignore[union-attr]
                results.append({"mb": megabytes, "status": answer.status, "seconds": round(seconds, 2),
                                "mb_per_s": round(megabytes / seconds, 1), "desk_peak_mb": peak})
                print(f"{megabytes:>6} MB  {answer.status}  {seconds:6.2f} s  {megabytes / seconds:7.1f} MB/s  "
                      f"desk peak {peak} MB", flush=True)
        finally:
            server.stop()
        print(json.dumps(results))
        return 0 if all(r["status"] == 201 for r in results) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
