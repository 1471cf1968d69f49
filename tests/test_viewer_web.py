"""What the station writes for the offline viewer (mediastation.media.web), checked without a browser."""

from __future__ import annotations

import base64
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, RLELossless

from mediastation.media import web_pixels
from mediastation.media.web import VIEWER_FILES, ViewerSpaceError, WebInstance, blocks, bundle_dir, write_web_content
from mediastation.media.web_pages import js_json
from mediastation.media.web_types import ISO_NAME, ReportLink
from support.synthetic import make_study, synthetic_hetu
from support.viewer_disc import lay_out, small_pdf

EVIL_NAME = "<script>alert(1)</script>"
EVIL_TITLE = '<script>alert(2)</script>"&'
REPORT_LABEL = "Lausunto · Utlåtande · Report"
DATA_CALL = re.compile(r'^DISC_DATA\("([^"]+)",(\{.*\}),"([A-Za-z0-9+/=]*)"\);\n$', re.S)


def _studies(src: Path) -> list:
    return [
        make_study(src, modality="CT", images=3, series=2, seed=21),
        make_study(src, modality="MR", images=2, patient_name=EVIL_NAME, patient_id=synthetic_hetu(3),
                   transfer_syntax=JPEG2000Lossless, seed=22),
        make_study(src, modality="CR", images=1, patient_id=synthetic_hetu(4), transfer_syntax=RLELossless,
                   seed=23, rows=96, cols=80),
    ]


def _reports(studies: list) -> dict:
    """CT: one report; MR: one with a hostile title and one missing from the medium; CR: none; and
    a report of a study that is not on the medium. Files R0000001..R0000004 in that order."""
    ct, mr, _ = studies
    return {
        ct.study_instance_uid: [("Radiologinen lausunto", small_pdf("CT report"))],
        mr.study_instance_uid: [(EVIL_TITLE, small_pdf("MR report")), ("Lisälausunto", None)],
        "1.2.246.999.1": [("Elsewhere", small_pdf("not on this medium"))],
    }


@pytest.fixture(scope="module")
def disc(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("web")
    studies = _studies(base / "src")
    return lay_out(studies, base / "tree", language="sv", reports=_reports(studies))


def _study_uids(disc) -> tuple[str, str, str]:
    """StudyInstanceUIDs of the CT, MR and CR study of the disc (see _reports)."""
    ct, mr, _ = disc.reports
    studies = [st["uid"] for p in _manifest(disc.root)["patients"] for st in p["studies"]]
    cr = next(uid for uid in studies if uid not in (ct, mr))
    return ct, mr, cr


def _manifest(root: Path) -> dict:
    text = (root / "IHE_PDI" / "MANIFEST.JS").read_text(encoding="ascii")
    assert text.startswith("window.DISC_MANIFEST = ") and text.endswith(";\n")
    return json.loads(text[len("window.DISC_MANIFEST = "):-2])


def _series(manifest: dict) -> list[dict]:
    return [se for p in manifest["patients"] for st in p["studies"] for se in st["series"]]


def _web_files(root: Path) -> list[Path]:
    return [p for p in [root / "INDEX.HTM", *(root / "VIEWER").rglob("*"), *(root / "IHE_PDI").rglob("*")]
            if p.is_file()]


def _decode_copy(path: Path) -> tuple[str, np.ndarray]:
    """A data script back to modality values, decoding the RLE with pydicom (not with our code)."""
    match = DATA_CALL.match(path.read_text(encoding="ascii"))
    assert match, path
    key, meta, payload = match.group(1), json.loads(match.group(2)), base64.b64decode(match.group(3))
    dtype = np.dtype(("f" if meta["float"] else "i" if meta["signed"] else "u") + str(meta["bits"] // 8)).newbyteorder("<")
    if meta["encoding"] == "rle":
        ds = Dataset()
        ds.file_meta = Dataset()
        ds.file_meta.TransferSyntaxUID = RLELossless
        ds.Rows, ds.Columns, ds.SamplesPerPixel = meta["rows"], meta["columns"], meta["samples"]
        ds.BitsAllocated = ds.BitsStored = meta["bits"]
        ds.HighBit = meta["bits"] - 1
        ds.PixelRepresentation = int(meta["signed"])
        ds.PhotometricInterpretation = meta["photometric"]
        ds.PixelData = encapsulate([payload])
        stored = ds.pixel_array
    else:
        stored = np.frombuffer(payload, dtype=dtype).reshape(meta["rows"], meta["columns"])
    return key, stored.astype(np.float64) * meta["slope"] + meta["intercept"]


def test_layout_names_and_report(disc) -> None:
    root, report = disc.root, disc.report
    assert report.decision == "embedded" and report.series_picker == 0 and report.series_embedded == 4
    assert report.images == 9 == report.previews and report.skipped_instances == 0
    files = _web_files(root)
    assert report.bytes_used == sum(blocks(p.stat().st_size) for p in files)
    assert report.to_json()["decision"] == "embedded"
    for path in [*(root / "VIEWER").rglob("*"), *(root / "IHE_PDI").rglob("*")]:
        assert ISO_NAME.match(path.name) and len(path.relative_to(root).parts) <= 8, path
    for name in VIEWER_FILES:
        assert (root / "VIEWER" / name).read_bytes() == (bundle_dir() / "VIEWER" / name).read_bytes()
    assert not list(root.parent.glob(".web-*")), "staging folder left behind"


def test_manifest_lists_everything_as_escaped_json(disc) -> None:
    text = (disc.root / "IHE_PDI" / "MANIFEST.JS").read_text(encoding="ascii")
    assert not re.search(r"[<>&\u2028\u2029]", text)
    manifest = _manifest(disc.root)
    assert manifest["language"] == "sv"
    assert EVIL_NAME in [p["name"] for p in manifest["patients"]]
    series = _series(manifest)
    assert [s["key"] for s in series] == ["SE0001", "SE0002", "SE0003", "SE0004"]
    on_disc = {i.medium_path for i in disc.instances}
    assert {im["dicom"] for s in series for im in s["images"]} == on_disc
    for s in series:
        assert s["embedded"] and s["thumb"] in [im["preview"] for im in s["images"]]
        for im in s["images"]:
            assert (disc.root / im["preview"]).is_file() and (disc.root / im["data"]).is_file()


def test_js_json_cannot_end_a_script() -> None:
    value = {"name": "</script><script>alert(1)</script>&\u2028\u2029ä"}
    text = js_json(value)
    assert not re.search(r"[<>&\u2028\u2029]", text) and text.isascii()
    assert json.loads(text) == value


def test_embedded_copies_equal_pydicom_values(disc) -> None:
    manifest = _manifest(disc.root)
    by_path = {i.medium_path: i.source for i in disc.instances}
    for series in _series(manifest):
        for image in series["images"]:
            key, values = _decode_copy(disc.root / image["data"])
            assert key == image["data"]
            ds = dcmread(by_path[image["dicom"]])
            np.testing.assert_array_equal(values, apply_modality_lut(ds.pixel_array, ds))


def test_previews_use_the_files_window(disc) -> None:
    image = _series(_manifest(disc.root))[0]["images"][0]
    source = next(i.source for i in disc.instances if i.medium_path == image["dicom"])
    ds = dcmread(source)
    expected = web_pixels.windowed(apply_modality_lut(ds.pixel_array, ds), float(ds.WindowCenter), float(ds.WindowWidth))
    preview = np.asarray(Image.open(io.BytesIO((disc.root / image["preview"]).read_bytes())).convert("L"), dtype=float)
    assert preview.shape == expected.shape
    assert np.abs(preview - expected).mean() < 4  # JPEG q85


def test_pages_escape_and_link_the_names_on_the_disc(disc) -> None:
    root_page = (disc.root / "INDEX.HTM").read_text(encoding="utf-8")
    plain = (disc.root / "IHE_PDI" / "INDEX.HTM").read_text(encoding="utf-8")
    assert EVIL_NAME not in root_page and EVIL_NAME not in plain
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in root_page and "&lt;script&gt;" in plain
    assert "<script" not in plain.lower()
    tree = ET.fromstring(plain.split("\n", 1)[1])  # XHTML: well-formed XML after the doctype
    xhtml = "{http://www.w3.org/1999/xhtml}"
    sources = [img.get("src") for img in tree.iter(f"{xhtml}img")]
    assert len(sources) == disc.report.previews
    assert all(src == src.upper() and (disc.root / "IHE_PDI" / src).is_file() for src in sources)  # as recorded
    links = [a.get("href").split("#")[0] for a in tree.iter(f"{xhtml}a")]
    assert "../INDEX.HTM" in links and all((disc.root / "IHE_PDI" / link).is_file() for link in links)
    for series in _series(_manifest(disc.root)):
        entry = re.search(rf'<li class="series-item" data-series="{re.escape(series["uid"])}"[^>]*>.*?</li>', root_page)
        assert entry and f'<span class="series-description">{series["description"]}</span>' in entry.group(0)


def test_manifest_carries_each_studys_existing_reports(disc) -> None:
    ct, mr, cr = _study_uids(disc)
    studies = {st["uid"]: st for p in _manifest(disc.root)["patients"] for st in p["studies"]}
    assert studies[ct]["reports"] == [{"title": "Radiologinen lausunto", "path": "REPORTS/R0000001.PDF"}]
    assert studies[mr]["reports"] == [{"title": EVIL_TITLE, "path": "REPORTS/R0000002.PDF"}]  # R0000003: not on disc
    assert studies[cr]["reports"] == []
    assert all((disc.root / r["path"]).is_file() for st in studies.values() for r in st["reports"])
    text = (disc.root / "IHE_PDI" / "MANIFEST.JS").read_text(encoding="ascii")
    assert "alert(2)" in text and not re.search(r"[<>&]", text)
    assert (disc.report.reports_linked, disc.report.reports_unlinked) == (2, 2)
    assert disc.report.to_json()["reports_linked"] == 2


def _study_block(page: str, uid: str) -> str:
    block = re.search(rf'<div class="study" data-study="{re.escape(uid)}">(.*?)</div>', page, re.S)
    assert block, uid
    return block.group(1)


def test_root_page_links_each_studys_reports_inertly(disc) -> None:
    ct, mr, cr = _study_uids(disc)
    page = (disc.root / "INDEX.HTM").read_text(encoding="utf-8")
    assert (f'<a class="report-link" href="REPORTS/R0000001.PDF" target="_blank" rel="noopener">'
            f'{REPORT_LABEL} – Radiologinen lausunto</a>') in _study_block(page, ct)
    assert (f'href="REPORTS/R0000002.PDF" target="_blank" rel="noopener">{REPORT_LABEL} – '
            "&lt;script&gt;alert(2)&lt;/script&gt;&quot;&amp;</a>") in _study_block(page, mr)
    assert "report" not in _study_block(page, cr)
    assert "alert(2)</script>" not in page and "R0000003" not in page and "R0000004" not in page
    template = (bundle_dir() / "templates" / "INDEX.HTM").read_text(encoding="utf-8")
    assert page.count("<script") == template.count("<script")  # the viewer's own starter only
    hrefs = re.findall(r'class="report-link" href="([^"]+)"', page)
    assert sorted(hrefs) == ["REPORTS/R0000001.PDF", "REPORTS/R0000002.PDF"]  # as the disc records them
    assert all((disc.root / href).is_file() for href in hrefs)


def test_script_free_page_links_each_studys_reports(disc) -> None:
    plain = (disc.root / "IHE_PDI" / "INDEX.HTM").read_text(encoding="utf-8")
    assert "<script" not in plain.lower() and "target=" not in plain  # XHTML 1.0 Strict has no target
    tree = ET.fromstring(plain.split("\n", 1)[1])
    xhtml = "{http://www.w3.org/1999/xhtml}"
    links = [(a.get("href"), "".join(a.itertext())) for a in tree.iter(f"{xhtml}a")
             if (a.get("href") or "").startswith("../REPORTS/")]
    assert sorted(links) == [("../REPORTS/R0000001.PDF", f"{REPORT_LABEL} – Radiologinen lausunto"),
                             ("../REPORTS/R0000002.PDF", f"{REPORT_LABEL} – {EVIL_TITLE}")]  # text, not markup
    assert all((disc.root / "IHE_PDI" / href).resolve().is_file() for href, _ in links)
    body = list(tree.find(f"{xhtml}body"))
    placed = [i for i, el in enumerate(body) if el.get("class") == "report"]
    assert len(placed) == 2 and all(body[i - 1].tag == f"{xhtml}h3" for i in placed)  # right under its study


def test_several_reports_are_numbered_and_paths_must_be_on_the_medium(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", images=1, seed=31)
    made = lay_out([study], tmp_path / "tree", reports={study.study_instance_uid: [
        ("", small_pdf("first")), ("", small_pdf("second"))]})
    page = (made.root / "INDEX.HTM").read_text(encoding="utf-8")
    assert re.findall(r'class="report-link"[^>]*>([^<]*)</a>', page) == [f"{REPORT_LABEL} 1", f"{REPORT_LABEL} 2"]
    for bad in ("../LETTER.PDF", "/REPORTS/R0000001.PDF", "reports/r0000001.pdf", "REPORTS", "REPORTS.D/R1.PDF",
                "REPORTS/REPORT_NUMBER1.PDF", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            ReportLink("x", bad)


def _budget_runs(tmp_path: Path, budgets: list[int]) -> list:
    results = []
    for n, budget in enumerate(budgets):
        results.append(lay_out(_studies(tmp_path / f"src{n}"), tmp_path / f"tree{n}", budget_bytes=budget))
    return results


def test_budget_embeds_whole_series_in_order(disc, tmp_path: Path) -> None:
    full = disc.report
    floor = full.bytes_used - full.data_bytes
    budgets = [floor, floor + 150_000, floor + 300_000, floor + 450_000, full.bytes_used + 400_000]
    runs = _budget_runs(tmp_path, budgets)
    decisions = [r.report.decision for r in runs]
    assert decisions[0] == "picker" and decisions[-1] == "embedded" and "partial" in decisions
    embedded_counts = [r.report.series_embedded for r in runs]
    assert embedded_counts == sorted(embedded_counts)
    for budget, run in zip(budgets, runs):
        assert run.report.bytes_used <= budget and run.report.budget_bytes == budget
        assert run.report.bytes_used == sum(blocks(p.stat().st_size) for p in _web_files(run.root))
        for series in _series(_manifest(run.root)):
            datas = [im["data"] for im in series["images"]]
            assert all(datas) if series["embedded"] else not any(datas)  # whole series or nothing
            assert all((run.root / im["preview"]).is_file() for im in series["images"])
            copies = list((run.root / "IHE_PDI" / series["key"]).glob("DA*.JS"))
            assert len(copies) == (len(datas) if series["embedded"] else 0)


def test_too_small_a_budget_refuses_and_leaves_the_medium_alone(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", images=1, seed=5)
    root = tmp_path / "medium"
    (root / "DICOM").mkdir(parents=True)
    target = root / "DICOM" / "IM000000"
    target.write_bytes(study.files[0].read_bytes())
    with pytest.raises(ViewerSpaceError) as raised:
        write_web_content(root, [WebInstance("DICOM/IM000000", target)], budget_bytes=500_000)
    assert "bigger medium" in raised.value.message
    assert sorted(p.name for p in root.iterdir()) == ["DICOM"]
    assert not list(tmp_path.glob(".web-*"))


def test_rerun_replaces_earlier_content_and_skips_non_images(tmp_path: Path) -> None:
    first = lay_out(_studies(tmp_path / "src"), tmp_path / "tree")
    assert (first.root / "IHE_PDI" / "SE0004").is_dir()
    note = dcmread(first.instances[0].source)
    for keyword in ("PixelData", "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                    "SamplesPerPixel", "PhotometricInterpretation"):
        delattr(note, keyword)
    note.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    note_path = first.root / "DICOM" / "NOTE0000"
    note.save_as(note_path, enforce_file_format=True)
    report = write_web_content(first.root, [first.instances[0], WebInstance("DICOM/NOTE0000", note_path)])
    assert report.images == 1 and report.skipped_instances == 1
    assert sorted(p.name for p in (first.root / "IHE_PDI").iterdir()) == ["INDEX.HTM", "MANIFEST.JS", "SE0001"]
    assert len(_series(_manifest(first.root))) == 1


def test_previews_beyond_the_budget_shrink_to_one_per_series(disc, tmp_path: Path) -> None:
    full = disc.report
    budget = full.bytes_used - full.data_bytes - 4 * 2048
    run = lay_out(_studies(tmp_path / "src"), tmp_path / "tree", budget_bytes=budget)
    assert run.report.decision == "picker" and run.report.bytes_used <= budget
    assert run.report.series_picker <= run.report.previews < run.report.images
    series = _series(_manifest(run.root))
    kept = [im["preview"] for s in series for im in s["images"] if im["preview"]]
    assert all(s["thumb"] and (run.root / s["thumb"]).is_file() for s in series)
    assert sorted(kept) == sorted(p.relative_to(run.root).as_posix() for p in (run.root / "IHE_PDI").rglob("*.JPG"))
    plain = (run.root / "IHE_PDI" / "INDEX.HTM").read_text(encoding="utf-8")
    assert plain.count("<img ") == len(kept)


def test_an_instance_pydicom_cannot_decode_is_left_to_the_picker(tmp_path: Path) -> None:
    made = lay_out([make_study(tmp_path / "src", images=2, seed=9)], tmp_path / "tree")
    odd = dcmread(made.instances[1].source)
    odd.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: no decoder in pydicom
    odd.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
    odd.save_as(made.instances[1].source, enforce_file_format=True)
    report = write_web_content(made.root, made.instances)
    assert report.undecodable_instances == 1 and report.decision == "picker" and report.images == 2
    images = _series(_manifest(made.root))[0]["images"]
    assert images[0]["preview"] and images[0]["data"]
    assert images[1]["preview"] is None and images[1]["data"] is None


# -- speed without a change in output: one read per file, raw copies when they surely fit, workers --

def _encodings(root: Path) -> list[str]:
    return [json.loads(DATA_CALL.match(p.read_text(encoding="ascii")).group(2))["encoding"]
            for p in sorted((root / "IHE_PDI").rglob("DA*.JS"))]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in _web_files(root)}


def test_copies_are_raw_unless_the_budget_needs_rle(disc, tmp_path: Path) -> None:
    assert set(_encodings(disc.root)) == {"raw"}  # no budget: RLE would only cost time
    full = disc.report
    runs = _budget_runs(tmp_path, [full.bytes_used + 200_000, 10**10])
    squeezed, ample = runs[0], runs[1]
    assert ample.report.decision == "embedded" and set(_encodings(ample.root)) == {"raw"}
    assert ample.report.data_bytes == full.data_bytes
    # Not surely room for every raw copy and preview: RLE wherever smaller, as the pages always did.
    assert squeezed.report.series_embedded >= 1 and "rle" in _encodings(squeezed.root)
    assert squeezed.report.data_bytes < full.data_bytes and squeezed.report.bytes_used <= full.bytes_used + 200_000
    by_path = {i.medium_path: i.source for i in squeezed.instances}
    for series in _series(_manifest(squeezed.root)):
        for image in series["images"]:
            if image["data"]:
                _, values = _decode_copy(squeezed.root / image["data"])
                ds = dcmread(by_path[image["dicom"]])
                np.testing.assert_array_equal(values, apply_modality_lut(ds.pixel_array, ds))


def _many_series(src: Path) -> list:
    return [
        make_study(src, modality="CT", images=7, series=3, seed=41),
        make_study(src, modality="MR", images=5, series=2, patient_id=synthetic_hetu(5),
                   transfer_syntax=JPEG2000Lossless, seed=42),
        make_study(src, modality="CR", images=1, series=3, patient_id=synthetic_hetu(6), seed=43, rows=80, cols=96),
    ]


@pytest.mark.parametrize("budget", [None, 1_700_000, 2_000_000])
def test_workers_write_the_same_bytes_as_one_process(tmp_path: Path, budget: int | None) -> None:
    made = lay_out(_many_series(tmp_path / "src"), tmp_path / "tree", budget_bytes=budget)  # 34 files: serial
    serial = _snapshot(made.root)
    parallel = write_web_content(made.root, made.instances, budget_bytes=budget, workers=2)
    assert parallel == made.report
    assert _snapshot(made.root) == serial
    if budget is not None:  # an overflowing series and copies written ahead of the decision were dropped
        assert made.report.decision == "partial" and "rle" in _encodings(made.root)
    assert not list(made.root.parent.glob(".web-*"))


def test_workers_started_early_with_headers_read_ahead_write_the_same_bytes(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """As an export uses them: started before the discs are laid out, the headers of most files read
    ahead (one file is left out: its header is read when the layout asks), then the content written."""
    from mediastation.media import web

    made = lay_out(_many_series(tmp_path / "src"), tmp_path / "tree", budget_bytes=1_700_000)
    serial = _snapshot(made.root)
    asked: list[str] = []
    headers = web._headers
    monkeypatch.setattr(web, "_headers", lambda webs, executor: asked.extend(w.medium_path for w in webs)
                        or headers(webs, executor))
    with web.ViewerWorkers(2, len(made.instances)) as workers:
        workers.read_ahead([i.source for i in made.instances[1:]])
        report = write_web_content(made.root, made.instances, budget_bytes=1_700_000, prepared=workers)
    assert report == made.report and _snapshot(made.root) == serial
    assert asked == [made.instances[0].medium_path]  # read late: only the left-out file's header


def test_one_pool_serves_every_disc_of_a_spanning_export(tmp_path: Path) -> None:
    from mediastation.media import web

    studies = _many_series(tmp_path / "src")
    discs = [lay_out(studies[:1], tmp_path / "d1"), lay_out(studies[1:], tmp_path / "d2")]  # serial, one by one
    serial = [_snapshot(d.root) for d in discs]
    with web.ViewerWorkers(2, sum(len(d.instances) for d in discs)) as workers:
        workers.read_ahead([i.source for d in discs for i in d.instances])
        reports = [write_web_content(d.root, d.instances, prepared=workers) for d in discs]
    assert reports == [d.report for d in discs]
    assert [_snapshot(d.root) for d in discs] == serial


@pytest.mark.parametrize(("dtype", "photometric", "window"), [
    ("<u2", "MONOCHROME2", (40.0, 400.0)), ("<i2", "MONOCHROME1", (-600.0, 1500.0)), ("<i2", "MONOCHROME2", None),
    ("|u1", "MONOCHROME1", None), ("|i1", "MONOCHROME2", (0.0, 50.0)), ("<u2", "MONOCHROME1", None),
])
def test_preview_lookup_table_equals_windowing_each_pixel(dtype: str, photometric: str, window) -> None:
    info = np.iinfo(np.dtype(dtype))
    stored = np.random.default_rng(7).integers(info.min, info.max, size=(37, 53), endpoint=True).astype(dtype)
    center, width = window or (None, None)
    frame = web_pixels.Frame(stored, -0.75, 1024.0, photometric, center, width)
    expected = web_pixels.windowed(frame.modality_values(), *web_pixels.window_limits(frame))
    if photometric == "MONOCHROME1":
        expected = 255 - expected
    np.testing.assert_array_equal(web_pixels.grey(frame), expected)


def test_a_series_projected_not_to_fit_stops_compressing_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediastation.media import web

    study = [make_study(tmp_path / "src", modality="CT", images=60, series=1, seed=44, rows=128, cols=128)]
    floor = lay_out(study, tmp_path / "t0", budget_bytes=10**10).report  # raw copies surely fit
    picker = lay_out(study, tmp_path / "t1", budget_bytes=floor.bytes_used - floor.data_bytes).report
    squeezed = lay_out(study, tmp_path / "t2", budget_bytes=floor.bytes_used - 2048).report  # RLE needed, fits
    assert picker.decision == "picker" and squeezed.decision == "embedded" and squeezed.data_bytes < floor.data_bytes
    calls: list[bool] = []
    original = web_pixels.embedded_copy
    monkeypatch.setattr(web_pixels, "embedded_copy", lambda frame, **kw: calls.append(True) or original(frame, **kw))
    half = picker.bytes_used + squeezed.data_bytes // 2  # RLE copies of only half the series fit
    run = lay_out(study, tmp_path / "t3", budget_bytes=half)
    assert run.report.decision == "picker" and run.report.data_bytes == 0 and run.report.bytes_used <= half
    assert web.PROJECTION_SAMPLE <= len(calls) <= web.PROJECTION_SAMPLE + 1  # not all 60 frames compressed
