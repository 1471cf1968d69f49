"""The offline viewer in real browsers, opened from file:// on a disc extracted from a real ISO.

Debian's Chromium (headless, driven by Playwright from PyPI, browser defaults: no
--allow-file-access-from-files) and Debian's firefox-esr (WebDriver BiDi through puppeteer-core from
npm, Firefox's default file:// policy). No browser is downloaded. The disc is made with pycdlib
(ISO 9660 level 1 + Joliet) and extracted once with the recorded upper-case names and once
lower-cased, as Linux mounts without Rock Ridge show it. The CT study carries a report PDF in
REPORTS/, the MR study one with a hostile title, the CR study none.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.pixels import apply_modality_lut
from pydicom.uid import JPEG2000Lossless, RLELossless

from support.synthetic import make_study, synthetic_hetu
from support.viewer_disc import Disc, extract_iso, lay_out, make_iso, small_pdf

CHROMIUM = Path("/usr/bin/chromium")
FIREFOX = Path("/usr/bin/firefox-esr")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EVIL_NAME = "<script>alert(1)</script>"
OFFLINE_SCHEMES = ("file:", "data:", "blob:")
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"  # Chromium's built-in PDF viewer
FIREFOX_CHECK = Path(__file__).parent / "firefox"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is not installed")


# -- the disc -------------------------------------------------------------------------------------

def _studies(src: Path) -> list:
    return [
        make_study(src, modality="CT", images=3, series=2, seed=11, study_description="TT VATSA"),
        make_study(src, modality="MR", images=2, patient_name=EVIL_NAME, patient_id=synthetic_hetu(7),
                   transfer_syntax=JPEG2000Lossless, seed=12, study_description="MR PÄÄ"),
        make_study(src, modality="CR", images=1, patient_id=synthetic_hetu(8), patient_name="Öhman^Åsa",
                   transfer_syntax=RLELossless, seed=13, study_description="THORAX"),
    ]


def _expected(disc: Disc) -> dict[str, list[np.ndarray]]:
    """Series UID -> modality values of each image in viewer order, by pydicom."""
    series: dict[str, list[tuple[int, np.ndarray]]] = {}
    for instance in disc.instances:
        ds = dcmread(instance.source)
        values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
        series.setdefault(str(ds.SeriesInstanceUID), []).append((int(ds.InstanceNumber), values))
    return {uid: [v for _, v in sorted(images, key=lambda item: item[0])] for uid, images in series.items()}


@pytest.fixture(scope="module")
def disc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("viewer-disc")
    ct, mr, cr = _studies(base / "src")
    pdf = small_pdf("Radiologinen lausunto: TT VATSA")
    reports = {ct.study_instance_uid: [("Radiologinen lausunto", pdf)],
               mr.study_instance_uid: [(EVIL_NAME, small_pdf("MR"))]}
    made = lay_out([ct, mr, cr], base / "tree", language="fi", reports=reports)
    iso = base / "disc.iso"
    make_iso(made.root, iso)
    return {
        "made": made,
        "studies": {"ct": ct.study_instance_uid, "mr": mr.study_instance_uid, "cr": cr.study_instance_uid},
        "report_pdf": pdf,
        "upper": extract_iso(iso, base / "upper", lower=False),
        "lower": extract_iso(iso, base / "lower", lower=True),
        "expected": _expected(made),
        "descriptions": {str(dcmread(i.source, stop_before_pixels=True).SeriesInstanceUID):
                         str(dcmread(i.source, stop_before_pixels=True).SeriesDescription) for i in made.instances},
    }


def _index(tree: Path) -> str:
    name = "INDEX.HTM" if (tree / "INDEX.HTM").exists() else "index.htm"
    return (tree / name).as_uri()


def _assert_values(pixels: dict, expected: np.ndarray) -> None:
    assert (pixels["rows"], pixels["columns"]) == expected.shape
    got = np.asarray(pixels["values"], dtype=np.float64).reshape(expected.shape)
    rows, cols = expected.shape
    samples = [(r, c) for r in range(0, rows, 7) for c in range(0, cols, 5)] + [(rows // 2, cols // 2)]
    for r, c in samples:
        assert got[r, c] == pytest.approx(expected[r, c], abs=1e-3), (r, c)
    np.testing.assert_allclose(got, expected, atol=1e-3)


# -- Chromium -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page with every request, dialog and page error recorded."""

    def __init__(self, browser, *, javascript: bool = True) -> None:
        self.context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1200, "height": 800})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def wait_rendered(self, index: int = 0, series: str | None = None) -> dict:
        self.page.wait_for_function(
            "([i, s]) => window.__viewer && __viewer.state().status === 'rendered' && __viewer.state().index === i"
            " && (s === null || __viewer.state().series === s)", arg=[index, series], timeout=15000)
        return self.page.evaluate("__viewer.state()")

    def pixels(self) -> dict:
        return self.page.evaluate("__viewer.currentPixels()")

    def assert_clean(self) -> None:
        assert self.requests, "no request recorded: the recorder is broken"
        assert all(url.startswith(OFFLINE_SCHEMES) for url in self.requests), self.requests
        assert self.dialogs == [], "a script from the DICOM data ran"
        assert self.errors == []

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(chromium):
    pages: list[Watched] = []

    def open_page(**kwargs) -> Watched:
        pages.append(Watched(chromium, **kwargs))
        return pages[-1]

    yield open_page
    for page in pages:
        page.close()


@pytest.mark.parametrize("case", ["upper", "lower"])
def test_every_series_listed_and_decoded_like_pydicom(disc, watched, case) -> None:
    page = watched()
    page.page.goto(_index(disc[case]))
    state = page.wait_rendered(0)
    assert state["nameCase"] == case
    items = page.page.locator("#series-list [data-series]")
    listed = {items.nth(i).get_attribute("data-series"): items.nth(i).locator(".series-description").inner_text()
              for i in range(items.count())}
    assert listed == disc["descriptions"]
    for uid, images in disc["expected"].items():
        page.page.locator(f'#series-list [data-series="{uid}"]').click()
        page.wait_rendered(0, uid)
        _assert_values(page.pixels(), images[0])
    names = page.page.locator(".patient-name").all_inner_texts()
    assert EVIL_NAME in names  # shown as text ...
    assert page.page.evaluate("[...document.scripts].every(s => !s.text.includes('alert(1)'))")  # ... never as code
    page.assert_clean()


def test_scrolling_and_window_level(disc, watched) -> None:
    page = watched()
    page.page.goto(_index(disc["upper"]))
    ct = next(uid for uid, images in disc["expected"].items() if len(images) == 3)
    page.page.locator(f'#series-list [data-series="{ct}"]').click()
    before = page.wait_rendered(0, ct)
    page.page.keyboard.press("ArrowDown")
    page.wait_rendered(1, ct)
    _assert_values(page.pixels(), disc["expected"][ct][1])
    box = page.page.locator("#image").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.page.mouse.move(x, y)
    page.page.mouse.wheel(0, 40)
    page.wait_rendered(2, ct)
    _assert_values(page.pixels(), disc["expected"][ct][2])
    page.page.mouse.down()
    page.page.mouse.move(x + 80, y + 60, steps=4)
    page.page.mouse.up()
    after = page.page.evaluate("__viewer.state()")
    assert after["width"] > before["width"] and after["center"] > before["center"]
    page.page.locator('[data-preset="lung"]').click()
    assert page.page.evaluate("[__viewer.state().center, __viewer.state().width]") == [-600, 1500]
    page.page.keyboard.press("+")
    assert page.page.evaluate("__viewer.state().zoom") == pytest.approx(1.25)
    assert page.page.locator("#notice").inner_text().startswith("Vain tiedoksi")  # the medium's language: fi
    page.page.locator('[data-language="sv"]').click()
    assert page.page.locator("#notice").inner_text().startswith("Endast för information")
    assert page.page.locator('[data-preset="bone"]').inner_text() == "Skelett"
    page.assert_clean()


def test_script_free_pages_list_every_series_and_preview(disc, watched) -> None:
    """JavaScript off, on the disc extracted as recorded (upper-case names, a case-sensitive copy):
    every link of the static pages finds its file."""
    page = watched(javascript=False)
    page.page.goto(_index(disc["upper"]))
    listed = page.page.locator("#series-list [data-series]")
    assert {listed.nth(i).get_attribute("data-series") for i in range(listed.count())} == set(disc["expected"])
    page.page.locator("noscript a", has_text="Image list").click()
    page.page.wait_for_load_state("load")
    assert page.page.url.endswith("/IHE_PDI/INDEX.HTM")
    images = page.page.locator("img")
    assert images.count() == sum(len(v) for v in disc["expected"].values())
    assert page.page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert EVIL_NAME in page.page.locator("h2").all_inner_texts()[0] + "".join(page.page.locator("h2").all_inner_texts())
    assert all(url.startswith(OFFLINE_SCHEMES) for url in page.requests)
    page.page.locator("a", has_text="Radiologinen lausunto").click()  # the report, from the script-free list
    page.page.wait_for_url("**/REPORTS/R0000001.PDF")
    assert all(url.startswith(OFFLINE_SCHEMES + (PDF_VIEWER,)) for url in page.requests)


def _report_link(page: Watched, study_uid: str):
    return page.page.locator(f'#series-list [data-study="{study_uid}"] a.report-link')


@pytest.mark.parametrize("case", ["upper", "lower"])
def test_opens_a_studys_report_from_the_disc(disc, watched, case) -> None:
    tree, studies = disc[case], disc["studies"]
    page = watched()
    page.page.goto(_index(tree))
    page.wait_rendered(0)
    link = _report_link(page, studies["ct"])
    assert link.count() == 1 and link.inner_text() == "Lausunto – Radiologinen lausunto"
    assert (link.get_attribute("target"), link.get_attribute("rel")) == ("_blank", "noopener")
    href = link.evaluate("a => a.href")
    pdf = Path(url2pathname(urlparse(href).path))
    assert pdf.relative_to(tree).as_posix() == ("REPORTS/R0000001.PDF" if case == "upper" else "reports/r0000001.pdf")
    assert pdf.is_file() and pdf.read_bytes() == disc["report_pdf"]  # the case the disc shows, not a guess
    assert _report_link(page, studies["mr"]).inner_text() == f"Lausunto – {EVIL_NAME}"  # text, never markup
    assert _report_link(page, studies["cr"]).count() == 0  # no report: nothing extra
    page.assert_clean()
    in_tab: list[str] = []
    page.context.on("request", lambda request: in_tab.append(request.url))
    with page.context.expect_page() as opened:
        link.click()
    report = opened.value
    report.wait_for_load_state()
    assert report.url == href and len(page.context.pages) == 2  # a new tab; the viewer stays
    assert href in in_tab and any(url.startswith(PDF_VIEWER) for url in in_tab)  # shown by the browser's PDF viewer
    assert all(url.startswith(OFFLINE_SCHEMES + (PDF_VIEWER,)) for url in in_tab), in_tab
    page.page.locator('[data-language="sv"]').click()
    assert _report_link(page, studies["ct"]).inner_text() == "Utlåtande – Radiologinen lausunto"
    page.assert_clean()


def test_series_beyond_budget_open_from_picked_dicom_folder(disc, tmp_path, watched) -> None:
    unlimited = disc["made"].report
    made = lay_out(_studies(tmp_path / "src"), tmp_path / "tree",
                   budget_bytes=unlimited.bytes_used - unlimited.data_bytes)
    assert made.report.decision == "picker" and made.report.data_bytes == 0
    expected = _expected(made)
    page = watched()
    page.page.goto(_index(made.root))
    page.page.wait_for_function("window.__viewer && __viewer.state().status === 'preview'", timeout=15000)
    assert page.page.locator(".pick").is_visible()
    page.page.set_input_files("#pick", made.root / "DICOM")
    state = page.wait_rendered(0)
    _assert_values(page.pixels(), expected[state["series"]][0])
    mr = next(uid for uid, images in expected.items() if len(images) == 2)  # JPEG 2000 originals, daikon decodes
    page.page.locator(f'#series-list [data-series="{mr}"]').click()
    page.wait_rendered(0, mr)
    _assert_values(page.pixels(), expected[mr][0])
    page.assert_clean()


def test_rle_copies_decode_like_pydicom(disc, tmp_path, watched) -> None:
    """A budget without sure room for raw copies: the station writes DICOM RLE where smaller, and the
    viewer's own decoder must give pydicom's values (the unlimited disc carries raw copies only)."""
    unlimited = disc["made"].report
    made = lay_out(_studies(tmp_path / "src"), tmp_path / "tree", budget_bytes=unlimited.bytes_used + 200_000)
    manifest = json.loads((made.root / "IHE_PDI" / "MANIFEST.JS").read_text(encoding="ascii")
                          .removeprefix("window.DISC_MANIFEST = ").removesuffix(";\n"))
    embedded = [se for p in manifest["patients"] for st in p["studies"] for se in st["series"] if se["embedded"]]
    rle = [se["uid"] for se in embedded
           if all('"encoding":"rle"' in (made.root / im["data"]).read_text(encoding="ascii") for im in se["images"])]
    assert rle, "no series embedded with RLE copies"
    expected = _expected(made)
    page = watched()
    page.page.goto(_index(made.root))
    page.page.wait_for_function("window.__viewer && __viewer.state().status !== 'loading'", timeout=15000)
    for uid in rle:
        page.page.locator(f'#series-list [data-series="{uid}"]').click()
        page.wait_rendered(0, uid)
        pixels = page.pixels()
        assert pixels["source"] == "embedded"
        _assert_values(pixels, expected[uid][0])
    page.assert_clean()


# -- Firefox ESR ---------------------------------------------------------------------------------

def _firefox_driver() -> Path:
    """puppeteer-core from npm (pinned by tests/firefox/package-lock.json), installed once per lock."""
    if not FIREFOX.exists():
        pytest.skip("Debian's firefox-esr is not installed (apt-get install firefox-esr)")
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node/npm are not installed: puppeteer-core drives Firefox (Playwright needs its own Firefox build)")
    lock = (FIREFOX_CHECK / "package-lock.json").read_bytes()
    home = Path(tempfile.gettempdir()) / "mediastation-firefox-check" / hashlib.sha256(lock).hexdigest()[:12]
    if not (home / "node_modules" / "puppeteer-core").is_dir():
        home.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(FIREFOX_CHECK / name, home / name)
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=home,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"npm could not install puppeteer-core (registry unreachable?): {done.stderr[-300:]}")
    shutil.copyfile(FIREFOX_CHECK / "disc_check.js", home / "disc_check.js")
    return home / "disc_check.js"


def test_firefox_esr_shows_the_disc(disc) -> None:
    script = _firefox_driver()
    done = subprocess.run(["node", str(script), str(disc["upper"]), str(FIREFOX)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert {item["uid"]: item["description"] for item in seen["listed"]} == disc["descriptions"]
    first_series = seen["first"]["series"]
    _assert_values(seen["first"], disc["expected"][first_series][0])
    _assert_values(seen["second"], disc["expected"][first_series][1])
    assert (seen["after"]["center"], seen["after"]["width"]) != (seen["before"]["center"], seen["before"]["width"])
    assert EVIL_NAME in seen["patientNames"]
    assert seen["dialogs"] == [] and seen["errors"] == []
    assert any(url.upper().endswith("IHE_PDI/MANIFEST.JS") for url in seen["resources"])
    assert all(url.startswith(OFFLINE_SCHEMES) for url in seen["requests"] + seen["resources"])
