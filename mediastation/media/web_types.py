"""The values the viewer's writer (web.py) and its pages (web_pages.py) share: what the medium's
patients, studies, series and images are, and the report links next to a study. Neither of those
modules is imported here, so each takes these from below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ISO_NAME = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?$")  # an ISO 9660 level 1 name: 8.3, upper case


@dataclass(frozen=True)
class ReportLink:
    """A study's report already on the medium, linked from the viewer and the pages next to its study."""

    title: str  # shown beside the "Lausunto / Utlåtande / Report" label; may be empty
    medium_path: str  # relative to the medium root, 8.3 upper case, e.g. "REPORTS/R0000001.PDF"

    def __post_init__(self) -> None:
        parts = self.medium_path.split("/")
        if not all(ISO_NAME.match(part) for part in parts) or any("." in part for part in parts[:-1]) \
                or "." not in parts[-1]:
            raise ValueError(f"report path is not an ISO 9660 level 1 file of the medium: {self.medium_path!r}")


@dataclass
class ImageEntry:
    dicom: str  # path on the medium, e.g. DICOM/PT000000/ST000000/SE000000/IM000000
    sop: str
    frame: int
    number: int | None
    preview: str | None = None  # e.g. IHE_PDI/SE0001/IM00001.JPG
    preview_size: tuple[int, int] | None = None
    data: str | None = None  # e.g. IHE_PDI/SE0001/DA00001.JS
    stack: str = ""  # the stack it is shown in: "" (the series), a temporal position, a cine instance
    place: float | None = None  # its place in the stack (along the normal of the plane); None: stored order
    rate: float | None = None  # frames per second of its instance's cine, when it has one


@dataclass
class SeriesEntry:
    uid: str
    key: str  # SE0001: the series' folder under IHE_PDI
    number: int | None
    modality: str
    description: str
    images: list[ImageEntry] = field(default_factory=list)
    frame_rate: float | None = None  # a cine: frames per second to play it at
    stack: str = ""  # "2/3": one of the stacks its series is shown as (time points, cine loops)

    @property
    def embedded(self) -> bool:
        return bool(self.images) and all(image.data for image in self.images)

    @property
    def thumb(self) -> str | None:
        """The preview of the middle image (or the nearest one that has a preview)."""
        with_preview = [image for image in self.images if image.preview]
        return with_preview[len(with_preview) // 2].preview if with_preview else None


@dataclass
class StudyEntry:
    uid: str
    date: str
    time: str
    description: str
    accession: str
    series: list[SeriesEntry] = field(default_factory=list)
    reports: list[ReportLink] = field(default_factory=list)  # its report PDFs on the medium


@dataclass
class PatientEntry:
    name: str
    id: str
    birth_date: str
    sex: str
    studies: list[StudyEntry] = field(default_factory=list)
