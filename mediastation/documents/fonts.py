"""The TrueType fonts every document embeds, so ä/ö/å print and stay selectable text.

reportlab's built-in Helvetica is not embedded and covers Latin-1 only through the viewer's own
font, so the PDFs carry a TrueType face instead: DejaVu Sans from Debian `fonts-dejavu-core`
(Latin, Greek, Cyrillic: every Finnish, Swedish and Sami letter), else the Bitstream Vera that ships
inside reportlab (Latin-1 and the letters of cp1252 such as š/ž), else a refusal that says what to
install. reportlab embeds a subset of the glyphs used, so a letter stays small (~30 kB).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFError

from mediastation.errors import MediaStationError

REGULAR = "MediaStationSans"
BOLD = "MediaStationSans-Bold"

_DEJAVU_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts/dejavu")
_REPORTLAB_FONTS = Path(reportlab.__file__).parent / "fonts"


class FontMissing(MediaStationError):
    """No TrueType font with ä/ö/å is installed: the station cannot write its documents."""

    code = "font_missing"


@dataclass(frozen=True, slots=True)
class FontFiles:
    regular: Path
    bold: Path


def candidates() -> list[FontFiles]:
    """Font pairs in order of preference; `MEDIASTATION_FONT_DIR` (DejaVuSans*.ttf) comes first."""
    dirs = [os.environ["MEDIASTATION_FONT_DIR"]] if os.environ.get("MEDIASTATION_FONT_DIR") else []
    found = [FontFiles(Path(d) / "DejaVuSans.ttf", Path(d) / "DejaVuSans-Bold.ttf") for d in [*dirs, *_DEJAVU_DIRS]]
    found.append(FontFiles(_REPORTLAB_FONTS / "Vera.ttf", _REPORTLAB_FONTS / "VeraBd.ttf"))
    return found


@lru_cache(maxsize=1)
def register_fonts() -> FontFiles:
    """Register REGULAR and BOLD with reportlab once per process; the files used are returned."""
    tried = []
    for pair in candidates():
        tried.append(str(pair.regular))
        if not (pair.regular.is_file() and pair.bold.is_file()):
            continue
        try:
            pdfmetrics.registerFont(TTFont(REGULAR, str(pair.regular)))
            pdfmetrics.registerFont(TTFont(BOLD, str(pair.bold)))
        except TTFError:
            continue
        pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
        return pair
    raise FontMissing(
        "No TrueType font with ä/ö/å was found for the cover letter and labels (looked for "
        + ", ".join(tried) + "). Install Debian's fonts-dejavu-core (apt-get install fonts-dejavu-core) "
        "or set MEDIASTATION_FONT_DIR to a folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf.",
        details={"tried": tried},
    )
