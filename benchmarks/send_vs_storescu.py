"""Electronic release (`mediastation send`, relay) vs DCMTK relaying the same study: instances per second.

Starts two private Orthancs on free loopback ports (tests/support/orthanc.py): HUSPACS, the HUS
archive, holding one synthetic study of N uncompressed CT instances (512 x 512 x 16 bit, ~0.5 MB
each: 2,000 are ~1 GB; patient 010594Y9032), and KYMSPACS, the receiving hospital's archive. Then,
in alternating pairs on this machine:
  ours:   `mediastation send REQUEST_ID` as one process, for a request decided `electronic` to the
          `[[release.electronic_destinations]]` entry naming KYMSPACS (defaults: method relay, no
          storage commitment): C-GET from HUSPACS into the job folder, C-FIND of what KYMSPACS holds,
          C-STORE of every file, C-FIND of the study to verify, disclosure log; peak RSS from wait4
  DCMTK:  `getscu` (C-GET, study root) of the study from HUSPACS into a folder, then `storescu +sd +r`
          of that folder to KYMSPACS; the two are timed separately and summed
Why this reference: a relay is a fetch plus a send, and both sides do both, with the same protocols
(the station's `[archive] retrieve` is C-GET by default), the same default maximum PDU (16 KB), the
same disk and TCP_NODELAY everywhere. `storescu` of files already on disk alone would leave the fetch
out of theirs only, and those files would be in the page cache since they were generated; `movescu`
to a `storescp` is C-MOVE, which needs HUSPACS to know the storescp as a modality and is not the
station's default. Ours also asks KYMSPACS what it holds before sending and verifies afterwards with a
C-FIND, and records the release: DCMTK does none of that, so the ratio is, if anything, unfair to ours.
Before every run (not measured) KYMSPACS is emptied through its REST API (DELETE /patients/ID), so
each run sends all N instances; every run checks that KYMSPACS then holds exactly N.

Target: ours >= 0.8 x DCMTK's instances per second (median of the pairs' ratios).

    .venv/bin/python benchmarks/send_vs_storescu.py [--instances 2000] [--pairs 3] [--keep DIR]
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
import time
import urllib.request
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "benchmarks")]

from export_vs_orthanc_media import run_measured, store  # noqa: E402
from support.orthanc import OrthancServer, free_port  # noqa: E402
from support.synthetic import StudyInfo, make_study  # noqa: E402
from support.transfer_station import electronic_destination, station_home  # noqa: E402

HETU = "010594Y9032"
NAME = "Mäkelä^Aino"
DESTINATION = "Kymenlaakson keskussairaala"
RATIO_TARGET = 0.8
# DCMTK's tools: pynetdicom installs apps of the same names into the virtual environment's bin
GETSCU = shutil.which("getscu", path="/usr/bin:/bin") or "getscu"
STORESCU = shutil.which("storescu", path="/usr/bin:/bin") or "storescu"
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}  # Debian's DCMTK keeps Nagle's algorithm on otherwise


def generate(folder: Path, instances: int) -> tuple[StudyInfo, datetime]:
    moment = datetime(2026, 11, 20, 10, 31)
    info = make_study(folder, modality="CT", images=instances // 4, series=4, patient_id=HETU, patient_name=NAME,
                      accession=f"SEND{instances}", study_description="TT VARTALO", study_datetime=moment,
                      rows=512, cols=512, seed=instances)
    return info, moment


def station(root: Path, hus: OrthancServer, receiver: OrthancServer) -> list[str]:
    """A station home whose [archive] is HUSPACS and whose one electronic destination is KYMSPACS."""
    home = station_home(root / "home", hus, release=electronic_destination(DESTINATION, receiver))
    return [sys.executable, "-m", "mediastation", "--home", str(home)]


def new_request(cli: list[str], root: Path, info: StudyInfo, moment: datetime, n: int) -> str:
    """A request the rules decide `electronic` (R6: the destination has an image link); one per run,
    since a request once sent is not sent again."""
    request = {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": NAME, "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Bench"},
        "requester": {"unit": DESTINATION, "person": "Bench"},
        "basis": {"kind": "consent", "reference": f"BENCH-{n}"},
        "destination": {"kind": "service_provider", "name": DESTINATION, "participates_in_care": True},
        "channel": "auto",
        "studies": [{"accession_number": info.accession, "study_description": info.study_description,
                     "study_datetime": moment.isoformat()}]}
    path = root / f"request-{n}.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    added = json.loads(subprocess.run([*cli, "request", "add", str(path), "--json"], capture_output=True, text=True,
                                      check=True, cwd=REPO).stdout)
    assert added["channel"] == "electronic", added
    return str(added["request_id"])


def empty(receiver: OrthancServer) -> None:
    """Delete everything the receiver holds (not measured), so the next run sends every instance."""
    for patient in receiver.rest("/patients"):
        urllib.request.urlopen(urllib.request.Request(f"{receiver.url}/patients/{patient}", method="DELETE"),
                               timeout=600).read()
    assert receiver.instance_count() == 0


def ours(cli: list[str], request_id: str, receiver: OrthancServer, jobs: Path, instances: int) -> tuple[float, float, dict]:
    seconds, rss, result = run_measured([*cli, "send", request_id, "--json"], cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"send failed: {result.stdout.decode()}{result.stderr.decode()[-2000:]}")
    document = json.loads(result.stdout)
    sent = sum(s["sent"] for s in document["studies"])
    assert sent == instances and receiver.instance_count() == instances, (sent, receiver.instance_count())
    shutil.rmtree(jobs / document["job_id"], ignore_errors=True)  # not measured: the next run starts from the same disk
    return seconds, rss, document


def dcmtk(hus: OrthancServer, receiver: OrthancServer, info: StudyInfo, folder: Path) -> tuple[float, float]:
    """getscu into `folder`, then storescu of it to the receiver: the seconds of each."""
    folder.mkdir(parents=True)
    fetch_s, _rss, fetched = run_measured(
        [GETSCU, "-aet", "GETSCU", "-aec", hus.ae_title, "-S", "-k", "QueryRetrieveLevel=STUDY",
         "-k", f"StudyInstanceUID={info.study_instance_uid}", "-od", str(folder), "-q", hus.host,
         str(hus.dicom_port)], env=DCMTK_ENV)
    assert fetched.returncode == 0, fetched.stderr[-2000:]
    assert sum(1 for _ in folder.iterdir()) == info.instance_count
    store_s, _rss, stored = run_measured(
        [STORESCU, "-aet", "STORESCU", "-aec", receiver.ae_title, "+sd", "+r", "-q", receiver.host,
         str(receiver.dicom_port), str(folder)], env=DCMTK_ENV)
    assert stored.returncode == 0, stored.stderr[-2000:]
    assert receiver.instance_count() == info.instance_count, receiver.instance_count()
    shutil.rmtree(folder, ignore_errors=True)  # not measured
    return fetch_s, store_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=3, help="ours, DCMTK, ours, DCMTK ... this many times")
    parser.add_argument("--keep", type=Path, help="make the work folder in DIR and keep it")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ms-bench-send-", dir=args.keep))
    station_port = free_port()
    hus = OrthancServer(ae_title="HUSPACS", station_port=station_port, folder=root / "hus")
    receiver = OrthancServer(ae_title="KYMSPACS", station_port=station_port, folder=root / "kyms")
    rows = []
    try:
        started = time.perf_counter()
        info, moment = generate(root / "study", args.instances)
        size = sum(p.stat().st_size for p in info.files) / 1e6
        hus.start()
        receiver.start()
        store(hus, info, root / "study")
        shutil.rmtree(root / "study", ignore_errors=True)  # from here on the study is only in HUSPACS
        print(f"  generated and stored {info.instance_count} instances ({size:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s (not measured); Orthanc pids {hus.pid} (HUSPACS), "
              f"{receiver.pid} (KYMSPACS)", flush=True)
        cli = station(root, hus, receiver)
        for n in range(args.pairs):
            request_id = new_request(cli, root, info, moment, n)
            our_s, our_rss, document = ours(cli, request_id, receiver, root / "home" / "jobs", info.instance_count)
            print(f"  pair {n + 1}: send {our_s:.2f} s, stages (s): {document.get('seconds')}", flush=True)
            empty(receiver)
            fetch_s, store_s = dcmtk(hus, receiver, info, root / f"fetched{n}")
            print(f"  pair {n + 1}: getscu {fetch_s:.2f} s + storescu {store_s:.2f} s", flush=True)
            empty(receiver)
            rows.append({"ours_s": our_s, "ours_rss": our_rss, "fetch_s": fetch_s, "store_s": store_s,
                         "ref_s": fetch_s + store_s, "stages": document.get("seconds") or {}})
    finally:
        receiver.terminate()
        hus.terminate()
        receiver.wait_stopped()
        hus.wait_stopped()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    count = info.instance_count
    print(f"\n{count} instances, {size:.0f} MB; load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'pair':>4} {'send s':>7} {'inst/s':>7} {'getscu s':>8} {'storescu s':>10} {'DCMTK s':>7} {'inst/s':>7} "
          f"{'ratio':>6} {'our RSS MB':>10}  our stages (s)")
    for n, r in enumerate(rows):
        stages = " ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
        print(f"{n + 1:>4} {r['ours_s']:>7.2f} {count / r['ours_s']:>7.1f} {r['fetch_s']:>8.2f} {r['store_s']:>10.2f} "
              f"{r['ref_s']:>7.2f} {count / r['ref_s']:>7.1f} {r['ref_s'] / r['ours_s']:>6.3f} {r['ours_rss']:>10.1f}  "
              f"{stages}")
    ratio = statistics.median(r["ref_s"] / r["ours_s"] for r in rows)
    ours_med, ref_med = statistics.median(r["ours_s"] for r in rows), statistics.median(r["ref_s"] for r in rows)
    print(f"{'med':>4} {ours_med:>7.2f} {count / ours_med:>7.1f} "
          f"{statistics.median(r['fetch_s'] for r in rows):>8.2f} {statistics.median(r['store_s'] for r in rows):>10.2f} "
          f"{ref_med:>7.2f} {count / ref_med:>7.1f} {ratio:>6.3f} {max(r['ours_rss'] for r in rows):>10.1f}")
    met = ratio >= RATIO_TARGET
    print(f"\nratio = our instances/s over DCMTK's; target >= {RATIO_TARGET}: {'met' if met else 'not met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
