"""The import receipt (purkukuitti / inläsningskvitto) handed to the patient with the disc (R-G1).

A4 in Finnish, Swedish or English: the medium, who imported it and when, whose images they were
taken to be (outside identity -> HETU), per study what reached the archive, and an annex listing
every file of the medium exactly once with its outcome. Text in an embedded TrueType font
(fonts.py) so ä/ö/å print and the PDF stays searchable.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Flowable,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from mediastation.documents.content import person_name
from mediastation.documents.fonts import BOLD, REGULAR, register_fonts
from mediastation.errors import InputError
from mediastation.files import write_atomic

OUTCOMES = ("imported", "already_present", "skipped", "rejected", "failed", "unreconciled", "pending")

TEXTS: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Kuitti ulkopuolisen tallenteen purkamisesta HUS:n kuva-arkistoon",
        "job": "Purkutyö", "when": "Aika", "station": "Asema", "operator": "Käsittelijä", "medium": "Tallenne",
        "state": "Tila", "dicomdir": "DICOMDIR", "mapping": "Potilaan tunnistus",
        "outside": "Tallenteella", "local": "HUS:n potilas", "from": "Tiedot lähteestä",
        "studies": "Tutkimukset", "study": "Tutkimus", "date": "Päivä", "description": "Tutkimusnimike",
        "summary": "Tiedostot yhteensä", "warnings": "Huomautukset", "invoice": "Laskutusrivit",
        "files": "Liite: tallenteen kaikki tiedostot", "path": "Tiedosto", "outcome": "Tulos", "reason": "Syy",
        "no_invoice": "ei laskutettu", "page": "Sivu",
        "done": "valmis", "partial": "osittain valmis", "failed": "epäonnistui",
        "imported": "arkistoitu", "already_present": "oli jo arkistossa", "skipped": "ohitettu",
        "rejected": "hylätty", "unreconciled": "ei tunnistettu, ei arkistoitu", "pending": "kesken",
        "pacs": "kuva-arkisto", "operator_src": "käsittelijä", "repaired": "korjattu",
    },
    "sv": {
        "title": "Kvitto på inläsning av externt medium till HUS bildarkiv",
        "job": "Inläsningsjobb", "when": "Tid", "station": "Station", "operator": "Handläggare", "medium": "Medium",
        "state": "Status", "dicomdir": "DICOMDIR", "mapping": "Identifiering av patienten",
        "outside": "På mediet", "local": "HUS patient", "from": "Uppgifter från",
        "studies": "Undersökningar", "study": "Undersökning", "date": "Datum", "description": "Undersökningsnamn",
        "summary": "Filer totalt", "warnings": "Anmärkningar", "invoice": "Fakturarader",
        "files": "Bilaga: alla filer på mediet", "path": "Fil", "outcome": "Resultat", "reason": "Orsak",
        "no_invoice": "inte fakturerad", "page": "Sida",
        "done": "klar", "partial": "delvis klar", "failed": "misslyckades",
        "imported": "arkiverad", "already_present": "fanns redan i arkivet", "skipped": "överhoppad",
        "rejected": "avvisad", "unreconciled": "inte identifierad, inte arkiverad", "pending": "pågår",
        "pacs": "bildarkivet", "operator_src": "handläggaren", "repaired": "reparerad",
    },
    "en": {
        "title": "Receipt for the import of an outside medium into the HUS imaging archive",
        "job": "Import job", "when": "Time", "station": "Station", "operator": "Operator", "medium": "Medium",
        "state": "State", "dicomdir": "DICOMDIR", "mapping": "Patient identification",
        "outside": "On the medium", "local": "HUS patient", "from": "Details from",
        "studies": "Studies", "study": "Study", "date": "Date", "description": "Study description",
        "summary": "Files in total", "warnings": "Remarks", "invoice": "Invoice lines",
        "files": "Annex: every file on the medium", "path": "File", "outcome": "Outcome", "reason": "Reason",
        "no_invoice": "not billed", "page": "Page",
        "done": "done", "partial": "partly done", "failed": "failed",
        "imported": "imported", "already_present": "already in the archive", "skipped": "skipped",
        "rejected": "rejected", "unreconciled": "not identified, not imported", "pending": "in progress",
        "pacs": "the archive", "operator_src": "the operator", "repaired": "repaired",
    },
}


def write_import_receipt(path: Path, document: dict[str, Any], *, language: str, station: str,
                         when: datetime) -> Path:
    """Write the receipt for an import result document (workflows/imports/record.py) to `path`, atomically."""
    if language not in TEXTS:
        raise InputError(f"receipt language {language!r}: use one of {', '.join(TEXTS)}")
    register_fonts()
    t = TEXTS[language]
    story = _story(document, t, station, when)

    def build(temp: Path) -> None:
        doc = SimpleDocTemplate(str(temp), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                                bottomMargin=16 * mm, title=t["title"], author=station,
                                subject=document.get("job_id", ""))
        doc.build(story, onFirstPage=_footer(t, document), onLaterPages=_footer(t, document))

    return write_atomic(path, build)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=9, leading=11.5)
    return {"base": base, "small": ParagraphStyle("small", parent=base, fontSize=7, leading=8.5),
            "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=14, leading=18, spaceAfter=6),
            "h": ParagraphStyle("h", parent=base, fontName=BOLD, fontSize=10.5, leading=14, spaceBefore=8, spaceAfter=3)}


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _table(rows: list[list[Any]], widths: list[float], *, header: bool = True, long: bool = False) -> Table:
    cls = LongTable if long else Table
    table = cls(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 2),
             ("RIGHTPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 1),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")))
    table.setStyle(TableStyle(style))
    return table


def _story(document: dict[str, Any], t: dict[str, str], station: str, when: datetime) -> list[Any]:
    s = _styles()
    story: list[Any] = [_p(t["title"], s["title"])]
    info = [(t["job"], document.get("job_id", "")), (t["when"], when.strftime("%d.%m.%Y %H:%M")),
            (t["station"], station), (t["operator"], document.get("operator", "")),
            (t["medium"], document.get("medium", "")), (t["dicomdir"], document.get("dicomdir", "")),
            (t["state"], t.get(document.get("state", ""), document.get("state", "")))]
    story.append(_table([[_p(k, s["base"]), _p(v, s["base"])] for k, v in info], [40 * mm, 134 * mm], header=False))
    story.append(_p(t["mapping"], s["h"]))
    rows: list[list[Any]] = [[_p(t["outside"], s["base"]), _p(t["local"], s["base"]), _p(t["from"], s["base"])]]
    for patient in document.get("patients", []):
        outside = patient["outside"]
        rows.append([_p(f"{patient['key']}: {person_name(outside['name'])}, {outside['patient_id']} "
                        f"{outside['issuer']} {_date(outside['birth_date'])}", s["base"]),
                     _p(f"{person_name(patient['name'])}, {patient['hetu']}", s["base"]),
                     _p(t["pacs"] if patient["demographics_from"] == "pacs" else t["operator_src"], s["base"])])
    story.append(_table(rows, [75 * mm, 65 * mm, 34 * mm]))
    story.append(_p(t["studies"], s["h"]))
    rows = [[_p(x, s["small"]) for x in (t["date"], t["description"], t["study"], "HETU", t["imported"],
                                         t["already_present"], t["failed"], t["rejected"])]]
    for study in document.get("studies", []):
        rows.append([_p(x, s["small"]) for x in (
            _date(study.get("date", "")), study.get("description", ""), study["study_instance_uid"], study.get("hetu") or "-",
            study.get("imported", 0), study.get("already_present", 0), study.get("failed", 0), study.get("rejected", 0))])
    story.append(_table(rows, [16 * mm, 34 * mm, 52 * mm, 22 * mm, 13 * mm, 13 * mm, 12 * mm, 12 * mm], long=True))
    counts = document.get("counts", {})
    summary = ", ".join(f"{t.get(k, k)} {counts[k]}" for k in OUTCOMES if counts.get(k))
    story += [_p(t["summary"], s["h"]), _p(f"{sum(counts.values())}: {summary}", s["base"])]
    story += [_p(t["invoice"], s["h"]), _p(", ".join(document.get("invoice_lines") or []) or t["no_invoice"], s["base"])]
    if document.get("warnings"):
        story.append(_p(t["warnings"], s["h"]))
        story += [_p(f"– {w}", s["small"]) for w in document["warnings"]]
    story += [Spacer(1, 4 * mm), _p(t["files"], s["h"])]
    rows = [(_fit(item["path"], 100), _fit(t.get(item["outcome"], item["outcome"]), 30),
             _fit(_reason(item, t), 44)) for item in document.get("files", [])]
    story.append(FileRows((t["path"], t["outcome"], t["reason"]), rows, (100 * mm, 30 * mm, 44 * mm)))
    return story


def _reason(item: dict[str, Any], t: dict[str, str]) -> str:
    """The file's reason, and what the station repaired in it on the way (dicom/validate.py codes)."""
    reason = item.get("reason", "")
    if item.get("repairs"):
        repaired = f"{t['repaired']}: {', '.join(item['repairs'])}"
        reason = f"{reason}; {repaired}" if reason else repaired
    return reason


class FileRows(Flowable):
    """The annex: one line per file, drawn straight onto the page and split across pages with the
    header repeated. A table of 2,000 rows took reportlab a second to lay out; this takes a tenth."""

    SIZE, LEADING = 6.5, 8.0

    def __init__(self, header: tuple[str, str, str], rows: list[tuple[str, str, str]],
                 widths: tuple[float, float, float]) -> None:
        super().__init__()
        self.header, self.rows, self.widths = header, rows, widths

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return sum(self.widths), (len(self.rows) + 1) * self.LEADING

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        fits = int(available_height // self.LEADING) - 1  # the header takes a line on every page
        if fits < 1:
            return []
        if fits >= len(self.rows):
            return [self]
        return [FileRows(self.header, self.rows[:fits], self.widths),
                FileRows(self.header, self.rows[fits:], self.widths)]

    def draw(self) -> None:
        canvas, width = self.canv, sum(self.widths)
        top = (len(self.rows) + 1) * self.LEADING
        canvas.setFillColor(colors.HexColor("#e8e8e8"))
        canvas.rect(0, top - self.LEADING, width, self.LEADING, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        canvas.setStrokeColor(colors.lightgrey)
        canvas.setLineWidth(0.25)
        for number, row in enumerate((self.header, *self.rows)):
            baseline = top - (number + 1) * self.LEADING + 2
            canvas.setFont(BOLD if number == 0 else REGULAR, self.SIZE)
            x = 2.0
            for text, column in zip(row, self.widths, strict=True):
                canvas.drawString(x, baseline, text)
                x += column
            canvas.line(0, baseline - 2, width, baseline - 2)


def _date(value: str) -> str:
    """DICOM DA 20240314 as 14.3.2024 (Finnish and Swedish usage; readable in English too)."""
    if len(value) == 8 and value.isdigit():
        return f"{int(value[6:])}.{int(value[4:6])}.{value[:4]}"
    return value


def _fit(text: str, width_mm: float, size: float = 6.5) -> str:
    """The text, shortened in the middle with … when wider than its column (a path keeps both ends)."""
    limit = width_mm * mm - 4
    if stringWidth(text, REGULAR, size) <= limit:
        return text
    keep = len(text)
    while keep > 8 and stringWidth(text[:keep // 2] + "…" + text[-(keep // 2):], REGULAR, size) > limit:
        keep -= 4
    return text[:keep // 2] + "…" + text[-(keep // 2):]


def _footer(t: dict[str, str], document: dict[str, Any]):  # type: ignore[no-untyped-def]
    def draw(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(REGULAR, 7)
        canvas.drawString(18 * mm, 9 * mm, f"{document.get('job_id', '')}")
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"{t['page']} {doc.page}")
        canvas.restoreState()
    return draw
