"""Disc publishers (robots) driven through their hot folders: Epson TD Bridge and Primera PTBurn.

Both vendors use the same pattern (export_anchors.md B7 34-36): the station drops a job file into a
folder the robot's service watches, the service renames it as the job advances, and a status file
carries the details. What is implemented, and from which source:

Epson Discproducer, TD Bridge (TD Bridge Technical Reference Guide, M00009302/M00009311, chapters
"TD Bridge Overview" and "Development Guide for a Cooperative Application"):
  job file `<JOB_ID>.JDF`, `KEY=value` lines, keys case-sensitive, no spaces around the key:
  JOB_ID (<= 40 one-byte alphanumerics, "-", "_"), PUBLISHER, COPIES, DISC_TYPE (CD/DVD/DVD-DL),
  FORMAT (JOLIET | UDF102), DATA (a folder whose contents go to the disc root), VOLUME_LABEL,
  LABEL (.tdd label layout), REPLACE_FIELD (merge-data file), CLOSE_DISC.
  The file is written elsewhere and moved in. Markers: .JDF -> .RJD (pre-processing) -> .INP
  (in progress) -> .DON (done) | .ERR (error). Status file (STF) `TDBStatus.txt`, INI sections
  named by the job id with STATUS (1 waiting, 2 processing, 3 paused, 4 completed, 5 completed
  abnormally, 6 not accepted, 99 unknown), ERROR (code) and DETAIL_STATUS. Cancel: `<JOB_ID>.JCF`.
  TD Bridge burns folders, so an ISO image is burnt as its file tree is not possible: the Epson
  burner writes trees only (`writes == {"tree"}`).

Primera Disc Publisher, PTBurn (PTBurn SDK as used by dcm4chee-cdw's PTPublishService and
Orthanc-Tools' CdBurner):
  job file `<JobID>.JRQ`, `Key = value` lines: JobID, ClientID, Copies, ImageFile (an ISO image)
  or Data (+ DataImageType, VolumeName), RejectIfNotBlank, CloseDisc, VerifyDisc, PrintLabel,
  MergeField (repeated, in the label's order). Markers: .JRQ -> .QRJ (accepted) -> .INP -> .DON |
  .ERR. Status folder: `SystemStatus.txt` ([RobotList] name=state) and `<robot name>.txt` with a
  `[JobID]` section: CurrentStatusState (10 complete, 13 aborted, 15 failed), JobErrorNumber,
  JobErrorString. Abort: `<JobID>.PTM` with `Message = ABORT`.

Job ids and volume labels are plain ASCII; paths inside job files are translated from the station's
local prefix to the share prefix the robot's PC sees (dcm4chee-cdw "Label pipeline for PTPublish").
Job files are written in the Windows ANSI code page (cp1252), which both services read.
"""

from __future__ import annotations

import configparser
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

from mediastation.files import sha256_file, write_bytes_atomic

from burners.base import (
    DEFAULT_CAPACITY_BYTES, DriveStatus, MediaState, MediumTooSmall, ProgressCallback, RobotError, RobotTimeout,
    VerificationFailed, WrittenMedium, no_progress, unsupported,
)
from burners.names import plain_ascii, volume_label
from burners.readback import manifest_sha256, tree_digests, tree_files

JOB_ID_LENGTH = 32
MediaChoice = str  # "auto" | "cd" | "dvd" | "dvd-dl"


@dataclass(frozen=True)
class ShareMap:
    """Local path prefix -> the prefix the robot's PC uses for the same folder (UNC or mount)."""

    prefixes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, str] | None) -> "ShareMap":
        return cls(tuple((str(k), str(v)) for k, v in (mapping or {}).items()))

    def translate(self, path: Path) -> str:
        """`/srv/ms/jobs/a/disc.iso` with `/srv/ms` -> `\\\\STATION\\ms` gives `\\\\STATION\\ms\\jobs\\a\\disc.iso`."""
        absolute = PurePosixPath(os.path.abspath(path))
        if not self.prefixes:
            return str(absolute)
        for local, share in sorted(self.prefixes, key=lambda item: -len(item[0])):
            local_path = PurePosixPath(local.rstrip("/") or "/")
            if absolute == local_path or local_path in absolute.parents:
                rest = absolute.relative_to(local_path).parts
                windows = "\\" in share
                sep = "\\" if windows else "/"
                base = share.rstrip("\\/")
                return sep.join([base, *rest]) if rest else share
        raise RobotError(
            f"{absolute} is not under any local prefix the robot can see ({', '.join(p for p, _ in self.prefixes)}); "
            "fix [burners] share_prefixes or the station's job folder",
            details={"path": str(absolute)})


@dataclass
class RobotJob:
    """One submitted job: its id, the file we dropped, and what it should produce."""

    job_id: str
    job_file: Path
    content: Path
    kind: str
    size: int
    sha256: str
    files: int = 1
    extra_files: list[Path] = field(default_factory=list)


class HotFolderRobot:
    """What both robots share: job ids, submitting atomically, polling markers, timeouts."""

    kind = "robot"
    writes: frozenset[str] = frozenset({"image", "tree"})
    job_extension = ".JOB"
    accepted_markers: tuple[str, ...] = ()
    cancel_extension = ".CANCEL"

    def __init__(self, jobs_dir: Path, *, name: str | None = None, publisher: str = "",
                 status_path: Path | None = None, share_map: ShareMap | Mapping[str, str] | None = None,
                 timeout: float = 3600.0, poll_interval: float = 2.0, copies: int = 1, client_id: str = "mediastation",
                 label_file: Path | None = None, media: MediaChoice = "auto", data_format: str | None = None,
                 verify_disc: bool = True, capacities: Mapping[str, int] | None = None) -> None:
        self.jobs_dir = Path(jobs_dir)
        self.name = name or self.kind
        self.publisher = publisher
        self.status_path = Path(status_path) if status_path else None
        self.share_map = share_map if isinstance(share_map, ShareMap) else ShareMap.of(share_map)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.copies = copies
        self.client_id = plain_ascii(client_id, 32)
        self.label_file = Path(label_file) if label_file else None
        self.media = media
        self.data_format = data_format
        self.verify_disc = verify_disc
        self.capacities = {**DEFAULT_CAPACITY_BYTES, **(capacities or {})}

    # --- the Burner interface --------------------------------------------------------------------

    def status(self) -> DriveStatus:
        capacity = self.capacities.get(self.media) if self.media != "auto" else self.capacities["dvd-dl"]
        if not self.jobs_dir.is_dir():
            return DriveStatus(str(self.jobs_dir), self.kind, None, MediaState.NONE, None, None,
                               detail="hot folder not reachable")
        online, detail = self.robot_online()
        return DriveStatus(str(self.jobs_dir), self.kind, self.media, MediaState.BLANK if online else MediaState.NONE,
                           capacity, capacity, detail=detail)

    def write_image(self, image: Path, *, label: str, progress: ProgressCallback | None = None,
                    print_label: Path | None = None, merge_fields: Sequence[tuple[str, str]] = ()) -> WrittenMedium:
        if "image" not in self.writes:
            raise unsupported(self, "image")
        image = Path(image)
        size = image.stat().st_size
        digest = sha256_file(image)
        return self._run(image, "image", size, digest, 1, label, progress, print_label, merge_fields)

    def write_tree(self, tree: Path, *, label: str, progress: ProgressCallback | None = None,
                   print_label: Path | None = None, merge_fields: Sequence[tuple[str, str]] = ()) -> WrittenMedium:
        if "tree" not in self.writes:
            raise unsupported(self, "tree")
        tree = Path(tree)
        digests = tree_digests(tree)
        size = sum(path.stat().st_size for _, path in tree_files(tree))
        return self._run(tree, "tree", size, manifest_sha256(digests), len(digests), label, progress,
                         print_label, merge_fields)

    def verify(self, written: WrittenMedium, *, expected_sha256: str | None = None,
               expected_tree: Path | None = None) -> None:
        """The robot reads its discs back itself (VerifyDisc / Total Disc Maker's verify); here the
        job must have ended done and the content handed to it must still be what was meant."""
        if written.job_id is None:
            raise VerificationFailed(f"{written.location} is not a robot job")
        state, message = self.job_state(written.job_id)
        if state != "done":
            raise VerificationFailed(f"robot job {written.job_id} is {state}, not done: {message}")
        content = Path(written.target)
        if written.kind == "image":
            actual = sha256_file(content)
        else:
            actual = manifest_sha256(tree_digests(content))
            if expected_tree is not None and tree_digests(Path(expected_tree)) != tree_digests(content):
                raise VerificationFailed(f"{content} differs from {expected_tree}")
        for want in filter(None, (written.sha256, expected_sha256)):
            if actual != want:
                raise VerificationFailed(f"{content} changed after it was handed to the robot "
                                         f"(SHA-256 {actual}, expected {want})")

    def eject(self) -> None:
        """The robot puts finished discs in its output bin itself."""

    # --- submitting and waiting ------------------------------------------------------------------

    def _run(self, content: Path, kind: str, size: int, digest: str, files: int, label: str,
             progress: ProgressCallback | None, print_label: Path | None,
             merge_fields: Sequence[tuple[str, str]]) -> WrittenMedium:
        report = progress or no_progress
        if not self.jobs_dir.is_dir():
            raise RobotError(f"the robot's hot folder {self.jobs_dir} is not reachable; is the share mounted?",
                             details={"jobs_dir": str(self.jobs_dir)})
        disc_type = self.disc_type(size)
        job_id = new_job_id(label)
        lines, extra = self.job_lines(job_id, content, kind, disc_type, label, print_label, merge_fields)
        job_file = self._submit(job_id, lines)
        job = RobotJob(job_id, job_file, content, kind, size, digest, files, extra)
        report(0, None, "queued")
        try:
            self._wait(job, report)
        except RobotTimeout:
            raise  # the robot may still read the merge data: leave it
        except RobotError:
            _remove(extra)
            raise
        _remove(extra)
        report(size, size, "written")
        return WrittenMedium(burner=self.name, target=str(content), bytes=size, sha256=digest,
                             location=str(self.jobs_dir / f"{job_id}.DON"), kind=kind,  # type: ignore[arg-type]
                             label=volume_label(label), files=files, job_id=job_id)

    def disc_type(self, size: int) -> str:
        """CD, DVD or DVD-DL: the smallest that holds `size` (or the configured one, checked)."""
        order = ["cd", "dvd", "dvd-dl"] if self.media == "auto" else [self.media]
        for media in order:
            if size <= self.capacities[media]:
                return media
        largest = order[-1]
        raise MediumTooSmall(f"the content needs {size} bytes but a {largest.upper()} holds "
                             f"{self.capacities[largest]} bytes; split the export over several discs",
                             details={"needed_bytes": size, "free_bytes": self.capacities[largest]})

    def _submit(self, job_id: str, lines: list[str]) -> Path:
        """Write the job file beside the hot folder's files under a name the robot ignores, then
        rename it into place: the service never reads half a job."""
        final = self.jobs_dir / f"{job_id}{self.job_extension}"
        data = "".join(f"{line}\r\n" for line in lines).encode("cp1252", errors="replace")
        try:
            write_bytes_atomic(final, data)
        except OSError as exc:
            raise RobotError(f"cannot write the job file into {self.jobs_dir}: {exc.strerror or exc}") from None
        return final

    def _wait(self, job: RobotJob, report: ProgressCallback) -> None:
        deadline = time.monotonic() + self.timeout
        last = "submitted"
        while True:
            state, message = self.job_state(job.job_id)
            if state == "done":
                return
            if state == "error":
                raise RobotError(f"robot {self.name} failed job {job.job_id}: {message}",
                                 details={"job_id": job.job_id, "robot_message": message})
            if state != last and state != "unknown":
                report(0, None, state)
                last = state
            if time.monotonic() >= deadline:
                raise self._give_up(job, last)
            time.sleep(self.poll_interval)

    def _give_up(self, job: RobotJob, last: str) -> RobotTimeout:
        if last == "submitted" and job.job_file.exists():
            job.job_file.unlink(missing_ok=True)  # never picked up: withdraw it so it cannot burn later
            what = ("the robot's service did not pick the job up; it was withdrawn. Is the robot's "
                    "service running and watching this folder?")
        else:
            self._cancel(job.job_id)
            what = f"it was last {last}; a cancel request was left for the robot"
        return RobotTimeout(f"robot {self.name}: job {job.job_id} did not finish within {self.timeout:g} s: {what}",
                            details={"job_id": job.job_id, "last_state": last})

    def _cancel(self, job_id: str) -> None:
        try:
            (self.jobs_dir / f"{job_id}{self.cancel_extension}").write_bytes(self.cancel_text(job_id).encode("cp1252"))
        except OSError:
            pass

    def marker(self, job_id: str) -> str | None:
        """The extension of the job's file in the hot folder now (upper case), if any."""
        try:
            names = os.listdir(self.jobs_dir)
        except OSError:
            return None
        found = [os.path.splitext(n)[1].upper() for n in names if os.path.splitext(n)[0] == job_id]
        for ext in (".ERR", ".DON", ".INP", *self.accepted_markers, self.job_extension):
            if ext in found:
                return ext
        return None

    # --- vendor specifics ------------------------------------------------------------------------

    def job_lines(self, job_id: str, content: Path, kind: str, disc_type: str, label: str,
                  print_label: Path | None, merge_fields: Sequence[tuple[str, str]]) -> tuple[list[str], list[Path]]:
        raise NotImplementedError

    def job_state(self, job_id: str) -> tuple[str, str]:
        """("submitted" | "accepted" | "in progress" | "done" | "error" | "unknown", the robot's words)."""
        raise NotImplementedError

    def robot_online(self) -> tuple[bool, str]:
        raise NotImplementedError

    def cancel_text(self, job_id: str) -> str:
        raise NotImplementedError


class EpsonBurner(HotFolderRobot):
    """Epson Discproducer through TD Bridge's monitoring folder."""

    kind = "robot-epson"
    writes = frozenset({"tree"})
    job_extension = ".JDF"
    accepted_markers = (".RJD",)
    cancel_extension = ".JCF"
    STATUS = {"1": "accepted", "2": "in progress", "3": "paused", "4": "done", "5": "error", "6": "error"}

    def _status_file(self) -> Path:
        return self.status_path or self.jobs_dir / "TDBStatus.txt"

    def job_lines(self, job_id, content, kind, disc_type, label, print_label, merge_fields):
        lines = ["# mediastation data disc", f"JOB_ID={job_id}"]
        if self.publisher:
            lines.append(f"PUBLISHER={self.publisher}")
        lines += [f"COPIES={self.copies}", f"DISC_TYPE={disc_type.upper()}",
                  f"FORMAT={self.data_format or 'JOLIET'}", f"DATA={self.share_map.translate(content)}",
                  f"VOLUME_LABEL={volume_label(label, 32)}", "CLOSE_DISC=YES"]
        extra: list[Path] = []
        layout = print_label or self.label_file
        if layout:
            lines.append(f"LABEL={self.share_map.translate(layout)}")
        if merge_fields:
            merge = content.parent / f"{job_id}.DAT"
            merge.write_bytes("".join(f"{k}={v}\r\n" for k, v in merge_fields).encode("cp1252", errors="replace"))
            lines.append(f"REPLACE_FIELD={self.share_map.translate(merge)}")
            extra.append(merge)
        return lines, extra

    def job_state(self, job_id: str) -> tuple[str, str]:
        section = read_ini_section(self._status_file(), job_id)
        status = section.get("STATUS", "")
        said = ", ".join(f"{k}={section[k]}" for k in ("STATUS", "ERROR", "DETAIL_STATUS") if section.get(k))
        marker = self.marker(job_id)
        if marker == ".ERR" or self.STATUS.get(status) == "error":
            return "error", said or "TD Bridge renamed the job to .ERR without a status entry"
        if marker == ".DON" or self.STATUS.get(status) == "done":
            return "done", said
        if marker == ".INP" or status == "2":
            return "in progress", said
        if status == "3":
            return "paused", said
        if marker == ".RJD" or status == "1":
            return "accepted", said
        if marker == ".JDF":
            return "submitted", said
        return "unknown", said

    def robot_online(self) -> tuple[bool, str]:
        path = self._status_file()
        if not path.exists():
            return False, f"{path.name} not found: is TD Bridge running?"
        return True, "TD Bridge status file present"

    def cancel_text(self, job_id: str) -> str:
        return f"JOB_ID={job_id}\r\n"


class PrimeraBurner(HotFolderRobot):
    """Primera Disc Publisher through PTBurn's job-request folder."""

    kind = "robot-primera"
    writes = frozenset({"image", "tree"})
    job_extension = ".JRQ"
    accepted_markers = (".QRJ",)
    cancel_extension = ".PTM"
    COMPLETE, ABORTED, FAILED = "10", "13", "15"

    def _status_dir(self) -> Path:
        return self.status_path or self.jobs_dir

    def job_lines(self, job_id, content, kind, disc_type, label, print_label, merge_fields):
        lines = [f"JobID = {job_id}", f"ClientID = {self.client_id}", f"Copies = {self.copies}"]
        if kind == "image":
            lines.append(f"ImageFile = {self.share_map.translate(content)}")
        else:
            lines += [f"DataImageType = {self.data_format or 'UDF'}", f"Data = {self.share_map.translate(content)}",
                      f"VolumeName = {volume_label(label, 32)}"]
        lines += ["RejectIfNotBlank = YES", "CloseDisc = YES", f"VerifyDisc = {'YES' if self.verify_disc else 'NO'}"]
        layout = print_label or self.label_file
        if layout:
            lines.append(f"PrintLabel = {self.share_map.translate(layout)}")
        lines += [f"MergeField = {value}" for _name, value in merge_fields]
        return lines, []

    def job_state(self, job_id: str) -> tuple[str, str]:
        marker = self.marker(job_id)
        if marker in (".DON", ".ERR"):
            section = read_ini_section(self._status_dir() / f"{self.publisher}.txt", job_id) if self.publisher else {}
            state = section.get("CurrentStatusState", "")
            said = ", ".join(f"{k}={section[k]}" for k in ("CurrentStatusState", "JobErrorNumber", "JobErrorString")
                             if section.get(k))
            words = section.get("JobErrorString") or said
            if marker == ".ERR" or state in (self.ABORTED, self.FAILED):
                return "error", words or "PTBurn renamed the job to .ERR without a status entry"
            return "done", said
        return {".INP": "in progress", ".QRJ": "accepted", ".JRQ": "submitted"}.get(marker or "", "unknown"), ""

    def robot_online(self) -> tuple[bool, str]:
        path = self._status_dir() / "SystemStatus.txt"
        robots = read_ini_section(path, "RobotList")
        if not robots:
            return False, f"{path.name} lists no robot: is PTBurn running?"
        if self.publisher and self.publisher not in robots:
            return False, f"robot '{self.publisher}' is not in {path.name} ({', '.join(robots)})"
        name = self.publisher or next(iter(robots))
        return True, f"{name}: {robots[name]}"

    def cancel_text(self, job_id: str) -> str:
        return f"Message = ABORT\r\nClientID = {self.client_id}\r\n"


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def new_job_id(label: str) -> str:
    """`Mäkelä 2024` -> `Makela_2024_1a2b3c4d`: readable, unique, plain ASCII, <= 32 characters."""
    suffix = uuid.uuid4().hex[:8]
    return f"{plain_ascii(label, JOB_ID_LENGTH - len(suffix) - 1, fallback='JOB')}_{suffix}"


def read_ini_section(path: Path, section: str) -> dict[str, str]:
    """One `[section]` of a robot's INI-style status file; {} when missing or being rewritten."""
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    for name in parser.sections():
        if name.lower() == section.lower():
            return {k: v.strip() for k, v in parser.items(name)}
    return {}
