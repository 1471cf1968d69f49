"""The floor of the transfer wing: the job's parameters, each stage's typed outcome and the context
the stages share (the same shape as workflows/export/types.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from mediastation.domain.request import ReleaseRequest
from mediastation.domain.transfer import TransferTarget
from mediastation.errors import MediaStationError, OutsidePartyError
from mediastation.jobs.runner import StageContext
from mediastation.pacs.network import DicomNode
from mediastation.store.db import Database
from mediastation.store.models import ReleaseRequestRow

Progress = Callable[[int, int | None, str], None]


class TransferRefused(MediaStationError):
    """The request may not be sent as asked (not decided electronic, unconfigured node, mismatch)."""

    code = "transfer_refused"


class TransferIncomplete(OutsidePartyError):
    """The destination did not take or keep every instance: nothing is recorded as released."""

    code = "transfer_incomplete"


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TransferParams(Model):
    request_id: str
    actor: str = ""
    attempt: int = 1
    accept_partial: bool = False  # --accept-partial: release what arrived, logged as a partial release


class Node(Model):
    ae_title: str
    host: str
    port: int

    def dicom(self) -> DicomNode:
        return DicomNode(self.ae_title, self.host, self.port)


class Target(Model):
    """Where the studies go, as decided at the start (workflows: domain/transfer.py)."""

    channel: str
    name: str
    destination: Node
    method: str
    commitment: bool = False
    transfer_syntaxes: list[str] = []
    source: Node | None = None

    @classmethod
    def of(cls, target: TransferTarget) -> Target:
        def node(spec: Any) -> Node | None:
            return Node(ae_title=spec.ae_title, host=spec.host, port=spec.port) if spec is not None else None

        return cls(channel=target.channel, name=target.name, destination=node(target.destination),  # type: ignore[arg-type]
                   method=target.method, commitment=target.commitment,
                   transfer_syntaxes=list(target.transfer_syntaxes), source=node(target.source))


class LocatedStudy(Model):
    accession_number: str
    study_instance_uid: str
    folder: str | None = None      # relay: where the store stage fetches the study to
    instances: int | None = None


class Located(Model):
    target: Target
    studies: list[LocatedStudy]


class FailedInstance(Model):
    sop_instance_uid: str
    path: str = ""
    reason: str


class StudySent(Model):
    study_instance_uid: str
    sent: list[str] = []             # SOP Instance UIDs stored by this job
    already_present: list[str] = []  # at the destination before this job sent them
    failed: list[FailedInstance] = []
    converted: int = 0               # decoded losslessly to a syntax the destination accepts
    references: list[tuple[str, str]] = []  # (SOP class, SOP instance) expected at the destination


class Sent(Model):
    studies: list[StudySent]


class StudyVerified(Model):
    study_instance_uid: str
    state: str  # committed | found
    expected: int
    confirmed: int
    missing: list[str] = []


class Verified(Model):
    method: str  # storage_commitment | c-find
    studies: list[StudyVerified]


class Recorded(Model):
    disclosure_seq: int | None = None


@dataclass
class TransferEnvironment:
    database: Database
    settings: Any  # mediastation.config.Settings
    home: Path
    jobs_folder: Path
    progress: Progress = field(default=lambda done, total, what: None)


@dataclass
class TransferJob:
    job_id: str
    env: TransferEnvironment
    row: ReleaseRequestRow
    request: ReleaseRequest
    params: TransferParams
    progress: Progress
    stages: StageContext = field(default_factory=StageContext)

    @property
    def folder(self) -> Path:
        return self.env.jobs_folder / self.job_id

    @property
    def calling_ae(self) -> str:
        return self.env.settings.station.ae_title

    @property
    def timeout(self) -> float:
        return self.env.settings.archive.timeout

    @property
    def located(self) -> Located:
        return self.stages.state("retrieve", Located)

    @property
    def sent(self) -> Sent:
        return self.stages.state("store", Sent)

    @property
    def verified(self) -> Verified:
        return self.stages.state("verify", Verified)
