"""Package: one ISO 9660 + Joliet image per disc; a USB stick takes the tree itself (PS3.12)."""

from __future__ import annotations

from pathlib import Path

from mediastation.workflows.export.types import ExportJob, Packaged, PackagedDisc


def package(job: ExportJob) -> Packaged:
    from mediastation.media.iso import build_iso

    composed = job.composed
    images = []
    for disc in composed.discs:
        if composed.medium == "usb":
            images.append(PackagedDisc(index=disc.index, tree=disc.tree))
            continue
        target = job.path("images", f"{disc.fileset_id}.iso")
        target.parent.mkdir(parents=True, exist_ok=True)
        image = build_iso(Path(disc.tree), target, volume_id=disc.fileset_id, disc=(disc.index, disc.count),
                          progress=job.progress)
        images.append(PackagedDisc(index=disc.index, image=str(image.path), bytes=image.bytes, sha256=image.sha256))
    return Packaged(images=images)
