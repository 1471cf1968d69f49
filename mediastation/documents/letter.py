"""The cover letter (saatekirje / följebrev) that goes in the envelope and, as LETTER.PDF, on the medium.

A4, the recipient's address where a C5 window envelope shows it (the sheet folded once, A5 half up).
Figures used, in mm from the sheet's top-left corner:
- Window: 20 from the left, 45 from the top, 90 x 45 (x 20-110, y 45-90). This is DIN 5008 form B's
  address field (20 mm left, 45 mm down, 85 x 45 mm: din-5008-richtlinien.de "Anschriftenfeld")
  widened to the 90 x 45 mm window of common C5 and C5/6 window envelopes. Finnish letter layouts
  (SFS 2487) are commonly described with the same 20 mm left edge [verify: the standard itself
  was not available]; check against the envelopes HUS buys before a large mailing.
- Address block: starts 5 mm inside the window (x 25, first line's top at y 52), at most 80 mm wide
  and 6 lines, so a sheet that slides a few millimetres in the envelope still shows all of it.
  Only the recipient is printed there: Posti (itella.fi "Address markings"; posti.fi "Instruktioner
  för sändning av brev") asks that the address field hold nothing else, in its row order (name,
  supplement such as unit or c/o, street or PO box, postal code and locality), with no country line
  for domestic mail; abroad the country goes last, in capitals.
- Letterhead above the window (y 10-36: sender, address, phone, e-mail); the document's name, date
  and confidentiality marking in the right-hand column at x 104; body from y 95 on the first page;
  a fold mark at y 148.5 (A4 folded once for C5).
Text is real text in an embedded TrueType font (fonts.py), so it can be selected, searched and
read by `pdftotext`; nothing is drawn as an image.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, KeepTogether, PageTemplate, Paragraph, Spacer, Table, TableStyle

from mediastation import __version__
from mediastation.documents.content import Disclosure, MediumInfo, Recipient, Sender, StudyLine, person_name
from mediastation.documents.fonts import BOLD, REGULAR, register_fonts
from mediastation.documents.texts import (
    check_language,
    format_date,
    format_short_date,
    format_time,
    media_summary,
    medium_words,
    text,
)
from mediastation.files import write_bytes_atomic

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 20 * mm
RIGHT_COLUMN = 104 * mm
PAGE_NUMBER_X = 190 * mm  # right-aligned
BODY_WIDTH = 170 * mm
# The C5 envelope window on the sheet (see the module docstring), top-left origin, in mm.
WINDOW_MM = (20.0, 45.0, 90.0, 45.0)  # x, y, width, height
ADDRESS_X_MM, ADDRESS_TOP_MM, ADDRESS_WIDTH_MM, ADDRESS_LINES = 25.0, 52.0, 80.0, 6
ADDRESS_FONT_SIZE, ADDRESS_MIN_FONT_SIZE, ADDRESS_LEADING = 10.5, 8.0, 13.0
FOLD_MM = 148.5
FIRST_BODY_TOP_MM, LATER_BODY_TOP_MM, BODY_BOTTOM_MM = 95.0, 44.0, 14.0

# ISO 3166 codes of the likeliest foreign recipients -> the country line Posti wants (capitals).
COUNTRY_NAMES = {"SE": "SWEDEN", "NO": "NORWAY", "DK": "DENMARK", "IS": "ICELAND", "EE": "ESTONIA",
                 "DE": "GERMANY", "GB": "UNITED KINGDOM", "US": "UNITED STATES", "ES": "SPAIN",
                 "FR": "FRANCE", "NL": "NETHERLANDS", "LV": "LATVIA", "LT": "LITHUANIA", "PL": "POLAND"}
DOMESTIC = {"FI", "FIN", "SUOMI", "FINLAND"}


def write_cover_letter(
    path: str | os.PathLike[str],
    *,
    language: str,
    sender: Sender,
    recipient: Recipient | None,
    disclosure: Disclosure,
    studies: Sequence[StudyLine],
    media: Sequence[MediumInfo],
    created: date,
) -> Path:
    """Write the cover letter PDF to `path` atomically and return the path.

    `recipient` None leaves the window empty (a letter handed over at the desk). The same call
    makes the copy placed on the medium as LETTER.PDF.
    """
    check_language(language)
    if not studies:
        raise ValueError("a cover letter lists at least one study")
    if not media:
        raise ValueError("a cover letter names at least one medium")
    register_fonts()
    letter = _Letter(language, sender, recipient, disclosure, tuple(studies), tuple(media), created)
    return write_bytes_atomic(path, letter.render())


def address_lines(recipient: Recipient) -> list[str]:
    """The window's lines in Posti's order; postal locality in capitals, country only when abroad."""
    lines = [recipient.name]
    if recipient.attention.strip():
        lines.append(recipient.attention)
    lines += [recipient.street, f"{recipient.postal_code} {recipient.city.upper()}"]
    country = recipient.country.strip().upper()
    if country not in DOMESTIC:
        lines.append(COUNTRY_NAMES.get(country, country))
    return [" ".join(line.split()) for line in lines]


class _Letter:
    """One letter's content and layout; `render` returns the PDF bytes."""

    def __init__(self, language: str, sender: Sender, recipient: Recipient | None, disclosure: Disclosure,
                 studies: tuple[StudyLine, ...], media: tuple[MediumInfo, ...], created: date) -> None:
        self.language, self.sender, self.recipient = language, sender, recipient
        self.disclosure, self.studies, self.media, self.created = disclosure, studies, media, created
        self.words = medium_words(language, usb=all(not m.is_disc for m in media))
        self.styles = _styles()

    def t(self, key: str, **values: object) -> str:
        return text(self.language, key, **self.words, **values)

    # -- assembly -------------------------------------------------------------------------------
    def render(self) -> bytes:
        """Two passes: the first counts the pages so every page can say "1 (2)".

        The page number is drawn on the canvas, outside the flow, so it cannot change the count.
        """
        pages = self._build(io.BytesIO(), total_pages=None)
        buffer = io.BytesIO()
        self._build(buffer, total_pages=pages)
        return buffer.getvalue()

    def _build(self, buffer: io.BytesIO, total_pages: int | None) -> int:
        doc = self._document(buffer, total_pages)
        doc.build(self._story())  # a fresh story each time: flowables keep layout state
        return doc.page

    def _document(self, buffer: io.BytesIO, total_pages: int | None) -> BaseDocTemplate:
        doc = BaseDocTemplate(
            buffer, pagesize=A4, title=self.t("doc_type").capitalize(), author=self.sender.organisation,
            creator=f"mediastation {__version__}", lang=self.language, invariant=1,
            initialFontName=REGULAR, initialFontSize=10,
            leftMargin=LEFT, rightMargin=PAGE_WIDTH - LEFT - BODY_WIDTH,
        )
        first = Frame(LEFT, BODY_BOTTOM_MM * mm, BODY_WIDTH, (297 - FIRST_BODY_TOP_MM - BODY_BOTTOM_MM) * mm,
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="first")
        later = Frame(LEFT, BODY_BOTTOM_MM * mm, BODY_WIDTH, (297 - LATER_BODY_TOP_MM - BODY_BOTTOM_MM) * mm,
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="later")

        def decorate_first(canvas: Canvas, document: BaseDocTemplate) -> None:
            self._page_furniture(canvas, document.page, total_pages)
            self._address(canvas)
            _fold_mark(canvas)

        def decorate_later(canvas: Canvas, document: BaseDocTemplate) -> None:
            self._page_furniture(canvas, document.page, total_pages)

        doc.addPageTemplates([PageTemplate("first", [first], onPage=decorate_first, autoNextPageTemplate="later"),
                              PageTemplate("later", [later], onPage=decorate_later)])
        return doc

    def _story(self) -> list:
        s, t = self.styles, self.t
        d = self.disclosure
        story: list = [
            Paragraph(escape(t("subject")), s["subject"]),
            Paragraph(escape(t("intro", request_id=d.request_id)), s["body"]),
            Spacer(0, 1.5 * mm),
            self._facts_table(),
            Spacer(0, 2 * mm),
            Paragraph(escape(t("studies_heading")), s["heading"]),
            self._studies_table(),
        ]
        story += self._viewing()
        story.append(KeepTogether([
            Paragraph(escape(t("privacy_heading")), s["heading"]),
            Paragraph(escape(t("privacy")), s["body"]),
            Paragraph(escape(t("wrong_recipient")), s["emphasis"]),
        ]))
        story.append(KeepTogether(self._closing()))
        return story

    def _facts_table(self) -> Table:
        d, t, s = self.disclosure, self.t, self.styles
        rows = [
            (t("label_patient"), person_name(d.patient_name)),
            (t("label_hetu"), d.hetu),
            (t("label_basis"), d.basis_label),
            (t("label_release_date"), format_date(d.release_date, self.language)),
            (t("label_media"), media_summary((m.kind for m in self.media), self.language)),
        ]
        data = [[Paragraph(escape(label), s["label"]), Paragraph(escape(value), s["value"])] for label, value in rows]
        table = Table(data, colWidths=[48 * mm, BODY_WIDTH - 48 * mm], hAlign="LEFT")
        table.setStyle(TableStyle([*_TABLE_FONT, ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        return table

    def _studies_table(self) -> Table:
        t, s, lang = self.t, self.styles, self.language
        with_report = any(study.report is not None for study in self.studies)
        with_disc = len(self.media) > 1 and any(study.disc is not None for study in self.studies)
        keys = ["col_accession", "col_description", "col_datetime"]
        keys += ["col_report"] if with_report else []
        keys += ["col_disc"] if with_disc else []
        rows = []
        for study in self.studies:
            name = study.study_description
            if study.modalities:
                name += f" ({', '.join(study.modalities)})"
            when = f"{format_short_date(study.study_datetime.date(), lang)}\n{format_time(study.study_datetime, lang)}"
            row = [study.accession_number, name, when]
            if with_report:
                row.append(t(_REPORT_KEYS[study.report]))
            if with_disc:
                row.append("" if study.disc is None else str(study.disc))
            rows.append(row)
        headers = [t(key) for key in keys]
        widths = _column_widths(headers, rows, flexible=1, keys=keys, whole={"col_report": 36.0})
        data = [[Paragraph(_markup(h), s["th"]) for h in headers]]
        data += [[Paragraph(_markup(cell), s["td"]) for cell in row] for row in rows]
        table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle([
            *_TABLE_FONT,
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6E6E6")),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9A9A9A")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
        ]))
        return table

    def _viewing(self) -> list:
        t, s = self.t, self.styles
        items = [Paragraph(escape(t("view_heading")), s["heading"]),
                 Paragraph(escape(t("view_open")), s["bullet"], bulletText="•"),
                 Paragraph(escape(t("view_no_autorun")), s["bullet"], bulletText="•"),
                 Paragraph(escape(t("view_dicom")), s["bullet"], bulletText="•")]
        if len(self.media) > 1:
            items.append(Paragraph(escape(t("view_several", count=len(self.media))), s["bullet"], bulletText="•"))
        return items

    def _closing(self) -> list:
        t, s, sender = self.t, self.styles, self.sender
        lines = [Paragraph(escape(t("contact", phone=sender.phone, email=sender.email)), s["body"]),
                 Spacer(0, 1.5 * mm),
                 Paragraph(escape(t("regards")), s["signature"])]
        lines += [Paragraph(escape(line), s["signature"]) for line in (sender.person, sender.name) if line.strip()]
        return lines

    # -- fixed places on the page ----------------------------------------------------------------
    def _page_furniture(self, canvas: Canvas, page: int, total_pages: int | None) -> None:
        """Letterhead on every page, kept above y 36 mm: clear of the window even if the sheet slides."""
        sender, t = self.sender, self.t
        canvas.saveState()
        canvas.setFont(BOLD, 14)
        canvas.drawString(LEFT, _y(15), sender.organisation)
        canvas.setFont(REGULAR, 8.5)
        unit = simpleSplit(sender.unit, REGULAR, 8.5, RIGHT_COLUMN - LEFT - 6 * mm)[:3]
        lines = [*unit, f"{sender.street}, {sender.postal_code} {sender.city}",
                 f"{_phone(self.language, sender.phone)} · {sender.email}"]
        for n, line in enumerate(lines):
            canvas.drawString(LEFT, _y(20 + 3.7 * n), line)
        canvas.setFont(BOLD, 11)
        canvas.drawString(RIGHT_COLUMN, _y(15), t("doc_type"))
        if total_pages:
            canvas.setFont(REGULAR, 9)
            canvas.drawRightString(PAGE_NUMBER_X, _y(15), t("page", page=page, pages=total_pages))
        canvas.setFont(REGULAR, 9.5)
        canvas.drawString(RIGHT_COLUMN, _y(20.5), format_date(self.created, self.language))
        canvas.drawString(RIGHT_COLUMN, _y(25.5), t("request_ref", request_id=self.disclosure.request_id))
        canvas.setFont(BOLD, 8.5)
        canvas.drawString(RIGHT_COLUMN, _y(31), t("confidential"))
        canvas.setFont(REGULAR, 7.5)
        canvas.drawString(RIGHT_COLUMN, _y(34.5), t("confidential_basis"))
        canvas.restoreState()

    def _address(self, canvas: Canvas) -> None:
        if self.recipient is None:
            return
        lines = address_lines(self.recipient)[:ADDRESS_LINES]
        width = ADDRESS_WIDTH_MM * mm
        size = ADDRESS_FONT_SIZE
        while size > ADDRESS_MIN_FONT_SIZE and max(stringWidth(line, REGULAR, size) for line in lines) > width:
            size -= 0.5
        canvas.saveState()
        canvas.setFont(REGULAR, size)
        baseline = ADDRESS_TOP_MM * mm + size  # first line's cap top at ADDRESS_TOP_MM
        for line in lines:
            canvas.drawString(ADDRESS_X_MM * mm, PAGE_HEIGHT - baseline, _fit(line, size, width))
            baseline += ADDRESS_LEADING
        canvas.restoreState()


def _phone(language: str, phone: str) -> str:
    return text(language, "phone", phone=phone)


def _fit(line: str, size: float, width: float) -> str:
    """Cut a line that still does not fit at the smallest size (never print past the window)."""
    if stringWidth(line, REGULAR, size) <= width:
        return line
    while line and stringWidth(line + "…", REGULAR, size) > width:
        line = line[:-1]
    return line + "…"


# A table's own cell font (Helvetica unless set) would be named in the PDF, unembedded, even though
# every cell here is a Paragraph in the embedded font.
_TABLE_FONT = [("FONTNAME", (0, 0), (-1, -1), REGULAR)]
_CELL_PADDING = 3  # points, each side
_TH_SIZE, _TD_SIZE = 8.5, 9.0


def _column_widths(headers: list[str], rows: list[list[str]], *, flexible: int, keys: list[str],
                   whole: dict[str, float]) -> list[float]:
    """Each fixed column as wide as its widest word (so no word is ever cut), the `flexible` one the rest.

    Computed from the text, not fixed per language: a translation with a longer word
    ("Undersöknings-") widens its column instead of breaking the word letter by letter. Columns in
    `whole` fit their cells' whole lines ("lausunto mukana") up to the given mm.
    """
    widths: list[float] = []
    for index, key in enumerate(keys):
        pieces = [(w, BOLD, _TH_SIZE) for w in headers[index].split()]
        pieces += [(w, REGULAR, _TD_SIZE) for row in rows for w in row[index].split()]
        widest = max((stringWidth(w, font, size) for w, font, size in pieces), default=0.0)
        if key in whole:
            lines = max((stringWidth(line, REGULAR, _TD_SIZE) for row in rows for line in row[index].split("\n")),
                        default=0.0)
            widest = max(widest, min(lines, whole[key] * mm - 2 * _CELL_PADDING - 1))
        widths.append(widest + 2 * _CELL_PADDING + 1)
    widths[flexible] = max(BODY_WIDTH - (sum(widths) - widths[flexible]), 40 * mm)
    return widths


_REPORT_KEYS = {True: "report_included", False: "report_missing", None: "report_not_applicable"}


def _markup(value: str) -> str:
    """Escaped text for a Paragraph; a translator's "\\n" becomes a line break."""
    return "<br/>".join(escape(part) for part in value.split("\n"))


def _fold_mark(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setStrokeColor(colors.HexColor("#7A7A7A"))
    canvas.setLineWidth(0.3)
    canvas.line(4 * mm, _y(FOLD_MM), 8 * mm, _y(FOLD_MM))
    canvas.restoreState()


def _y(mm_from_top: float) -> float:
    return PAGE_HEIGHT - mm_from_top * mm


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=REGULAR, bulletFontName=REGULAR, fontSize=9.5, leading=12.5,
                          spaceAfter=2.5)
    return {
        "body": base,
        "subject": ParagraphStyle("subject", parent=base, fontName=BOLD, fontSize=13, leading=16, spaceAfter=4),
        "heading": ParagraphStyle("heading", parent=base, fontName=BOLD, fontSize=11, leading=14,
                                  spaceBefore=5, spaceAfter=2),
        "emphasis": ParagraphStyle("emphasis", parent=base, fontName=BOLD),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=5 * mm, bulletIndent=1 * mm, spaceAfter=2),
        "label": ParagraphStyle("label", parent=base, spaceAfter=0),
        "value": ParagraphStyle("value", parent=base, fontName=BOLD, spaceAfter=0),
        "th": ParagraphStyle("th", parent=base, fontName=BOLD, fontSize=_TH_SIZE, leading=10.5, spaceAfter=0),
        "td": ParagraphStyle("td", parent=base, fontSize=_TD_SIZE, leading=11.5, spaceAfter=0),
        "signature": ParagraphStyle("signature", parent=base, spaceAfter=0),
    }
