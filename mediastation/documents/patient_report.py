"""The patient's disclosure report (luovutusselvitys): to whom their images went (act 703/2023 § 11).

A letter on A4 in the cover letter's layout (letterhead, document name, date and confidentiality
marking as in mediastation/documents/letter.py), in Finnish, Swedish or English: the patient, then
every disclosure in the log with its time in Helsinki, recipient, basis, channel, what was released
and who released it. An entry that fails the log's verification is printed with a NOT VERIFIED mark,
never left out. Real text in the embedded font, so `pdftotext` reads it back.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle

from mediastation import __version__
from mediastation.documents.content import Sender, person_name
from mediastation.documents.fonts import BOLD, REGULAR, register_fonts
from mediastation.documents.letter import (
    _CELL_PADDING,
    _TABLE_FONT,
    BODY_WIDTH,
    LEFT,
    PAGE_NUMBER_X,
    RIGHT_COLUMN,
    _markup,
    _styles,
    _y,
)
from mediastation.documents.texts import check_language, format_date, format_datetime, text
from mediastation.files import write_bytes_atomic

BODY_TOP_MM, BODY_BOTTOM_MM = 44.0, 14.0


@dataclass(frozen=True)
class DisclosureLine:
    """One disclosure as the report prints it (times already in Helsinki)."""

    seq: int
    when: datetime
    recipient: str
    basis: str
    channel: str
    released: tuple[str, ...]
    by: str
    correction: str = ""
    verified: bool = True


def write_patient_report(path: str | os.PathLike[str], *, language: str, sender: Sender, hetu: str,
                         patient_name: str, lines: Sequence[DisclosureLine], created: date) -> Path:
    check_language(language)
    register_fonts()
    report = _Report(language, sender, hetu, patient_name, tuple(lines), created)
    return write_bytes_atomic(path, report.render())


class _Report:
    def __init__(self, language: str, sender: Sender, hetu: str, patient_name: str,
                 lines: tuple[DisclosureLine, ...], created: date) -> None:
        self.language, self.sender, self.hetu, self.patient_name = language, sender, hetu, patient_name
        self.lines, self.created = lines, created
        self.styles = _styles()

    def t(self, key: str, **values: object) -> str:
        return text(self.language, key, **values)

    def render(self) -> bytes:
        pages = self._build(io.BytesIO(), None)
        buffer = io.BytesIO()
        self._build(buffer, pages)
        return buffer.getvalue()

    def _build(self, buffer: io.BytesIO, total_pages: int | None) -> int:
        doc = BaseDocTemplate(buffer, pagesize=A4, title=self.t("plog_subject"), author=self.sender.organisation,
                              creator=f"mediastation {__version__}", lang=self.language, invariant=1,
                              initialFontName=REGULAR, initialFontSize=10)
        frame = Frame(LEFT, BODY_BOTTOM_MM * mm, BODY_WIDTH, (297 - BODY_TOP_MM - BODY_BOTTOM_MM) * mm,
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)

        def decorate(canvas: Canvas, document: BaseDocTemplate) -> None:
            self._letterhead(canvas, document.page, total_pages)

        doc.addPageTemplates([PageTemplate("page", [frame], onPage=decorate)])
        doc.build(self._story())
        return doc.page

    def _story(self) -> list:
        s, t = self.styles, self.t
        facts = [(t("label_patient"), person_name(self.patient_name) if self.patient_name else ""),
                 (t("label_hetu"), self.hetu), (t("plog_label_prepared"), format_date(self.created, self.language)),
                 (t("plog_label_count"), str(len(self.lines)))]
        table = Table([[Paragraph(escape(a), s["label"]), Paragraph(escape(b), s["value"])] for a, b in facts],
                      colWidths=[48 * mm, BODY_WIDTH - 48 * mm], hAlign="LEFT")
        table.setStyle(TableStyle([*_TABLE_FONT, ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        story: list = [Paragraph(escape(t("plog_subject")), s["subject"]), Paragraph(escape(t("plog_intro")), s["body"]),
                       Spacer(0, 1.5 * mm), table, Spacer(0, 3 * mm)]
        if not self.lines:
            story.append(Paragraph(escape(t("plog_none")), s["body"]))
        else:
            story.append(self._disclosures())
            if any(not line.verified for line in self.lines):
                story += [Spacer(0, 2 * mm), Paragraph(escape(t("plog_unverified_note")), s["emphasis"])]
        story += [Spacer(0, 4 * mm),
                  Paragraph(escape(t("contact", phone=self.sender.phone, email=self.sender.email)), s["body"]),
                  Paragraph(escape(t("regards")), s["signature"]),
                  *(Paragraph(escape(x), s["signature"]) for x in (self.sender.person, self.sender.unit) if x.strip())]
        return story

    def _disclosures(self) -> Table:
        s, t = self.styles, self.t
        keys = ["plog_col_when", "plog_col_recipient", "plog_col_basis", "plog_col_channel", "plog_col_released",
                "plog_col_by"]
        data = [[Paragraph(_markup(t(k)), s["th"]) for k in keys]]
        for line in self.lines:
            released = "\n".join(line.released)
            if line.correction:
                released += ("\n" if released else "") + line.correction
            if not line.verified:
                released += "\n" + t("plog_unverified")
            cells = [f"{format_datetime(line.when, self.language)}\n#{line.seq}", line.recipient, line.basis,
                     line.channel, released, line.by]
            data.append([Paragraph(_markup(c), s["td"]) for c in cells])
        widths = [x * mm for x in (23, 30, 34, 17, 38, 28)]
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

    def _letterhead(self, canvas: Canvas, page: int, total_pages: int | None) -> None:
        sender, t = self.sender, self.t
        canvas.saveState()
        canvas.setFont(BOLD, 14)
        canvas.drawString(LEFT, _y(15), sender.organisation)
        canvas.setFont(REGULAR, 8.5)
        for n, line in enumerate([sender.unit[:70], f"{sender.street}, {sender.postal_code} {sender.city}",
                                  f"{text(self.language, 'phone', phone=sender.phone)} · {sender.email}"]):
            canvas.drawString(LEFT, _y(20 + 3.7 * n), line)
        canvas.setFont(BOLD, 11)
        canvas.drawString(RIGHT_COLUMN, _y(15), t("plog_doc_type"))
        if total_pages:
            canvas.setFont(REGULAR, 9)
            canvas.drawRightString(PAGE_NUMBER_X, _y(15), t("page", page=page, pages=total_pages))
        canvas.setFont(REGULAR, 9.5)
        canvas.drawString(RIGHT_COLUMN, _y(20.5), format_date(self.created, self.language))
        canvas.setFont(BOLD, 8.5)
        canvas.drawString(RIGHT_COLUMN, _y(31), t("confidential"))
        canvas.setFont(REGULAR, 7.5)
        canvas.drawString(RIGHT_COLUMN, _y(34.5), t("confidential_basis"))
        canvas.restoreState()
