"""What a person choosing a mapping looks at (the desk's import pages, docs/desk.md): each patient
group's studies with their series and a small picture of each, and the archive's name and birth
date for the HETUs typed in. Nothing here writes to the archive or the database; the import itself
is `pipeline.run_import`, the same as `mediastation import run`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediastation.dicom.inventory import Inventory
from mediastation.errors import MediaStationError
from mediastation.media.web_pixels import frames, preview_jpeg
from mediastation.pacs.lookup import ArchiveQuery
from mediastation.workflows.imports.types import ImportEnvironment

THUMBNAILS_MOST = 200  # series with a picture; a disc with more shows the rest without one (a scan stays seconds)


@dataclass(frozen=True)
class SeriesSummary:
    """One series of a study on the medium: what it is and the file its picture is made from."""

    group: str
    study_instance_uid: str
    series_instance_uid: str
    description: str
    modality: str
    instances: int
    first: int  # the place in the inventory of the series' first instance that can be sent

    def to_json(self) -> dict[str, Any]:
        return {"series_instance_uid": self.series_instance_uid, "description": self.description,
                "modality": self.modality, "instances": self.instances, "thumbnail": self.first}


def series_of(inventory: Inventory) -> list[SeriesSummary]:
    """Every series of the medium's instances (copies counted once), in the inventory's order."""
    found: dict[tuple[str, str, str], list[int]] = {}
    for seq, item in enumerate(inventory.files):
        shown = item.sendable or item.reason == "duplicate_conflict"  # a second copy is not a second image
        if item.header is None or not item.patient_key or not shown:
            continue
        key = (item.patient_key, item.header.study_instance_uid, item.header.series_instance_uid)
        found.setdefault(key, []).append(seq)
    summaries = []
    for (group, study, series), seqs in found.items():
        header = inventory.files[seqs[0]].header
        assert header is not None
        summaries.append(SeriesSummary(group, study, series, header.series_description, header.modality, len(seqs),
                                       seqs[0]))
    return summaries


def scan_document(inventory: Inventory) -> dict[str, Any]:
    """`import scan --json`'s document with each study's series (interfaces-additions.md)."""
    document = inventory.to_json()
    series = series_of(inventory)
    for group in document["patients"]:
        for study in group["studies"]:
            study["series_list"] = [s.to_json() for s in series if s.group == group["key"]
                                    and s.study_instance_uid == study["study_instance_uid"]]
    return document


def write_thumbnails(inventory: Inventory, folder: Path) -> dict[int, str]:
    """A JPEG of the first frame of each series' first instance, as `<seq>.jpg` in `folder` (at its
    own window, like the viewer's previews: media/web_pixels.py); a series whose pixels cannot be
    decoded here has none. The file is read from the medium into `folder` first, never run."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[int, str] = {}
    for summary in series_of(inventory)[:THUMBNAILS_MOST]:
        item = inventory.files[summary.first]
        if item.source is None:
            continue
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".dcm") as copy:
            try:
                with item.source.open() as stream:
                    shutil.copyfileobj(stream, copy)
                copy.flush()
                frame = next(iter(frames(Path(copy.name))), None)
                if frame is None:
                    continue
                jpeg, _, _ = preview_jpeg(frame)
            except (OSError, ValueError, TypeError, AttributeError, NotImplementedError, RuntimeError, KeyError):
                continue  # a picture is a help, not a condition: the import itself validates every file
        (folder / f"{summary.first}.jpg").write_bytes(jpeg)
        made[summary.first] = f"{summary.first}.jpg"
    return made


@dataclass(frozen=True)
class KnownPatient:
    hetu: str
    name: str
    birth_date: str


def archive_patients(env: ImportEnvironment, hetus: list[str]) -> tuple[dict[str, KnownPatient | None], str]:
    """The archive's name and birth date of each HETU (None: the archive does not know it), and why
    nothing could be looked up when the archive did not answer ("" when it did)."""
    wanted = sorted({h for h in hetus if h})
    if not wanted:
        return {}, ""
    try:
        with ArchiveQuery(env.node, env.calling_ae, env.timeout) as query:
            found = {hetu: query.patient(hetu) for hetu in wanted}
    except MediaStationError as error:  # the archive did not answer: the page says so, the import would too
        return {}, error.message
    except OSError as error:
        return {}, f"archive {env.node.ae_title} at {env.node.host}:{env.node.port}: {error.strerror or error}"
    return {hetu: KnownPatient(hetu, p.name, p.birth_date) if p else None for hetu, p in found.items()}, ""
