"""The floor of the export wing: the job's parameters, each stage's typed outcome, the context the
stages share, and the few facts several stages need (capacities, file-set ids, today).

Every stage module imports this one and nothing of its siblings but `reports` and `documents`; the
order of the stages is `pipeline.py`, on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mediastation.domain.request import ReleaseRequest
from mediastation.errors import MediaStationError
from mediastation.jobs.runner import StageContext
from mediastation.store.db import Database
from mediastation.store.models import ReleaseRequestRow

Progress = Callable[[int, int | None, str], None]
MEDIA_KINDS = ("cd", "dvd", "dvd-dl", "usb")
MB = 1_000_000
# Space each disc keeps for what is not DICOM: README, INDEX.HTM, LETTER.PDF, the viewer's code,
# the DICOMDIR's fixed part and the ISO 9660 / Joliet structures.
DISC_RESERVE = 8 * MB


class ExportRefused(MediaStationError):
    """The request may not be exported as asked (not approved, not a media channel, mismatch)."""

    code = "export_refused"


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# -- what the job was asked to do ------------------------------------------------------------------

class ExportParams(Model):
    """The export's options as the job keeps them (the same on every station that runs it)."""

    request_id: str
    medium: str | None = None      # cd | dvd | dvd-dl | usb | auto; None = the decision's channel
    burner: str | None = None      # a [burners] name; None = the default burner
    to_dir: str | None = None      # --to DIR: the folder burner writes there
    actor: str = ""
    copy_number: int = 1           # --again makes copy 2, 3, ...: billed again
    attempt: int = 1               # the request's job ordinal: a returned shipment's new attempt
    reports: dict[str, str] = {}   # --report ACCESSION=FILE


# -- each stage's outcome --------------------------------------------------------------------------

class RetrievedStudy(Model):
    accession_number: str
    study_instance_uid: str
    folder: str
    instances: int


class Retrieved(Model):
    studies: list[RetrievedStudy]


class ReportEntry(Model):
    """A study's report rendered to PDF (and, for a report that came as a file, its DICOM instance)."""

    kind: str
    title: str = ""
    pdf: str
    sop_instance_uid: str | None = None
    dicom: str | None = None


class Disc(Model):
    index: int
    count: int
    fileset_id: str
    tree: str
    instances: int
    studies: list[str]


class Conversion(Model):
    sop_instance_uid: str
    from_ts: str = Field(alias="from")
    to: str


class Composed(Model):
    medium: str
    profile: str
    discs: list[Disc]
    conversions: list[Conversion] = []
    viewer: list[dict[str, Any]] = []            # per disc: the viewer writer's own report (media/web.py)
    reports: dict[str, list[ReportEntry]] | None = None  # None: the request asked for images only
    cover_letter: str | None = None              # staged in the job's print folder
    labels: list[str] = []
    warnings: list[str] = []                     # told in the result, e.g. a study without a report


class PackagedDisc(Model):
    index: int
    image: str | None = None   # an ISO image; a USB stick takes the tree instead
    tree: str | None = None
    bytes: int | None = None
    sha256: str | None = None


class Packaged(Model):
    images: list[PackagedDisc]


class WrittenDisc(Model):
    index: int
    medium: dict[str, Any]     # burners.base.WrittenMedium.to_json()


class Written(Model):
    discs: list[WrittenDisc]
    station: str = ""          # where the media are: the job finishes there
    cover_letter: str | None = None
    labels: list[str] = []


class MediumDocument(Model):
    """One medium in the export result (interfaces.md `media[]`)."""

    index: int
    count: int
    kind: str
    profile: str
    fileset_id: str
    image: str | None
    tree: str | None
    bytes: int
    sha256: str
    burner: str
    instances: int
    label: str | None


class Verified(Model):
    media: list[MediumDocument]


class Recorded(Model):
    """The record stage's side effects, saved one by one: a resumed job records only what is missing."""

    shipment_done: bool = False
    shipment_id: str | None = None
    disclosure_seq: int | None = None
    invoice_lines: list[str] | None = None


# -- the context the stages share -----------------------------------------------------------------

@dataclass
class ExportEnvironment:
    """What the pipeline needs from the station, handed in by the CLI (no configuration parsing here)."""

    database: Database
    settings: Any  # mediastation.config.Settings
    home: Path
    jobs_folder: Path
    progress: Progress = field(default=lambda done, total, what: None)

    def home_path_text(self, value: str) -> str:
        """A path setting with `{home}` expanded (the one placeholder config.expand_home knows)."""
        from mediastation.config import expand_home

        return expand_home(value, self.home)

    def home_path(self, value: str) -> Path:
        return Path(self.home_path_text(value)).expanduser()


@dataclass
class ExportJob:
    """One job's context: the request, its parameters, its folder and the stages' typed outcomes."""

    job_id: str
    env: ExportEnvironment
    row: ReleaseRequestRow
    request: ReleaseRequest
    params: ExportParams
    progress: Progress
    stages: StageContext = field(default_factory=StageContext)
    pin_here: Callable[[], None] = field(default=lambda: None)  # the job stays on this station from now on

    @property
    def folder(self) -> Path:
        return self.env.jobs_folder / self.job_id

    def path(self, *parts: str) -> Path:
        return self.folder.joinpath(*parts)

    @property
    def retrieved(self) -> Retrieved:
        return self.stages.state("retrieve", Retrieved)

    @property
    def composed(self) -> Composed:
        return self.stages.state("compose", Composed)

    @property
    def packaged(self) -> Packaged:
        return self.stages.state("package", Packaged)

    @property
    def written(self) -> Written:
        return self.stages.state("write", Written)

    @property
    def verified(self) -> Verified:
        return self.stages.state("verify", Verified)

    def uid_of(self) -> dict[str, str]:
        """Accession number -> Study Instance UID of the retrieved studies."""
        return {s.accession_number: s.study_instance_uid for s in self.retrieved.studies}


def capacities(env: ExportEnvironment) -> dict[str, int]:
    """Nominal sizes from [burners]; a drive's own blank is checked again before burning."""
    from burners.factory import capacities as burner_capacities

    section = env.settings.burners
    return {**burner_capacities(section), "usb": int(section.usb_capacity_mb * MB)}


def fileset_code(request_id: str, attempt: int) -> str:
    """`HUS` + the request's code (+ the job's ordinal after the first): the base of file-set ids,
    so every medium that ever left for a request has an id of its own."""
    code = "".join(ch for ch in request_id.upper() if ch.isalnum())
    code = code[1:] if code.startswith("R") else code
    return f"HUS{code}" + (f"X{attempt}" if attempt > 1 else "")


def today_helsinki() -> date:
    from mediastation.domain.calendar import helsinki_date

    return helsinki_date(datetime.now(timezone.utc))

