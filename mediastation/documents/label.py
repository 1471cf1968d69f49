"""The disc label (b7, b37, b38): a 120 x 120 mm page with the disc's outline, for printable discs.

A CD/DVD is 120 mm across with a 15 mm centre hole; the printable surface of common inkjet and
thermal printable discs is the ring from about 23 mm to 118 mm (the hub around the hole has no
coating). The page is the disc's bounding square, so a disc printer's driver or a label sheet
can place it 1:1; the circles are drawn thin and light as a cutting and alignment guide.

Every line is centred on the disc and sized to the chord of the printable ring at its height, so
nothing prints on the hub or past the rim whatever the name's length (it shrinks, then is cut).
Content (b7, b37): institution, patient name, birth date, study dates, "DICOM + WEB" (or "DICOM"
without the viewer), disc n/m when spanning, the file-set id and the request id (which match the
disc to its cover letter, its shipment and the disclosure log), creation date, a confidentiality
marking.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from mediastation import __version__
from mediastation.documents.content import MediumInfo, person_name
from mediastation.documents.fonts import BOLD, REGULAR, register_fonts
from mediastation.documents.texts import check_language, format_dates, format_short_date, text
from mediastation.files import write_bytes_atomic

DISC_DIAMETER_MM = 120.0
HOLE_DIAMETER_MM = 15.0
PRINTABLE_INNER_MM, PRINTABLE_OUTER_MM = 23.0, 118.0
EDGE_MARGIN_MM = 2.5  # kept clear inside the printable ring
SIZE = DISC_DIAMETER_MM * mm
CENTRE = SIZE / 2
MIN_FONT_SIZE = 5.5
ASCENT, DESCENT = 0.93, 0.24  # of the font size: DejaVu Sans' Å and descenders
LINE_GAP_MM = 1.0
HUB_CLEAR_MM = PRINTABLE_INNER_MM / 2 + EDGE_MARGIN_MM  # no text nearer the centre than this


def write_disc_label(
    path: str | os.PathLike[str],
    *,
    patient_name: str,
    birth_date: date | None,
    study_dates: Sequence[date],
    medium: MediumInfo,
    created: date,
    institution: str = "HUS",
    language: str = "fi",
    request_id: str = "",
) -> Path:
    """Write the label PDF for one medium to `path` atomically and return the path.

    `patient_name` is a DICOM PN ("Family^Given") or plain text; `language` picks the words
    (Syntynyt / Född / Born ...), defaulting to Finnish; `request_id` is printed beside the
    medium's file-set id.
    """
    check_language(language)
    register_fonts()
    data = _render(patient_name, birth_date, tuple(study_dates), medium, institution, created, language, request_id)
    return write_bytes_atomic(path, data)


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    font: str
    size: float
    may_wrap: bool = False  # a long name goes on two lines before it is shrunk


def _lines(patient_name: str, birth_date: date | None, study_dates: tuple[date, ...], medium: MediumInfo,
           institution: str, created: date, language: str, request_id: str = "") -> tuple[list[_Line], list[_Line]]:
    """The lines above the hole (from the rim inwards) and below it (from the hub outwards)."""
    above = [_Line(institution, BOLD, 11.0), _Line(person_name(patient_name), BOLD, 13.0, may_wrap=True)]
    if birth_date is not None:
        above.append(_Line(text(language, "label_born", date=format_short_date(birth_date, language)), REGULAR, 8.5))
    if study_dates:
        above.append(_Line(text(language, "label_studies", dates=format_dates(study_dates, language)), REGULAR, 8.5))
    below = [_Line("DICOM + WEB" if medium.viewer_included else "DICOM", BOLD, 10.0)]
    if medium.count > 1:
        below.append(_Line(text(language, "label_disc", index=medium.index, count=medium.count), BOLD, 10.0))
    ids = "  ".join(part for part in (medium.fileset_id, request_id) if part)
    if ids:
        below.append(_Line(ids, REGULAR, 8.0))
    below.append(_Line(text(language, "label_created", date=format_short_date(created, language)), REGULAR, 8.0))
    below.append(_Line(text(language, "label_confidential"), REGULAR, 7.0))
    return above, below


def _render(patient_name: str, birth_date: date | None, study_dates: tuple[date, ...], medium: MediumInfo,
            institution: str, created: date, language: str, request_id: str = "") -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(SIZE, SIZE), invariant=1, initialFontName=REGULAR, pageCompression=1)
    canvas.setTitle(text(language, "label_disc", index=medium.index, count=medium.count))
    canvas.setCreator(f"mediastation {__version__}")
    _outline(canvas)
    above, below = _lines(patient_name, birth_date, study_dates, medium, institution, created, language, request_id)
    # Above the hole: from near the rim inwards; below: from the hub's edge outwards.
    top = PRINTABLE_OUTER_MM / 2 - EDGE_MARGIN_MM - 6.0
    _draw_column(canvas, _wrapped(above, top), first_top_mm=top)
    _draw_column(canvas, _wrapped(below, -HUB_CLEAR_MM), first_top_mm=-HUB_CLEAR_MM)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _wrapped(lines: list[_Line], near_mm: float) -> list[_Line]:
    """Split a `may_wrap` line that does not fit at its size into two balanced lines."""
    result: list[_Line] = []
    for line in lines:
        words = line.text.split()
        room = available_width_mm(near_mm - 12, near_mm + 12) * mm
        if not line.may_wrap or len(words) < 2 or stringWidth(line.text, line.font, line.size) <= room:
            result.append(line)
            continue
        splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
        first, second = min(splits, key=lambda pair: max(stringWidth(p, line.font, line.size) for p in pair))
        smaller = line.size - 1.5
        result += [_Line(first, line.font, smaller), _Line(second, line.font, smaller)]
    return result


def _draw_column(canvas: Canvas, lines: list[_Line], *, first_top_mm: float) -> None:
    """Lines one under another, the first one's ascender at `first_top_mm` (from the centre)."""
    top = first_top_mm
    for line in lines:
        baseline = top - ASCENT * line.size / mm
        used = _draw_centred(canvas, line.text, line.font, line.size, baseline_mm=baseline)
        top = baseline - DESCENT * used / mm - LINE_GAP_MM


def _outline(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.3)
    canvas.setStrokeColor(colors.HexColor("#B0B0B0"))
    canvas.circle(CENTRE, CENTRE, SIZE / 2 - 0.2, stroke=1, fill=0)
    canvas.circle(CENTRE, CENTRE, HOLE_DIAMETER_MM / 2 * mm, stroke=1, fill=0)
    canvas.setDash(1, 2)
    canvas.circle(CENTRE, CENTRE, PRINTABLE_INNER_MM / 2 * mm, stroke=1, fill=0)
    canvas.restoreState()


def available_width_mm(bottom_mm: float, top_mm: float) -> float:
    """Widest centred line whose box (descender to ascender) stays inside the printable ring.

    Heights are from the centre, positive upwards. The rim limits the chord at the box's edge
    farther from the centre; lines are placed off the hub's band, which `_render` keeps clear.
    """
    far = max(abs(bottom_mm), abs(top_mm))
    radius = PRINTABLE_OUTER_MM / 2 - EDGE_MARGIN_MM
    if far >= radius:
        return 0.0
    return 2 * math.sqrt(radius ** 2 - far ** 2)


def _draw_centred(canvas: Canvas, line: str, font: str, size: float, *, baseline_mm: float) -> float:
    """Draw `line` centred at `baseline_mm`, shrunk (then cut) to its chord; returns the size used."""
    def room(points: float) -> float:
        return available_width_mm(baseline_mm - DESCENT * points / mm, baseline_mm + ASCENT * points / mm) * mm

    while size > MIN_FONT_SIZE and stringWidth(line, font, size) > room(size):
        size -= 0.25
    width = room(size)
    if stringWidth(line, font, size) > width:
        while line and stringWidth(line + "…", font, size) > width:
            line = line[:-1]
        line += "…"
    canvas.setFont(font, size)
    canvas.drawCentredString(CENTRE, CENTRE + baseline_mm * mm, line)
    return size
