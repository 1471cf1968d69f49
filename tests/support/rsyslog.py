"""A private rsyslog as the hospital's audit repository: its own configuration, a test CA made by
openssl, a free loopback port, every message written to one file; stopped and started by its pid.

Debian's `rsyslog` (and `rsyslog-openssl` for TLS, RFC 5425) provide the daemon; the system's own
rsyslog service is not used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.orthanc import free_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
FRAME = re.compile(r"^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ?(.*)$", re.S)


@dataclass(frozen=True)
class TestCA:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client.key"


def make_test_ca(folder: Path) -> TestCA:
    """openssl: a CA, then a server (SAN 127.0.0.1, localhost) and a client certificate it signs."""
    folder.mkdir(parents=True, exist_ok=True)

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=mediastation test audit CA")
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
                            ("client", "extendedKeyUsage=clientAuth")):
        (folder / f"{name}.ext").write_text(extension + "\n")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={'127.0.0.1' if name == 'server' else 'mediastation test station'}")
        ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
    return TestCA(folder)


class Rsyslog:
    """rsyslogd in the foreground on a free loopback port; `messages()` reads what it received."""

    def __init__(self, *, transport: str = "tls", ca: TestCA | None = None, require_client_cert: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ms-rsyslog-"))
        self.transport = transport
        self.ca = ca or (make_test_ca(self.folder / "ca") if transport == "tls" else None)
        self.port = free_port()
        self.log = self.folder / "messages.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.config = self.folder / "rsyslog.conf"
        self.config.write_text(self._config(require_client_cert))

    def _config(self, require_client_cert: bool) -> str:
        work = self.folder / "work"
        work.mkdir(exist_ok=True)
        lines = [f'global(workDirectory="{work}" maxMessageSize="1m"']
        if self.transport == "tls":
            assert self.ca is not None
            lines[0] += (f' defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="{self.ca.ca}"'
                         f' defaultNetstreamDriverCertFile="{self.ca.server_cert}"'
                         f' defaultNetstreamDriverKeyFile="{self.ca.server_key}"')
        lines[0] += ")"
        if self.transport == "tls":
            mode = "x509/name" if require_client_cert else "anon"
            peers = ' permittedPeer=["mediastation test station"]' if require_client_cert else ""
            lines += [f'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="{mode}"{peers})',
                      f'input(type="imtcp" address="127.0.0.1" port="{self.port}")']
        else:
            lines += ['module(load="imudp")', f'input(type="imudp" address="127.0.0.1" port="{self.port}")']
        # One received message per line, as it came (the station writes each message on one line).
        lines += ['template(name="raw" type="string" string="%rawmsg%\\n")',
                  f'*.* action(type="omfile" file="{self.log}" template="raw" flushOnTXEnd="on" asyncWriting="off")']
        return "\n".join(lines) + "\n"

    def start(self) -> "Rsyslog":
        pidfile = self.folder / "rsyslogd.pid"
        pidfile.unlink(missing_ok=True)
        self.process = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.config), "-i", str(pidfile)],
                                        stdout=subprocess.DEVNULL, stderr=open(self.folder / "stderr", "ab"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rsyslogd exited: {(self.folder / 'stderr').read_text(errors='replace')}")
            if self._listening():
                return self
            time.sleep(0.05)
        raise RuntimeError("rsyslogd did not start listening within 20 s")

    def _listening(self) -> bool:
        if self.transport != "tls":
            return (self.folder / "rsyslogd.pid").exists()
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "Rsyslog":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []

    def messages(self, *, count: int = 0, timeout: float = 10.0) -> list["Received"]:
        """The messages received so far, waiting up to `timeout` until there are at least `count`."""
        deadline = time.monotonic() + timeout
        while True:
            found = [parse_frame(line) for line in self.lines() if line.strip()]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@dataclass(frozen=True)
class Received:
    pri: int
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    xml: str


def parse_frame(line: str) -> Received:
    """One RFC 5424 message (header, no structured data, then the UTF-8 BOM and the XML)."""
    match = FRAME.match(line)
    assert match, f"not an RFC 5424 message: {line[:200]!r}"
    pri, timestamp, host, app, procid, msgid, _sd, msg = match.groups()
    return Received(int(pri), timestamp, host, app, procid, msgid, msg.lstrip("\ufeff"))


def configure_audit(home: Path, repository: Rsyslog | None = None, **values: object) -> None:
    """Set keys of [audit] in the station's station.toml (as an administrator edits it): those that
    point it at `repository` when given, then `values`."""
    if repository is not None:
        values = {"host": "127.0.0.1", "port": repository.port, "transport": repository.transport,
                  "ca": str(repository.ca.ca) if repository.ca else "", **values}
    config = home / "station.toml"
    text = config.read_text(encoding="utf-8")
    head, table = text.split("[audit]", 1)
    body, rest = (table.split("\n[", 1) + [""])[:2]
    lines = [line for line in body.split("\n") if line.split("=")[0].strip() not in values]
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    config.write_text(head + "[audit]" + "\n".join(lines) + ("\n[" + rest if rest else "\n"), encoding="utf-8")


@pytest.fixture(scope="module")
def audit_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """One test CA per test module (openssl takes a second or two per key)."""
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def repository(audit_ca: TestCA) -> Iterator[Rsyslog]:
    """A private rsyslog over TLS with the module's CA, for one test."""
    with Rsyslog(ca=audit_ca) as server:
        yield server
