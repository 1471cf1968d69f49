"""The burner an export job writes with: `--to DIR` (the folder burner there), else `--burner NAME`,
else [burners] default. Chosen from the job's parameters, so a resumed job uses the same one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mediastation.workflows.export.types import ExportJob


def job_burner(job: ExportJob) -> Any:
    from burners.factory import open_burner

    return open_burner(job.params.burner, job.env.settings.burners, expand=job.env.home_path_text,
                       directory=Path(job.params.to_dir) if job.params.to_dir else None)


def keeps_image_file(burner: Any) -> bool:
    """The folder burner: its medium is the image file itself, moved into place and read back whole."""
    return burner.kind == "folder"


def print_folder(job: ExportJob) -> Path:
    """Where letters and labels go: --to DIR (which must exist: a vanished stick's mount point is not
    made a local folder), else the outbox folder of [burners] (the station's own, made when missing)."""
    if job.params.to_dir:
        folder = Path(job.params.to_dir)
        if not folder.is_dir():
            from burners.base import NoMedium

            raise NoMedium(f"--to {folder}: the folder is gone (unmounted?); mount it again and run the export "
                           "again", details={"to": str(folder)})
        return folder
    folder = job.env.home_path(job.env.settings.burners.folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
