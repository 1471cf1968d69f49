"""A private Orthanc (Debian's package) as the PACS for tests, started by hand on loopback.

Configuration and storage live in one folder per server; nothing from /etc/orthanc is read and
no plugin is loaded. Ready in ~0.2 s; `TCP_NODELAY=1` in Orthanc's
environment, or every C-STORE stalls ~40 ms (Debian's DCMTK keeps Nagle's algorithm on).
Orthanc 1.10 cannot bind to one address: its DICOM port listens on all interfaces, its HTTP port
answers loopback only (`RemoteAccessAllowed: false`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from mediastation.pacs.network import application_entity

HOST = "127.0.0.1"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
BINARY_NAMES = ("Orthanc", "/usr/sbin/Orthanc")
_PORT_IN_USE = "already in use"


class OrthancError(RuntimeError):
    """Orthanc did not start, or a helper's request to it failed."""


def orthanc_binary() -> str | None:
    """The Orthanc executable (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    for name in BINARY_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's pick for port 0 on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class OrthancServer:
    """One Orthanc process: `with OrthancServer() as pacs: pacs.store(files)`; stopped by its pid.

    `folder` holds the configuration, the log and the storage; without one a temporary folder is
    made and removed on `close()`. The process is also sent SIGTERM if the thread that started it
    dies, so start it from the thread that lives as long as it should (pytest's main thread).
    """

    def __init__(
        self,
        *,
        ae_title: str = "ORTHANC",
        station_ae: str = "MEDIASTATION",
        station_port: int | None = None,
        folder: Path | None = None,
        calling_ae: str = "HARNESS",
    ) -> None:
        self._ae_title = ae_title
        self.station_ae = station_ae
        self.station_port = station_port or free_port()
        self.calling_ae = calling_ae
        self._own_folder = folder is None
        self.folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="ms-orthanc-"))
        self.log_path = self.folder / "orthanc.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._dicom_port = 0
        self._http_port = 0

    # -- properties -------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return HOST

    @property
    def ae_title(self) -> str:
        return self._ae_title

    @property
    def dicom_port(self) -> int:
        return self._dicom_port

    @property
    def http_port(self) -> int:
        return self._http_port

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._http_port}"

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> "OrthancServer":
        """Start and wait until C-ECHO and HTTP answer; retry on a port taken meanwhile."""
        binary = orthanc_binary()
        if binary is None:
            raise OrthancError("the Orthanc binary is missing: run `make test` (installs Debian's orthanc)")
        for attempt in range(3):
            self._launch(binary)
            try:
                self._wait_ready()
                return self
            except OrthancError:
                port_taken = _PORT_IN_USE in self.log_tail()
                self.stop()
                if not port_taken or attempt == 2:
                    self._remove_own_folder()  # the exception carries the log tail
                    raise
        raise AssertionError("unreachable")

    def _launch(self, binary: str) -> None:
        self._dicom_port, self._http_port = free_port(), free_port()
        storage = self.folder / "storage"
        shutil.rmtree(storage, ignore_errors=True)  # a fresh archive on every start
        storage.mkdir(parents=True)
        config_path = self.folder / "orthanc.json"
        config_path.write_text(json.dumps(self.configuration(storage), indent=2), encoding="utf-8")
        env = {**os.environ, "TCP_NODELAY": "1"}
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [*_die_with_parent(), binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, cwd=self.folder,
            )

    def configuration(self, storage: Path) -> dict[str, Any]:
        """The whole configuration: open to loopback peers, nothing saved beyond the folder."""
        return {
            "Name": f"TEST-{self._ae_title}",
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "Plugins": [],
            "HttpPort": self._http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "OrthancExplorerEnabled": False,
            "WebDavEnabled": False,
            "DicomAet": self._ae_title,
            "DicomPort": self._dicom_port,
            "DicomCheckCalledAet": False,
            "DicomCheckModalityHost": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "UnknownSopClassAccepted": True,
            "AcceptedTransferSyntaxes": ["1.2.840.10008.1.*"],
            "DicomModalities": {"station": [self.station_ae, HOST, self.station_port]},
            "SaveJobs": False,
            "StableAge": 1,
            "OverwriteInstances": True,
            "SyncStorageArea": False,  # throwaway archive: no fsync per instance
        }

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise OrthancError(f"Orthanc exited with {self._process.returncode}:\n{self.log_tail()}")
            if self.echo(timeout=1.0) and self._http_ok():
                return
            time.sleep(0.05)
        raise OrthancError(f"Orthanc not ready after {READY_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def _http_ok(self) -> bool:
        try:
            self.rest("/system", timeout=1.0)
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM by pid, wait up to 15 s, then SIGKILL. Orthanc needs ~3 s to stop."""
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """Send SIGTERM and return at once; `wait_stopped()` later reaps it (parallel teardown)."""
        process = self._process
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)

    def wait_stopped(self, timeout: float = STOP_TIMEOUT) -> None:
        """Wait for the process to end after `terminate()`; SIGKILL it when it takes too long."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)

    def close(self) -> None:
        self.stop()
        self._remove_own_folder()

    def _remove_own_folder(self) -> None:
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "OrthancServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-size:]
        except OSError:
            return "(no log)"

    # -- helpers for tests ------------------------------------------------------------------
    def echo(self, timeout: float = 2.0) -> bool:
        """True when a C-ECHO is answered with success."""
        ae = application_entity(self.calling_ae, timeout)
        ae.add_requested_context(Verification)
        assoc = ae.associate(HOST, self._dicom_port, ae_title=self._ae_title)
        if not assoc.is_established:
            return False
        try:
            status = assoc.send_c_echo()
        finally:
            assoc.release()
        return bool(status) and status.Status == 0x0000

    def store(self, paths: Iterable[Path | str], timeout: float = 60.0) -> int:
        """C-STORE files over one association; returns how many were stored, raises on any failure.

        A store that gets no answer at all (the association aborted or timed out) is tried once more
        on a new association before it counts as a failure: on a loaded CI machine one of 300 stores
        into a fresh Orthanc once went unanswered while the archive was healthy, and the tests that
        populate an archive are not testing that. A refusal (a status other than success) fails at once.
        """
        files = [Path(p) for p in paths]
        contexts = sorted({_context_of(path) for path in files})
        if len(contexts) > 128:
            raise OrthancError(f"{len(contexts)} (SOP class, transfer syntax) pairs: more than one association holds")
        ae = application_entity(self.calling_ae, timeout)
        for sop_class, syntax in contexts:
            ae.add_requested_context(sop_class, syntax)

        def associate() -> Any:
            assoc = ae.associate(HOST, self._dicom_port, ae_title=self._ae_title)
            if not assoc.is_established:
                raise OrthancError(f"Orthanc refused the storage association:\n{self.log_tail()}")
            return assoc

        assoc = associate()
        try:
            for path in files:
                status = assoc.send_c_store(path) if assoc.is_established else None
                if not status:
                    assoc.abort()
                    assoc = associate()
                    status = assoc.send_c_store(path)
                if not status or status.Status != 0x0000:
                    code = hex(status.Status) if status else "no status (twice)"
                    raise OrthancError(f"C-STORE of {path} failed: {code}\n{self.log_tail()}")
        finally:
            if assoc.is_established:
                assoc.release()
        return len(files)

    def rest(self, path: str, timeout: float = 10.0) -> Any:
        """GET a REST resource (loopback only) and decode its JSON."""
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))

    def instance_count(self) -> int:
        return int(self.rest("/statistics")["CountInstances"])

    def study_uids(self) -> set[str]:
        """Study Instance UIDs of every study in the archive (`/studies?expand`: one request)."""
        return {study["MainDicomTags"]["StudyInstanceUID"] for study in self.rest("/studies?expand")}


def _die_with_parent() -> list[str]:
    """A command prefix that has the kernel SIGTERM Orthanc when the test process dies, so a crashed
    run leaves none behind. setpriv (util-linux) sets it and execs, so the pid stays Orthanc's;
    it replaces a preexec_fn, which is unsafe in a process with threads (pynetdicom's)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv else []


def _context_of(path: Path) -> tuple[str, str]:
    """(SOP class, transfer syntax) of a file, read from its meta header without the pixels."""
    ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    return str(ds.file_meta.MediaStorageSOPClassUID), str(ds.file_meta.TransferSyntaxUID)
