"""README.TXT and the plain INDEX.HTM at the root of every medium (IHE PDI, export_anchors b5, b6, b8).

README.TXT says what the medium is, who made it with which application and version, how to open it
(no autorun: by hand, INDEX.HTM in a browser; DICOMDIR for a PACS), what the viewer needs, whom to
contact, the confidentiality notice and that the viewer is not for diagnosis: in Finnish, Swedish
and English in one file. Plain text, lines of at most 78 characters, CRLF line endings (Windows
Notepad before Windows 10 1809 shows LF-only files as one long line), encoded as UTF-8 **with a
BOM** by `encode_readme`: Notepad before Windows 10 1903 reads BOM-less files as the ANSI code page
and would garble ä/ö/å, and most other editors and browsers honour the BOM too.

INDEX.HTM is restricted, script-free XHTML (polyglot: well-formed XML that is also HTML5, so the
`data-series` attributes of interfaces.md are valid) with lower-case links, which work on a pure
ISO 9660 disc without Joliet (b6). The viewer engineer may replace it; this page is its fallback.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date
from html import escape

from mediastation.documents.content import IndexPatient, IndexStudy, MediumInfo, Sender, person_name
from mediastation.documents.texts import (
    LANGUAGES,
    check_language,
    format_date,
    format_datetime,
    format_short_date,
    medium_words,
    text,
)

README_WIDTH = 78
CRLF = "\r\n"
README_ENCODING = "utf-8-sig"  # UTF-8 with a BOM, see the module docstring


def readme_text(
    *,
    station_name: str,
    application_version: str,
    sender: Sender,
    created: date,
    medium: MediumInfo,
    viewer_name: str,
    languages: Sequence[str] = LANGUAGES,
) -> str:
    """README.TXT's text with CRLF line endings; write it with `encode_readme`.

    `viewer_name` names the viewer and its version ("HUS web viewer 1.0"); it is mentioned only
    when `medium.viewer_included`.
    """
    if not languages:
        raise ValueError("README.TXT needs at least one language")
    sections = [_readme_section(check_language(lang), station_name, application_version, sender, created,
                                medium, viewer_name) for lang in languages]
    rule = "=" * README_WIDTH
    lines: list[str] = []
    for section in sections:
        lines += [rule, *section, ""]
    return CRLF.join(lines) + CRLF


def encode_readme(content: str) -> bytes:
    """The bytes to write as README.TXT (UTF-8 with a BOM)."""
    return content.encode(README_ENCODING)


def _readme_section(lang: str, station_name: str, version: str, sender: Sender, created: date,
                    medium: MediumInfo, viewer_name: str) -> list[str]:
    words = medium_words(lang, usb=not medium.is_disc)

    def t(key: str, **values: object) -> str:
        return text(lang, key, **words, **values)

    what = t("readme_what")
    if medium.viewer_included:
        what += " " + t("readme_what_viewer", viewer=viewer_name)
    requirements = t("readme_requirements")
    if medium.viewer_included:
        requirements += " " + t("readme_requirements_viewer")
    lines = [t("readme_title"), ""]
    lines += _wrap(what)
    lines += _wrap(t("readme_medium", index=medium.index, count=medium.count, fileset_id=medium.fileset_id or "-"))
    lines += _wrap(t("readme_made_by", sender=sender.name, date=format_date(created, lang)))
    lines += _wrap(t("readme_application", station_name=station_name, version=version))
    lines += ["", t("readme_open_heading")]
    lines += _bullets([t("readme_open"), t("view_no_autorun"), t("readme_dicom")])
    lines += ["", t("readme_requirements_heading")]
    lines += _wrap(requirements)
    lines += ["", t("readme_privacy_heading")]
    lines += _wrap(t("privacy")) + _wrap(t("wrong_recipient"))
    lines += ["", t("readme_disclaimer_heading")]
    lines += _wrap(t("readme_disclaimer"))
    lines += ["", t("readme_contact_heading")]  # last: the privacy notice says "details below"
    lines += _wrap(sender.name)
    lines += _wrap(f"{sender.street}, {sender.postal_code} {sender.city}")
    lines += _wrap(f"{t('phone', phone=sender.phone)}, {sender.email}")
    return lines


def _wrap(paragraph: str) -> list[str]:
    return textwrap.wrap(paragraph, README_WIDTH, break_on_hyphens=False) or [""]


def _bullets(items: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for item in items:
        lines += textwrap.wrap(item, README_WIDTH, initial_indent="- ", subsequent_indent="  ",
                               break_on_hyphens=False)
    return lines


# -- INDEX.HTM -----------------------------------------------------------------------------------

def index_page_html(
    patients: Sequence[IndexPatient],
    *,
    language: str = "fi",
    viewer_href: str | None = None,
    letter_href: str | None = "LETTER.PDF",
    readme_href: str | None = "README.TXT",
    usb: bool = False,
    link_case: str = "lower",
) -> str:
    """INDEX.HTM: patients -> studies -> series, with links to the viewer, the letter and README.

    Every value is HTML-escaped (a patient called `<script>` prints as text). Links are written in
    `link_case` ("lower", b6; "upper" or "as-is" for media whose file system is case-sensitive and
    keeps upper-case names). Each series entry carries `data-series="<SeriesInstanceUID>"`.
    """
    lang = check_language(language)
    words = medium_words(lang, usb=usb)

    def t(key: str, **values: object) -> str:
        return escape(text(lang, key, **words, **values))

    def link(href: str) -> str:
        return escape(_cased(href, link_case))

    body: list[str] = [f"<h1>{t('index_title')}</h1>", f"<p>{t('index_intro')}</p>", "<ul>"]
    if viewer_href:
        body.append(f'<li><a href="{link(viewer_href)}">{t("index_open_viewer")}</a> {t("index_viewer_needs_js")}</li>')
    if letter_href:
        body.append(f'<li><a href="{link(letter_href)}">{t("index_letter")}</a></li>')
    if readme_href:
        body.append(f'<li><a href="{link(readme_href)}">{t("index_readme")}</a></li>')
    body.append("</ul>")
    for patient in patients:
        body += _patient_html(patient, lang)
    body += [f"<p>{t('index_dicom')}</p>",
             f"<p><strong>{t('index_not_diagnostic')}</strong> {t('privacy')}</p>"]
    title = t("index_title")
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html xmlns="http://www.w3.org/1999/xhtml" lang="{lang}" xml:lang="{lang}">',
        "<head>",
        '<meta charset="UTF-8" />',
        f"<title>{title}</title>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def _patient_html(patient: IndexPatient, lang: str) -> list[str]:
    facts = []
    if patient.patient_id:
        facts.append(f"{escape(text(lang, 'index_patient_id'))}: {escape(patient.patient_id)}")
    if patient.birth_date:
        facts.append(f"{escape(text(lang, 'index_birth_date'))}: {escape(format_short_date(patient.birth_date, lang))}")
    lines = [f"<h2>{escape(person_name(patient.name))}</h2>"]
    if facts:
        lines.append(f"<p>{'<br />'.join(facts)}</p>")
    for study in patient.studies:
        lines += _study_html(study, lang)
    return lines


def _study_html(study: IndexStudy, lang: str) -> list[str]:
    heading = escape(study.description)
    if study.study_datetime is not None:
        heading += f" &#8211; {escape(format_datetime(study.study_datetime, lang))}"
    lines = [f"<h3>{heading}</h3>"]
    if study.accession_number:
        label = text(lang, "col_accession").replace("-\n", "").replace("\n", " ")
        lines.append(f"<p>{escape(label)}: {escape(study.accession_number)}</p>")
    lines.append("<ul>")
    for series in study.series:
        count = text(lang, "index_image_one") if series.count == 1 else text(lang, "index_images", count=series.count)
        attribute = f' data-series="{escape(series.series_uid)}"' if series.series_uid else ""
        label = " ".join(x for x in (escape(series.modality), escape(series.description)) if x)
        lines.append(f"<li{attribute}>{label} ({escape(count)})</li>")
    lines.append("</ul>")
    return lines


def _cased(href: str, link_case: str) -> str:
    if link_case == "lower":
        return href.lower()
    if link_case == "upper":
        return href.upper()
    if link_case == "as-is":
        return href
    raise ValueError(f"link_case {link_case!r} is not lower, upper or as-is")
