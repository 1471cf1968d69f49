"""The import's environment from a station's settings: the configured archive, the database and
the receipts folder. One home for it, so `mediastation import run` (cli/importing.py) and an import
started at the desk (desk/imports.py) import into the same archive the same way."""

from __future__ import annotations

from pathlib import Path

from mediastation.config import Settings, expand_home
from mediastation.errors import InputError
from mediastation.jobs.model import worker_id
from mediastation.pacs.network import DicomNode
from mediastation.store.db import Database
from mediastation.workflows.imports.types import ImportEnvironment


def import_environment(settings: Settings, home: Path, database: Database) -> ImportEnvironment:
    """Refused (before anything is read) when the archive is not a DICOM node."""
    if settings.archive.kind != "dicom":
        raise InputError("import needs a DICOM archive: set [archive] kind = \"dicom\" with its host, port and "
                         "ae_title in station.toml")

    def path(value: str) -> Path:
        return Path(expand_home(value, home)).expanduser().resolve()

    price_list = path(settings.pricing.price_list)
    return ImportEnvironment(
        database=database,
        node=DicomNode(settings.archive.ae_title, settings.archive.host, settings.archive.port),
        calling_ae=settings.station.ae_title, listen_port=settings.station.port, timeout=settings.archive.timeout,
        station_name=settings.station.name, settings=settings.imports, folder=path(settings.imports.folder),
        price_list=price_list if price_list.is_file() else None, uid_root=settings.station.uid_root,
        owner=worker_id(settings.station.name), lease_seconds=settings.jobs.lease_seconds,
    )
