"""The technician's request pages as a newcomer meets them: the list pages through any number of
requests (never all at once); the form looks its studies up in the archive by accession number. Each behaviour against the store on SQLite and PostgreSQL, or a
served desk (`mediastation serve` as a process) read as its HTML."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from mediastation.domain.matching import StudyFound, looked_up
from mediastation.store import Database
from mediastation.store.models import ReleaseRequestRow
from mediastation.store.requests import RequestRepository
from support.cli import EXAMPLES
from support.desk import Client, DeskServer, make_home, served


def _store(database: Database, count: int, *, tied: int = 0) -> list[str]:
    """`count` requests, one a minute, the last `tied` of them at one instant; their ids newest first."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = []
    for n in range(count):
        at = start + timedelta(minutes=min(n, count - tied))
        rows.append(ReleaseRequestRow(
            request_id=f"R-TEST-{n:04d}", content_hash=f"{n:064d}", received_at=at.isoformat(),
            patient_hetu="010594Y9032", patient_name="Mäkelä^Aino", destination="Terveystalo Kamppi",
            decision="refused" if n % 3 == 0 else "release", channel="cd", state="open", request_json={},
            decision_json={}, added_by="test", station="test", created_at=at))
    with database.session() as session:
        session.add_all(rows)
    return sorted((r.request_id for r in rows), key=lambda i: (min(int(i[-4:]), count - tied), i), reverse=True)


def test_the_list_pages_by_the_last_request_shown(database: Database) -> None:
    """Keyset pages: older from the last id shown, newer from the first; requests of one instant
    (created together) are neither lost nor shown twice at a page's edge."""
    newest_first = _store(database, 11, tied=4)
    repository = RequestRepository(database)
    first = [r.request_id for r in repository.list(limit=4)]
    assert first == newest_first[:4]
    pages, last = [first], first[-1]
    while older := [r.request_id for r in repository.list(limit=4, older_than=last)]:
        pages.append(older)
        last = older[-1]
    assert sum(pages, []) == newest_first
    assert [r.request_id for r in repository.list(limit=4, newer_than=pages[2][0])] == pages[1]
    assert [r.request_id for r in repository.list(limit=4, newer_than=pages[1][0])] == pages[0]
    assert [r.request_id for r in repository.list(limit=4, newer_than=pages[0][0])] == []
    refused = [r.request_id for r in repository.list(decision="refused", limit=2, older_than=newest_first[0])]
    assert refused == [i for i in newest_first[1:] if int(i[-4:]) % 3 == 0][:2]
    assert [r.request_id for r in repository.list(limit=3, older_than="R-NOT-STORED")] == newest_first[:3]


def _found(accession: str = "HUS1", *, patient_id: str = "010594Y9032", name: str = "MÄKELÄ^AINO",
           time: str = "103112.5") -> StudyFound:
    return StudyFound(accession, "1.2.3", "TT VATSA", "20261120", time, patient_id, name, ("CT",), 48)


@pytest.mark.parametrize("found, hetu, name, expected", [
    ([_found()], "010594Y9032", "Mäkelä Aino", ("TT VATSA", "2026-11-20T10:31", False, False)),
    ([], "010594Y9032", "Mäkelä Aino", ("", "", False, False)),
    ([_found(), _found()], "010594Y9032", "Mäkelä Aino", ("", "", False, False)),
    ([_found(patient_id="131052-308T")], "010594Y9032", "Mäkelä Aino", ("TT VATSA", "2026-11-20T10:31", True, False)),
    ([_found(name="VIRTANEN^VILLE")], "010594y9032", "Mäkelä^Aino", ("TT VATSA", "2026-11-20T10:31", False, True)),
    ([_found()], "", "", ("TT VATSA", "2026-11-20T10:31", False, False)),  # nothing typed yet to compare
    ([_found(time="10")], "010594Y9032", "Mäkelä Aino", ("TT VATSA", "", False, False)),  # no minutes: not a time
    ([_found("HUS2")], "010594Y9032", "Mäkelä Aino", ("", "", False, False)),  # another number's study
])
def test_a_looked_up_study_is_offered_as_the_export_will_compare_it(found, hetu, name, expected) -> None:
    item = looked_up(" HUS1 ", found, hetu, name)
    assert item.accession_number == "HUS1"
    assert (item.description, item.datetime, item.other_patient, item.other_name) == expected


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory):
    with served(make_home(tmp_path_factory.mktemp("desk-requests") / "home"), "--no-worker") as server:
        yield server


@pytest.fixture(scope="module")
def tech(desk: DeskServer) -> tuple[Client, dict[str, str]]:
    client = Client(desk.url)
    return client, {"X-CSRF-Token": client.sign_in_api("tech")}


def _example(**changes: object) -> dict:
    return {**json.loads((EXAMPLES / "first_release.json").read_text(encoding="utf-8")), **changes}


def _ids(page: str) -> list[str]:
    return re.findall(r'<td><a href="/requests/(R-[^"]+)">', page)


def test_the_request_list_shows_a_page_and_links_the_next(desk: DeskServer, tech) -> None:
    client, csrf = tech
    for n in range(5):
        client.post("/api/v1/requests", json_body=_example(destination={**_example()["destination"],
                                                                        "name": f"Terveystalo {n}"}), headers=csrf)
    everything = [r["request_id"] for r in client.get("/api/v1/requests").json()["requests"]]
    assert len(everything) >= 5
    page = client.get("/requests?limit=2").text
    seen = _ids(page)
    assert seen == everything[:2] and 'rel="prev"' not in page
    while (link := re.search(r'<a href="([^"]+)" rel="next">', page)):
        page = client.get(link.group(1).replace("&amp;", "&")).text
        assert 'rel="prev"' in page and "limit=2" in link.group(1)
        seen += _ids(page)
    assert seen == everything
    back = re.search(r'<a href="([^"]+)" rel="prev">', page).group(1).replace("&amp;", "&")
    assert _ids(client.get(back).text) == everything[-len(_ids(page)) - 2:-len(_ids(page))]


def _form(client: Client, **fields: str) -> dict[str, str]:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/requests/new").text).group(1)
    return {"csrf_token": token, "patient.name": "Mäkelä Aino", "patient.hetu": "010594Y9032", **fields}


def _value(page: str, name: str) -> str:
    return re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page).group(1)


def test_the_form_takes_the_studies_from_the_archive_by_accession_number(desk: DeskServer, tech) -> None:
    """A newcomer has the accession numbers from the referral: "look up" fills each study's name and
    time from the archive (what the export will compare), says which number the archive does not
    know, and shows a typed name that differs instead of overwriting it."""
    client, _ = tech
    page = client.post("/requests/new", form=_form(
        client, action="lookup", **{"studies.0.accession_number": "HUSDEMO001",
                                    "studies.1.accession_number": "HUSDEMO999",
                                    "studies.2.accession_number": "HUSDEMO002",
                                    "studies.2.study_description": "MT pää"})).text
    assert _value(page, "studies.0.study_description") == "TT VATSA"
    assert _value(page, "studies.0.study_datetime") == "2026-11-20T10:31"
    assert _value(page, "studies.1.study_description") == ""
    assert 'data-accession="HUSDEMO999" data-found="0"' in page and "arkistossa ei ole tutkimusta" in page
    assert _value(page, "studies.2.study_description") == "MT pää"
    assert _value(page, "studies.2.study_datetime") == "2026-10-02T08:15"
    assert "”MT pää”, arkistossa ”MT AIVOT”" in page
    assert 'data-problem="other_patient"' not in page and "Tallenna pyyntö" not in page


def test_the_archive_look_up_says_when_a_study_is_another_patients(desk: DeskServer, tech) -> None:
    client, _ = tech
    page = client.post("/requests/new", form=_form(client, action="lookup", **{
        "patient.hetu": "131052-308T", "patient.name": "Virtanen Ville",
        "studies.0.accession_number": "HUSDEMO001"})).text
    assert 'data-problem="other_patient"' in page and 'data-problem="other_name"' in page
    nothing = client.post("/requests/new", form=_form(client, action="lookup"))
    assert nothing.status == 422 and "Kirjoita ensin vähintään yhden tutkimuksen AC-numero" in nothing.text


def test_a_request_that_cannot_go_is_corrected_into_a_new_one(desk: DeskServer, tech) -> None:
    """A request waiting for consent is not a dead end: its page offers the form again with its
    items (times as a datetime-local field holds them, in Helsinki time), and the corrected request
    is a new one beside the first; the times on the pages read as Helsinki's, not UTC ISO."""
    client, csrf = tech
    consent = _example(basis={"kind": "care"},
                       destination={**_example()["destination"], "participates_in_care": True,
                                    "name": "Terveystalo Itäkeskus"})
    first = client.post("/api/v1/requests", json_body=consent, headers=csrf).json()
    assert first["decision"] == "needs_consent", first
    page = client.get(f"/requests/{first['request_id']}").text
    assert f'href="/requests/new?from={first["request_id"]}"' in page
    assert "26.11.2026 09:12" in page and "20.11.2026 10:31" in page and "+02:00" not in page
    form = client.get(f"/requests/new?from={first['request_id']}").text
    assert f'data-based-on="{first["request_id"]}"' in form
    assert _value(form, "received_at") == "2026-11-26T09:12"  # the file said 09:12:00+02:00
    assert _value(form, "studies.0.study_datetime") == "2026-11-20T10:31"
    assert _value(form, "destination.name") == "Terveystalo Itäkeskus"
    assert client.get("/requests/new?from=R-NOT-STORED").status == 404


def _exported(desk: DeskServer, tech, document: dict) -> tuple[str, str]:
    """(request id, job id) of the document's export, run by `worker --once` (the desk has none)."""
    client, csrf = tech
    request_id = client.post("/api/v1/requests", json_body=document, headers=csrf).json()["request_id"]
    job_id = client.post(f"/api/v1/requests/{request_id}/exports", json_body={}, headers=csrf).json()["job_id"]
    worked = subprocess.run([sys.executable, "-m", "mediastation", "--home", str(desk.home), "worker", "--once"],
                            capture_output=True, text=True, timeout=300)
    assert "Traceback" not in worked.stderr, worked.stderr
    return request_id, job_id


def test_a_done_export_says_what_comes_next(desk: DeskServer, tech) -> None:
    """After the burn a newcomer is told the rest: print, the envelope and its shipment to post,
    the log entry made; the folder burner's image is said not to be a burnt disc; the export's
    warnings are shown."""
    client, _ = tech
    _, job_id = _exported(desk, tech, _example(urgent=True))
    page = client.get(f"/jobs/{job_id}").text
    job = client.get(f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "done", job
    assert "Seuraavaksi" in page and f'data-shipment="{job["result"]["shipment_id"]}"' in page
    assert 'href="/shipments"' in page and "Luovutus on kirjattu luovutuslokiin" in page
    assert "CD 1/1" in page and "tämä asema ei polta levyä" in page
    request_page = client.get(f"/requests/{job['subject']}").text
    assert '<option value="folder">kansio (levykuva, ei polttoa)</option>' in request_page
    for warning in job["result"]["warnings"]:
        assert warning in html.unescape(page)


def test_a_failed_export_says_in_finnish_what_to_do(desk: DeskServer, tech) -> None:
    """An export the archive cannot serve (an accession number it does not hold) fails in the
    worker; the job page says in the person's language that trying again will not help and links
    the correction, the station's own reason beside it."""
    client, _ = tech
    wrong = _example(studies=[{**_example()["studies"][0], "accession_number": "HUSDEMO999"}])
    request_id, job_id = _exported(desk, tech, wrong)
    page = client.get(f"/jobs/{job_id}").text
    assert 'data-failure="refused"' in page and "Uusi yritys ei auta" in page
    assert f'href="/requests/new?from={request_id}"' in page
    assert "HUSDEMO999: not found in the archive" in page
    home = client.get("/").text  # the home page lists it in words, and where a new release starts
    assert f'<a href="/jobs/{job_id}">{job_id}</a> Vienti medialle {request_id}' in home
    assert '<a class="button" href="/requests/new">Uusi pyyntö</a>' in home


def test_a_value_that_does_not_fit_is_named_in_the_persons_language(desk: DeskServer, tech) -> None:
    """The request file's own problem texts are English (domain/request.py): the form says in the
    person's language what to do and shows the English detail beside it, marked as English."""
    client, _ = tech
    answer = client.post("/requests/new", form=_form(client, action="check", **{
        "destination.dicom_node.port": "104a", "destination.dicom_node.host": "pacs.example.fi"}))
    assert answer.status == 422
    problem = re.search(r'<section class="problems".*?</section>', answer.text, re.S).group(0)
    assert "Portti</a>: arvo ei kelpaa tähän kenttään" in problem and '<span lang="en">(' in problem
