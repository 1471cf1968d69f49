"""The worker loop of `mediastation worker`: claim what this station can serve, run it, repeat.

The worker knows no pipeline: the caller hands it one function per job kind (export, import, ...)
that runs a claimed job and returns its result document. A job that fails is recorded as failed and
the worker goes on with the next; a job it lost to another worker is left to that worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mediastation.errors import MediaStationError
from mediastation.jobs.model import Capabilities, JobCancelled, JobInterrupted, JobView
from mediastation.jobs.queue import JobQueue
from mediastation.jobs.runner import Lease, execute

log = logging.getLogger(__name__)
Handler = Callable[[JobView, Lease], dict[str, Any]]


@dataclass
class WorkerReport:
    """What one worker did (printed by `worker --once`)."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    claim_seconds: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        claims = self.claim_seconds
        return {"done": self.done, "failed": self.failed, "cancelled": self.cancelled, "lost": self.lost,
                "claims": len(claims), "claim_ms_mean": round(1000 * sum(claims) / len(claims), 2) if claims else None}


@dataclass
class Worker:
    queue: JobQueue
    capabilities: Capabilities
    handlers: dict[str, Handler]
    owner: str
    lease_seconds: float
    poll_seconds: float
    announce: Callable[[str], None] = field(default=lambda message: None)
    stop: threading.Event = field(default_factory=threading.Event)
    between: Callable[[], None] = field(default=lambda: None)  # between jobs and idle polls (the audit outbox)

    def run(self, *, once: bool = False) -> WorkerReport:
        """Until stopped; with `once`, until nothing claimable is left for this station."""
        report = WorkerReport()
        capabilities = Capabilities(self.capabilities.station, self.capabilities.burners,
                                    self.capabilities.default_burner,
                                    self.capabilities.kinds & frozenset(self.handlers))
        while not self.stop.is_set():
            self.between()
            started = time.perf_counter()
            job = self.queue.claim(self.owner, capabilities, lease_seconds=self.lease_seconds)
            report.claim_seconds.append(time.perf_counter() - started)
            if job is None:
                if once:
                    break
                self.stop.wait(self.poll_seconds)
                continue
            self._run_one(job, report)
        return report

    def _run_one(self, job: JobView, report: WorkerReport) -> None:
        resumed = f" (resumed after {job.stage})" if job.stage else ""
        self.announce(f"{job.job_id}: {job.kind} {job.subject} claimed{resumed}")
        try:
            execute(self.queue, job, self.lease_seconds, self.handlers[job.kind])
        except JobCancelled:
            report.cancelled.append(job.job_id)
            self.announce(f"{job.job_id}: cancelled")
        except JobInterrupted as exc:
            report.lost.append(job.job_id)
            self.announce(f"{job.job_id}: {exc.message}")
        except MediaStationError as exc:
            report.failed.append(job.job_id)
            self.announce(f"{job.job_id}: failed: {exc.message}")
        except Exception as exc:  # a bug in one job must not stop the station's worker
            log.exception("job %s failed", job.job_id)
            report.failed.append(job.job_id)
            self.announce(f"{job.job_id}: failed: {exc.__class__.__name__}: {exc}")
        else:
            report.done.append(job.job_id)
            self.announce(f"{job.job_id}: done")
