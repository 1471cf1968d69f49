"""A small disc robot for tests: consumes hot-folder job files and answers as the vendors document.

Epson TD Bridge: `.JDF` -> `.RJD` -> `.INP` -> `.DON` | `.ERR`, status in `TDBStatus.txt`
([JOB_ID] STATUS=1..6, ERROR, DETAIL_STATUS; PUBLISHER<n> sections for the machines).
Primera PTBurn: `.JRQ` -> `.QRJ` -> `.INP` -> `.DON` | `.ERR`, `SystemStatus.txt` ([RobotList]) and
`<robot>.txt` ([JobID] CurrentStatusState=5/10/15, JobErrorNumber, JobErrorString).

Like a real robot it reads the content the job names, through the share: a job whose image or
folder cannot be found on the share fails with the robot's message. Behaviour "silent" is a robot
whose service is not running: nothing is ever picked up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath


@dataclass
class SimulatedRobot:
    vendor: str                          # "epson" | "primera"
    jobs_dir: Path
    share_root: str = ""                 # the share prefix the station writes into job files ...
    local_root: Path | None = None       # ... and where that share is on this machine
    behaviour: str = "done"              # "done" | "error" | "silent" | "stall" (accepts, never finishes)
    robot_name: str = "Disc Publisher SE"
    error_number: str = "9001"
    error_text: str = "Disc drive could not record: media error"
    step: float = 0.02
    jobs: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "SimulatedRobot":
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        if self.behaviour != "silent":
            self._write_system_status()
        self._thread = threading.Thread(target=self._loop, name=f"robot-sim-{self.vendor}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the robot's service ---------------------------------------------------------------------

    @property
    def _job_ext(self) -> str:
        return ".JDF" if self.vendor == "epson" else ".JRQ"

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.behaviour != "silent":
                for job_file in sorted(self.jobs_dir.glob(f"*{self._job_ext}")):
                    self._process(job_file)
            time.sleep(self.step)

    def _process(self, job_file: Path) -> None:
        keys = parse_job(job_file.read_text(encoding="cp1252"))
        job_id = (keys.get("JOB_ID") or keys.get("JobID") or [job_file.stem])[0]
        self.jobs[job_id] = keys
        accepted = ".RJD" if self.vendor == "epson" else ".QRJ"
        current = self._move(job_file, accepted)
        self._status(job_id, "accepted")
        time.sleep(self.step)
        current = self._move(current, ".INP")
        self._status(job_id, "in progress")
        if self.behaviour == "stall":
            return
        time.sleep(self.step)
        missing = [p for p in self._content_paths(keys) if not self._local(p).exists()]
        if self.behaviour == "error" or missing:
            text = f"cannot open {missing[0]}" if missing else self.error_text
            self._status(job_id, "error", text)
            self._move(current, ".ERR")
        else:
            self._status(job_id, "done")
            self._move(current, ".DON")

    def _content_paths(self, keys: dict[str, list[str]]) -> list[str]:
        paths = keys.get("DATA", []) + keys.get("ImageFile", []) + keys.get("Data", [])
        return [p.split("\t", 1)[0] for p in paths]

    def _local(self, share_path: str) -> Path:
        if self.local_root is None or not share_path.startswith(self.share_root):
            return Path(share_path)
        rest = share_path[len(self.share_root):].lstrip("\\/")
        parts = PureWindowsPath(rest).parts if "\\" in share_path else Path(rest).parts
        return self.local_root.joinpath(*parts)

    def _move(self, path: Path, ext: str) -> Path:
        target = path.with_suffix(ext)
        path.rename(target)
        return target

    # --- status files, as each vendor writes them ------------------------------------------------

    def _write_system_status(self) -> None:
        if self.vendor == "primera":
            (self.jobs_dir / "SystemStatus.txt").write_text(f"[RobotList]\r\n{self.robot_name}=Ready\r\n")
        else:
            self._epson_stf({})

    def _status(self, job_id: str, state: str, error: str = "") -> None:
        if self.vendor == "primera":
            code = {"accepted": "2", "in progress": "5", "done": "10", "error": "15"}[state]
            lines = [f"[{job_id}]", f"CurrentStatusState={code}",
                     f"JobErrorNumber={self.error_number if error else ''}", f"JobErrorString={error}"]
            (self.jobs_dir / f"{self.robot_name}.txt").write_text("\r\n".join(lines) + "\r\n")
        else:
            code = {"accepted": "1", "in progress": "2", "done": "4", "error": "5"}[state]
            self._epson_stf({job_id: (code, self.error_number if error else "0", error)})

    def _epson_stf(self, jobs: dict[str, tuple[str, str, str]]) -> None:
        lines = ["[ACTIVE_JOB]"] + [f"JOB{n}={job}" for n, job in enumerate(jobs, 1)]
        for job_id, (status, error, detail) in jobs.items():
            lines += [f"[{job_id}]", f"PUBLISHER={self.robot_name}", f"STATUS={status}", f"ERROR={error}",
                      f"DETAIL_STATUS={detail}"]
        lines += ["[PUBLISHER1]", f"NAME={self.robot_name}", "STACKER1=100"]
        stf = self.jobs_dir / "TDBStatus.txt"
        tmp = stf.with_suffix(".tmp")
        tmp.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
        tmp.replace(stf)


def parse_job(text: str) -> dict[str, list[str]]:
    """`KEY=value` (Epson) or `Key = value` (Primera) lines; repeated keys keep every value."""
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        keys.setdefault(key.strip(), []).append(value.strip())
    return keys
