"""Every report as a readable PDF ): what goes into REPORTS/ on the medium.

- A PDF (the RIS's, the operator's, or one encapsulated in a DICOM instance) is passed on as it
  is, byte for byte: it is the signed original, and the browser's own viewer opens it.
- A Structured Report is laid out in reading order: each CONTAINER's concept name becomes a
  heading, each TEXT, CODE, NUM, DATE, TIME, DATETIME, PNAME and UIDREF item a paragraph
  ("Concept: value"; the concept is left out where it only repeats its heading, as "Finding"
  under "Findings"), followed by the observer, verification and completion facts. References to
  images, coordinates and by-reference items carry no text a reader could use and are left out.
- A TXT report and a CDA document's narrative are laid out as paragraphs.
Laid-out reports carry a title and the patient's name, HETU, accession number, study and date,
with the patient on every page, in an embedded DejaVu face (ä/ö/å stay selectable text). The
output is deterministic (reportlab `invariant`): the same report gives the same bytes, so a
resumed export encapsulates it under the same UIDs.
"""

from __future__ import annotations

import base64
import binascii
import io
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle

from mediastation import __version__
from mediastation.documents.content import person_name
from mediastation.documents.fonts import BOLD, REGULAR, register_fonts
from mediastation.documents.texts import check_language, format_date, format_datetime, text
from mediastation.files import write_bytes_atomic
from mediastation.reports.sources import Report, ReportInvalid, is_pdf, read_report_text

# Words of the laid-out report that the letter's table (documents/texts.py) does not have yet.
WORDS: dict[str, dict[str, str]] = {
    "fi": {"title": "Radiologinen lausunto", "report_date": "Lausunnon päivämäärä", "author": "Laatija",
           "verified_by": "Varmentanut", "unverified": "Lausuntoa ei ole varmennettu.",
           "partial": "Lausunto on keskeneräinen.", "preliminary": "Alustava lausunto."},
    "sv": {"title": "Radiologiskt utlåtande", "report_date": "Utlåtandets datum", "author": "Författare",
           "verified_by": "Verifierat av", "unverified": "Utlåtandet är inte verifierat.",
           "partial": "Utlåtandet är ofullständigt.", "preliminary": "Preliminärt utlåtande."},
    "en": {"title": "Radiology report", "report_date": "Report date", "author": "Author",
           "verified_by": "Verified by", "unverified": "The report has not been verified.",
           "partial": "The report is incomplete.", "preliminary": "Preliminary report."},
}

PDF_MIME = "application/pdf"
CDA_MIME = "text/XML"
LANGUAGE_OF_CONTENT = ("DCM", "121049")
_SKIPPED_VALUE_TYPES = frozenset({"IMAGE", "COMPOSITE", "WAVEFORM", "SCOORD", "SCOORD3D", "TCOORD", "TABLE"})
_CDA = "{urn:hl7-org:v3}"
_CDA_BLOCKS = frozenset({"paragraph", "item", "tr", "caption", "list", "table", "thead", "tbody"})
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
BODY_WIDTH = PAGE_WIDTH - 2 * MARGIN


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of a laid-out report: a heading (level 1-4), a paragraph, a labelled field, a note."""

    kind: Literal["heading", "paragraph", "field", "note"]
    text: str
    level: int = 1
    label: str = ""


@dataclass(frozen=True, slots=True)
class Laid:
    """A report to lay out: its title and blocks in reading order."""

    title: str
    blocks: tuple[Block, ...]


def render_report(report: Report, out_pdf: Path, *, patient_name: str, hetu: str, study_description: str,
                  study_datetime: datetime | None, language: str) -> Path:
    """Write `report` as a PDF to `out_pdf` atomically and return the path.

    A PDF report is copied (an encapsulated one extracted) byte for byte; the header facts are
    used for the reports laid out here (SR, TXT, CDA narrative). `patient_name` may be DICOM PN.
    """
    check_language(language)
    out_pdf = Path(out_pdf)
    if report.kind in ("folder_pdf", "given_pdf"):
        return write_bytes_atomic(out_pdf, _file_pdf(report.source))
    if report.kind == "pdf_instance":
        return write_bytes_atomic(out_pdf, _instance_pdf(report.source))
    if report.kind == "cda_instance":
        laid_or_pdf = _cda(report.source, language)
        if isinstance(laid_or_pdf, bytes):
            return write_bytes_atomic(out_pdf, laid_or_pdf)
        laid = laid_or_pdf
    elif report.kind == "sr":
        laid = sr_layout(_dataset(report.source), language)
    else:
        laid = Laid("", text_blocks(read_report_text(report.source)))
    header = _Header(patient_name, hetu, report.accession, study_description, study_datetime)
    return write_bytes_atomic(out_pdf, _Document(laid, header, language).render())


# -- PDFs passed on as they are ----------------------------------------------------------------

def _file_pdf(path: Path) -> bytes:
    data = Path(path).read_bytes()
    if not is_pdf(data):
        raise ReportInvalid(f"the report file {path} is not a PDF (no %PDF- header)", details={"file": str(path)})
    return data


def encapsulated_document(path: Path) -> tuple[bytes, str]:
    """(document bytes, MIME type) of an Encapsulated Document instance (PS3.3 C.24.2).

    The value of Encapsulated Document (0042,0011) is padded to an even length with one NUL;
    Encapsulated Document Length (0042,0015) gives the true length when present, else one
    trailing NUL is dropped (a PDF ends in %%EOF and an end-of-line, an XML document in '>').
    """
    ds = _dataset(path)
    value = ds.get("EncapsulatedDocument")
    if not value:
        raise ReportInvalid(f"{path} holds no encapsulated document", details={"file": str(path)})
    data = bytes(value)
    length = ds.get("EncapsulatedDocumentLength")
    if isinstance(length, int) and 0 < length <= len(data):
        data = data[:length]
    elif data.endswith(b"\x00"):
        data = data[:-1]
    return data, str(ds.get("MIMETypeOfEncapsulatedDocument", "") or "")


def _instance_pdf(path: Path) -> bytes:
    data, mime = encapsulated_document(path)
    if mime.lower() != PDF_MIME or not is_pdf(data):
        raise ReportInvalid(f"{path}: the encapsulated document is not a PDF (MIME type {mime!r})",
                            details={"file": str(path)})
    return data


def _dataset(path: Path) -> Dataset:
    try:
        return dcmread(path)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError) as exc:
        raise ReportInvalid(f"{path} is not a readable DICOM file: {exc}", details={"file": str(path)}) from None


# -- Structured Reports ------------------------------------------------------------------------

def sr_layout(ds: Dataset, language: str) -> Laid:
    """The SR's title (root concept name) and its content in reading order, then who signed it."""
    blocks: list[Block] = []
    title = _meaning(ds.get("ConceptNameCodeSequence"))
    for item in ds.get("ContentSequence", []) or []:
        _content_item(item, level=1, heading=title, language=language, out=blocks)
    blocks += _sign_off(ds, language)
    return Laid(title, tuple(blocks))


def _content_item(item: Dataset, *, level: int, heading: str, language: str, out: list[Block]) -> None:
    if "ReferencedContentItemIdentifier" in item:
        return  # by-reference relationship: the target is rendered where it stands
    value_type = str(item.get("ValueType", "") or "")
    concept = _meaning(item.get("ConceptNameCodeSequence"))
    if _code(item.get("ConceptNameCodeSequence")) == LANGUAGE_OF_CONTENT or value_type in _SKIPPED_VALUE_TYPES:
        return
    if value_type == "CONTAINER":
        if concept:
            out.append(Block("heading", concept, level=min(level, 4)))
        inner_heading, inner_level = (concept or heading), level + (1 if concept else 0)
    else:
        value = _item_value(item, value_type, language)
        if value:
            redundant = _repeats(concept, heading)
            out.append(Block("field" if concept and not redundant else "paragraph", value,
                             label="" if redundant else concept))
        inner_heading, inner_level = heading, level
    for child in item.get("ContentSequence", []) or []:
        _content_item(child, level=inner_level, heading=inner_heading, language=language, out=out)


def _item_value(item: Dataset, value_type: str, language: str) -> str:
    if value_type == "TEXT":
        return str(item.get("TextValue", "") or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if value_type == "CODE":
        return _meaning(item.get("ConceptCodeSequence"))
    if value_type == "NUM":
        return _numeric(item)
    if value_type == "PNAME":
        return person_name(str(item.get("PersonName", "") or ""))
    if value_type == "UIDREF":
        return str(item.get("UID", "") or "")
    if value_type in ("DATE", "TIME", "DATETIME"):
        return _when(str(item.get({"DATE": "Date", "TIME": "Time", "DATETIME": "DateTime"}[value_type], "") or ""),
                     language)
    return ""


def _numeric(item: Dataset) -> str:
    measured = item.get("MeasuredValueSequence")
    if not measured:
        return _meaning(item.get("NumericValueQualifierCodeSequence"))
    value = str(measured[0].get("NumericValue", "") or "").strip()
    unit = measured[0].get("MeasurementUnitsCodeSequence")
    if not unit:
        return value
    code = unit[0]
    shown = (str(code.get("CodeValue", "") or "") if code.get("CodingSchemeDesignator") == "UCUM"
             else str(code.get("CodeMeaning", "") or ""))
    return value if shown in ("", "1", "{ratio}") else f"{value} {shown}"


def _sign_off(ds: Dataset, language: str) -> list[Block]:
    """Who wrote and verified the report, and when; a warning when it is not final."""
    words = WORDS[language]
    blocks: list[Block] = []
    when = _when(f"{ds.get('ContentDate', '') or ''}{ds.get('ContentTime', '') or ''}", language)
    if when:
        blocks.append(Block("field", when, label=words["report_date"]))
    for author in ds.get("AuthorObserverSequence", []) or []:
        name = person_name(str(author.get("PersonName", "") or ""))
        if name:
            blocks.append(Block("field", name, label=words["author"]))
    for verifier in ds.get("VerifyingObserverSequence", []) or []:
        parts = [person_name(str(verifier.get("VerifyingObserverName", "") or "")),
                 str(verifier.get("VerifyingOrganization", "") or ""),
                 _when(str(verifier.get("VerificationDateTime", "") or ""), language)]
        shown = ", ".join(p for p in parts if p)
        if shown:
            blocks.append(Block("field", shown, label=words["verified_by"]))
    if str(ds.get("PreliminaryFlag", "") or "") == "PRELIMINARY":
        blocks.append(Block("note", words["preliminary"]))
    if str(ds.get("VerificationFlag", "") or "") == "UNVERIFIED":
        blocks.append(Block("note", words["unverified"]))
    if str(ds.get("CompletionFlag", "") or "") == "PARTIAL":
        blocks.append(Block("note", words["partial"]))
    return blocks


def _meaning(sequence: Any) -> str:
    return str(sequence[0].get("CodeMeaning", "") or "").strip() if sequence else ""


def _code(sequence: Any) -> tuple[str, str] | None:
    if not sequence:
        return None
    return (str(sequence[0].get("CodingSchemeDesignator", "") or ""), str(sequence[0].get("CodeValue", "") or ""))


def _repeats(concept: str, heading: str) -> bool:
    """"Finding" under "Findings", "Impression" under "Impressions": the label adds nothing."""
    a, b = concept.casefold().strip(), heading.casefold().strip()
    return not a or (bool(b) and (a.startswith(b) or b.startswith(a)))


def _when(value: str, language: str) -> str:
    """A DICOM DA, TM or DT value for people: 14.3.2024 klo 10.31; unparsable values as they are."""
    value = value.strip().split("+")[0].split("-")[0] if value else ""
    digits = value.split(".")[0]
    try:
        if len(digits) == 8:
            return format_date(datetime.strptime(digits, "%Y%m%d").date(), language)
        if len(digits) >= 12:
            return format_datetime(datetime.strptime(digits[:12], "%Y%m%d%H%M"), language)
        if 4 <= len(digits) <= 6:
            moment = datetime.strptime(digits[:4], "%H%M")
            return f"{moment:%H:%M}" if language == "en" else f"{moment.hour:02d}.{moment.minute:02d}"
    except ValueError:
        pass
    return value


# -- text and CDA -----------------------------------------------------------------------------

def text_blocks(content: str) -> tuple[Block, ...]:
    """Paragraphs separated by blank lines; a single line break stays a line break."""
    paragraphs, current = [], []
    for line in content.split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return tuple(Block("paragraph", p) for p in paragraphs)


def _cda(path: Path, language: str) -> Laid | bytes:
    """A CDA document's sections as headings and paragraphs; a non-XML body that is a PDF, as is."""
    data, _ = encapsulated_document(path)
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ReportInvalid(f"{path}: the CDA document declares a DTD or entities, which are not read "
                            "(they can expand without bound)", details={"file": str(path)})
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ReportInvalid(f"{path}: the CDA document is not well-formed XML: {exc}",
                            details={"file": str(path)}) from None
    title = _narrative(root.find(f"{_CDA}title")) if root.find(f"{_CDA}title") is not None else ""
    body = root.find(f"{_CDA}component/{_CDA}nonXMLBody/{_CDA}text")
    if body is not None:
        return _non_xml_body(path, body, title)
    blocks: list[Block] = []
    for section in root.iterfind(f"{_CDA}component/{_CDA}structuredBody/{_CDA}component/{_CDA}section"):
        _cda_section(section, 1, blocks)
    return Laid(title, tuple(blocks))


def _non_xml_body(path: Path, body: ElementTree.Element, title: str) -> Laid | bytes:
    media = (body.get("mediaType") or "text/plain").lower()
    content = "".join(body.itertext())
    if (body.get("representation") or "").upper() == "B64":
        try:
            raw = base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ReportInvalid(f"{path}: the CDA body is not valid base64", details={"file": str(path)}) from None
        if media == PDF_MIME and is_pdf(raw):
            return raw
        content = raw.decode("utf-8", errors="replace")
    if not media.startswith("text/"):
        raise ReportInvalid(f"{path}: the CDA body is {media}, which the station cannot show",
                            details={"file": str(path)})
    return Laid(title, text_blocks(content.replace("\r\n", "\n")))


def _cda_section(section: ElementTree.Element, level: int, out: list[Block]) -> None:
    title = section.find(f"{_CDA}title")
    if title is not None and _narrative(title):
        out.append(Block("heading", _narrative(title), level=min(level, 4)))
    narrative = section.find(f"{_CDA}text")
    if narrative is not None:
        out.extend(text_blocks(_narrative(narrative)))
    for child in section.iterfind(f"{_CDA}component/{_CDA}section"):
        _cda_section(child, level + 1, out)


def _narrative(element: ElementTree.Element | None) -> str:
    """CDA narrative block text: paragraphs, list items and table rows on lines of their own."""
    if element is None:
        return ""
    parts: list[str] = []

    def walk(node: ElementTree.Element) -> None:
        tag = node.tag.removeprefix(_CDA)
        if tag in _CDA_BLOCKS:
            parts.append("\n\n" if tag == "paragraph" else "\n")
        parts.append(node.text or "")
        for child in node:
            walk(child)
            if child.tag.removeprefix(_CDA) == "br":
                parts.append("\n")
            elif child.tag.removeprefix(_CDA) in ("td", "th"):
                parts.append("  ")
            parts.append(child.tail or "")
        if tag in _CDA_BLOCKS:
            parts.append("\n")

    walk(element)
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    return "\n".join(lines).strip()


# -- layout ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Header:
    patient_name: str
    hetu: str
    accession: str
    study_description: str
    study_datetime: datetime | None


class _Document:
    """A4, 20 mm margins; title and facts on page 1; patient, accession and "page (pages)" at the foot."""

    def __init__(self, laid: Laid, header: _Header, language: str) -> None:
        register_fonts()
        self.laid, self.header, self.language = laid, header, language
        self.styles = _styles()
        self.title = laid.title.strip() or WORDS[language]["title"]

    def render(self) -> bytes:
        pages = self._build(io.BytesIO(), None)
        buffer = io.BytesIO()
        self._build(buffer, pages)
        return buffer.getvalue()

    def _build(self, buffer: io.BytesIO, total: int | None) -> int:
        doc = BaseDocTemplate(buffer, pagesize=A4, title=self.title, author="HUS", subject=self.header.accession,
                              creator=f"mediastation {__version__}", lang=self.language, invariant=1,
                              initialFontName=REGULAR, initialFontSize=10)
        frame = Frame(MARGIN, 22 * mm, BODY_WIDTH, PAGE_HEIGHT - 42 * mm, leftPadding=0, rightPadding=0,
                      topPadding=0, bottomPadding=0)

        def foot(canvas: Canvas, document: BaseDocTemplate) -> None:
            self._footer(canvas, document.page, total)

        doc.addPageTemplates([PageTemplate("page", [frame], onPage=foot)])
        doc.build(self._story())
        return doc.page

    def _story(self) -> list[Any]:
        s = self.styles
        story: list[Any] = [Paragraph(_markup(self.title), s["title"]), self._facts(), Spacer(0, 4 * mm)]
        for block in self.laid.blocks:
            if block.kind == "heading":
                story.append(Paragraph(_markup(block.text), s[f"h{block.level}"]))
            elif block.kind == "field":
                story.append(Paragraph(f"<b>{_markup(block.label)}:</b> {_markup(block.text)}", s["body"]))
            else:
                story.append(Paragraph(_markup(block.text), s["note" if block.kind == "note" else "body"]))
        return story

    def _facts(self) -> Table:
        h, lang, s = self.header, self.language, self.styles
        rows = [(text(lang, "label_patient"), person_name(h.patient_name)), (text(lang, "label_hetu"), h.hetu),
                (text(lang, "col_accession"), h.accession), (text(lang, "col_description"), h.study_description)]
        if h.study_datetime is not None:
            rows.append((text(lang, "col_datetime"), format_datetime(h.study_datetime, lang)))
        data = [[Paragraph(_markup(label), s["label"]), Paragraph(_markup(value), s["value"])]
                for label, value in rows if value.strip()]
        table = Table(data, colWidths=[45 * mm, BODY_WIDTH - 45 * mm], hAlign="LEFT")
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), REGULAR), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                                   ("LINEBELOW", (0, -1), (-1, -1), 0.5, "#9A9A9A")]))
        return table

    def _footer(self, canvas: Canvas, page: int, total: int | None) -> None:
        h = self.header
        who = " · ".join(p for p in (person_name(h.patient_name), h.hetu, h.accession) if p.strip())
        canvas.saveState()
        canvas.setFont(REGULAR, 8)
        canvas.drawString(MARGIN, 12 * mm, _fit(f"{self.title} · {who}", BODY_WIDTH - 25 * mm))
        if total:
            canvas.drawRightString(PAGE_WIDTH - MARGIN, 12 * mm, text(self.language, "page", page=page, pages=total))
        canvas.restoreState()


def _fit(line: str, width: float) -> str:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while line and stringWidth(line, REGULAR, 8) > width:
        line = line[:-2] + "…"
    return line


def _markup(value: str) -> str:
    """Escaped text for a Paragraph; line breaks kept."""
    return "<br/>".join(escape(part) for part in value.split("\n"))


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=10, leading=13.5, spaceAfter=4)
    styles = {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=15, leading=19, spaceAfter=6),
        "label": ParagraphStyle("label", parent=body, fontSize=9.5, spaceAfter=0),
        "value": ParagraphStyle("value", parent=body, fontName=BOLD, fontSize=9.5, spaceAfter=0),
        "note": ParagraphStyle("note", parent=body, fontName=BOLD),
    }
    for level, size in ((1, 12.5), (2, 11.5), (3, 10.5), (4, 10)):
        styles[f"h{level}"] = ParagraphStyle(f"h{level}", parent=body, fontName=BOLD, fontSize=size,
                                             leading=size + 3.5, spaceBefore=6 if level == 1 else 4, spaceAfter=2)
    return styles


__all__ = ["Block", "Laid", "WORDS", "encapsulated_document", "render_report", "sr_layout", "text_blocks"]
