"""`pacs`: the archive the station exports from and imports to."""

from __future__ import annotations

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.errors import PacsError


@click.group()
def pacs() -> None:
    """The configured archive (PACS)."""


@pacs.command("echo")
@json_option
@pass_station
def pacs_echo(station: Station) -> None:
    """C-ECHO the configured archive (for kind = "folder": check the folder is readable)."""
    archive = station.settings.archive
    if archive.kind == "folder":
        folder = station.path(archive.path)
        if not folder.is_dir():
            raise PacsError(f"archive folder {folder} does not exist; run `mediastation init` or fix "
                            "[archive] path in station.toml", details={"ok": False, "path": str(folder)})
        station.emit({"ok": True, "kind": "folder", "path": str(folder)}, f"archive folder {folder}: ok")
        return
    from mediastation.pacs.echo import echo  # pynetdicom loads only for commands that talk DICOM
    from mediastation.pacs.network import DicomNode

    node = DicomNode(archive.ae_title, archive.host, archive.port)
    result = echo(node, calling_ae=station.settings.station.ae_title, timeout=archive.timeout)
    station.emit(
        {"ok": result.ok, "ae_title": result.ae_title, "host": result.host, "port": result.port, "ms": result.ms},
        f"C-ECHO {result.ae_title}@{result.host}:{result.port}: ok in {result.ms} ms",
    )
