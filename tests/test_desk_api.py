"""/api/v1/ answers with the CLI's documents (docs/desk.md "JSON API"): the same request, list,
decision and job as `request add/list/show --json` and `jobs show --json` give for the same
station. The desk runs without a worker here, so a queued export stays queued and comparable."""

from __future__ import annotations

import json

import pytest

from support.cli import EXAMPLES, run_json
from support.desk import Client, DeskServer, make_home, served, start_desk


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory):
    with served(make_home(tmp_path_factory.mktemp("desk-api") / "home"), "--no-worker") as server:
        yield server


@pytest.fixture(scope="module")
def api(desk: DeskServer):
    client = Client(desk.url)
    csrf = client.sign_in_api("tech")
    return client, {"X-CSRF-Token": csrf}


def _example(name: str = "first_release.json") -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_a_request_added_by_the_api_is_the_clis_request(desk: DeskServer, api) -> None:
    client, csrf = api
    added = client.post("/api/v1/requests", json_body=_example(), headers=csrf)
    assert added.status == 201
    document = added.json()
    again = client.post("/api/v1/requests", json_body=_example(), headers=csrf)
    assert again.status == 200 and again.json()["request_id"] == document["request_id"]
    assert again.json()["created"] is False
    cli = run_json("request", "add", str(EXAMPLES / "first_release.json"), home=desk.home)
    assert {k: v for k, v in cli.items() if k not in ("created", "note")} == \
        {k: v for k, v in document.items() if k not in ("created", "note")}
    shown = client.get(f"/api/v1/requests/{document['request_id']}").json()
    assert shown == run_json("request", "show", document["request_id"], home=desk.home)
    assert shown["added_by"] == "tech"
    listed = client.get("/api/v1/requests").json()
    assert listed == run_json("request", "list", home=desk.home)
    assert client.get("/api/v1/requests?decision=refused").json() == {"requests": []}


def test_check_decides_and_stores_nothing(desk: DeskServer, api) -> None:
    client, csrf = api
    before = client.get("/api/v1/requests").json()
    example = _example("requests/refused_missing_fields.json")
    checked = client.post("/api/v1/requests/check", json_body=example, headers=csrf)
    assert checked.status == 200
    cli = run_json("request", "check", str(EXAMPLES / "requests/refused_missing_fields.json"), home=desk.home,
                   expect=1)
    assert checked.json() == cli
    assert client.get("/api/v1/requests").json() == before


def test_an_export_queued_by_the_api_is_the_clis_job(desk: DeskServer, api) -> None:
    client, csrf = api
    request_id = client.post("/api/v1/requests", json_body=_example(), headers=csrf).json()["request_id"]
    queued = client.post(f"/api/v1/requests/{request_id}/exports", json_body={"medium": "cd"}, headers=csrf)
    assert queued.status == 202
    job = queued.json()
    assert job["request_id"] == request_id and job["state"] == "queued" and job["created"] is True
    again = client.post(f"/api/v1/requests/{request_id}/exports", json_body={"medium": "cd"}, headers=csrf).json()
    assert again["job_id"] == job["job_id"] and again["created"] is False  # one job, not two
    shown = client.get(f"/api/v1/jobs/{job['job_id']}").json()
    assert shown == run_json("jobs", "show", job["job_id"], home=desk.home)
    assert shown["params"]["actor"] == "tech"
    assert client.get("/api/v1/jobs").json() == run_json("jobs", "list", home=desk.home)


@pytest.mark.parametrize("body,code", [({"medium": "floppy"}, "invalid_input"), ({"burner": "robot9"}, "invalid_input"),
                                       ({"copies": 2}, "invalid_input")])
def test_an_export_the_station_cannot_make_is_refused_before_queueing(desk: DeskServer, api, body, code) -> None:
    client, csrf = api
    request_id = client.post("/api/v1/requests", json_body=_example(), headers=csrf).json()["request_id"]
    answer = client.post(f"/api/v1/requests/{request_id}/exports", json_body=body, headers=csrf)
    assert answer.status == 422 and answer.json()["error"]["code"] == code


def test_an_export_the_rules_did_not_approve_is_409(desk: DeskServer, api) -> None:
    client, csrf = api
    refused = client.post("/api/v1/requests", json_body=_example("requests/needs_consent.json"), headers=csrf).json()
    answer = client.post(f"/api/v1/requests/{refused['request_id']}/exports", json_body={}, headers=csrf)
    assert answer.status == 409 and "not 'release'" in answer.json()["error"]["message"]
    assert client.post("/api/v1/requests/R-0000-0000/exports", json_body={}, headers=csrf).status == 404
    assert client.get("/api/v1/jobs/E-NOPE").status == 404


def test_a_release_done_elsewhere_is_recorded_from_the_request_page(desk: DeskServer, api) -> None:
    client, csrf = api
    added = client.post("/api/v1/requests", json_body=_example("requests/release_electronic.json"), headers=csrf).json()
    assert (added["decision"], added["channel"]) == ("release", "electronic")
    page = client.get(f"/requests/{added['request_id']}").text
    assert 'action="/requests/' + added["request_id"] + '/export"' not in page  # not a media release
    form = {"csrf_token": csrf["X-CSRF-Token"], "note": "sent over the image link by hand"}
    assert client.post(f"/requests/{added['request_id']}/release", form={"note": "x"}).status == 403  # no CSRF
    assert client.post(f"/requests/{added['request_id']}/release", form=form).status == 303
    shown = run_json("request", "show", added["request_id"], home=desk.home)
    assert shown["state"] == "released"
    patient = _example("requests/release_electronic.json")["patient"]["hetu"]
    entries = [e for e in run_json("log", "patient", patient, home=desk.home)["disclosures"]
               if e["note"] == form["note"]]
    assert [(e["actor"], e["channel"]) for e in entries] == [("tech", "electronic")]
    page = client.get(f"/requests/{added['request_id']}").text
    assert "sent over the image link by hand" in page and 'action="/requests/' + added["request_id"] + '/release"' not in page
    again = client.post(f"/requests/{added['request_id']}/release", form=form)
    assert again.status == 409 and "already in the disclosure log" in again.text


def test_a_queued_export_is_run_by_the_worker_of_a_desk_started_later(desk: DeskServer, api) -> None:
    """(Last in this module: it stops the module's desk.) Closing the browser, or the desk, loses nothing: the job waits in the queue and the worker
    beside the next desk runs it; the new desk shows it done with the letter."""
    import time

    client, csrf = api
    request_id = client.post("/api/v1/requests", json_body={**_example(), "urgent": True}, headers=csrf).json()["request_id"]
    job_id = client.post(f"/api/v1/requests/{request_id}/exports", json_body={}, headers=csrf).json()["job_id"]
    desk.stop()
    later = start_desk(desk.home)  # with its worker
    try:
        again = Client(later.url)
        again.sign_in_api("tech")
        deadline = time.monotonic() + 240
        while (job := again.get(f"/api/v1/jobs/{job_id}").json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(1)
        assert job["state"] == "done", job
        page = again.get(f"/jobs/{job_id}").text
        assert f'/jobs/{job_id}/files/letter.pdf' in page
        letter = again.get(f"/jobs/{job_id}/files/letter.pdf")
        assert letter.status == 200 and letter.body.startswith(b"%PDF")
        assert again.get(f"/jobs/{job_id}/files/../../station.toml").status == 404
        events = again.get(f"/jobs/{job_id}/events")  # a finished job: one event, then the stream ends
        assert events.headers["Content-Type"].startswith("text/event-stream")
        sent = [json.loads(line[len("data: "):]) for line in events.text.splitlines() if line.startswith("data: ")]
        assert sent == [{"job_id": job_id, "state": "done", "stage": "done", "done": 6, "total": 6, "error": None,
                         "stage_label": "Valmis"}]
    finally:
        later.stop()
