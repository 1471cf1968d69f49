"""What sending audit messages costs an import and an export: [audit] off against [audit] on,
sending over TLS (RFC 5425) to a private rsyslog (tests/support/rsyslog.py, a test CA made by
openssl), in one run on this machine.

Not a test: run it by hand, e.g. `/work/notes/heavy nice .venv/bin/python benchmarks/audit_overhead.py`.

- import: `mediastation import run` of the 2,000-instance outside medium of
  benchmarks/import_vs_storescu.py (generated once, cached in --data) into a fresh Orthanc per run
  (so every run stores all 2,000), from a fresh station home;
- export: `mediastation export --again` of a 500-instance study (benchmarks/export_vs_orthanc_media.py's
  study and request) from one Orthanc, each run a new job (a new C-FIND and C-GET), one home with
  audit off and one with audit on.

Runs come in pairs, off and on next to each other (off-on, then on-off, ...; --pairs, default 4),
because the shared machine's load varies; each run is the whole command as a process, including
the send of the outbox before it exits. Wall seconds and the CPU seconds of the station's processes
(getrusage of the children this script waited for: not the archive's, not the repository's) are
both shown; under the load of other work the CPU figure moved less than the wall figure (within a
pair about 10 % against up to 28 %, measured 2026-12-06 at load 3-5.5). Every run with audit on is
checked to have had its messages received. The audit's own work (its messages recorded and sent,
timed in-process: audit_work) is measured as well: it says what the audit costs when the runs'
noise is larger than that. Target (exit status 1 when missed), for the import and for the export:
the median of the pairs' wall on/off ratios under 1.05, and the audit's own work under 5 % of a run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "benchmarks")]

import export_vs_orthanc_media as export_bench  # noqa: E402
import import_vs_storescu as import_bench  # noqa: E402
from support.orthanc import OrthancServer, free_port  # noqa: E402
from support.rsyslog import Rsyslog, configure_audit  # noqa: E402

TARGET = 0.05
EXPORT_INSTANCES = 500


@dataclass
class Timed:
    work: str
    audit: bool
    seconds: float
    cpu: float  # CPU seconds of the station's processes (not the archive's)
    messages: int  # audit messages the repository received from this run


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_checked(cmd: list[str]) -> tuple[float, float, dict]:
    """Wall and CPU seconds of one command (its process and the children it waited for; the Orthanc
    and the rsyslog, children of this script too, are reaped only after the runs)."""
    cpu = cpu_of_children()
    seconds, _rss, result = export_bench.run_measured(cmd, cwd=REPO)
    cpu = cpu_of_children() - cpu
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[3:6])} failed: {result.stdout.decode()[-2000:]}{result.stderr.decode()[-2000:]}")
    if b"audit:" in result.stderr:  # the sender's own complaint: the repository did not take the messages
        raise SystemExit(f"audit messages were not sent: {result.stderr.decode()[-2000:]}")
    return seconds, cpu, json.loads(result.stdout)


def received(repository: Rsyslog, before: int) -> int:
    time.sleep(0.3)  # rsyslog writes its file just after it confirmed the batch
    return len(repository.lines()) - before


def order(pair: int) -> tuple[bool, bool]:
    """Off then on, then on then off: a load that rises or falls during the run favours neither side."""
    return (False, True) if pair % 2 == 0 else (True, False)


def time_import(data: Path, work: Path, repository: Rsyslog | None) -> Timed:
    """One whole import of the medium into an Orthanc of its own (its start is not measured)."""
    work.mkdir(parents=True)
    with OrthancServer(ae_title="HUSPACS", station_port=free_port(), folder=work / "orthanc") as pacs:
        home = work / "home"
        cli = import_bench.station_home(home, pacs)
        if repository is not None:
            configure_audit(home, repository)
        before = len(repository.lines()) if repository else 0
        seconds, cpu, _document = run_checked([*cli, "import", "run", str(data), "--map", f"P1={import_bench.HETU}", "--name",
                               "P1=Mäkelä^Aino", "--json"])
        files = pacs.instance_count()
    shutil.rmtree(work, ignore_errors=True)
    assert files == 2000, files
    return Timed("import", repository is not None, seconds, cpu, received(repository, before) if repository else 0)


def audit_work(home: Path, messages: int, repeat: int = 25) -> float:
    """Seconds of the audit's own work in one command, in this process (median of `repeat`): `messages`
    events recorded, each in a transaction of its own, then one send of the outbox to the repository
    (a new TLS connection), as a command does before it exits. Unlike a whole run's time this hardly
    moves with the machine's load, so it says what the audit costs when the runs' noise is larger."""
    from mediastation.audit import messages as m
    from mediastation.audit.sender import endpoint, flush
    from mediastation.audit.trail import now
    from mediastation.cli.context import Station

    station = Station.from_options(str(home), None, False, False)
    trail, database = station.audit_trail(), station.database()
    target = endpoint(station.settings.audit, home)
    assert target is not None
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(messages):
            trail.record(database, m.query(trail.source, when=now(), archive_ae="HUSPACS", archive_host="127.0.0.1",
                                           identifier=bytes(200), hetu=import_bench.HETU, actor="Bench"))
        sent = flush(database, target, owner="benchmark").sent
        times.append(time.perf_counter() - started)
        assert sent == messages, sent
    database.dispose()
    return statistics.median(times)


def time_exports(root: Path, pairs: int, repository: Rsyslog) -> list[Timed]:
    pacs = OrthancServer(ae_title=export_bench.ARCHIVE_AE, station_port=free_port(), folder=root / "orthanc")
    timed = []
    try:
        info, moment = export_bench.generate(root / "study", EXPORT_INSTANCES)
        pacs.start()
        export_bench.store(pacs, info, root / "study")
        homes = {}
        for audit in (False, True):
            folder = root / ("on" if audit else "off")
            folder.mkdir()
            cli, request_id = export_bench.station(folder, pacs, info, moment)
            if audit:
                configure_audit(folder / "home", repository)
            homes[audit] = (cli, request_id, folder)
        for n in range(pairs):
            for audit in order(n):
                cli, request_id, folder = homes[audit]
                before = len(repository.lines())
                out = folder / f"out{n}"
                seconds, cpu, document = run_checked([*cli, "export", request_id, "--to", str(out), "--mkdir", "--again",
                                                      "--json"])
                shutil.rmtree(out, ignore_errors=True)  # not measured: the next run starts from the same disk
                shutil.rmtree(folder / "home" / "jobs" / document["job_id"], ignore_errors=True)
                timed.append(Timed("export", audit, seconds, cpu, received(repository, before) if audit else 0))
                print(f"  export, audit {'on ' if audit else 'off'}: {seconds:.2f} s, {cpu:.2f} s CPU", flush=True)
    finally:
        pacs.stop()
    return timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "ms-import-bench-data")
    parser.add_argument("--pairs", type=int, default=4, help="this many off/on pairs for each work")
    parser.add_argument("--only", choices=("import", "export"), help="measure one of the two")
    args = parser.parse_args()
    if args.only != "export":
        import_bench.generate(args.data)
    root = Path(tempfile.mkdtemp(prefix="ms-bench-audit-"))
    timed: list[Timed] = []
    try:
        with Rsyslog() as repository:
            if args.only != "export":
                for n in range(args.pairs):
                    for audit in order(n):
                        run = time_import(args.data, root / f"import-{n}-{audit}", repository if audit else None)
                        print(f"  import, audit {'on ' if audit else 'off'}: {run.seconds:.2f} s, {run.cpu:.2f} s CPU",
                              flush=True)
                        timed.append(run)
            if args.only != "import":
                timed += time_exports(root / "export", args.pairs, repository)
            home = root / "audit-work"
            subprocess.run([sys.executable, "-m", "mediastation", "--home", str(home), "init"], check=True,
                           capture_output=True, cwd=REPO)
            configure_audit(home, repository)
            work_s = {work: audit_work(home, max(t.messages for t in timed if t.work == work and t.audit))
                      for work in {t.work for t in timed}}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average after: {load} ({os.cpu_count()} cores)")
    print(f"{'':<22} {'wall s':>19} {'':>7} {'CPU s (station)':>19}")
    print(f"{'work':<22} {'off':>9} {'on':>9} {'on/off':>7} {'off':>9} {'on':>9} {'on/off':>7} {'messages':>9}")
    missed = []
    for work, label in (("import", "import, 2,000 inst."), ("export", f"export, {EXPORT_INSTANCES} inst.")):
        pairs = list(zip([t for t in timed if t.work == work and not t.audit], [t for t in timed if t.work == work and t.audit]))
        if not pairs:
            continue
        for n, (a, b) in enumerate(pairs):
            print(f"{'  pair ' + str(n + 1):<22} {a.seconds:>9.2f} {b.seconds:>9.2f} {b.seconds / a.seconds:>7.3f} "
                  f"{a.cpu:>9.2f} {b.cpu:>9.2f} {b.cpu / a.cpu:>7.3f} {b.messages:>9}")
        wall = statistics.median(b.seconds / a.seconds for a, b in pairs)
        cpu = statistics.median(b.cpu / a.cpu for a, b in pairs)
        print(f"{label + ', median':<22} {statistics.median(a.seconds for a, _ in pairs):>9.2f} "
              f"{statistics.median(b.seconds for _, b in pairs):>9.2f} {wall:>7.3f} "
              f"{statistics.median(a.cpu for a, _ in pairs):>9.2f} {statistics.median(b.cpu for _, b in pairs):>9.2f} "
              f"{cpu:>7.3f} {statistics.median(b.messages for _, b in pairs):>9.0f}")
        if any(b.messages == 0 for _, b in pairs):
            missed.append(f"{work}: a run with audit on sent no message to the repository")
        share = work_s[work] / statistics.median(a.seconds for a, _ in pairs)
        print(f"{'  the audit itself':<22} {1000 * work_s[work]:>8.1f} ms per run ({100 * share:.2f} % of the run with audit "
              "off): its messages recorded and sent, in-process")
        for what, ratio in (("wall time, median of the pairs", wall - 1), ("its own work", share)):
            if ratio >= TARGET:
                missed.append(f"{work}: audit adds {100 * ratio:.1f} % ({what}; target under {100 * TARGET:.0f} %)")
    for line in missed:
        print(f"TARGET MISSED: {line}", file=sys.stderr)
    print(f"\ntarget: audit on adds under {100 * TARGET:.0f} %: {'not met' if missed else 'met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
