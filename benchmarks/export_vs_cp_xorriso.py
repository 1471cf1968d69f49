"""Whole export vs `cp -r` + `xorriso -as mkisofs` of the same files (issue 4, speed and memory).

Generates a folder archive with one study of N uncompressed CT instances (512 x 512, about 0.5 MB
each), then in one run on this machine:
  reference: cp -r of the study's files + xorriso -as mkisofs -iso-level 1 -J of the copy
  ours:      mediastation export (retrieve from the folder archive, compose with DICOMDIR, viewer and
             letter, ISO with pycdlib, write to a folder, read back and verify, record)
Targets: ours within 3x the reference; peak RSS under 250 MB and not growing with study size.

    .venv/bin/python benchmarks/export_vs_cp_xorriso.py [--instances 2000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mediastation.dicom.samples import make_study  # noqa: E402

HETU = "010594Y9032"
RSS_LIMIT_MB = 250
TIME_RATIO_LIMIT = 3.0


def run_measured(cmd: list[str], **kwargs: object) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (MB) of one child process, from wait4's rusage."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)  # type: ignore[arg-type]
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stdout, stderr = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    result = subprocess.CompletedProcess(cmd, os.waitstatus_to_exitcode(status), stdout, stderr)
    return elapsed, usage.ru_maxrss / 1024, result


def generate(archive: Path, instances: int) -> tuple[str, datetime]:
    accession, moment = f"BENCH{instances}", datetime(2026, 11, 20, 10, 31)
    make_study(archive / accession, modality="CT", images=instances // 4, series=4, patient_id=HETU,
               accession=accession, study_description="TT VARTALO", study_datetime=moment, rows=512, cols=512,
               seed=instances)
    return accession, moment


def reference(study: Path, work: Path) -> tuple[float, float, float]:
    """cp -r + xorriso seconds, their peak RSS, and the `sync` after them: the reference's bytes are
    only in the page cache until then, where the export fsyncs its medium (shown, not compared)."""
    copy, iso = work / "copy", work / "ref.iso"
    t_cp, rss_cp, cp = run_measured(["cp", "-r", str(study), str(copy)])
    t_iso, rss_iso, mk = run_measured(["xorriso", "-as", "mkisofs", "-iso-level", "1", "-J", "-V", "REF",
                                       "-quiet", "-o", str(iso), str(copy)])
    assert cp.returncode == 0 and mk.returncode == 0, mk.stderr
    t_sync, _rss, _done = run_measured(["sync"])
    return t_cp + t_iso, max(rss_cp, rss_iso), t_sync


def ours(home: Path, accession: str, moment: datetime, work: Path) -> tuple[float, float, dict]:
    cli = [sys.executable, "-m", "mediastation", "--home", str(home)]
    request = {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": "Mäkelä^Aino", "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Bench"},
        "requester": {"unit": "Bench", "person": "Bench"}, "basis": {"kind": "consent", "reference": "B-1"},
        "destination": {"kind": "service_provider", "name": "Bench Oy",
                        "address": {"name": "Bench Oy", "street": "Katu 1", "postal_code": "00100", "city": "Helsinki"}},
        "channel": "dvd",
        "studies": [{"accession_number": accession, "study_description": "TT VARTALO",
                     "study_datetime": moment.isoformat()}]}
    path = work / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    added = subprocess.run(cli + ["request", "add", str(path), "--json"], capture_output=True, text=True, check=True)
    request_id = json.loads(added.stdout)["request_id"]
    seconds, rss, result = run_measured(cli + ["export", request_id, "--to", str(work / "out"), "--json"])
    if result.returncode != 0:
        raise SystemExit(f"export failed: {result.stdout.decode()}{result.stderr.decode()[-2000:]}")
    return seconds, rss, json.loads(result.stdout)


def one_size(instances: int, root: Path) -> dict[str, float]:
    home, work = root / f"home{instances}", root / f"work{instances}"
    work.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "mediastation", "--home", str(home), "init"], check=True,
                   capture_output=True)
    archive = home / "archive"
    started = time.perf_counter()
    accession, moment = generate(archive, instances)
    print(f"  generated {instances} instances in {time.perf_counter() - started:.1f} s (not measured)", flush=True)
    subprocess.run(["sync"], check=True)
    ref_s, ref_rss, sync_s = reference(archive / accession, work)
    our_s, our_rss, document = ours(home, accession, moment, work)
    size = sum(p.stat().st_size for p in (archive / accession).rglob("*") if p.is_file())
    print(f"  export stages (s): {document.get('seconds')}", flush=True)
    return {"instances": instances, "mb": size / 1e6, "ref_s": ref_s, "sync_s": sync_s, "ref_rss": ref_rss, "ours_s": our_s,
            "ours_rss": our_rss, "media": len(document["media"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ms-bench-export-", dir=args.keep))
    try:
        rows = [one_size(args.instances // 2, root), one_size(args.instances, root)]
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\n{'instances':>9} {'MB':>7} {'cp+xorriso s':>13} {'+sync s':>8} {'export s':>9} {'ratio':>6} "
          f"{'ref RSS MB':>10} {'our RSS MB':>10}")
    for r in rows:
        print(f"{r['instances']:>9} {r['mb']:>7.0f} {r['ref_s']:>13.2f} {r['sync_s']:>8.2f} {r['ours_s']:>9.2f} "
              f"{r['ours_s'] / r['ref_s']:>6.2f} {r['ref_rss']:>10.1f} {r['ours_rss']:>10.1f}")
    big = rows[-1]
    ok_time = big["ours_s"] <= TIME_RATIO_LIMIT * big["ref_s"]
    ok_rss = all(r["ours_rss"] < RSS_LIMIT_MB for r in rows)
    flat = rows[1]["ours_rss"] <= rows[0]["ours_rss"] * 1.25 + 10
    print(f"\ntime within {TIME_RATIO_LIMIT}x of cp -r + xorriso: {'yes' if ok_time else 'NO'}; "
          f"peak RSS < {RSS_LIMIT_MB} MB: {'yes' if ok_rss else 'NO'}; "
          f"RSS flat when the study doubles: {'yes' if flat else 'NO'}")
    return 0 if ok_time and ok_rss and flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
