"""Multi-frame images in the offline viewer, in Debian's Chromium (Playwright) and firefox-esr
(puppeteer-core), opened from file:// on a disc extracted from a real ISO: an Enhanced CT and an
Enhanced MR (RLE) whose window and rescale are only in the functional groups, a dynamic enhanced
MR of two time points, a Legacy Converted Enhanced CT (highdicom; window and rescale shared), an
ultrasound cine in JPEG baseline YBR_FULL_422 with Frame Time and an RGB
cine with Frame Time Vector (tests/support/multiframe.py). Every series (stack) shows a real image,
the enhanced ones at their frames' own windows; a cine plays at its recorded rate; the script-free
page has a preview of each. The in-page checks are tests/firefox/multiframe_page.js, for both.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import RLELossless, generate_uid

from support import multiframe as mf
from support.viewer_disc import extract_iso, lay_out, make_iso

CHROMIUM = Path("/usr/bin/chromium")
FIREFOX = Path("/usr/bin/firefox-esr")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CHECKS = Path(__file__).parent / "firefox"
MEASURE_MS = 2000
RATE_TOLERANCE = 0.20
GREY_LEVELS = 16  # "more than a handful": a white, black or two-tone canvas has 1-3

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is not installed")


@dataclass(frozen=True)
class _Study:
    files: tuple[Path, ...]
    patient_id: str = mf.HETU


@pytest.fixture(scope="module")
def disc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("multiframe-viewer")
    study = generate_uid()
    made = {
        "ct": mf.enhanced(base / "src" / "ct" / "IM1", study, modality="CT", frames=5, rows=96, cols=96),
        "mr": mf.enhanced(base / "src" / "mr" / "IM1", study, modality="MR", frames=4, rows=80, cols=80,
                          syntax=RLELossless, series_number=2),
        "dynamic": mf.enhanced(base / "src" / "dyn" / "IM1", study, modality="MR", frames=3, temporal=2,
                               series_number=5, description="Dynaaminen"),
        "us": mf.us_cine_jpeg(base / "src" / "us" / "IM1", study, frames=60, frame_time=40.0),
        "rgb": mf.rgb_cine(base / "src" / "rgb" / "IM1", study, frames=48, interval=50.0),
        "legacy": mf.legacy_converted(base / "src" / "legacy" / "IM1"),
    }
    laid = lay_out([_Study(tuple(m.path for m in made.values()))], base / "tree")
    iso = base / "disc.iso"
    make_iso(laid.root, iso)
    return {"made": made, "root": extract_iso(iso, base / "upper", lower=False)}


def _by_series(seen: dict, made: dict[str, mf.Made]) -> dict[str, list[dict]]:
    """Series name ("ct", "us", ...) -> what was seen of each of its stacks, in list order."""
    names = {m.series_uid: name for name, m in made.items()}
    out: dict[str, list[dict]] = {}
    for shown in seen.values():
        out.setdefault(names[shown["series"]], []).append(shown)
    return out


def _viewer_order(info: mf.Made, stack: int = 1) -> list[int]:
    frames = [n for n in range(info.frames) if not info.temporal or info.temporal[n] == stack]
    return sorted(frames, key=lambda n: info.z[n])


def _check(seen: dict, made: dict[str, mf.Made]) -> None:
    """What both browsers must have shown (the documents of multiframe_page.js)."""
    series = _by_series(seen["series"], made)
    assert sorted(series) == sorted(made)
    for name, stacks in series.items():
        for shown in stacks:
            assert shown["colours"] > GREY_LEVELS, (name, shown)
    for name in ("ct", "mr", "legacy"):  # the window of the frame on screen, from the functional groups
        info, shown = made[name], series[name][0]
        first, second = _viewer_order(info)[:2]
        assert (shown["center"], shown["width"]) == pytest.approx(info.windows[first]), name
        assert (shown["second"]["center"], shown["second"]["width"]) == pytest.approx(info.windows[second]), name
        assert shown["frameRate"] is None
    assert [s["count"] for s in series["dynamic"]] == [3, 3]  # two time points, two stacks
    assert series["dynamic"][1]["center"] == pytest.approx(made["dynamic"].windows[_viewer_order(made["dynamic"], 2)[0]][0])
    for name in ("us", "rgb"):
        info, shown = made[name], series[name][0]
        assert shown["frameRate"] == pytest.approx(info.rate) and shown["samples"] == 3
        assert f"{info.rate:g} " in shown["overlay"]  # the overlay shows the frame rate
        played = seen["cine"][shown["key"]]
        measured = played["advanced"] / played["elapsed"] * 1000
        assert played["playing"] and played["pausedAfter"]
        assert abs(measured - info.rate) <= RATE_TOLERANCE * info.rate, (name, played)
    keys = {shown["key"].lower() for shown in seen["series"].values()}
    assert set(seen["plain"]) == keys and all(seen["plain"][key] > 0 for key in keys), seen["plain"]


def install_checks() -> str:
    """A function that puts multiframe_page.js's checks on the page as window.__checks."""
    checks = (CHECKS / "multiframe_page.js").read_text(encoding="utf-8")
    return "() => { const module = { exports: {} }; " + checks + "; window.__checks = module.exports; }"


def test_chromium_shows_and_plays_every_multiframe_series(disc) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    install = install_checks()
    seen: dict = {"series": {}, "cine": {}, "errors": []}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
            page.on("pageerror", lambda error: seen["errors"].append(str(error)))
            page.goto((disc["root"] / "INDEX.HTM").as_uri())
            page.wait_for_function("window.__viewer && __viewer.state().status === 'rendered'", timeout=20_000)
            page.evaluate(install)
            for key in page.evaluate("__checks.seriesKeys()"):
                page.evaluate("k => __viewer.open(k)", key)
                page.wait_for_function("([k, i]) => __checks.renderedIn(k, i)", arg=[key, 0], timeout=20_000)
                shown = seen["series"][key] = page.evaluate("__checks.shown()")
                page.focus("#image")
                if shown["frameRate"]:
                    page.keyboard.press("Space")
                    seen["cine"][key] = page.evaluate("ms => __checks.measurePlay(ms)", MEASURE_MS)
                    page.keyboard.press("Space")
                    seen["cine"][key]["pausedAfter"] = page.evaluate("!__viewer.state().playing")
                elif shown["count"] > 1:
                    page.keyboard.press("ArrowDown")
                    page.wait_for_function("([k, i]) => __checks.renderedIn(k, i)", arg=[key, 1], timeout=20_000)
                    shown["second"] = page.evaluate("__checks.shown()")
            plain = browser.new_context(java_script_enabled=False).new_page()
            plain.goto((disc["root"] / "IHE_PDI" / "INDEX.HTM").as_uri())
            plain.wait_for_load_state("load")
            seen["plain"] = plain.evaluate(
                "() => { const out = {}; document.querySelectorAll('h4.series').forEach(h => { out[h.id] = "
                "[...h.nextElementSibling.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length; });"
                " return out; }")
        finally:
            browser.close()
    assert seen["errors"] == []
    _check(seen, disc["made"])


def test_firefox_esr_shows_and_plays_every_multiframe_series(disc) -> None:
    if not FIREFOX.exists():
        pytest.skip("Debian's firefox-esr is not installed (apt-get install firefox-esr)")
    if shutil.which("node") is None or not (CHECKS / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip("node or puppeteer-core is missing: `make npm` (npm ci --prefix tests/firefox)")
    done = subprocess.run(["node", str(CHECKS / "multiframe_check.js"), str(disc["root"]), str(FIREFOX),
                           str(MEASURE_MS)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["errors"] == []
    _check(seen, disc["made"])


def test_chromium_reads_the_functional_groups_of_picked_originals(disc, tmp_path: Path) -> None:
    """Series beyond the viewer's budget are read from the original files the user picks (daikon):
    the enhanced CT there too at each frame's own window and rescale, in stack order; the JPEG cine
    plays from its original (parsed and decompressed once, not per frame)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    ct, legacy, us = disc["made"]["ct"], disc["made"]["legacy"], disc["made"]["us"]
    unlimited = lay_out([_Study((ct.path, legacy.path, us.path))], tmp_path / "unlimited").report
    made = lay_out([_Study((ct.path, legacy.path, us.path))], tmp_path / "tree",
                   budget_bytes=unlimited.bytes_used - unlimited.data_bytes)
    assert made.report.decision == "picker"
    stored = dcmread(ct.path).pixel_array
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto((made.root / "INDEX.HTM").as_uri())
            page.wait_for_function("window.__viewer && __viewer.state().status === 'preview'", timeout=20_000)
            page.set_input_files("#pick", made.root / "DICOM")
            for uid, info in ((ct.series_uid, ct), (legacy.series_uid, legacy)):
                page.evaluate("u => __viewer.open(u)", uid)
                for index, frame in enumerate(_viewer_order(info)[:2]):
                    if index:
                        page.evaluate("i => __viewer.show(i)", index)
                    page.wait_for_function(
                        "([u, i]) => { const s = __viewer.state(); return s.status === 'rendered' && s.series === u"
                        " && s.index === i; }", arg=[uid, index], timeout=20_000)
                    state = page.evaluate("__viewer.state()")
                    assert (state["center"], state["width"]) == pytest.approx(info.windows[frame]), (uid, index)
                    pixels = page.evaluate("__viewer.currentPixels()")
                    assert pixels["source"] == "file"
                    if info is ct:
                        slope, intercept = ct.rescales[frame]
                        got = np.asarray(pixels["values"], dtype=np.float64).reshape(stored[frame].shape)
                        np.testing.assert_allclose(got, stored[frame] * slope + intercept)
            page.evaluate("u => __viewer.open(u)", us.series_uid)
            page.wait_for_function("u => __viewer.state().status === 'rendered' && __viewer.state().series === u",
                                   arg=us.series_uid, timeout=20_000)
            page.focus("#image")
            page.keyboard.press("Space")
            drawn = page.evaluate("""ms => new Promise(resolve => { const seen = new Set(); const started = performance.now();
                const timer = setInterval(() => { const p = __viewer.currentPixels(); if (p) seen.add(p.index);
                  if (performance.now() - started > ms) { clearInterval(timer); resolve(seen.size); } }, 10); })""",
                                  MEASURE_MS)
            assert drawn > us.rate * MEASURE_MS / 1000 / 2  # at least every other frame drawn at 25 frames/s
        finally:
            browser.close()
    assert errors == []
