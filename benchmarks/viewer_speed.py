"""Speed of the offline viewer on a 500-image CT disc.

Targets: the first image visible within 2 s of opening INDEX.HTM; scrolling through 100 images in
under 10 s. Builds a synthetic CT series (512 x 512, 16-bit) laid out as on a medium, writes the web
content with mediastation.media.web, opens INDEX.HTM from file:// in Debian's headless Chromium
(Playwright) and times both. The tree is read from the local disk, not from an optical drive.

    .venv/bin/python benchmarks/viewer_speed.py [--images 500] [--size 512] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from support.synthetic import make_study  # noqa: E402
from support.viewer_disc import lay_out  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
RENDERED = ("i => window.__viewer && __viewer.state().status === 'rendered' && __viewer.state().index === i")


def build(work: Path, images: int, size: int) -> tuple[Path, float, float, object]:
    started = time.perf_counter()
    study = make_study(work / "src", modality="CT", images=images, rows=size, cols=size, seed=500)
    generated = time.perf_counter()
    disc = lay_out([study], work / "tree")
    written = time.perf_counter()
    return disc.root, generated - started, written - generated, disc.report


def measure(root: Path, steps: int) -> tuple[float, float, float]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto((root / "INDEX.HTM").as_uri(), wait_until="commit")
            page.wait_for_function(RENDERED, arg=0, polling="raf", timeout=60_000)
            first = time.perf_counter() - started
            in_page = page.evaluate("performance.now()") / 1000
            page.focus("#image")
            started = time.perf_counter()
            for index in range(1, steps + 1):
                page.keyboard.press("ArrowDown")
                page.wait_for_function(RENDERED, arg=index, polling="raf", timeout=30_000)
            scrolled = time.perf_counter() - started
        finally:
            browser.close()
    return first, in_page, scrolled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build the disc here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="viewer-speed-"))
    try:
        root, generate_s, write_s, report = build(work, args.images, args.size)
        first, in_page, scrolled = measure(root, args.steps)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    mib = 1024 * 1024
    print(f"disc: {args.images} CT images {args.size}x{args.size}; synthetic study made in {generate_s:.1f} s")
    print(f"web content written in {write_s:.1f} s ({write_s / args.images * 1000:.0f} ms/image): "
          f"{report.bytes_used / mib:.1f} MiB, of which embedded copies {report.data_bytes / mib:.1f} MiB "
          f"({report.data_bytes / args.images / 1024:.0f} KiB/image), decision {report.decision}")
    print(f"first image visible: {first:.2f} s after opening INDEX.HTM (page clock {in_page:.2f} s)   target < 2 s")
    print(f"scrolling through {args.steps} images: {scrolled:.2f} s ({scrolled / args.steps * 1000:.0f} ms/image)"
          f"   target < 10 s")
    ok = first < 2.0 and scrolled < 10.0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
