"""The documents of a medium: cover letter, disc label, README.TXT, INDEX.HTM, in fi / sv / en.

PDFs are read back with poppler (`pdftotext`, `pdffonts`, `pdfinfo`: Debian poppler-utils), the way
a recipient's computer would read them, not through reportlab's own objects.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path

import pytest

from mediastation.documents import fonts
from mediastation.documents.content import (
    HUS_IMAGING_CUSTOMER_SERVICE,
    Disclosure,
    IndexPatient,
    IndexSeries,
    IndexStudy,
    MediumInfo,
    Recipient,
    StudyLine,
    person_name,
)
from mediastation.documents.label import DISC_DIAMETER_MM, PRINTABLE_INNER_MM, PRINTABLE_OUTER_MM, write_disc_label
from mediastation.documents.letter import WINDOW_MM, write_cover_letter
from mediastation.documents.readme import encode_readme, index_page_html, readme_text
from mediastation.documents.texts import (
    LANGUAGES,
    MEDIUM_WORD_KEYS,
    MEDIUM_WORDS,
    TEXTS,
    basis_label,
    media_summary,
    medium_words,
    placeholders,
    text,
)
from mediastation.errors import InputError
from mediastation.files import write_atomic

MM = 72 / 25.4
PATIENT_PN = "Mäkelä^Åsa"
PATIENT = "Åsa Mäkelä"
HETU = "010594Y9032"
CREATED = date(2026, 11, 26)


@pytest.fixture(scope="module", autouse=True)
def poppler() -> None:
    missing = [tool for tool in ("pdftotext", "pdffonts", "pdfinfo") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: install Debian poppler-utils (the tests read PDFs back with it)")


def studies(n: int = 3) -> list[StudyLine]:
    names = ["Thorax PA ja LAT", "Pään TT natiivi ja varjoaine", "Lannerangan MT"]
    return [StudyLine(f"RAD{100200 + i}", names[i % 3], datetime(2026, 11, 20 - i % 19, 8 + i % 9, 31),
                      (("CR",), ("CT",), ("MR",))[i % 3], report=(i % 2 == 0), disc=1 + i % 2) for i in range(n)]


def letter(tmp_path: Path, language: str, *, n: int = 3, media: list[MediumInfo] | None = None,
           recipient: Recipient | None = None, name: str = "letter.pdf") -> Path:
    media = media or [MediumInfo(1, 2, "dvd", "HUS2611260042"), MediumInfo(2, 2, "dvd", "HUS2611260043")]
    return write_cover_letter(
        tmp_path / name, language=language, sender=HUS_IMAGING_CUSTOMER_SERVICE,
        recipient=recipient or Recipient("Åsa Mäkelä", "Österbyntie 5 B 12", "00100", "Helsinki",
                                         attention="c/o Jyrki Öhman"),
        disclosure=Disclosure(PATIENT_PN, HETU, basis_label("consent", language, "HUS-S-2026-114"),
                              "REQ-2026-0042", date(2026, 11, 25)),
        studies=studies(n), media=media, created=CREATED)


def pdf_text(path: Path) -> str:
    """The text in drawing order (-raw): a table cell's wrapped lines stay together."""
    return subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def flat(value: str) -> str:
    return " ".join(value.split())


def words_with_boxes(path: Path) -> list[tuple[str, float, float, float, float, int]]:
    """(word, xMin, yMin, xMax, yMax, page) in points from the page's top-left, via `pdftotext -bbox-layout`."""
    html = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", html))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    found = []
    for page_number, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), start=1):
        for word in page.iterfind(".//x:word", ns):
            found.append((word.text or "", *(float(word.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")),
                          page_number))
    return found


def page_size_points(path: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    return float(width), float(height)


def assert_fonts_embedded(path: Path) -> None:
    rows = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    assert rows, "no fonts at all: the text would not be text"
    for row in rows:
        emb = row.split()[-5]  # columns: name type [type2] encoding emb sub uni object ID
        assert emb == "yes", f"font not embedded: {row}"


# -- texts -------------------------------------------------------------------------------------

def test_every_language_has_every_text_with_the_same_placeholders() -> None:
    keys = set(TEXTS["fi"])
    for language in LANGUAGES:
        assert set(TEXTS[language]) == keys, (language, keys ^ set(TEXTS[language]))
        assert set(MEDIUM_WORDS[language]) == {"disc", "usb"}
        for kind in ("disc", "usb"):
            assert set(MEDIUM_WORDS[language][kind]) == MEDIUM_WORD_KEYS, (language, kind)
        for key, template in TEXTS[language].items():
            assert template.strip(), (language, key)
            # Data placeholders ({request_id}, {count} ...) must be the same in every language;
            # the medium's noun forms may differ (Finnish needs cases that Swedish does not).
            assert placeholders(template) - MEDIUM_WORD_KEYS == placeholders(TEXTS["fi"][key]) - MEDIUM_WORD_KEYS, \
                (language, key)
            values = {name: "X" for name in placeholders(template)}
            text(language, key, **values)  # formats without a KeyError or a stray brace


def test_an_unknown_language_is_refused_with_the_choices() -> None:
    with pytest.raises(InputError, match="fi, sv, en"):
        text("de", "subject")


def test_media_summary_counts_discs() -> None:
    assert media_summary(["cd"], "fi") == "1 CD"
    assert media_summary(["dvd", "dvd"], "sv") == "2 DVD"
    assert media_summary(["usb"], "en") == "1 USB stick"


def test_person_name_reads_dicom_pn() -> None:
    assert person_name("Mäkelä^Åsa") == "Åsa Mäkelä"
    assert person_name("Öhman^Jyrki^Kalevi") == "Jyrki Kalevi Öhman"
    assert person_name("Virtanen^Liisa^^Dr") == "Dr Liisa Virtanen"
    assert person_name("Lindqvist^Anna=リンドクヴィスト^アンナ") == "Anna Lindqvist"
    assert person_name("  Plain   Name ") == "Plain Name"


def test_medium_info_is_valid_on_construction() -> None:
    with pytest.raises(ValueError, match="3/2"):
        MediumInfo(3, 2, "cd")
    with pytest.raises(ValueError, match="kind"):
        MediumInfo(1, 1, "floppy")
    with pytest.raises(ValueError, match="file-set id"):
        MediumInfo(1, 1, "cd", "hus-2026")


# -- cover letter ------------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_letter_says_who_what_how_many_and_what_if_misdelivered(tmp_path: Path, language: str) -> None:
    path = letter(tmp_path, language)
    body = flat(pdf_text(path))
    assert PATIENT in body and HETU in body
    for study in studies():
        assert study.accession_number in body
        assert flat(study.study_description) in body
    assert "2 DVD" in body  # the number of discs
    words = medium_words(language, usb=False)
    assert flat(text(language, "wrong_recipient", **words)) in body
    assert flat(text(language, "view_no_autorun", **words)) in body  # b8: started by hand
    assert "INDEX.HTM" in body
    assert flat(text(language, "report_included")) in body and flat(text(language, "report_missing")) in body
    assert "HUS-S-2026-114" in body and "REQ-2026-0042" in body
    assert HUS_IMAGING_CUSTOMER_SERVICE.phone in body and HUS_IMAGING_CUSTOMER_SERVICE.email in body
    assert_fonts_embedded(path)


def test_letter_dates_are_finnish_style_in_finnish_and_swedish(tmp_path: Path) -> None:
    fi = flat(pdf_text(letter(tmp_path, "fi", name="fi.pdf")))
    sv = flat(pdf_text(letter(tmp_path, "sv", name="sv.pdf")))
    en = flat(pdf_text(letter(tmp_path, "en", name="en.pdf")))
    assert "26.11.2026" in fi and "20.11.2026 klo 08.31" in fi and "25.11.2026" in fi
    assert "26.11.2026" in sv and "20.11.2026 kl. 08.31" in sv
    assert "26 November 2026" in en and "2026-11-20 08:31" in en


def test_address_is_inside_the_envelope_window_and_alone_there(tmp_path: Path) -> None:
    path = letter(tmp_path, "fi")
    x, y, w, h = WINDOW_MM
    slack = 3 * MM  # the sheet may slide this much in the envelope and still show the address
    left, top, right, bottom = x * MM + slack, y * MM + slack, (x + w) * MM - slack, (y + h) * MM - slack
    expected = ["Åsa", "Mäkelä", "c/o", "Jyrki", "Öhman", "Österbyntie", "5", "B", "12", "00100", "HELSINKI"]
    page_one = [word for word in words_with_boxes(path) if word[5] == 1]
    in_window = [word for word in page_one
                 if word[3] > x * MM and word[1] < (x + w) * MM and word[4] > y * MM and word[2] < (y + h) * MM]
    assert [word[0] for word in in_window] == expected, "only the address may show through the window"
    for word, x0, y0, x1, y1, _ in in_window:
        assert left <= x0 and x1 <= right and top <= y0 and y1 <= bottom, (word, x0 / MM, y0 / MM, x1 / MM, y1 / MM)


def test_foreign_address_ends_with_the_country_in_capitals(tmp_path: Path) -> None:
    path = letter(tmp_path, "sv", recipient=Recipient("Lars Öberg", "Storgatan 1", "SE-111 22", "Stockholm",
                                                      country="SE"))
    lines = [line.strip() for line in pdf_text(path).splitlines()]
    at = lines.index("Lars Öberg")
    assert lines[at:at + 4] == ["Lars Öberg", "Storgatan 1", "SE-111 22 STOCKHOLM", "SWEDEN"]


def test_a_long_letter_continues_on_numbered_pages_with_every_study(tmp_path: Path) -> None:
    path = letter(tmp_path, "fi", n=40)
    body = pdf_text(path)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 2
    for page in range(1, pages + 1):
        assert f"{page} ({pages})" in body
    assert body.count(text("fi", "col_accession")) >= 2  # the table's header repeats on the next page
    for study in studies(40):
        assert study.accession_number in body
    assert flat(text("fi", "wrong_recipient", **medium_words("fi", usb=False))) in flat(body)


def test_letter_for_a_usb_stick_and_no_reports_and_no_window(tmp_path: Path) -> None:
    lines = [StudyLine("ACC1", "Pään TT", datetime(2026, 1, 2, 3, 4), ("CT",))]
    path = write_cover_letter(tmp_path / "usb.pdf", language="en", sender=HUS_IMAGING_CUSTOMER_SERVICE,
                              recipient=None, disclosure=Disclosure(PATIENT_PN, HETU, "The patient's care", "R1",
                                                                    CREATED),
                              studies=lines, media=[MediumInfo(1, 1, "usb")], created=CREATED)
    body = flat(pdf_text(path))
    assert "1 USB stick" in body and "The USB stick does not start by itself" in body
    assert text("en", "col_report") not in body  # reports not applicable: no column
    assert "Österbyntie" not in body


def test_letter_is_the_same_bytes_for_the_same_content(tmp_path: Path) -> None:
    # A resumed export stage rewrites LETTER.PDF; the medium's checksums must not change.
    assert letter(tmp_path, "fi", name="a.pdf").read_bytes() == letter(tmp_path, "fi", name="b.pdf").read_bytes()


def test_patient_text_cannot_inject_markup_into_the_letter(tmp_path: Path) -> None:
    path = write_cover_letter(tmp_path / "x.pdf", language="fi", sender=HUS_IMAGING_CUSTOMER_SERVICE, recipient=None,
                              disclosure=Disclosure("<b>Bold</b>^A&B", HETU, "<font size=40>x</font>", "R<1>",
                                                    CREATED),
                              studies=[StudyLine("A&1", "<i>T</i> & <br/>", datetime(2026, 1, 2, 3, 4))],
                              media=[MediumInfo(1, 1, "cd")], created=CREATED)
    body = flat(pdf_text(path))
    assert "A&B <b>Bold</b>" in body and "<font size=40>x</font>" in body and "<i>T</i> & <br/>" in body


def test_bad_language_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        letter(tmp_path, "de")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_the_old_file_when_building_fails(tmp_path: Path) -> None:
    target = tmp_path / "LETTER.PDF"
    target.write_bytes(b"old")

    def broken(temp: Path) -> None:
        temp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["LETTER.PDF"]  # no temporary file left


def test_missing_fonts_give_a_message_that_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setattr(fonts, "candidates", lambda: [fonts.FontFiles(tmp_path / "no.ttf", tmp_path / "nob.ttf")])
    with pytest.raises(fonts.FontMissing, match="fonts-dejavu-core"):
        fonts.register_fonts.__wrapped__()


# -- disc label --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [PATIENT_PN, "Öhman-Järvenpää-Lindqvist^Anna-Kaarina Åsa Marianne Sofia"])
def test_label_is_a_120_mm_disc_with_everything_in_the_printable_ring(tmp_path: Path, name: str) -> None:
    path = write_disc_label(tmp_path / "label.pdf", patient_name=name, birth_date=date(1994, 5, 1),
                            study_dates=[date(2026, 11, 20), date(2026, 11, 19)],
                            medium=MediumInfo(2, 3, "dvd", "HUS2611260042"), created=CREATED)
    width, height = page_size_points(path)
    assert abs(width - 120 * MM) < 0.1 and abs(height - 120 * MM) < 0.1
    body = flat(pdf_text(path))
    for expected in (person_name(name), "1.5.1994", "19.11.2026", "20.11.2026", "DICOM + WEB", "2/3", "HUS",
                     "26.11.2026"):
        assert expected in body, expected
    centre = DISC_DIAMETER_MM / 2 * MM
    for word, x0, y0, x1, y1, _ in words_with_boxes(path):
        corners = [(x, y) for x in (x0, x1) for y in (y0, y1)]
        farthest = max(((x - centre) ** 2 + (y - centre) ** 2) ** 0.5 for x, y in corners)
        nearest_x = min(max(centre, x0), x1)
        nearest_y = min(max(centre, y0), y1)
        nearest = ((nearest_x - centre) ** 2 + (nearest_y - centre) ** 2) ** 0.5
        assert farthest <= PRINTABLE_OUTER_MM / 2 * MM, (word, farthest / MM)
        assert nearest >= PRINTABLE_INNER_MM / 2 * MM, (word, nearest / MM)
    assert_fonts_embedded(path)


def test_label_without_viewer_says_dicom_only_and_single_disc_has_no_number(tmp_path: Path) -> None:
    path = write_disc_label(tmp_path / "l.pdf", patient_name=PATIENT_PN, birth_date=None, study_dates=[],
                            medium=MediumInfo(1, 1, "cd", viewer_included=False), created=CREATED, language="en")
    body = flat(pdf_text(path))
    assert "DICOM" in body and "WEB" not in body and "1/1" not in body
    assert "Created 2026-11-26" in body


# -- README.TXT and INDEX.HTM ------------------------------------------------------------------

def test_readme_has_three_languages_short_crlf_lines_and_a_bom() -> None:
    content = readme_text(station_name="HUS Meilahti media station", application_version="0.1.0",
                          sender=HUS_IMAGING_CUSTOMER_SERVICE, created=CREATED,
                          medium=MediumInfo(1, 2, "cd", "HUS2611260042"), viewer_name="HUS web viewer 1.0")
    assert "\n" not in content.replace("\r\n", "")  # every line ends CRLF, no bare LF or CR
    lines = content.split("\r\n")
    assert max(len(line) for line in lines) <= 80
    for language in LANGUAGES:
        assert text(language, "readme_title") in content
        assert text(language, "readme_disclaimer_heading") in content
    assert flat(text("sv", "wrong_recipient", **medium_words("sv", usb=False))) in flat(content)
    for fact in ("HUS Meilahti media station", "0.1.0", "HUS web viewer 1.0", "INDEX.HTM", "DICOMDIR",
                 "HUS2611260042", "1/2", "kuvapalvelut@hus.fi", "09 471 76658", "26.11.2026"):
        assert fact in content, fact
    data = encode_readme(content)
    assert data.startswith(b"\xef\xbb\xbf") and data[3:].decode("utf-8") == content


def test_readme_in_one_language_without_viewer() -> None:
    content = readme_text(station_name="S", application_version="9", sender=HUS_IMAGING_CUSTOMER_SERVICE,
                          created=CREATED, medium=MediumInfo(1, 1, "usb", viewer_included=False), viewer_name="V 1",
                          languages=("en",))
    assert text("en", "readme_title") in content and text("fi", "readme_title") not in content
    assert "V 1" not in content and "USB stick" in content


def test_index_page_escapes_everything_and_links_in_lower_case() -> None:
    patients = [IndexPatient("<script>alert(1)</script>^Åsa", "010594Y9032", date(1994, 5, 1), (
        IndexStudy('Pään TT & "varjo"', datetime(2026, 11, 20, 10, 31), "RAD<1>", (
            IndexSeries("<img src=x onerror=alert(2)>", "CT", 120, '1.2.3"><script>x</script>'),
            IndexSeries("Topogram", "CT", 1, "1.2.246.4"),
            IndexSeries("Dose report", "SR", 1),
        )),
    ))]
    page = index_page_html(patients, language="fi", viewer_href="VIEWER/INDEX.HTM")
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>"))  # well-formed XHTML
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    assert not root.findall(".//x:script", ns)
    series = [li for li in root.iterfind(".//x:li", ns) if li.get("data-series") is not None]
    assert [li.get("data-series") for li in series] == ['1.2.3"><script>x</script>', "1.2.246.4"]
    assert "Topogram" in "".join(series[1].itertext()) and "1 kuva" in "".join(series[1].itertext())
    hrefs = [a.get("href") for a in root.iterfind(".//x:a", ns)]
    assert hrefs == ["viewer/index.htm", "letter.pdf", "readme.txt"]
    assert "Åsa <script>alert(1)</script>" in "".join(root.find(".//x:h2", ns).itertext())
