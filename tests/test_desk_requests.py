"""The technician's request pages as a newcomer meets them: the list pages through any number of
requests (never all at once), ... Each behaviour against the store on SQLite and PostgreSQL, or a
served desk (`mediastation serve` as a process) read as its HTML."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

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
