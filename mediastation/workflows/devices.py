"""What the station's devices are and do: the drives and sticks udev sees with their media (what
the station would do with each), the burners of [burners] (a robot's own state from its status
files), and the jobs each burner has queued or running. `devices` and the desk's /devices page.

A drive's medium comes from udev's properties (burners/discovery.py), never from xorriso: asking
the drive itself would grab it, and it may be burning at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mediastation.jobs.model import JobView
from mediastation.jobs.queue import JobQueue
from mediastation.store.db import Database

LIVE = ["queued", "running"]


def configured_burners(section: Any, path: Callable[[str], Path]) -> list[dict[str, Any]]:
    """The burners `export` can use here: the folder burner (always there: [burners] folder) and
    each [[burners.devices]] entry; `default` marks the one `export` takes when none is named."""
    entries = [{"name": e.name, "kind": e.kind, "device": e.device or e.path or None} for e in section.devices]
    if not any(e["name"] == "folder" for e in entries):
        entries.insert(0, {"name": "folder", "kind": "folder", "device": str(path(section.folder))})
    default = next((e for e in entries if e["name"] == section.default), None) or next(
        (e for e in entries if e["kind"] == section.default), None)
    return [{**e, "default": e is default} for e in entries]


@dataclass(frozen=True)
class BurnerState:
    """One burner with what it reports (robots) and the export jobs waiting for it or running on it."""

    entry: dict[str, Any]
    state: str | None = None
    detail: str | None = None
    jobs: tuple[JobView, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**self.entry, "state": self.state, "detail": self.detail, "jobs": [job.summary() for job in self.jobs]}


@dataclass(frozen=True)
class Overview:
    devices: list[Any]
    burners: list[BurnerState]
    other_jobs: list[JobView] = field(default_factory=list)
    devices_problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The `devices --json` document with each burner's state and jobs, the other live jobs
        (imports, transfers) and why the drives could not be listed, when they could not."""
        from burners.discovery import station_action

        return {"devices": [{**d.to_json(), "action": station_action(d)[0], "reason": station_action(d)[1]}
                            for d in self.devices],
                "burners": [b.to_json() for b in self.burners],
                "other_jobs": [job.summary() for job in self.other_jobs], "devices_problem": self.devices_problem}


def list_media_devices() -> tuple[list[Any], str | None]:
    """The drives and sticks udev knows, or none and the reason (no udev in a container)."""
    from burners.discovery import list_devices

    try:
        return list_devices(), None
    except (ImportError, OSError) as exc:  # no libudev, no /run/udev: the burners are still shown
        return [], f"the drives cannot be listed here: {exc}"


def overview(database: Database, section: Any, path: Callable[[str], Path]) -> Overview:
    """Drives, sticks, burners and their live jobs (an export job without a burner is the default's)."""
    devices, problem = list_media_devices()
    entries = configured_burners(section, path)
    default = next((e["name"] for e in entries if e["default"]), section.default)
    live = JobQueue(database).list(states=LIVE, limit=1000)
    by_burner: dict[str, list[JobView]] = {}
    other: list[JobView] = []
    for job in reversed(live):  # oldest first: the order a burner takes them
        if job.kind == "export":
            by_burner.setdefault(job.needs.burner or default, []).append(job)
        else:
            other.append(job)
    burners = [BurnerState(entry, *_robot_state(entry, section, path), tuple(by_burner.pop(entry["name"], [])))
               for entry in entries]
    other += [job for jobs in by_burner.values() for job in jobs]  # a burner no longer configured here
    return Overview(devices, burners, other, problem)


def _robot_state(entry: dict[str, Any], section: Any, path: Callable[[str], Path]) -> tuple[str | None, str | None]:
    """A robot's hot folder and status files say whether it is there (cheap file checks)."""
    if not str(entry["kind"]).startswith("robot"):
        return None, None
    from burners.factory import open_burner
    from mediastation.errors import MediaStationError

    try:
        status = open_burner(entry["name"], section, expand=lambda value: str(path(value))).status()
    except (MediaStationError, OSError) as exc:
        return "none", str(exc)
    return status.state.value, status.detail
