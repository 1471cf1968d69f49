"""The electronic release started from the desk (R5, R6, R15, R17): a technician presses "Send" on
the page of a request decided `electronic`, the desk's worker carries it out as `send ID` would,
and the studies arrive at the other hospital's archive (a second Orthanc) with the signed-in person
as the release's actor. A request naming a node nobody configured is refused on the page in words,
before any job exists; a billing user cannot send."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from support.cli import run, run_json
from support.desk import PASSWORD, Client, served
from support.orthanc import OrthancServer, free_port
from support.synthetic import make_study
from support.transfer_station import electronic_destination, station_home

HETU = "010594Y9032"
NAME = "Mäkelä^Aino"
DESTINATION = "Kymenlaakson keskussairaala"


@pytest.fixture
def archives(tmp_path: Path):  # type: ignore[no-untyped-def]
    station_port = free_port()
    hus = OrthancServer(ae_title="HUSPACS", station_port=station_port, folder=tmp_path / "hus").start()
    receiver = OrthancServer(ae_title="KYMSPACS", station_port=station_port, folder=tmp_path / "kyms").start()
    try:
        yield hus, receiver
    finally:
        receiver.terminate()
        hus.terminate()
        receiver.wait_stopped()
        hus.wait_stopped()


def _home(tmp_path: Path, hus: OrthancServer, receiver: OrthancServer) -> Path:
    home = station_home(tmp_path / "home", hus, release=electronic_destination(DESTINATION, receiver))
    for name, role in (("tech", "technician"), ("bill", "billing")):
        added = run("users", "add", name, "--role", role, "--password-stdin", home=home, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    return home


def _request(studies: list[Any], **destination: Any) -> dict[str, Any]:
    return {
        "received_at": "2026-11-26T09:12:00+02:00", "patient": {"name": NAME, "hetu": HETU},
        "no_prohibition": {"confirmed": True, "confirmed_by": "Liisa Virtanen"},
        "requester": {"unit": DESTINATION, "person": "Liisa Virtanen"},
        "basis": {"kind": "consent", "reference": f"HUS suostumus {uuid.uuid4().hex[:6]}"},
        "destination": {"kind": "service_provider", "name": DESTINATION, "participates_in_care": True, **destination},
        "channel": "auto",
        "studies": [{"accession_number": info.accession, "study_description": info.study_description,
                     "study_datetime": "2026-11-20T10:31:00"} for info in studies],
    }


def _signed_in(url: str, user: str) -> tuple[Client, str]:
    """A cookie session as a browser gets it (the sign-in form), and its CSRF token."""
    client = Client(url)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post("/login", form={"user": user, "password": PASSWORD, "csrf_token": token, "next": "/"}).status == 303
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    return client, csrf


def test_a_technician_sends_from_the_request_page_and_the_worker_delivers(
        tmp_path: Path, archives: tuple[OrthancServer, OrthancServer]) -> None:
    hus, receiver = archives
    studies = [make_study(tmp_path / "studies" / f"E{n}", modality="CT", images=3, patient_name=NAME, patient_id=HETU,
                          accession=f"E{uuid.uuid4().hex[:6].upper()}", study_description="TT VATSA",
                          study_datetime=datetime(2026, 11, 20, 10, 31), rows=64, cols=64) for n in range(2)]
    for info in studies:
        hus.store(list(info.files))
    home = _home(tmp_path, hus, receiver)
    with served(home) as desk:
        client, csrf = _signed_in(desk.url, "tech")
        added = client.post("/api/v1/requests", json_body=_request(studies), headers={"X-CSRF-Token": csrf}).json()
        assert added["channel"] == "electronic", added
        page = client.get(f"/requests/{added['request_id']}")
        assert page.status == 200 and f'action="/requests/{added["request_id"]}/send"' in page.text
        assert 'action="/requests/' + added["request_id"] + '/export"' not in page.text  # not a medium
        sent = client.post(f"/requests/{added['request_id']}/send", form={"csrf_token": csrf})
        assert sent.status == 303, sent.text
        job_id = sent.headers["Location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + 180
        while (job := client.get(f"/api/v1/jobs/{job_id}").json())["state"] not in ("done", "failed", "partial"):
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
        assert job["state"] == "done", job
        assert job["kind"] == "transfer" and job["params"]["actor"] == "tech"
        again = client.post(f"/requests/{added['request_id']}/send", form={"csrf_token": csrf})
        assert again.status == 409 and "already sent" in again.text  # one release, not two
        assert client.get(f"/requests/{added['request_id']}").text.count(f'href="/jobs/{job_id}"') == 1
    assert receiver.instance_count() == 6
    entries = run_json("log", "patient", HETU, home=home)["disclosures"]
    assert [(e["channel"], e["actor"]) for e in entries] == [("electronic", "tech")]
    assert run_json("billing", "export", "--from", "2000-01-01", "--to", "2100-12-31", "--format", "json",
                    home=home)["lines"] == []  # R17


def test_a_node_nobody_configured_is_refused_on_the_page_and_a_biller_cannot_send(
        tmp_path: Path, archives: tuple[OrthancServer, OrthancServer]) -> None:
    hus, receiver = archives
    study = make_study(tmp_path / "studies", modality="CT", images=1, patient_name=NAME, patient_id=HETU,
                       accession=f"E{uuid.uuid4().hex[:6].upper()}", study_description="TT VATSA",
                       study_datetime=datetime(2026, 11, 20, 10, 31), rows=32, cols=32)
    hus.store(list(study.files))
    home = _home(tmp_path, hus, receiver)
    stranger = {"ae_title": "STRANGER", "host": "127.0.0.1", "port": receiver.dicom_port}
    with served(home, "--no-worker") as desk:
        client, csrf = _signed_in(desk.url, "tech")
        added = client.post("/api/v1/requests", json_body=_request([study], dicom_node=stranger),
                            headers={"X-CSRF-Token": csrf}).json()
        refused = client.post(f"/requests/{added['request_id']}/send", form={"csrf_token": csrf})
        assert refused.status == 409 and 'role="alert"' in refused.text and "STRANGER" in refused.text
        assert "Lähetystä ei voi aloittaa" in refused.text  # in the person's language (Finnish by default)
        api = client.post(f"/api/v1/requests/{added['request_id']}/sends", headers={"X-CSRF-Token": csrf})
        assert api.status == 409 and api.json()["error"]["code"], api.text
        biller, biller_csrf = _signed_in(desk.url, "bill")
        assert biller.post(f"/requests/{added['request_id']}/send", form={"csrf_token": biller_csrf}).status == 403
        assert biller.post(f"/api/v1/requests/{added['request_id']}/sends",
                           headers={"X-CSRF-Token": biller_csrf}).status == 403
        assert client.post(f"/requests/{added['request_id']}/send", form={}).status == 403  # no CSRF token
    assert run_json("jobs", "list", home=home)["jobs"] == []  # refused before any job existed
    assert receiver.instance_count() == 0
    assert json.loads(json.dumps(run_json("log", "patient", HETU, home=home)))["disclosures"] == []
