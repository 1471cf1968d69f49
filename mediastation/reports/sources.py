"""Where a study's radiology report comes from, and in what order they are asked.

Sources, in the default precedence (`DEFAULT_ORDER`, `[reports] sources`):
1. `given`: a file the operator names at export time (`--report ACCESSION=FILE`): chosen on
   purpose for this release, so it overrides whatever else exists;
2. `study`: report instances retrieved with the study's images: Structured Reports (Basic Text,
   Enhanced, Comprehensive, ... SR) and Encapsulated PDF / CDA documents: the archive's own copy;
3. `folder`: the folder the RIS fills with one `<ACCESSION>.pdf` or `<ACCESSION>.txt` (UTF-8).

The first source that has a report is used and the later ones are not consulted, so the same
report never travels twice (say the RIS's PDF beside the SR it was made from). A study may hold
several report instances (preliminary, final, addendum): all of them are kept, oldest first. In
the folder, a PDF and a TXT for the same accession give the PDF (the RIS's laid-out copy), and the
accession number matches the file name case-insensitively.

Dose reports, CAD results, key object selections and other members of the SR family that are not
a physician's report are not reports here (`NOT_REPORTS`): a CT scanner writes a dose SR for
every study, and counting it would print "report included" for a study that has none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_file_meta_info

from mediastation.errors import InputError, NotFoundError, OutsidePartyError

ReportKind = Literal["sr", "pdf_instance", "cda_instance", "folder_pdf", "folder_txt", "given_pdf", "given_txt"]
SourceName = Literal["given", "study", "folder"]
DEFAULT_ORDER: tuple[SourceName, ...] = ("given", "study", "folder")

SR_FAMILY = "1.2.840.10008.5.1.4.1.1.88."
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA = "1.2.840.10008.5.1.4.1.1.104.2"
NOT_REPORTS = {
    SR_FAMILY + "40": "Procedure Log",
    SR_FAMILY + "50": "Mammography CAD SR",
    SR_FAMILY + "59": "Key Object Selection Document",
    SR_FAMILY + "65": "Chest CAD SR",
    SR_FAMILY + "67": "X-Ray Radiation Dose SR",
    SR_FAMILY + "68": "Radiopharmaceutical Radiation Dose SR",
    SR_FAMILY + "69": "Colon CAD SR",
    SR_FAMILY + "70": "Implantation Plan SR",
    SR_FAMILY + "71": "Acquisition Context SR",
    SR_FAMILY + "73": "Patient Radiation Dose SR",
    SR_FAMILY + "74": "Planned Imaging Agent Administration SR",
    SR_FAMILY + "75": "Performed Imaging Agent Administration SR",
    SR_FAMILY + "76": "Enhanced X-Ray Radiation Dose SR",
    SR_FAMILY + "77": "Waveform Annotation SR",
}
"""Members of the SR family (PS3.4 B.5) that carry no physician's report."""
NOT_REPORT_TITLES = frozenset({
    ("DCM", "113701"),   # X-Ray Radiation Dose Report (older scanners write it as Enhanced/Comprehensive SR)
    ("DCM", "113500"),   # Radiopharmaceutical Radiation Dose Report
    ("LN", "73569-6"),   # Radiation exposure and protection information (Patient Radiation Dose)
    ("DCM", "111036"),   # Mammography CAD Report
    ("DCM", "111037"),   # Chest CAD Report
    ("DCM", "112220"),   # Colon CAD Report
})
"""Document titles (root concept names) of non-report documents stored in a general SR class."""

_FILE_KINDS: dict[tuple[str, str], ReportKind] = {
    ("folder", "pdf"): "folder_pdf", ("folder", "txt"): "folder_txt",
    ("given", "pdf"): "given_pdf", ("given", "txt"): "given_txt",
}
_PDF_MAGIC = b"%PDF-"
_PDF_HEADER_WINDOW = 1024  # PDF 32000-1 7.5.2: readers accept the header within the first 1024 bytes


class ReportInvalid(InputError):
    """A report file is not what its name says (not a PDF, not UTF-8 text, empty)."""

    code = "report_invalid"


class ReportFolderUnavailable(OutsidePartyError):
    """The configured RIS report folder is missing or unreadable (share not mounted?)."""

    code = "report_folder_unavailable"


@dataclass(frozen=True, slots=True)
class Report:
    """One report of one study and where it is.

    `source`: the file (a DICOM instance for sr / pdf_instance / cda_instance, else the PDF or
    TXT); `title`: the document's own title (SR root concept, Document Title) or the file's name;
    `sop_instance_uid`: set for instances, which are already part of the study's DICOM set.
    """

    accession: str
    kind: ReportKind
    source: Path
    title: str
    sop_instance_uid: str = ""

    @property
    def is_instance(self) -> bool:
        """Already a DICOM instance of the study (goes on the medium with the images as it is)."""
        return self.kind in ("sr", "pdf_instance", "cda_instance")

    @property
    def is_file(self) -> bool:
        """Came as a file: is also encapsulated into a DICOM instance of the study."""
        return not self.is_instance


def is_report_sop_class(sop_class_uid: str, title_code: tuple[str, str] | None = None) -> bool:
    """True for the SOP classes that carry a report: the SR family less `NOT_REPORTS`, and
    Encapsulated PDF / CDA. `title_code` (scheme, value) of an SR's root concept, when known,
    also excludes dose and CAD documents stored in a general SR class."""
    if sop_class_uid in (ENCAPSULATED_PDF, ENCAPSULATED_CDA):
        return True
    if not sop_class_uid.startswith(SR_FAMILY) or sop_class_uid in NOT_REPORTS:
        return False
    return title_code not in NOT_REPORT_TITLES


def find_reports(study_files: Iterable[Path], accession: str, *, folder: Path | None, given: Path | None,
                 order: Sequence[SourceName] = DEFAULT_ORDER) -> list[Report]:
    """The reports of the study with `accession`, from the first source in `order` that has any.

    `study_files`: the study's retrieved DICOM files (non-DICOM files are passed over); `folder`:
    the RIS report folder, None when there is none; `given`: the file named for this accession at
    export time (refused when `order` leaves "given" out: an operator's file is never dropped
    silently). Raises ReportInvalid for a given or folder file that is not a PDF / UTF-8 text,
    NotFoundError for a given file that does not exist, ReportFolderUnavailable for a folder that
    cannot be read. An empty list means no report is available.
    """
    if given is not None and "given" not in order:
        raise ReportInvalid(f"a report file was given for {accession}, but [reports] sources in station.toml "
                            "does not include \"given\"; leave out --report or add \"given\" to the sources",
                            details={"accession_number": accession, "file": str(given)})
    finders = {
        "given": lambda: [_given_report(given, accession)] if given is not None else [],
        "study": lambda: study_reports(study_files, accession),
        "folder": lambda: folder_reports(folder, accession) if folder is not None else [],
    }
    for name in dict.fromkeys(order):
        if name not in finders:
            raise ValueError(f"unknown report source {name!r}; use one of {', '.join(DEFAULT_ORDER)}")
        found = finders[name]()
        if found:
            return found
    return []


# -- the study's own instances ----------------------------------------------------------------

def study_reports(study_files: Iterable[Path], accession: str) -> list[Report]:
    """Report instances among the study's files, oldest first (Content Date/Time, then UID)."""
    found: list[tuple[str, Report]] = []
    for path in study_files:
        path = Path(path)
        if not _could_be_report(path):
            continue
        ds = _read(path)
        if ds is None:
            continue
        sop_class = str(ds.get("SOPClassUID", "") or "")
        if not is_report_sop_class(sop_class, _root_code(ds)):
            continue
        kind: ReportKind = ("pdf_instance" if sop_class == ENCAPSULATED_PDF
                            else "cda_instance" if sop_class == ENCAPSULATED_CDA else "sr")
        uid = str(ds.get("SOPInstanceUID", "") or "")
        moment = f"{ds.get('ContentDate', '') or ''}{ds.get('ContentTime', '') or ''}"
        found.append((f"{moment}|{uid}", Report(accession, kind, path, _instance_title(ds, kind), uid)))
    return [report for _, report in sorted(found, key=lambda pair: pair[0])]


def _could_be_report(path: Path) -> bool:
    """A quick look at the file meta (the first few hundred bytes): images are passed over unread."""
    from mediastation.dicom.headers import meta_uids

    try:
        quick = meta_uids(path)
    except OSError:
        return False
    if quick is not None and quick[0]:
        return is_report_sop_class(quick[0])
    try:
        meta = read_file_meta_info(path)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError):
        return False
    sop_class = str(meta.get("MediaStorageSOPClassUID", "") or "")
    return not sop_class or is_report_sop_class(sop_class)


def _read(path: Path) -> Dataset | None:
    try:
        return dcmread(path, stop_before_pixels=True, defer_size=64 * 1024)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, NotImplementedError):
        return None


def _root_code(ds: Dataset) -> tuple[str, str] | None:
    code = _first(ds.get("ConceptNameCodeSequence"))
    if code is None:
        return None
    return (str(code.get("CodingSchemeDesignator", "") or ""), str(code.get("CodeValue", "") or ""))


def _first(sequence: Any) -> Dataset | None:
    return sequence[0] if sequence else None


def _instance_title(ds: Dataset, kind: ReportKind) -> str:
    code = _first(ds.get("ConceptNameCodeSequence"))
    meaning = str(code.get("CodeMeaning", "") or "") if code is not None else ""
    if kind == "sr":
        return meaning
    return str(ds.get("DocumentTitle", "") or "") or meaning


# -- files: the RIS folder and the operator's file --------------------------------------------

def folder_reports(folder: Path, accession: str) -> list[Report]:
    """`<ACCESSION>.pdf`, else `<ACCESSION>.txt`, in `folder`, names matched case-insensitively."""
    accession = accession.strip()
    if not accession:
        return []
    folder = Path(folder)
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    except OSError as exc:
        raise ReportFolderUnavailable(
            f"the report folder {folder} cannot be read ({exc.strerror or exc}); mount the RIS share or fix "
            "[reports] folder in station.toml (\"\" = no folder)", details={"folder": str(folder)}) from None
    wanted = accession.casefold()
    for suffix in ("pdf", "txt"):
        for name in names:
            if name.casefold() == f"{wanted}.{suffix}":
                path = folder / name
                check_report_file(path, suffix)
                return [Report(accession, _FILE_KINDS[("folder", suffix)], path, name)]
    return []


def _given_report(path: Path, accession: str) -> Report:
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"the report file {path} given for {accession} does not exist",
                            details={"file": str(path), "accession_number": accession})
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("pdf", "txt"):
        raise ReportInvalid(f"the report file {path} given for {accession} must be a .pdf or a UTF-8 .txt file",
                            details={"file": str(path), "accession_number": accession})
    check_report_file(path, suffix)
    return Report(accession, _FILE_KINDS[("given", suffix)], path, path.name)


def check_report_file(path: Path, suffix: str) -> None:
    """Refuse a .pdf that is no PDF and a .txt that is empty or not UTF-8, naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ReportInvalid(f"the report file {path} cannot be read: {exc.strerror or exc}",
                            details={"file": str(path)}) from None
    if suffix == "pdf":
        if _PDF_MAGIC not in data[:_PDF_HEADER_WINDOW]:
            raise ReportInvalid(f"the report file {path} is not a PDF (no %PDF- header); save the report as PDF "
                                "again or give it as UTF-8 text", details={"file": str(path)})
        return
    read_report_text(path, data)


def read_report_text(path: Path, data: bytes | None = None) -> str:
    """A report TXT as text: UTF-8 (a byte order mark is dropped), line ends made "\\n"."""
    raw = Path(path).read_bytes() if data is None else data
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportInvalid(f"the report file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 "
                            "(or as PDF) and try again", details={"file": str(path)}) from None
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    if not content.strip():
        raise ReportInvalid(f"the report file {path} is empty", details={"file": str(path)})
    return content


def is_pdf(data: bytes) -> bool:
    return _PDF_MAGIC in data[:_PDF_HEADER_WINDOW]
