"""Several stations' workers sharing one PostgreSQL queue, with the real Orthanc as the archive:
30 queued exports and 10 queued imports, three `worker` processes, one killed with SIGKILL while it
writes an export's medium and one while it stores an import. Every job ends done once, every image
is verified, the disclosure log, shipments and invoice lines hold exactly one entry per export and
one line per import, and the archive holds every imported instance once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mediastation.jobs.model import JobState
from mediastation.jobs.queue import JobQueue
from mediastation.store import open_database
from support.cli import REPO, run, run_json
from support.orthanc import OrthancServer
from support.outside_media import outside_study
from support.synthetic import make_study

HETU = "010594Y9032"
NAME = "Mäkelä^Aino"
EXPORTS = 30
IMPORTS = 10
CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def hetu(number: int) -> str:
    """A valid, invented HETU (born 1 Jan 1990 + number days, individual number 9xx)."""
    born = datetime(1990, 1, 1) + timedelta(days=number)
    digits = born.strftime("%d%m%y")
    individual = f"{900 + number:03d}"
    return f"{digits}-{individual}{CHECK[int(digits + individual) % 31]}"


def _home(tmp_path: Path, pacs: OrthancServer, database_url: str) -> Path:
    home = tmp_path / "home"
    assert run("init", "--archive-host", pacs.host, "--archive-port", str(pacs.dicom_port),
               "--archive-ae", pacs.ae_title, home=home).returncode == 0
    config = home / "station.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('url = "sqlite:///{home}/station.db"', f'url = "{database_url}"')
    text = re.sub(r"(?m)^port = \d+(\s+# our listening)", rf"port = {pacs.station_port}\1", text)
    text = text.replace("lease_seconds = 60", "lease_seconds = 3").replace("poll_seconds = 2", "poll_seconds = 0.2")
    text += "\n[imports]\ncommitment_timeout = 15.0\n"
    config.write_text(text, encoding="utf-8")
    return home


def _exports(home: Path, pacs: OrthancServer, tmp_path: Path) -> list[str]:
    """30 requests of one study each (8 images), the studies in the archive."""
    tag = uuid.uuid4().hex[:5].upper()
    requests, files = [], []
    for number in range(EXPORTS):
        accession = f"W{tag}{number:02d}"
        moment = datetime(2026, 6, 1, 8, 0) + timedelta(days=number)
        info = make_study(tmp_path / "studies" / accession, images=8, patient_name=NAME, patient_id=HETU,
                          accession=accession, study_description="TT VATSA", study_datetime=moment, rows=128, cols=128)
        files += list(info.files)
        request = {
            "received_at": f"2026-11-26T09:{number:02d}:00+02:00", "patient": {"name": NAME, "hetu": HETU},
            "no_prohibition": {"confirmed": True, "confirmed_by": "Liisa Virtanen"},
            "requester": {"unit": "Jorvin sairaala", "person": f"Liisa Virtanen {number}"},
            "basis": {"kind": "consent", "reference": f"HUS suostumus 2026-{number:04d}"},
            "destination": {"kind": "service_provider", "name": "Terveystalo Kamppi", "participates_in_care": True,
                            "address": {"name": "Terveystalo Kamppi", "street": "Jaakonkatu 3",
                                        "postal_code": "00100", "city": "Helsinki"}},
            "channel": "cd",
            "studies": [{"accession_number": accession, "study_description": "TT VATSA",
                         "study_datetime": moment.isoformat()}],
        }
        path = tmp_path / f"request{number}.json"
        path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        requests.append(run_json("request", "add", str(path), home=home)["request_id"])
    pacs.store(files, timeout=120)  # a loaded machine (a whole test run on 2 cores) answered slower than 30 s
    return requests


def _imports(tmp_path: Path) -> list[tuple[Path, str, set[str]]]:
    """10 outside media, one patient each (the later ones larger, so a store takes a while)."""
    media = []
    for number in range(IMPORTS):
        root = tmp_path / "outside" / f"medium{number}"
        study = outside_study(root, "DICOM", patient_id=f"JOR-{number}", patient_name=f"Virtanen^Ville{number}",
                              images=60 if number >= IMPORTS - 3 else 6, seed=100 + number, accession=f"JOR{number}")
        media.append((root, hetu(number), set(study.sop_instance_uids)))
    return media


def _start_worker(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mediastation", "--home", str(home), "worker", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def _pid(owner: str) -> int:
    return int(owner.rpartition(":")[2])


@pytest.mark.postgres
def test_three_workers_two_killed_every_job_done_once(tmp_path: Path, fresh_orthanc: OrthancServer,
                                                      postgres_server: Any) -> None:
    database_url = postgres_server.create_database()
    home = _home(tmp_path, fresh_orthanc, database_url)
    requests = _exports(home, fresh_orthanc, tmp_path)
    media = _imports(tmp_path)
    out = Path("/dev/shm") / f"ms-workers-{uuid.uuid4().hex[:8]}"  # another file system: the write copies
    out.mkdir()
    try:
        export_jobs = [run_json("export", rid, "--queue", "--to", str(out), home=home)["job_id"] for rid in requests]
        import_jobs = [run_json("import", "run", str(root), "--map", f"P1={code}", "--name", f"P1=Ulkopuolinen^Potilas{n}",
                                "--queue", home=home)["job_id"] for n, (root, code, _uids) in enumerate(media)]
        assert len(set(export_jobs)) == EXPORTS and len(set(import_jobs)) == IMPORTS

        database = open_database(database_url)
        queue = JobQueue(database)
        workers = [_start_worker(home) for _ in range(3)]
        killed: dict[str, str] = {}  # what was killed -> in which job and stage
        try:
            deadline = time.monotonic() + 600
            while len(killed) < 2 and time.monotonic() < deadline:
                for job in queue.list(states=["running"], limit=100):
                    victim = _pid(job.owner) if job.owner else None
                    alive = [w for w in workers if w.pid == victim and w.poll() is None]
                    if not alive:
                        continue
                    caught = (("export" not in killed and job.kind == "export" and job.stage == "write")
                              or ("import" not in killed and job.kind == "import" and job.stage == "store"))
                    if caught:
                        os.kill(victim, signal.SIGKILL)  # a power cut on that station
                        alive[0].wait(timeout=30)
                        killed[job.kind] = job.job_id
                        break
                if not queue.list(states=["queued", "running"], limit=1):
                    break
                time.sleep(0.01)
            assert set(killed) == {"export", "import"}, f"no worker was caught writing and storing: {killed}"
            survivors = [w for w in workers if w.poll() is None]
            assert len(survivors) == 1
            workers.append(_start_worker(home))  # a station coming back; the survivor takes over too
            while queue.list(states=["queued", "running"], limit=1):
                assert time.monotonic() < deadline, [j.to_json() for j in queue.list(states=["queued", "running"])]
                time.sleep(0.5)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
            outputs = [worker.communicate(timeout=120) for worker in workers]
        for stdout, stderr in outputs:
            assert "Traceback" not in stderr, stderr

        jobs = {job.job_id: job for job in queue.list(limit=1000)}
        assert {job_id: jobs[job_id].state for job_id in export_jobs + import_jobs} == \
            {job_id: JobState.DONE for job_id in export_jobs + import_jobs}
        assert jobs[killed["export"]].attempts >= 2 and jobs[killed["import"]].attempts >= 2  # taken over
        done_by = [job_id for stdout, _ in outputs if stdout.strip() for job_id in json.loads(stdout)["done"]]
        assert len(done_by) == len(set(done_by)) <= EXPORTS + IMPORTS  # no job finished twice

        # every image verified: one per export, its bytes those the job recorded
        images = {}
        for job_id in export_jobs:
            media_doc = jobs[job_id].result["media"]  # type: ignore[index]
            assert len(media_doc) == 1
            image = Path(media_doc[0]["image"])
            assert hashlib.sha256(image.read_bytes()).hexdigest() == media_doc[0]["sha256"]
            images[image.name] = job_id
        assert sorted(p.name for p in out.glob("*.iso")) == sorted(images)

        disclosures = run_json("log", "patient", HETU, home=home)["disclosures"]
        assert sorted(d["request_id"] for d in disclosures) == sorted(requests)
        assert run_json("log", "verify", home=home)["ok"] is True
        shipments = run_json("shipments", "list", home=home)["shipments"]
        assert sorted(s["request_id"] for s in shipments) == sorted(requests)
        lines = run_json("billing", "export", "--from", "2000-01-01", "--to", "2100-12-31", "--format", "json",
                         home=home)["lines"]  # service dates are Helsinki days: near midnight UTC, tomorrow
        keys = [line["event_key"] for line in lines]
        assert sorted(k for k in keys if k.startswith("export:")) == sorted(f"export:{r}:1" for r in requests)
        assert sorted(k for k in keys if k.startswith("import:")) == sorted(f"import:{j}" for j in import_jobs)

        archived = fresh_orthanc.rest("/instances")
        expected = EXPORTS * 8 + sum(len(uids) for _root, _code, uids in media)
        assert len(archived) == expected  # each instance once (Orthanc keys by SOP Instance UID)
        for job_id in import_jobs:
            counts = jobs[job_id].result["counts"]  # type: ignore[index]
            assert set(counts) == {"imported"}
        database.dispose()
    finally:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
