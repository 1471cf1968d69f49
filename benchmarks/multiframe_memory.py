"""Peak memory of a DVD export of large multi-frame images, and frames per second through them.

Two exports, each of one generated instance through the whole `mediastation export` (folder
archive, DVD, viewer, ISO, verify) as one process, its peak RSS from wait4 (the largest process of
its tree, the viewer's workers included):
  cine: a 600-frame 640 x 480 RGB ultrasound cine in JPEG baseline YBR_FULL_422 (553 MB decoded);
        with `compressed_profile = "J2K"` it is transcoded to Explicit VR Little Endian
  ct:   a 1,000-frame 512 x 512 Enhanced CT in RLE Lossless (524 MB decoded), transcoded on any DVD
Target: under 250 MB for both. The frames/s columns time the same steps in this process, one
instance each: transcoding (`dicom.transcode.conform`) and previews with embedded copies
(`media.web_pixels`: decode, JPEG preview, copy), so the table shows where the time goes.

    .venv/bin/python benchmarks/multiframe_memory.py [--keep DIR] [--cine-frames 600] [--ct-frames 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pydicom.uid import RLELossless, generate_uid  # noqa: E402

from mediastation.dicom.profiles import STD_GEN_DVD_J2K  # noqa: E402
from mediastation.dicom.transcode import conform  # noqa: E402
from mediastation.media import web_pixels  # noqa: E402
from support import multiframe as mf  # noqa: E402

from export_vs_orthanc_media import run_measured  # noqa: E402  (this folder: the same wait4 measurement)

RSS_LIMIT_MB = 250


def station(root: Path) -> list[str]:
    home = root / "home"
    cli = [sys.executable, "-m", "mediastation", "--home", str(home)]
    subprocess.run([*cli, "init"], check=True, capture_output=True, cwd=REPO)
    config = home / "station.toml"
    config.write_text(re.sub(r'(?m)^compressed_profile = "[A-Za-z0-9]*"', 'compressed_profile = "J2K"',
                             config.read_text()))
    return cli


def request(cli: list[str], root: Path, accession: str) -> str:
    document = {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": mf.NAME, "hetu": mf.HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Bench"},
        "requester": {"unit": "Bench", "person": "Bench"}, "basis": {"kind": "consent", "reference": "B-1"},
        "destination": {"kind": "service_provider", "name": "Bench Oy",
                        "address": {"name": "Bench Oy", "street": "Katu 1", "postal_code": "00100", "city": "Helsinki"}},
        "channel": "dvd",
        "studies": [{"accession_number": accession, "study_description": "MONIKUVA",
                     "study_datetime": "2026-11-20T10:31:00"}]}
    path = root / f"request-{accession}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    added = subprocess.run([*cli, "request", "add", str(path), "--json"], capture_output=True, text=True, check=True,
                           cwd=REPO)
    return json.loads(added.stdout)["request_id"]


def frames_per_second(made: mf.Made, scratch: Path) -> tuple[float, float]:
    started = time.perf_counter()
    conform(made.path, scratch, STD_GEN_DVD_J2K)
    transcoding = made.frames / (time.perf_counter() - started)
    scratch.unlink()
    started = time.perf_counter()
    for frame in web_pixels.frames(made.path):
        web_pixels.preview_jpeg(frame)
        web_pixels.embedded_copy(frame, compress=False)
    previews = made.frames / (time.perf_counter() - started)
    return transcoding, previews


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cine-frames", type=int, default=600)
    parser.add_argument("--ct-frames", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="make the work folder in DIR and keep it")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ms-bench-multiframe-", dir=args.keep))
    rows = []
    try:
        cli = station(root)
        archive = root / "home" / "archive"
        makers = (
            ("cine", lambda path, study: mf.us_cine_jpeg(path, study, frames=args.cine_frames, rows=480, cols=640,
                                                         frame_time=33.3, accession="MFCINE")),
            ("ct", lambda path, study: mf.enhanced(path, study, modality="CT", frames=args.ct_frames, rows=512,
                                                   cols=512, syntax=RLELossless, noise=2.0, accession="MFCT")))
        for name, make in makers:
            started = time.perf_counter()
            made = make(archive / name.upper() / "IM0001", generate_uid())
            size = made.path.stat().st_size / 1e6
            print(f"  {name}: generated {made.frames} frames ({size:.0f} MB) in "
                  f"{time.perf_counter() - started:.1f} s (not measured)", flush=True)
            request_id = request(cli, root, "MFCINE" if name == "cine" else "MFCT")
            seconds, rss, result = run_measured([*cli, "export", request_id, "--to", str(root / f"out-{name}"),
                                                 "--mkdir", "--json"], cwd=REPO)
            if result.returncode != 0:
                raise SystemExit(f"export failed: {result.stdout.decode()}{result.stderr.decode()[-2000:]}")
            document = json.loads(result.stdout)
            shutil.rmtree(root / f"out-{name}", ignore_errors=True)
            shutil.rmtree(root / "home" / "jobs", ignore_errors=True)
            transcoding, previews = frames_per_second(made, root / f"scratch-{name}")
            rows.append((name, made.frames, size, seconds, rss, transcoding, previews,
                         len(document.get("conversions", []))))
            print(f"  {name}: export {seconds:.1f} s (peak RSS {rss:.0f} MB), stages (s): {document.get('seconds')}",
                  flush=True)
            made.path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':<5} {'frames':>6} {'file MB':>8} {'export s':>9} {'peak RSS MB':>12} {'transcode f/s':>14} "
          f"{'previews f/s':>13} {'conversions':>11}")
    for name, frames, size, seconds, rss, transcoding, previews, conversions in rows:
        print(f"{name:<5} {frames:>6} {size:>8.0f} {seconds:>9.1f} {rss:>12.1f} {transcoding:>14.0f} "
              f"{previews:>13.0f} {conversions:>11}")
    met = all(row[4] < RSS_LIMIT_MB for row in rows)
    print(f"\ntarget peak RSS < {RSS_LIMIT_MB} MB for both: {'met' if met else 'not met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
