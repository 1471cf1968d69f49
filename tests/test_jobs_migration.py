"""Migration 0005 on SQLite and PostgreSQL: a database of the previous schema, with an export job
stopped after its retrieve stage and an import job stopped in its store, upgrades to the one job
queue; the export resumes after the stage it had finished (nothing fetched again) and the import
job is a queued job of its station with every file's outcome kept."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import subprocess
import sys

from pydicom import dcmread
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from mediastation.cli.demo import STUDIES, demo_request, sample_archive
from mediastation.config import load_settings, release_policy
from mediastation.store.db import Database, _create_engine
from mediastation.workflows.requests import add_request
from support.cli import REPO, run, run_json

LEGACY_EXPORT = "E-LEGACY01"
LEGACY_IMPORT = "I-0123456789ABCDEF"


LEGACY_SCHEMA = """
import sys
from alembic import command
from mediastation.store.db import _alembic_config, _create_engine
engine = _create_engine(sys.argv[1])
with engine.begin() as conn:
    cfg = _alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "0003")
    command.upgrade(cfg, "0004")
"""


def _legacy_database(url: str) -> Database:
    """The schema as the previous release left it: the requests and billing branches, and the import
    branch at 0004 (export jobs in `jobs.detail`, import jobs in `import_jobs`). Made by Alembic in a
    process of its own, as an older station would have: compiling the migration scripts in the test
    process upset CPython 3.11.7's AST recursion counter for pytest's later assertion rewriting."""
    made = subprocess.run([sys.executable, "-c", LEGACY_SCHEMA, url], capture_output=True, text=True, cwd=REPO)
    assert made.returncode == 0, made.stderr
    engine = _create_engine(url)
    return Database(engine, sessionmaker(engine, expire_on_commit=False))


def _station(tmp_path: Path, database_url: str) -> Path:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    config = home / "station.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('url = "sqlite:///{home}/station.db"',
                                                                 f'url = "{database_url}"'), encoding="utf-8")
    sample_archive(home / "archive")
    return home


def _retrieved(home: Path) -> list[dict[str, object]]:
    """The retrieve stage's outcome as the old export left it: each study copied into the job folder
    with its completion marker."""
    studies = []
    for accession, *_ in STUDIES:
        folder = home / "jobs" / LEGACY_EXPORT / "retrieved" / accession
        shutil.copytree(home / "archive" / accession, folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        uid = dcmread(files[0], stop_before_pixels=True).StudyInstanceUID
        (folder / "COMPLETE.json").write_text(json.dumps({"study_instance_uid": uid, "instances": len(files)}))
        studies.append({"accession_number": accession, "study_instance_uid": uid, "folder": str(folder),
                        "instances": len(files)})
    return studies


def test_old_jobs_upgrade_and_resume(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    home = _station(tmp_path, database_url)
    legacy = _legacy_database(database_url)
    settings = load_settings(home / "station.toml")
    added = add_request(legacy, json.dumps(demo_request()).encode(), release_policy(settings, home),
                        actor="tester", station=settings.station.name)
    out = tmp_path / "out"
    out.mkdir()  # the old job's --to folder (an export never creates it without --mkdir)
    now = datetime.now(timezone.utc)
    detail = {"request_id": added.request_id, "done": ["retrieve"], "copy": 1, "attempt": 1,
              "studies": _retrieved(home), "to_dir": str(out), "seconds": {"retrieve": 1.23}}
    with legacy.engine.begin() as conn:
        conn.execute(text("INSERT INTO jobs (job_id, kind, state, stage, station, detail, created_at, updated_at) "
                          "VALUES (:id, 'export', 'running', 'compose', :station, :detail, :now, :now)"),
                     {"id": LEGACY_EXPORT, "station": settings.station.name, "detail": json.dumps(detail), "now": now})
        conn.execute(text(
            "INSERT INTO import_jobs (job_id, medium_fingerprint, mapping_fingerprint, source, medium, state, stage, "
            "operator, payer, accession, station, mapping_json, result_json, invoice_lines, runs, created_at, "
            "updated_at) VALUES (:id, :medium, :mapping, '/media/cdrom', 'ISO 9660 image', 'running', 'store', "
            "'Liisa', NULL, 'ACC9', :station, :mapping_json, '{}', '[]', 1, :now, :now)"),
            {"id": LEGACY_IMPORT, "medium": "a" * 64, "mapping": "b" * 64, "station": settings.station.name, "now": now,
             "mapping_json": json.dumps({"groups": [{"key": "P1", "hetu": "010594Y9032", "name": "Mäkelä^Aino",
                                                     "birth_date": None}], "accession": "ACC9"})})
        for seq, outcome in enumerate(("imported", "pending")):
            conn.execute(text(
                "INSERT INTO import_files (job_id, seq, path, size, sha256, kind, patient_key, sop_instance_uid, "
                "study_instance_uid, outcome, reason, status, transfer_syntax, converted_from, updated_at) VALUES "
                "(:id, :seq, :path, 10, NULL, 'instance', 'P1', :uid, '1.2.3', :outcome, '', NULL, NULL, NULL, :now)"),
                {"id": LEGACY_IMPORT, "seq": seq, "path": f"DICOM/IM{seq}", "uid": f"1.2.3.{seq}", "outcome": outcome,
                 "now": now})
    legacy.dispose()

    document = run_json("export", added.request_id, home=home, timeout=300)  # upgrades, then resumes
    assert document["job_id"] == LEGACY_EXPORT and document["state"] == "done"
    assert document["seconds"]["retrieve"] == 1.23  # the finished stage was not run again
    assert Path(document["media"][0]["image"]).parent == out  # the old job's --to is kept
    job = run_json("jobs", "show", LEGACY_EXPORT, home=home)
    assert job["attempts"] == 2 and job["params"]["copy_number"] == 1 and job["subject"] == added.request_id
    assert len(run_json("log", "patient", "010594Y9032", home=home)["disclosures"]) == 1

    carried = run_json("jobs", "show", LEGACY_IMPORT, home=home)
    assert (carried["kind"], carried["state"], carried["stage"]) == ("import", "queued", "store")
    assert carried["needs"] == {"station": settings.station.name}  # the medium is in this station's drive
    assert carried["params"]["maps"] == ["P1=010594Y9032"] and carried["params"]["names"] == ["P1=Mäkelä^Aino"]
    assert carried["params"]["accession"] == "ACC9" and carried["params"]["source"] == "/media/cdrom"
    listed = run_json("import", "list", home=home)["jobs"]
    assert [(j["job_id"], j["operator"], j["runs"]) for j in listed] == [(LEGACY_IMPORT, "Liisa", 1)]
    from mediastation.store import open_database
    from mediastation.store.imports import ImportRepository

    upgraded = open_database(database_url.replace("{home}", str(home)))
    try:
        files = ImportRepository(upgraded).files(LEGACY_IMPORT)
        assert [(f.seq, f.outcome) for f in files] == [(0, "imported"), (1, "pending")]
        tables = set(upgraded.engine.dialect.get_table_names(upgraded.engine.connect()))
        assert "import_jobs" not in tables
    finally:
        upgraded.dispose()
