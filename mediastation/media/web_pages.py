"""The text files of the viewer on a medium: IHE_PDI/MANIFEST.JS, the root INDEX.HTM and the
script-free IHE_PDI/INDEX.HTM.

Everything taken from DICOM headers is data, never markup: the manifest is JSON inside a script
with `<`, `>`, `&`, U+2028 and U+2029 escaped (so `</script>` in a patient name cannot end the
script), and the HTML pages escape every value. Links in the static pages name the files as the
disc records them (upper-case ISO 9660 / Joliet names): that is what Windows, macOS, a Linux mount
of the disc (Joliet) or a USB stick, and an extracted copy show, and a copy's file system is case
sensitive. Lower-case links worked only where case does not matter, and broke every preview of an
extracted disc. (The viewer's script finds the case the disc shows by itself.)
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from mediastation.media.web_types import PatientEntry, ReportLink, SeriesEntry, StudyEntry

NOTICE = ("Vain tiedoksi – ei diagnostiseen käyttöön · Endast för information – inte för diagnostik · "
          "For information only – not for diagnosis")
TITLE = "Kuvat · Bilder · Images"
REPORT_LABEL = "Lausunto · Utlåtande · Report"
_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def js_json(value: Any) -> str:
    """JSON that is safe inside a <script> element and inside a .JS file of any encoding (ASCII only)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    for char, escaped in _JS_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def manifest_script(patients: list[PatientEntry], language: str) -> str:
    """IHE_PDI/MANIFEST.JS: window.DISC_MANIFEST = {...} (format 1, read by viewer_bundle/src/viewer.js)."""
    manifest = {
        "format": 1,
        "language": language,
        "patients": [{
            "name": p.name, "id": p.id, "birthDate": p.birth_date, "sex": p.sex,
            "studies": [{
                "uid": st.uid, "date": st.date, "time": st.time, "description": st.description,
                "accession": st.accession,
                "reports": [{"title": r.title, "path": r.medium_path} for r in st.reports],
                "series": [_series_json(se) for se in st.series],
            } for st in p.studies],
        } for p in patients],
    }
    return "window.DISC_MANIFEST = " + js_json(manifest) + ";\n"


def _series_json(series: SeriesEntry) -> dict[str, Any]:
    return {
        "uid": series.uid, "key": series.key, "number": series.number, "modality": series.modality,
        "description": series.description, "embedded": series.embedded, "thumb": series.thumb,
        "frameRate": series.frame_rate, "stack": series.stack,
        "images": [{"dicom": i.dicom, "sop": i.sop, "frame": i.frame, "number": i.number,
                    "preview": i.preview, "data": i.data} for i in series.images],
    }


def data_script(key: str, meta: dict[str, Any], base64_payload: bytes) -> bytes:
    """IHE_PDI/SEnnnn/DAnnnnn.JS: one frame's embedded copy, loaded by the viewer with <script>."""
    head, tail = data_script_frame(key, meta)
    return head + base64_payload + tail


def data_script_frame(key: str, meta: dict[str, Any]) -> tuple[bytes, bytes]:
    """What goes before and after the base64 payload in a data script (ASCII), so that a large
    payload can be written to the file as it is, without a copy."""
    return f"DISC_DATA({js_json(key)},{js_json(meta)},\"".encode("ascii"), b'");\n'


def _name(value: str) -> str:
    parts = value.split("=")[0].split("^")
    rest = " ".join(p for p in parts[1:3] if p)
    return f"{parts[0]}, {rest}" if rest else parts[0]


def _date(value: str) -> str:
    return f"{value[0:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


def _series_label(series: SeriesEntry) -> str:
    label = series.description or f"Series {series.number or ''}".strip()
    return f"{label} [{series.stack}]" if series.stack else label


def _meta(series: SeriesEntry) -> str:
    """Modality and number of images (and a cine's frame rate): beside a series in both lists."""
    rate = f" · {series.frame_rate:.3g} fps" if series.frame_rate else ""
    return f"{series.modality} · {len(series.images)}{rate}"


def _link(path: str | None, strip: str = "") -> str:
    """A relative link to a file of the medium, named as the disc records it (`strip`: a leading
    folder the linking page is in)."""
    if not path:
        return ""
    return path[len(strip):] if strip and path.startswith(strip) else path


def root_index(template: Path, patients: list[PatientEntry], language: str) -> str:
    """The root INDEX.HTM: the series listed statically (data-series, description), the viewer on top."""
    items: list[str] = []
    for patient in patients:
        items.append('<section class="patient">')
        items.append(f'<h2 class="patient-name">{escape(_name(patient.name))}</h2>')
        ident = " · ".join(v for v in (patient.id, _date(patient.birth_date)) if v)
        items.append(f'<p class="patient-id">{escape(ident)}</p>')
        for study in patient.studies:
            title = " ".join(v for v in (_date(study.date), study.description) if v)
            items.append(f'<div class="study" data-study="{escape(study.uid)}">'
                         f'<h3 class="study-title">{escape(title)}</h3>{_root_reports(study)}<ul class="series">')
            for series in study.series:
                items.append(_root_series_item(series))
            items.append("</ul></div>")
        items.append("</section>")
    items.append('<p><a class="plain-list" href="IHE_PDI/INDEX.HTM">Kuvaluettelo · Bildlista · Image list</a></p>')
    return Template(template.read_text(encoding="utf-8")).substitute(
        lang=escape(language), series_list="\n".join(items))


def _report_text(study: StudyEntry, number: int, link: ReportLink) -> str:
    """"Lausunto · Utlåtande · Report[ n][ – title]" (numbered when a study has several)."""
    label = REPORT_LABEL + (f" {number}" if len(study.reports) > 1 else "")
    return f"{label} – {link.title.strip()}" if link.title.strip() else label


def _root_reports(study: StudyEntry) -> str:
    """The study's reports as links opening the PDF in the browser's own viewer (a new tab)."""
    if not study.reports:
        return ""
    links = [f'<a class="report-link" href="{escape(_link(link.medium_path))}" target="_blank" rel="noopener">'
             f'{escape(_report_text(study, number, link))}</a>'
             for number, link in enumerate(study.reports, start=1)]
    return f'<p class="reports">{" ".join(links)}</p>'


def _root_series_item(series: SeriesEntry) -> str:
    # Both cases as CSS layers: a missing layer is simply not drawn, so the thumbnail shows with
    # JavaScript off on a tree of either case (an <img> could name only one).
    thumb = (f'<span class="thumb" style="background-image:url(\'{escape(_link(series.thumb))}\'),'
             f'url(\'{escape(series.thumb.lower())}\')"></span>' if series.thumb else "")
    meta = _meta(series)
    return (f'<li class="series-item" data-series="{escape(series.uid)}" data-key="{escape(series.key)}">'
            f'<a href="IHE_PDI/INDEX.HTM#{escape(series.key.lower())}">{thumb}<span class="series-text">'
            f'<span class="series-description">{escape(_series_label(series))}</span>'
            f'<span class="series-meta">{escape(meta)}</span></span></a></li>')


_PLAIN_STYLE = ("body{font-family:sans-serif;background:#fff;color:#111;margin:1em}"
                "img{margin:2px;background:#000;vertical-align:top}"
                ".notice{font-weight:bold;color:#8a1c00}")


def plain_index(patients: list[PatientEntry], language: str) -> str:
    """IHE_PDI/INDEX.HTM: XHTML 1.0 Strict, no script; every preview linked by its name on the disc."""
    lang = escape(language)
    out = [
        ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
         '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'),
        f'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{lang}" lang="{lang}">',
        '<head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />',
        f"<title>{escape(TITLE)}</title>",
        f'<style type="text/css">{_PLAIN_STYLE}</style></head><body>',
        f"<h1>{escape(TITLE)}</h1>",
        f'<p class="notice">{escape(NOTICE)}</p>',
        '<p><a href="../INDEX.HTM">Katseluohjelma · Visare · Viewer</a></p>',
    ]
    for patient in patients:
        ident = " · ".join(v for v in (patient.id, _date(patient.birth_date)) if v)
        out.append(f"<h2>{escape(_name(patient.name))} ({escape(ident)})</h2>")
        for study in patient.studies:
            title = " ".join(v for v in (_date(study.date), study.description, study.accession) if v)
            out.append(f"<h3>{escape(title)}</h3>")
            out.extend(_plain_reports(study))
            for series in study.series:
                out.extend(_plain_series(series))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _plain_reports(study: StudyEntry) -> list[str]:
    # XHTML 1.0 Strict has no target attribute: the PDF opens in place, Back returns to the list.
    return [f'<p class="report"><a href="../{escape(_link(link.medium_path))}">'
            f'{escape(_report_text(study, number, link))}</a></p>'
            for number, link in enumerate(study.reports, start=1)]


def _plain_series(series: SeriesEntry) -> list[str]:
    label = f"{_series_label(series)} ({_meta(series)})"
    out = [f'<h4 id="{escape(series.key.lower())}" class="series" title="{escape(series.uid)}">{escape(label)}</h4>',
           "<p>"]
    for position, image in enumerate(series.images, start=1):
        if not image.preview:
            continue
        link = escape(_link(image.preview, "IHE_PDI/"))
        width, height = image.preview_size or (0, 0)
        size = f' width="{width}" height="{height}"' if width and height else ""
        alt = escape(f"{_series_label(series)} {position}")
        out.append(f'<a href="{link}"><img src="{link}" alt="{alt}"{size} /></a>')
    out.append("</p>")
    return out
