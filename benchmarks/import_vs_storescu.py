"""`mediastation import run` against DCMTK `storescu` sending the same files into Orthanc (issue 7).

Not a test: run it by hand, e.g. `nice .venv/bin/python benchmarks/import_vs_storescu.py`.
It generates (once, cached in --data) an outside medium of 2,000 synthetic instances, about 1 GB,
in five transfer syntaxes (Explicit and Implicit VR LE, JPEG 2000, JPEG-LS and RLE lossless), and
measures on this machine, with TCP_NODELAY on every side (feasibility.md §2):

- the inventory alone (headers and SHA-256 of every file, in-process), from the folder and from an
  ISO image of it;
- `storescu -xf <config covering the syntaxes> +sd +r` into a fresh Orthanc (no coercion);
- `mediastation import run` into a fresh Orthanc: inventory, reconcile, precheck, coerce + store
  over 2 associations, verify by C-FIND, storage commitment, receipt, database; files per second
  of the whole run and of its store stage, and the peak RSS summed over the station's processes.

storescu and import runs alternate (--repeat, default 2) because the shared machine's load varies;
the best run of each is compared. Targets (exit status 1 when one is missed): whole run >= 0.8 x
storescu's files/s; peak RSS < 250 MB; inventory of 2,000 files < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.orthanc import OrthancServer, free_port
from support.synthetic import make_study

HETU = "010594Y9032"
RATIO_TARGET = 0.8
RSS_LIMIT_MB = 250
INVENTORY_LIMIT_S = 2.0
# (modality, transfer syntax, instances): 2,000 in all, ~1 GB at 512 x 512 x 16 bit
PLAN = (("CT", "1.2.840.10008.1.2.1", 1300), ("MR", "1.2.840.10008.1.2", 500),
        ("CT", "1.2.840.10008.1.2.4.90", 80), ("CT", "1.2.840.10008.1.2.4.80", 60), ("CT", "1.2.840.10008.1.2.5", 60))
SOP = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4"}
# DCMTK's storescu: pynetdicom installs an app of the same name into the virtual environment's bin
STORESCU = shutil.which("storescu", path="/usr/bin:/bin") or "storescu"


def generate(data: Path) -> None:
    marker = data.with_name(data.name + ".complete")  # beside the medium: storescu stops at a non-DICOM file
    if marker.exists():
        return
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    for n, (modality, syntax, count) in enumerate(PLAN):
        make_study(data, modality=modality, images=count // 4, series=4, patient_id="JOR-0001234",  # type: ignore[arg-type]
                   patient_name="Virtanen^Ville", accession=f"JOR{n}", transfer_syntax=syntax, rows=512, cols=512,
                   seed=900 + n)
    marker.write_text("ok")
    print(f"generated {sum(c for *_x, c in PLAN)} files in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def storescu_config(path: Path) -> None:
    syntaxes = sorted({ts for _m, ts, _c in PLAN})
    lines = ["[[TransferSyntaxes]]"]
    for n, ts in enumerate(syntaxes):
        lines += [f"[TS{n}]", f"TransferSyntax1 = {ts}"]
    lines += ["[[PresentationContexts]]", "[Bench]"]
    contexts = sorted({(SOP[m], syntaxes.index(ts)) for m, ts, _c in PLAN})
    lines += [f"PresentationContext{i + 1} = {sop}\\TS{n}" for i, (sop, n) in enumerate(contexts)]
    lines += ["[[Profiles]]", "[Bench]", "PresentationContexts = Bench"]
    path.write_text("\n".join(lines) + "\n")


class TreeRss:
    """Peak resident memory summed over a process and its descendants, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self.peak_single_kb = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            sizes = [self._rss(p) for p in self._tree()]
            self.peak_kb = max(self.peak_kb, sum(sizes))
            self.peak_single_kb = max([self.peak_single_kb, *sizes])
            time.sleep(0.02)

    def _tree(self) -> list[int]:
        pids, frontier = [self.pid], [self.pid]
        while frontier:
            parent = frontier.pop()
            try:
                children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                pids.append(child)
                frontier.append(child)
        return pids

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def time_storescu(data: Path, work: Path, files: int) -> float:
    work.mkdir(parents=True, exist_ok=True)
    config = work / "storescu.cfg"
    storescu_config(config)
    with OrthancServer(ae_title="HUSPACS", folder=work / "orthanc-storescu") as pacs:
        started = time.perf_counter()
        result = subprocess.run([STORESCU, "-xf", str(config), "Bench", "-aet", "STORESCU", "-aec", "HUSPACS",
                                 "+sd", "+r", "-q", "127.0.0.1", str(pacs.dicom_port), str(data)],
                                env={**os.environ, "TCP_NODELAY": "1"}, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        assert result.returncode == 0, result.stderr[-2000:]
        assert pacs.instance_count() == files, (pacs.instance_count(), result.stderr[-2000:])
    return elapsed


def station_home(home: Path, pacs: OrthancServer) -> list[str]:
    """A station home whose [archive] is `pacs` (storage commitment on the port it knows); its CLI."""
    cli = [sys.executable, "-m", "mediastation", "--home", str(home)]
    subprocess.run([*cli, "init", "--archive-host", "127.0.0.1", "--archive-port", str(pacs.dicom_port),
                    "--archive-ae", "HUSPACS"], check=True, capture_output=True, cwd=REPO)
    config = home / "station.toml"
    config.write_text(config.read_text().replace("port = 11112", f"port = {pacs.station_port}"))
    return cli


def time_import(data: Path, work: Path, files: int) -> tuple[float, dict, TreeRss]:
    work.mkdir(parents=True, exist_ok=True)
    station_port = free_port()
    with OrthancServer(ae_title="HUSPACS", station_port=station_port, folder=work / "orthanc-import") as pacs:
        cli = station_home(work / "home", pacs)
        started = time.perf_counter()
        process = subprocess.Popen([*cli, "import", "run", str(data), "--map", f"P1={HETU}", "--name",
                                    "P1=Mäkelä^Aino", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=REPO)
        rss = TreeRss(process.pid)
        stdout, stderr = process.communicate()
        elapsed = time.perf_counter() - started
        rss.stop()
        assert process.returncode == 0, (stdout[-3000:], stderr[-1500:])
        document = json.loads(stdout)
        assert document["state"] == "done" and pacs.instance_count() == files, (document["counts"], pacs.instance_count())
    return elapsed, document, rss


def time_inventory(data: Path, work: Path) -> dict[str, float]:
    from mediastation.dicom.inventory import take_inventory
    from mediastation.dicom.sources import open_medium

    timings = {}
    for label, source in (("folder", data), ("iso", work / "medium.iso")):
        if label == "iso":
            subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-J", "-o", str(source), str(data)], check=True,
                           capture_output=True)
        take_inventory(open_medium(source))  # page cache warm, as after the copy from the drive
        started = time.perf_counter()
        inventory = take_inventory(open_medium(source))
        timings[label] = time.perf_counter() - started
        assert sum(1 for f in inventory.files if f.kind == "instance") == 2000
        started = time.perf_counter()
        take_inventory(open_medium(source), hashes=False)
        timings[f"{label}_headers_only"] = time.perf_counter() - started
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "ms-import-bench-data")
    parser.add_argument("--repeat", type=int, default=2,
                        help="alternate storescu and import runs this many times (the machine's load varies)")
    args = parser.parse_args()
    generate(args.data)
    files = sum(1 for p in args.data.rglob("*.dcm"))
    size = sum(p.stat().st_size for p in args.data.rglob("*.dcm"))
    work = Path(tempfile.mkdtemp(prefix="ms-import-bench-"))
    references, ours, documents, peaks = [], [], [], []
    try:
        inventory = time_inventory(args.data, work)
        for n in range(args.repeat):
            references.append(time_storescu(args.data, work / f"s{n}", files))
            elapsed, document, rss = time_import(args.data, work / f"i{n}", files)
            ours.append(elapsed)
            documents.append(document)
            peaks.append((rss.peak_kb, rss.peak_single_kb))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = min(range(len(ours)), key=ours.__getitem__)
    run = documents[best]["run"]
    figures = {
        "files": files, "bytes": size, "load_average_after": os.getloadavg(),
        "storescu_s": [round(x, 2) for x in references], "import_s": [round(x, 2) for x in ours],
        "storescu_files_per_s": round(files / min(references), 1), "import_files_per_s": round(files / min(ours), 1),
        "ratio_best_to_best": round(min(references) / min(ours), 3),
        "ratio_per_pair": [round(r / o, 3) for r, o in zip(references, ours)],
        "import_store_stage_files_per_s": run.get("store_files_per_s"), "import_timings": run["timings"],
        "store_stage_ratio_best": round((run.get("store_files_per_s") or 0) / (files / min(references)), 3),
        "peak_rss_mb_all_processes": round(max(p[0] for p in peaks) / 1024, 1),
        "peak_rss_mb_largest_process": round(max(p[1] for p in peaks) / 1024, 1),
        "inventory_s": {k: round(v, 3) for k, v in inventory.items()},
    }
    print(json.dumps(figures, indent=2))
    missed = []
    if figures["ratio_best_to_best"] < RATIO_TARGET:
        missed.append(f"files/s ratio {figures['ratio_best_to_best']} < {RATIO_TARGET}")
    if figures["peak_rss_mb_all_processes"] >= RSS_LIMIT_MB:
        missed.append(f"peak RSS {figures['peak_rss_mb_all_processes']} MB >= {RSS_LIMIT_MB} MB")
    if inventory["folder"] >= INVENTORY_LIMIT_S:
        missed.append(f"inventory {inventory['folder']:.2f} s >= {INVENTORY_LIMIT_S} s")
    for line in missed:
        print(f"TARGET MISSED: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
