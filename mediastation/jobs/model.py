"""The job model: what a job is, what a worker can serve, and how the two are matched.

A job has a kind (export, import, transfer), a state, the stage it is at, the station that made it,
an owner holding a lease while it works, what it needs of the worker that runs it, its parameters
and the typed outcome of every stage it finished. Pure values here; the table is `store/models.py`
`Job`, the queue that claims and saves them is `jobs/queue.py`.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from mediastation.errors import MediaStationError, OutsidePartyError


class JobState(StrEnum):
    QUEUED = "queued"        # waiting for a worker (or a takeover after a lost lease)
    RUNNING = "running"      # a worker holds its lease
    DONE = "done"
    FAILED = "failed"        # stopped by an error; `jobs retry` queues it again from its last stage
    CANCELLED = "cancelled"  # stopped by `jobs cancel`; recorded nothing after the stage it was in


LIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})
FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})

# Which media each kind of burner writes (burners/: BurnerEntry.kind). A folder or a robot takes
# whatever image it is given; a drive writes discs, a stick is USB.
WRITES = {
    "folder": frozenset({"cd", "dvd", "dvd-dl", "usb"}),
    "robot-epson": frozenset({"cd", "dvd", "dvd-dl"}),
    "robot-primera": frozenset({"cd", "dvd", "dvd-dl"}),
    "optical": frozenset({"cd", "dvd", "dvd-dl"}),
    "usb": frozenset({"usb"}),
}


class StageRecord(BaseModel):
    """A stage's saved outcome: `state` is the pipeline's model as JSON; `done` once it finished
    (a stage that records several side effects saves its partial state before it is done)."""

    model_config = ConfigDict(frozen=True)

    done: bool = False
    seconds: float = 0.0
    state: dict[str, Any] = {}


class Needs(BaseModel):
    """What a job asks of the worker that runs it: `station` when only one station can (its drive,
    its folders, the media it wrote), `burner` by name, `medium` the kind to write."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    station: str | None = None
    burner: str | None = None
    medium: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a worker's station can serve: its name and its burners (name -> kind)."""

    station: str
    burners: dict[str, str] = field(default_factory=dict)
    default_burner: str = "folder"
    kinds: frozenset[str] = frozenset({"export", "import", "transfer"})


def can_serve(kind: str, needs: Needs, capabilities: Capabilities) -> bool:
    """A worker takes a job only when it can carry it out here: the right station, the named burner,
    a burner that writes the medium (the default burner when the job names none)."""
    if kind not in capabilities.kinds:
        return False
    if needs.station is not None and needs.station != capabilities.station:
        return False
    burner = needs.burner or capabilities.default_burner
    burner_kind = capabilities.burners.get(burner, burner if burner in WRITES else None)
    if needs.burner is not None and burner_kind is None:
        return False
    if needs.medium is not None and kind == "export":
        return burner_kind is not None and needs.medium in WRITES.get(burner_kind, frozenset())
    return True


@dataclass(frozen=True)
class JobView:
    """A job as read from the queue (a snapshot: the row may change after it was read)."""

    job_id: str
    kind: str
    state: JobState
    stage: str
    station: str
    subject: str
    owner: str
    lease_until: datetime | None
    needs: Needs
    params: dict[str, Any]
    stages: dict[str, StageRecord]
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int
    cancel_requested: bool
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    def summary(self) -> dict[str, Any]:
        """One job of the `jobs list` document (and the desk's `/api/v1/jobs`)."""
        return {"job_id": self.job_id, "kind": self.kind, "state": str(self.state), "stage": self.stage or None,
                "subject": self.subject, "owner": self.owner or None, "station": self.station,
                "created_at": self.created_at.isoformat() if self.created_at else None}

    def to_json(self) -> dict[str, Any]:
        """The `jobs show` document."""
        return {
            "job_id": self.job_id, "kind": self.kind, "state": str(self.state), "stage": self.stage,
            "station": self.station, "subject": self.subject, "owner": self.owner or None,
            "lease_until": self.lease_until.isoformat() if self.lease_until else None,
            "needs": self.needs.model_dump(exclude_none=True), "params": self.params,
            "stages": {name: {"done": record.done, "seconds": record.seconds} for name, record in self.stages.items()},
            "attempts": self.attempts, "cancel_requested": self.cancel_requested,
            "error": self.error, "result": self.result,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def worker_id(station: str) -> str:
    """Who holds a lease: the station, the host and the process (shown by `jobs show`)."""
    return f"{station}@{socket.gethostname()}:{os.getpid()}"[:200]


def gone_from_this_host(owner: str) -> bool:
    """The worker holding a lease was a process of this machine that no longer exists (killed,
    power cut): its job need not wait for the lease to run out. (A pid reused since is taken for
    alive: the job then waits for its lease, as for any other station.)"""
    station_host, sep, pid = owner.rpartition(":")
    if not sep or not pid.isdigit() or station_host.rpartition("@")[2] != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def deterministic_id(prefix: str, *parts: object) -> str:
    """The same work always gets the same id, so two commands started together insert one job
    (the second insert fails on the primary key and attaches to the first)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}-{digest[:16].upper()}"


class JobNotFound(MediaStationError):
    code = "not_found"


class JobConflict(MediaStationError):
    """The job is in a state that does not allow what was asked (cancel a finished job, ...)."""

    code = "job_conflict"


class JobRunningElsewhere(MediaStationError):
    """Another worker holds the job's lease."""

    code = "job_running_elsewhere"


class JobInterrupted(OutsidePartyError):
    """The worker must stop: the job was cancelled, or its lease went to another worker."""

    code = "job_interrupted"


class JobCancelled(JobInterrupted):
    code = "job_cancelled"
    exit_status = 1


class LeaseLost(JobInterrupted):
    code = "lease_lost"
