"""Audit messages reach a real syslog receiver (a private rsyslog with a test CA, TLS RFC 5425; UDP
RFC 5426) as the station's commands happen: each validates against the DICOM audit message schema
and names its event and participants; while the repository is down they wait and then go in order,
once."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mediastation.audit import messages as m
from mediastation.cli.demo import demo_request, sample_archive
from support.audit_schema import event, parsed
from support.cli import run, run_json
from support.desk import Client, make_home, served
from support.rsyslog import Rsyslog, audit_ca, configure_audit, repository  # noqa: F401 (fixtures)

HETU = "010594Y9032"
ENV = {"MEDIASTATION_USER": "Liisa Virtanen"}


def station(tmp_path: Path, repository: Rsyslog, **extra: object) -> tuple[Path, str]:
    """A station with the demo's archive and request, sending to `repository`; returns (home, request id)."""
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    sample_archive(home / "archive")
    request = tmp_path / "request.json"
    request.write_text(json.dumps(demo_request()), encoding="utf-8")
    request_id = run_json("request", "add", str(request), home=home)["request_id"]
    configure_audit(home, repository, **extra)
    return home, request_id


def export(home: Path, request_id: str, tmp_path: Path, *again: str) -> dict:
    (tmp_path / "out").mkdir(exist_ok=True)
    return run_json("export", request_id, "--to", str(tmp_path / "out"), "--mkdir", *again, home=home, env=ENV, timeout=300)


def anchor(root: ET.Element) -> int:
    detail = root.find(f".//ParticipantObjectDetail[@type='{m.LOG_ANCHOR_DETAIL}']")
    return int(base64.b64decode(detail.get("value")).decode().split(":")[0])


def test_an_export_sends_its_export_message_over_tls(tmp_path: Path, repository: Rsyslog) -> None:
    home, request_id = station(tmp_path, repository)
    document = export(home, request_id, tmp_path)
    (message,) = repository.messages(count=1)  # sent before the command exited
    assert message.pri == 85 and message.msgid == "IHE+RFC-3881"
    root = parsed(message)
    assert event(root) == "110106"
    people = {p.get("UserID"): p.get("UserIsRequestor") for p in root.findall("ActiveParticipant")}
    assert people["Liisa Virtanen"] == "true" and people["MEDIASTATION"] == "false"
    patient = [o for o in root.findall("ParticipantObjectIdentification") if o.get("ParticipantObjectTypeCodeRole") == "1"]
    assert [p.get("ParticipantObjectID") for p in patient] == [HETU]
    studies = [o.find("ParticipantObjectDescription/Accession").get("Number")
               for o in root.findall("ParticipantObjectIdentification") if o.get("ParticipantObjectTypeCodeRole") == "3"]
    assert sorted(studies) == sorted(s["accession_number"] for s in demo_request()["studies"])
    assert anchor(root) == document["disclosure_seq"]
    status = run_json("audit", "status", home=home)
    assert (status["waiting"], status["sent"]) == (0, 1)


def test_three_exports_while_the_repository_is_down_arrive_in_order_once(tmp_path: Path, repository: Rsyslog) -> None:
    home, request_id = station(tmp_path, repository)
    repository.stop()
    (tmp_path / "out").mkdir()
    seqs = []
    for n in range(3):
        result = run("export", request_id, "--to", str(tmp_path / "out"), "--mkdir", *(["--again"] if n else []), "--json",
                     home=home, env=ENV, timeout=300)
        assert result.returncode == 0, result.stderr
        seqs.append(json.loads(result.stdout)["disclosure_seq"])
    assert "wait for the repository" in result.stderr or "waiting" in result.stderr or run_json(
        "audit", "status", home=home)["waiting"] == 3
    status = run_json("audit", "status", home=home)
    assert status["waiting"] == 3 and status["last_error"]
    assert run("audit", "flush", home=home).returncode == 3  # still down: exit 3, nothing lost
    repository.start()
    flushed = run_json("audit", "flush", home=home)
    assert (flushed["sent"], flushed["waiting"]) == (3, 0)
    assert run_json("audit", "flush", home=home)["sent"] == 0  # nothing goes twice
    run_json("audit", "status", home=home)  # another command's exit sends nothing more either
    messages = repository.messages(count=3)
    roots = [parsed(msg) for msg in messages]
    assert [event(r) for r in roots] == ["110106"] * 3
    assert [anchor(r) for r in roots] == seqs == sorted(seqs)
    assert len(repository.messages(count=4, timeout=1.0)) == 3


def test_a_failed_log_verify_sends_a_security_alert(tmp_path: Path, repository: Rsyslog) -> None:
    home, request_id = station(tmp_path, repository)
    export(home, request_id, tmp_path)
    with sqlite3.connect(home / "station.db") as conn:
        conn.execute("DROP TRIGGER disclosures_no_update")
    result = run("log", "verify", home=home, env=ENV)
    assert result.returncode == 1 and "disclosures_no_update" in result.stdout
    alert = [r for r in map(parsed, repository.messages(count=2)) if event(r) == "110113"]
    assert len(alert) == 1
    assert "disclosures_no_update" in alert[0].find("EventIdentification/EventOutcomeDescription").text
    assert alert[0].find("ActiveParticipant").get("UserID") == "Liisa Virtanen"


def test_the_worker_reports_its_start_and_stop(tmp_path: Path, repository: Rsyslog) -> None:
    home, _ = station(tmp_path, repository)
    assert run("worker", "--once", home=home, env=ENV).returncode == 0
    assert run_json("audit", "flush", home=home)["waiting"] == 0
    roots = [parsed(msg) for msg in repository.messages(count=2)]
    assert [(event(r), r.find("EventIdentification/EventTypeCode").get("csd-code")) for r in roots] == [
        ("110100", "110120"), ("110100", "110121")]


@pytest.mark.parametrize("command", [("worker",), ("serve", "--no-worker", "--port", "0")], ids=["worker", "serve"])
def test_the_worker_and_the_desk_keep_sending_while_they_run(tmp_path: Path, repository: Rsyslog,
                                                             command: tuple[str, ...]) -> None:
    """The repository is down when the process starts: its Application Start waits, the process
    tries again after the back-off and sends it while it still runs, then its stop at exit; in
    order, once."""
    home, _ = station(tmp_path, repository)
    repository.stop()
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "mediastation", "--home", str(home), *command],
                                   stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **ENV})
    try:
        deadline = time.monotonic() + 60
        while not run_json("audit", "status", home=home)["failures"]:  # it tried while the repository was down
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        repository.start()
        (started,) = [parsed(msg) for msg in repository.messages(count=1, timeout=60)]
        assert process.poll() is None  # sent by the running process, not by its exit
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    # the stop goes at exit; should rsyslog not confirm that batch (under load it now and then
    # answers a close with a broken record), a later command sends it: nothing lost, nothing twice
    for _ in range(5):
        if json.loads(run("audit", "flush", "--json", home=home).stdout)["waiting"] == 0:
            break
    roots = [started, *[parsed(msg) for msg in repository.messages(count=2)[1:]]]
    application = command[0] if command[0] == "worker" else "desk"
    assert [(event(r), r.find("EventIdentification/EventTypeCode").get("csd-code"),
             r.find("ActiveParticipant").get("UserName")) for r in roots] == [
        ("110100", "110120", application), ("110100", "110121", application)], log.read_text()
    assert len(repository.messages(count=3, timeout=1.0)) == 2
    assert "Traceback" not in log.read_text() and "wait for the repository" in log.read_text()


def test_the_desks_sign_ins_sign_outs_and_refusals_reach_the_repository(tmp_path: Path, repository: Rsyslog) -> None:
    """`serve` records each sign-in, sign-out, wrong password and lock-out as a User Authentication
    message (PS3.15 A.5.3.12) naming the person and the station, and its sender sends them while it runs."""
    home = make_home(tmp_path / "desk")
    configure_audit(home, repository)
    with served(home, "--no-worker") as server:
        client = Client(server.url)
        wrong = client.post("/api/v1/session", json_body={"user": "tech", "password": "not the password"})
        assert wrong.status == 401, wrong.text
        csrf = client.sign_in_api("tech")
        assert client.request("DELETE", "/api/v1/session", headers={"x-csrf-token": csrf}).status == 200
        page = Client(server.url)  # the sign-in form, as a browser posts it
        assert page.get("/login").status == 200
        token = page.cookie("desk_login")
        for _ in range(5):
            refused = page.post("/login", form={"user": "bill", "password": "guess", "csrf_token": token, "next": "/"})
            assert refused.status == 401
        received = repository.messages(count=9, timeout=60)  # Application Start, then the desk's eight
        assert server.process.poll() is None  # sent by the running desk, not at its exit
    roots = [r for r in map(parsed, received) if event(r) == "110114"]
    seen = []
    for root in roots:
        ident = root.find("EventIdentification")
        person, station = root.findall("ActiveParticipant")
        assert (person.get("UserIsRequestor"), person.get("NetworkAccessPointID")) == ("true", "127.0.0.1")
        assert (station.get("UserID"), station.get("UserIsRequestor")) == ("MEDIASTATION", "false")
        assert station.find("RoleIDCode").get("csd-code") == "110150"  # Application
        seen.append((person.get("UserID"), ident.find("EventTypeCode").get("originalText"),
                     ident.get("EventOutcomeIndicator")))
    assert seen == [("tech", "Login", "4"), ("tech", "Login", "0"), ("tech", "Logout", "0"),
                    *[("bill", "Login", "4")] * 4, ("bill", "Login", "8")]
    assert "locked" in roots[-1].find("EventIdentification/EventOutcomeDescription").text


def test_udp_and_a_client_certificate(tmp_path: Path, audit_ca) -> None:  # type: ignore[no-untyped-def]
    with Rsyslog(transport="udp") as udp:
        home, request_id = station(tmp_path / "udp", udp)
        export(home, request_id, tmp_path / "udp")
        assert event(parsed(udp.messages(count=1)[0])) == "110106"
    with Rsyslog(ca=audit_ca, require_client_cert=True) as strict:
        home, _ = station(tmp_path / "tls", strict)
        run("worker", "--once", home=home)  # no client certificate: refused, the messages wait
        assert run_json("audit", "status", home=home)["waiting"] == 2 and strict.messages() == []
        configure_audit(home, cert=str(audit_ca.client_cert), key=str(audit_ca.client_key))
        assert run_json("audit", "flush", home=home)["sent"] == 2
        assert len(strict.messages(count=2)) == 2
