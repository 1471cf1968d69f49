"""Speed of the viewer's web content (mediastation.media.web.write_web_content), in ms per image.

Target: at most 8 ms per image (wall) on the station's 2 cores without a budget (every copy raw),
and clearly faster than before with a CD's budget. Builds one synthetic CT study (512 x 512,
16-bit, uncompressed) laid out as on a medium, then writes the web content for each case:

    none   budget None: every series embedded, copies as raw samples
    cd     what a 700 MB CD leaves after the DICOM files: copies RLE-compressed where smaller
    dvd    what the export passes for a DVD: the space left, at most [export] viewer_budget_mb (250)
    tight  a budget that embeds only part of the series (one overflows and is dropped)

`--baseline REV` also times the implementation of git revision REV (e.g. the commit before the
speed-up) on the same files, for before/after figures; its output must match ours (checked).

    .venv/bin/python benchmarks/web_content_speed.py [--images 500] [--size 512] [--series 2]
        [--workers N] [--repeat 1] [--baseline REV] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from support.synthetic import make_study

from mediastation.media import web

CD_BYTES = 700 * 1024 * 1024
DVD_BYTES = 4_700_000_000
VIEWER_BUDGET = 250 * 1_000_000  # the default of [export] viewer_budget_mb
MEDIA_MODULES = ("web", "web_pixels", "web_pages", "web_types")


def build(work: Path, images: int, size: int, series: int) -> list[web.WebInstance]:
    """The study's files named as under DICOM/ of a medium, as the export lays them out."""
    study = make_study(work / "src", modality="CT", images=images // series, series=series, rows=size, cols=size,
                       seed=4242)
    root, instances = work / "tree", []
    for number, source in enumerate(study.files):
        medium_path = f"DICOM/SE{source.parent.name[-3:]}/IM{number:06d}"
        (root / medium_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / medium_path)
        instances.append(web.WebInstance(medium_path, root / medium_path))
    return instances


def baseline(revision: str, work: Path) -> ModuleType:
    """mediastation.media.web as it was at `revision`, importable beside today's."""
    package = work / "baseline_media"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name in MEDIA_MODULES:
        shown = subprocess.run(["git", "show", f"{revision}:mediastation/media/{name}.py"], cwd=REPO,
                               capture_output=True, text=True)
        if shown.returncode and name == "web_types":
            continue  # older than the module: its types were still in web.py and web_pages.py
        shown.check_returncode()
        (package / f"{name}.py").write_text(shown.stdout.replace("mediastation.media", "baseline_media"),
                                            encoding="utf-8")
    os.environ.setdefault(web.BUNDLE_ENV, str(web.bundle_dir()))
    sys.path.insert(0, str(work))
    return importlib.import_module("baseline_media.web")


def timed(module: ModuleType, work: Path, instances: list[web.WebInstance], budget: int | None,
          workers: int | None) -> tuple[float, Any, dict[str, bytes]]:
    """One run into a fresh medium root (the DICOM files stay where they are): seconds, report, pages."""
    root = work / "medium"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    kwargs: dict[str, Any] = {"budget_bytes": budget}
    if workers is not None and module is web:
        kwargs["workers"] = workers
    items = [module.WebInstance(i.medium_path, i.source) for i in instances]
    started = time.perf_counter()
    report = module.write_web_content(root, items, **kwargs)
    seconds = time.perf_counter() - started
    return seconds, report, pages(root)


def pages(root: Path) -> dict[str, bytes]:
    """What the viewer shows besides the copies' encoding: previews, manifest, pages."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in [root / "INDEX.HTM", *(root / "IHE_PDI").rglob("*")]
            if p.is_file() and not p.name.startswith("DA")}


def line(case: str, label: str, seconds: float, images: int, report: Any) -> str:
    mib = 1024 * 1024
    return (f"{case:6s} {label:6s} {seconds * 1000 / images:6.1f} ms/image  ({seconds:5.1f} s; web content "
            f"{report.bytes_used / mib:4.0f} MiB, copies {report.data_bytes / mib:4.0f} MiB, "
            f"{report.series_embedded}/{report.series_embedded + report.series_picker} series embedded)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--series", type=int, default=2)
    parser.add_argument("--workers", type=int, help="processes (default: the station's choice)")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per case")
    parser.add_argument("--baseline", metavar="REV", help="also time the implementation of this git revision")
    parser.add_argument("--keep", type=Path, help="build the tree here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="web-speed-"))
    try:
        instances = build(work, args.images, args.size, args.series)
        dicom = sum(web.blocks(i.source.stat().st_size) for i in instances)
        old = baseline(args.baseline, work / "baseline") if args.baseline else None
        images = len(instances)
        print(f"{images} CT images {args.size}x{args.size} in {args.series} series ({dicom / 2**20:.0f} MiB of DICOM); "
              f"workers: {args.workers or 'default'}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        shown_before: dict[str, bytes] = {}
        tight = int(dicom / args.series * 0.9)  # one series with RLE copies, not two
        cases = (("none", None), ("cd", CD_BYTES - dicom - 8 * 2**20), ("dvd", min(DVD_BYTES - dicom, VIEWER_BUDGET)),
                 ("tight", tight))
        for case, budget in cases:
            for label, module in (("before", old), ("after", web)):
                if module is None:
                    continue
                runs = [timed(module, work, instances, budget, args.workers) for _ in range(args.repeat)]
                seconds, report, shown = min(runs, key=lambda run: run[0])
                print(line(case, label, seconds, images, report))
                if label == "before":
                    shown_before = shown
                elif old is not None:
                    print(f"{'':14s}previews, manifest and pages identical to before: {shown == shown_before}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
