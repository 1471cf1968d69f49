"""`worker` and `jobs`: the job queue every station of the database shares."""

from __future__ import annotations

import signal
from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station, stderr
from mediastation.cli.progress import Progress
from mediastation.cli.request import actor

STATES = ("queued", "running", "done", "failed", "cancelled")


def capabilities(station: Station) -> Any:
    """What this station can serve: its name, its burners by name and kind, its default burner."""
    from mediastation.jobs.model import Capabilities

    section = station.settings.burners
    burners = {"folder": "folder", **{entry.name: entry.kind for entry in section.devices}}
    return Capabilities(station=station.settings.station.name, burners=burners, default_burner=section.default)


def handlers(station: Station) -> dict[str, Any]:
    """One function per job kind, each running a claimed job with the station's settings."""
    from mediastation.cli.export import export_environment
    from mediastation.cli.importing import run_import_job

    def export(job: Any, lease: Any) -> dict[str, Any]:
        from mediastation.workflows.export import run_export_job

        return run_export_job(export_environment(station), job, lease)

    def import_(job: Any, lease: Any) -> dict[str, Any]:
        return run_import_job(station, job, lease)

    def transfer(job: Any, lease: Any) -> dict[str, Any]:
        from mediastation.cli.send import transfer_environment
        from mediastation.workflows.transfer import run_transfer_job

        return run_transfer_job(transfer_environment(station), job, lease)

    return {"export": export, "import": import_, "transfer": transfer}


@click.command()
@click.option("--once", is_flag=True, help="Stop when no job this station can serve is left in the queue.")
@json_option
@pass_station
def worker(station: Station, once: bool) -> None:
    """Take queued jobs this station can serve and run them, until stopped (SIGTERM or Ctrl-C: after
    the job at hand). A job whose worker died is taken over when its lease runs out ([jobs])."""
    from mediastation.jobs.model import worker_id
    from mediastation.jobs.queue import JobQueue
    from mediastation.jobs.worker import Worker

    settings = station.settings
    runner = Worker(queue=JobQueue(station.database()), capabilities=capabilities(station),
                    handlers=handlers(station), owner=worker_id(settings.station.name),
                    lease_seconds=settings.jobs.lease_seconds, poll_seconds=settings.jobs.poll_seconds,
                    announce=stderr)

    def stop(signum: int, _frame: Any) -> None:
        stderr(f"worker {runner.owner}: stopping after the job at hand")
        runner.stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second signal stops at once

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stderr(f"worker {runner.owner}: serving {', '.join(sorted(runner.handlers))} jobs")
    sender = audited(station, runner, "worker")
    try:
        report = runner.run(once=once)
    finally:
        stop_audited(station, sender, "worker")
    document = {"worker": runner.owner, **report.to_json()}
    station.emit(document, f"worker {runner.owner}: done {len(report.done)}, failed {len(report.failed)}, "
                           f"cancelled {len(report.cancelled)}, lost {len(report.lost)}")


def audited(station: Station, runner: Any, application: str) -> Any:
    """The process's start as an audit event (Application Activity), and the thread that keeps
    sending the outbox while it runs (None when audit is off); a worker's `runner` nudges it after
    each job, so a job's messages leave before the next job starts."""
    station.audit_trail().application(station.database(), started=True, application=application,
                                      launcher=actor(None))
    sender = station.keep_sending_audit()
    if sender is not None and runner is not None:
        runner.between = sender.nudge
    return sender


def stop_audited(station: Station, sender: Any, application: str) -> None:
    """The process's stop as an audit event; the thread ends and the send at exit takes the rest."""
    if sender is not None:
        sender.stop()
    station.audit_trail().application(station.database(), started=False, application=application,
                                      launcher=actor(None))


@click.group()
def jobs() -> None:
    """The job queue: list, show, cancel and retry exports and imports."""


def _queue(station: Station) -> Any:
    from mediastation.jobs.queue import JobQueue

    return JobQueue(station.database())


def _line(job: Any) -> str:
    holder = f" on {job.owner}" if job.owner else ""
    return f"{job.job_id}  {job.kind:<7} {str(job.state):<9} {job.stage or '-':<9} {job.subject}{holder}"


@jobs.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only jobs in this state (repeatable).")
@click.option("--kind", type=click.Choice(["export", "import", "transfer"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@json_option
@pass_station
def jobs_list(station: Station, states: tuple[str, ...], kind: str | None, limit: int) -> None:
    """Jobs, newest first."""
    found = _queue(station).list(states=list(states), kind=kind, limit=limit)
    documents = [j.summary() for j in found]
    station.emit({"jobs": documents}, "\n".join(_line(j) for j in found) or "no jobs")


@jobs.command("show")
@click.argument("job_id")
@click.option("--follow", is_flag=True, help="Wait until the job ends, showing its stage as it goes.")
@json_option
@pass_station
def jobs_show(station: Station, job_id: str, follow: bool) -> None:
    """One job: its state, stage, owner and lease, each stage's time, its result or error."""
    import time

    queue = _queue(station)
    job = queue.require(job_id)
    if follow:
        progress = Progress("job")
        stage = None
        while job.live:
            if job.stage != stage:
                stage = job.stage
                progress(0, None, f"{job.job_id} {job.state} {stage or ''}".strip())
            time.sleep(0.5)
            job = queue.require(job_id)
    document = job.to_json()
    lines = [_line(job)]
    lines += [f"  {name}: {'done' if s['done'] else 'partial'} {s['seconds']} s" for name, s in document["stages"].items()]
    if job.error:
        lines.append(f"  error: {job.error.get('message')}")
    station.emit(document, "\n".join(lines))


@jobs.command("cancel")
@click.argument("job_id")
@json_option
@pass_station
def jobs_cancel(station: Station, job_id: str) -> None:
    """Cancel a queued job, or ask a running one to stop at its next step (it records nothing more)."""
    job = _queue(station).cancel(job_id)
    verb = "cancelled" if str(job.state) == "cancelled" else f"asked to stop (running on {job.owner})"
    station.emit(job.to_json(), f"{job.job_id}: {verb}")


@jobs.command("retry")
@click.argument("job_id")
@json_option
@pass_station
def jobs_retry(station: Station, job_id: str) -> None:
    """Queue a failed or cancelled job again; it resumes after its last saved stage."""
    job = _queue(station).retry(job_id)
    station.emit(job.to_json(), f"{job.job_id}: queued again (resumes after {job.stage or 'the start'})")
