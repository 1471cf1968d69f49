"""From `[archive]` in station.toml to a ready `Archive` (a DICOM peer or a local folder).

    archive = open_archive(settings.archive, settings.station, home)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mediastation.pacs.archive import Archive

if TYPE_CHECKING:
    from mediastation.config import ArchiveSection, StationSection


def open_archive(settings: ArchiveSection, station: StationSection, home: Path) -> Archive:
    """The archive [archive] in station.toml describes; `{home}` in its path is the station's home."""
    if settings.kind == "folder":
        from mediastation.config import expand_home
        from mediastation.pacs.folder_archive import FolderArchive

        return FolderArchive(Path(expand_home(settings.path, home)))
    from mediastation.pacs.dicom_archive import DicomArchive  # pynetdicom loads only when needed
    from mediastation.pacs.network import DicomNode

    return DicomArchive(DicomNode(settings.ae_title, settings.host, settings.port),
                        calling_ae=station.ae_title, timeout=settings.timeout,
                        method=settings.retrieve, listen_port=station.port)
