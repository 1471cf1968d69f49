"""The floor of the import wing: the request and the station's environment, each stage's typed
outcome, the context the stages of one pass share, and the few facts several stages need.

Every stage module imports this one and of its siblings only `reports` (and `store` the overlapped
`verify`); the order of the stages is `pipeline.py`, on top.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from mediastation.config import ImportSection
from mediastation.errors import InputError, listing
from mediastation.jobs.runner import StageContext
from mediastation.reports.encapsulate import DEFAULT_UID_ROOT
from mediastation.store.db import Database

if TYPE_CHECKING:
    from mediastation.dicom.coerce import Coercion
    from mediastation.dicom.inventory import Inventory
    from mediastation.domain.reconcile import LocalPatient, Mapping
    from mediastation.pacs.network import DicomNode
    from mediastation.pacs.store import StoreOutcome
    from mediastation.store.imports import ImportFileRow, ImportRepository
    from mediastation.errors import PacsError
    from mediastation.pacs.commitment import CommitmentResult
    from mediastation.pacs.lookup import ArchivedInstance

ProgressFn = Callable[[int, int | None, str], None]
# a failed file whose reason starts with one of these failed at the archive: the run exits 3
PACS_FAILURES = frozenset({"pacs_unreachable", "worker_stopped", "not_in_archive_after_store", "commitment_failed",
                           "not_verified"})
# the stages at which a job has (maybe) sent instances: a later pass finds them in the archive as imported
# ("report" is the name the record stage had before the job engine; a job migrated from then may carry it)
SENT_STAGES = frozenset({"store", "verify", "commit", "record", "report", "done"})
RECORD_EVERY = 200  # file outcomes per database write during the store
REPORT_REASON = "encapsulated_report"
REPORT_TITLES = {"fi": "Lausunto", "sv": "Utlåtande", "en": "Report"}


class ImportRefused(InputError):
    """The station will not import: bad mapping, missing demographics, nothing importable."""

    code = "import_refused"


def refused(problems: list[str]) -> ImportRefused:
    """Every problem found, named at once."""
    message = problems[0] if len(problems) == 1 else listing("the import is refused", problems)
    return ImportRefused(message, details={"problems": problems})


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- what the operator asked for -------------------------------------------------------------------

class ImportRequest(Model):
    """`import run`'s options; a queued job keeps them in its parameters (a worker's takeover)."""

    source: str
    maps: tuple[str, ...]
    names: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()
    accession: str | None = None
    payer: str | None = None
    operator: str = "station"
    language: str = "fi"
    reports: tuple[str, ...] = ()  # PATH=STUDY_UID: a loose PDF on the medium that is the study's report
    prefer: tuple[str, ...] = ()   # PATH: the copy to import of an instance whose copies really differ

    @classmethod
    def of_params(cls, params: dict[str, Any], default_language: str) -> ImportRequest:
        """The request a queued import job was made with (store/imports.py NewJob.params)."""
        return cls(source=params["source"], maps=tuple(params.get("maps", ())), names=tuple(params.get("names", ())),
                   birth_dates=tuple(params.get("birth_dates", ())), accession=params.get("accession"),
                   payer=params.get("payer"), operator=params.get("operator") or "station",
                   language=params.get("language") or default_language, reports=tuple(params.get("reports", ())),
                   prefer=tuple(params.get("prefer", ())))


@dataclass(frozen=True)
class ImportEnvironment:
    """What the import needs from the station, handed in by the CLI (no configuration parsing here)."""

    database: Database
    node: DicomNode
    calling_ae: str
    listen_port: int
    timeout: float
    station_name: str
    settings: ImportSection
    folder: Path
    price_list: Path | None = None
    uid_root: str = DEFAULT_UID_ROOT  # [station] uid_root: the encapsulated reports' UIDs
    owner: str = ""                   # who holds the job while it runs here (jobs.model.worker_id)
    lease_seconds: float = 60.0       # [jobs] lease_seconds


@dataclass(frozen=True)
class ImportOutcome:
    document: dict[str, Any]  # interfaces.md "Import result"
    exit_status: int


@dataclass(frozen=True)
class ReportPlan:
    """A loose PDF on the medium that the operator marked as a study's report (`--report PATH=STUDY_UID`)."""

    seq: int  # the PDF's place in the inventory
    study_instance_uid: str
    template: int  # an instance of the study: its coerced patient and study attributes go into the report
    patient_key: str
    sop_instance_uid: str  # derived from the study and the PDF's content: the same on every run


# -- each stage's outcome (saved by the job runner; the per-file outcomes are import_files) ---------

class Prechecked(Model):
    todo: int            # files still to send when the pass began
    found: int = 0       # of them, in the archive already (same instance, same patient)
    conflicts: int = 0   # in the archive differently: blocked, not overwritten
    sent_before: bool    # an earlier pass had begun storing: what is found was sent by this job


class Stored(Model):
    instances: int = 0   # stored (success or warning status)
    bytes: int = 0
    refused: int = 0     # refused or failed by the archive, or not sendable


class Verified(Model):
    verified: int = 0
    failed: int = 0
    error: str | None = None  # the look-ups stopped: what was sent stays to be found by the next pass


class Committed(Model):
    state: str           # committed | partial | incomplete | no_report | unsupported | unavailable | off | ...
    committed: int = 0
    failed: int = 0


class Recorded(Model):
    state: str                       # done | partial | failed (interfaces.md)
    counts: dict[str, int] = {}
    invoice_lines: list[str] = []    # store/imports.py ImportJob.invoice_lines reads these
    receipt: str | None = None


# -- the context of one pass ----------------------------------------------------------------------

class Clock:
    """Seconds per stage, for the report (R-G1: elapsed time and MB/s)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.timings[stage] = round(self.timings.get(stage, 0.0) + now - self._last, 3)
        self._last = now


@dataclass
class Collected:
    """What the archive said after the store (workflows/imports/verify.py collects it): its
    instances of the series looked up, the commitment outcome, and the error that stopped the
    look-ups (the instances then stay unverified)."""

    archived: dict[str, ArchivedInstance] = field(default_factory=dict)
    commitment: CommitmentResult | dict[str, Any] | None = None
    error: PacsError | None = None


@dataclass
class ImportRun:
    """One pass of an import job over the files still to do: what the operator asked, what is on the
    medium and whom it is mapped to (all found before the job is claimed: the job's id is made from
    them), and what the stages of this pass hand each other in memory (`coercions`, `stored`, ...).
    The per-file outcomes are in the database (store/imports.py), the stages' own in `stages`."""

    env: ImportEnvironment
    request: ImportRequest
    repository: ImportRepository
    job_id: str
    inventory: Inventory
    mapping: Mapping
    patients: dict[str, LocalPatient]
    reports: list[ReportPlan]
    identity_warnings: list[str]
    clock: Clock
    store_progress: ProgressFn | None = None
    stages: StageContext = field(default_factory=StageContext)
    sent_before: bool = False
    # this pass's working values, handed from stage to stage
    coercions: dict[str, Coercion] = field(default_factory=dict)
    rows: dict[int, ImportFileRow] = field(default_factory=dict)
    todo: list[int] = field(default_factory=list)
    stored: dict[int, StoreOutcome] = field(default_factory=dict)
    collected: Collected | None = None
    verified: list[int] = field(default_factory=list)
    commitment: dict[str, Any] | None = None
    outcome: ImportOutcome | None = None

    @property
    def folder(self) -> Path:
        return self.env.folder / self.job_id

    def state(self, name: str, model: type[Any]) -> Any:
        return self.stages.state(name, model)
