"""Write: hand each image (or tree) to the burner, then the cover letter and labels to the print
folder. Once this stage is saved the media exist: a resumed job never writes them again."""

from __future__ import annotations

import shutil
from pathlib import Path

from mediastation.workflows.export.burner import job_burner, keeps_image_file, print_folder
from mediastation.workflows.export.types import ExportJob, Written, WrittenDisc


def write(job: ExportJob) -> Written:
    burner = job_burner(job)
    written = []
    for disc, image in zip(job.composed.discs, job.packaged.images, strict=True):
        if image.image and keeps_image_file(burner):  # it takes the file itself
            medium = burner.move_image(Path(image.image), label=disc.fileset_id, sha256=image.sha256,
                                       size=image.bytes, progress=job.progress)
        elif image.image:
            medium = burner.write_image(Path(image.image), label=disc.fileset_id, progress=job.progress)
        else:
            medium = burner.write_tree(Path(image.tree or disc.tree), label=disc.fileset_id, progress=job.progress)
        written.append(WrittenDisc(index=disc.index, medium=medium.to_json()))
    letter, labels = _deliver_print_documents(job)
    return Written(discs=written, station=job.env.settings.station.name, cover_letter=letter, labels=labels)


def _deliver_print_documents(job: ExportJob) -> tuple[str | None, list[str]]:
    """The cover letter and labels go beside the images (to the printer queue folder)."""
    target = print_folder(job)
    composed = job.composed
    letter = None
    if composed.cover_letter:
        source = Path(composed.cover_letter)
        shutil.copy2(source, target / source.name)
        letter = str(target / source.name)
    labels = []
    for label in composed.labels:
        source = Path(label)
        shutil.copy2(source, target / source.name)
        labels.append(str(target / source.name))
    return letter, labels
