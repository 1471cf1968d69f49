"""Whole export from Orthanc vs Orthanc's own media export of the same study (speed and memory).

Starts a private Orthanc on free loopback ports (tests/support/orthanc.py), stores one synthetic
study of N uncompressed CT instances (512 x 512, about 0.5 MB each) into it with DCMTK's storescu,
then times, in alternating pairs on this machine:
  ours:      mediastation export --again (retrieve by C-GET from that Orthanc, compose with DICOMDIR,
             viewer and letter, ISO with pycdlib, write to a folder, read back and verify, record),
             as one process; its peak RSS from wait4 (the largest process of its tree)
  reference: GET /studies/{id}/media of the same Orthanc (a ZIP with a DICOMDIR, not extended),
             streamed to a file
Unlike `cp -r` + xorriso, the reference does not swing with the page cache: both sides read the
same archive through the same server. Target: median ratio ours/Orthanc under 0.25.

    .venv/bin/python benchmarks/export_vs_orthanc_media.py [--instances 2000] [--pairs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.orthanc import OrthancServer, free_port  # noqa: E402
from support.synthetic import StudyInfo, make_study  # noqa: E402

HETU = "010594Y9032"
ARCHIVE_AE = "HUSPACS"
RATIO_TARGET = 0.25
# DCMTK's storescu: pynetdicom installs an app of the same name into the virtual environment's bin
STORESCU = shutil.which("storescu", path="/usr/bin:/bin") or "storescu"


def run_measured(cmd: list[str], **kwargs: object) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (MB) of one child process and the children it waited for, from
    wait4's rusage; its pipes are drained by threads meanwhile, so a full pipe cannot stall it."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)  # type: ignore[arg-type]
    output: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda name=name, pipe=pipe: output.__setitem__(name, pipe.read()))
               for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr))]
    for reader in readers:
        reader.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    for reader in readers:
        reader.join()
    return elapsed, usage.ru_maxrss / 1024, subprocess.CompletedProcess(cmd, process.returncode, output["stdout"],
                                                                          output["stderr"])


def generate(folder: Path, instances: int) -> tuple[StudyInfo, datetime]:
    accession, moment = f"BENCH{instances}", datetime(2026, 11, 20, 10, 31)
    info = make_study(folder, modality="CT", images=instances // 4, series=4, patient_id=HETU,
                      accession=accession, study_description="TT VARTALO", study_datetime=moment, rows=512,
                      cols=512, seed=instances)
    return info, moment


def store(pacs: OrthancServer, info: StudyInfo, folder: Path) -> str:
    """Send the study with storescu (one association); Orthanc's id of the study."""
    result = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", pacs.ae_title, "+sd", "+r", "-q",
                             pacs.host, str(pacs.dicom_port), str(folder)],
                            env={**os.environ, "TCP_NODELAY": "1"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert pacs.instance_count() == info.instance_count, (pacs.instance_count(), result.stderr[-2000:])
    lookup = urllib.request.Request(f"{pacs.url}/tools/lookup", data=info.study_instance_uid.encode(), method="POST")
    with urllib.request.urlopen(lookup, timeout=30) as response:
        found = [hit["ID"] for hit in json.loads(response.read()) if hit["Type"] == "Study"]
    assert len(found) == 1, found
    return found[0]


def station(root: Path, pacs: OrthancServer, info: StudyInfo, moment: datetime) -> tuple[list[str], str]:
    """A station home whose [archive] is the Orthanc, and one approved request for the study."""
    home = root / "home"
    cli = [sys.executable, "-m", "mediastation", "--home", str(home)]
    subprocess.run([*cli, "init", "--archive-host", pacs.host, "--archive-port", str(pacs.dicom_port),
                    "--archive-ae", pacs.ae_title], check=True, capture_output=True, cwd=REPO)
    config = home / "station.toml"
    config.write_text(config.read_text().replace("port = 11112", f"port = {pacs.station_port}"))
    request = {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": "Mäkelä^Aino", "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Bench"},
        "requester": {"unit": "Bench", "person": "Bench"}, "basis": {"kind": "consent", "reference": "B-1"},
        "destination": {"kind": "service_provider", "name": "Bench Oy",
                        "address": {"name": "Bench Oy", "street": "Katu 1", "postal_code": "00100", "city": "Helsinki"}},
        "channel": "dvd",
        "studies": [{"accession_number": info.accession, "study_description": info.study_description,
                     "study_datetime": moment.isoformat()}]}
    path = root / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    added = subprocess.run([*cli, "request", "add", str(path), "--json"], capture_output=True, text=True, check=True,
                           cwd=REPO)
    return cli, json.loads(added.stdout)["request_id"]


def ours(cli: list[str], request_id: str, out: Path, jobs: Path) -> tuple[float, float, dict]:
    """One whole export as a process; `--again` makes a new job (a new retrieve) every time."""
    seconds, rss, result = run_measured([*cli, "export", request_id, "--to", str(out), "--mkdir", "--again", "--json"],
                                        cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"export failed: {result.stdout.decode()}{result.stderr.decode()[-2000:]}")
    document = json.loads(result.stdout)
    shutil.rmtree(out, ignore_errors=True)  # not measured: the next run starts from the same disk
    shutil.rmtree(jobs / document["job_id"], ignore_errors=True)
    return seconds, rss, document


def orthanc_media(pacs: OrthancServer, study_id: str, target: Path, instances: int) -> tuple[float, float]:
    """GET /studies/{id}/media streamed to a file: seconds and MB; the ZIP is checked, then removed."""
    started = time.perf_counter()
    with urllib.request.urlopen(f"{pacs.url}/studies/{study_id}/media", timeout=3600) as response, \
            open(target, "wb") as sink:
        shutil.copyfileobj(response, sink, 1 << 20)
    elapsed = time.perf_counter() - started
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    assert any(n.upper().endswith("DICOMDIR") for n in names), names[:5]
    assert len(names) >= instances, (len(names), instances)
    size = target.stat().st_size / 1e6
    target.unlink()
    return elapsed, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=3, help="ours, Orthanc, ours, Orthanc ... this many times")
    parser.add_argument("--keep", type=Path, help="make the work folder in DIR and keep it")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ms-bench-orthanc-media-", dir=args.keep))
    pacs = OrthancServer(ae_title=ARCHIVE_AE, station_port=free_port(), folder=root / "orthanc")
    rows = []
    try:
        started = time.perf_counter()
        info, moment = generate(root / "study", args.instances)
        size = sum(p.stat().st_size for p in info.files) / 1e6
        pacs.start()
        study_id = store(pacs, info, root / "study")
        print(f"  generated and stored {info.instance_count} instances ({size:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s (not measured); Orthanc pid {pacs.pid}", flush=True)
        cli, request_id = station(root, pacs, info, moment)
        for n in range(args.pairs):
            our_s, our_rss, document = ours(cli, request_id, root / f"out{n}", root / "home" / "jobs")
            print(f"  pair {n + 1}: export {our_s:.2f} s, stages (s): {document.get('seconds')}", flush=True)
            ref_s, zip_mb = orthanc_media(pacs, study_id, root / f"media{n}.zip", info.instance_count)
            print(f"  pair {n + 1}: Orthanc /media {ref_s:.2f} s ({zip_mb:.0f} MB ZIP)", flush=True)
            rows.append({"ours_s": our_s, "ours_rss": our_rss, "ref_s": ref_s, "media": len(document["media"])})
    finally:
        pacs.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\n{info.instance_count} instances, {size:.0f} MB; load average after: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'pair':>4} {'export s':>9} {'Orthanc s':>10} {'ratio':>6} {'our RSS MB':>10} {'media':>5}")
    for n, r in enumerate(rows):
        print(f"{n + 1:>4} {r['ours_s']:>9.2f} {r['ref_s']:>10.2f} {r['ours_s'] / r['ref_s']:>6.3f} "
              f"{r['ours_rss']:>10.1f} {r['media']:>5}")
    ratio = statistics.median(r["ours_s"] / r["ref_s"] for r in rows)
    print(f"{'med':>4} {statistics.median(r['ours_s'] for r in rows):>9.2f} "
          f"{statistics.median(r['ref_s'] for r in rows):>10.2f} {ratio:>6.3f} "
          f"{max(r['ours_rss'] for r in rows):>10.1f}")
    met = ratio < RATIO_TARGET
    print(f"\ntarget ratio < {RATIO_TARGET}: {'met' if met else 'not met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
