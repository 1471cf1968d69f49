"""`shipments` and `billing` through the CLI with --json: documents, exit statuses, files."""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from mediastation.domain.delivery import ShipmentContents
from mediastation.domain.policy import ReleasePolicy
from mediastation.domain.pricing import BillableEvent
from mediastation.store import Database, open_database
from mediastation.store.disclosures import DisclosureLog, read_key_file
from mediastation.store.requests import RequestRepository
from mediastation.workflows.billing import bill_event, load_price_list
from mediastation.workflows.requests import add_request, record_release
from mediastation.workflows.shipments import create_shipment, post
from support.cli import EXAMPLES, run, run_json

ADDRESS = {"name": "Terveystalo Kamppi, kuvantaminen", "street": "Jaakonkatu 3", "postal_code": "00100",
           "city": "Helsinki", "country": "FI"}


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `init` for the module (each CLI run costs a second or two); tests get copies."""
    home = tmp_path_factory.mktemp("template") / "home"
    doc = run_json("init", home=home)
    assert doc["price_list_created"] is True and Path(doc["price_list"]) == home / "price_list.toml"
    return home


@pytest.fixture
def home(initialised: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(initialised, tmp_path / "home"))


@pytest.fixture
def home_db(home: Path) -> Iterator[Database]:
    """The home's own SQLite database, opened beside the CLI (the CLI tests run on SQLite only)."""
    db = open_database(f"sqlite:///{home / 'station.db'}", log_key=read_key_file(home / "disclosure.key"))
    yield db
    db.dispose()


def test_init_installs_the_example_price_list_once(home: Path) -> None:
    installed = home / "price_list.toml"
    assert 'status = "example"' in installed.read_text(encoding="utf-8")
    checked = run_json("billing", "price-list", "check", home=home)
    assert checked["ok"] and checked["example"] and "HUS Diagnostiikkakeskus" in checked["warning"]
    assert checked["events"]["media_export.usb"] == ["COPY-USB"]
    installed.write_text(installed.read_text(encoding="utf-8").replace('status = "example"', 'status = "in_force"'),
                         encoding="utf-8")
    kept = installed.read_bytes()
    assert run_json("init", home=home)["price_list_created"] is False and installed.read_bytes() == kept


def test_a_broken_price_list_is_refused_with_its_lines(home: Path, tmp_path: Path) -> None:
    text = (home / "price_list.toml").read_text(encoding="utf-8")
    broken = text.replace('unit = "shipment"', 'unit = "parcel"').replace('postage = ["POSTAGE"]', 'postage = ["STAMP"]')
    path = tmp_path / "broken.toml"
    path.write_text(broken, encoding="utf-8")
    doc = run_json("billing", "price-list", "check", str(path), home=home, expect=1)
    assert doc["error"]["code"] == "price_list_invalid" and doc["error"]["file"] == str(path)
    problems = doc["error"]["problems"]
    lines = broken.splitlines()
    postage_item = max(i for i, l in enumerate(lines, 1) if l.strip() == "[[versions.items]]")
    assert any(p["line"] == postage_item and "unit 'parcel'" in p["message"] for p in problems)
    assert any("item STAMP referenced by events.postage" in p["message"] for p in problems)
    plain = run("billing", "price-list", "check", str(path), home=home)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr and f"line {postage_item}" in plain.stderr


def test_post_list_overdue_and_deliver(home: Path, home_db: Database) -> None:
    first = create_shipment(home_db, request_id="R-AAAA-0001", recipient=ADDRESS,
                            contents=ShipmentContents(("M1",)), actor="export")
    second = create_shipment(home_db, request_id="R-AAAA-0002", recipient=ADDRESS,
                             contents=ShipmentContents(("M2",)), actor="export")
    posted = run_json("shipments", "post", first, "--tracking", "RR123456785FI", "--date", "2026-12-18",
                      "--by", "postroom", home=home)
    assert (posted["state"], posted["posted_on"], posted["due_on"], posted["tracking"]) == (
        "posted", "2026-12-18", "2026-12-25", "RR123456785FI")
    assert posted["events"][-1]["actor"] == "postroom"

    bad = run_json("shipments", "post", second, "--tracking", "RR123456784FI", home=home, expect=1)
    assert "check digit" in bad["error"]["message"]

    late = run_json("--json", "shipments", "list", "--overdue", "--on", "2026-12-26", home=home)
    assert [s["shipment_id"] for s in late["shipments"]] == [first] and late["shipments"][0]["overdue"] is True
    assert set(late["shipments"][0]) >= {"shipment_id", "state", "request_id", "recipient", "posted_on", "due_on",
                                         "tracking", "events"}

    done = run_json("shipments", "delivered", first, "--date", "2026-12-28", home=home)
    assert done["state"] == "delivered" and done["changed"] is True
    refused = run_json("shipments", "lost", first, home=home, expect=1)
    assert refused["error"]["code"] == "shipment_refused" and "final" in refused["error"]["message"]
    assert run("shipments", "post", first, "--tracking", "RR123456785FI", "--date", "18.12.2026", home=home).returncode == 2


def test_a_returned_shipment_reopens_its_request(home: Path, home_db: Database) -> None:
    added = add_request(home_db, (EXAMPLES / "requests/release_cd.json").read_bytes(), ReleasePolicy(),
                        actor="desk", station="test")
    sid = create_shipment(home_db, request_id=added.request_id, recipient=ADDRESS,
                          contents=ShipmentContents(("M1",)), actor="export", on=date(2026, 11, 26))
    release = record_release(home_db, added.request_id, actor="radiographer", station="test", shipment_id=sid)
    post(home_db, sid, on=date(2026, 11, 27), tracking="JJFI65432100000012345", actor="postroom")
    back = run_json("shipments", "returned", sid, "--date", "2026-12-07", "--note", "no such recipient", home=home)
    assert back["state"] == "returned" and back["events"][-1]["note"] == "no such recipient"
    assert back["disclosure_seq"] == release.seq + 1
    assert RequestRepository(home_db).get(added.request_id).state == "open"
    (entry,) = [e for e in DisclosureLog(home_db).for_request(added.request_id) if e.seq == back["disclosure_seq"]]
    assert json.loads(entry.content_json)["correction_of"] == release.seq


def _bill(home: Path, home_db: Database) -> list[str]:
    price_list = load_price_list(home / "price_list.toml")
    ids = []
    for n, (payer, studies) in enumerate([("1234567-1", 1), ("1234567-1", 3), ("2345678-0", 2)]):
        ids += bill_event(home_db, BillableEvent(f"export:J-{n}", "media_export", date(2026, 11, 3 + n), payer,
                                                  "organisation", f"R-AAAA-000{n}", studies=studies, media=1,
                                                  medium_kind="usb"), price_list)
    return ids


def test_billing_export_json_csv_and_finvoice(home: Path, home_db: Database, tmp_path: Path) -> None:
    ids = _bill(home, home_db)
    period = ("--from", "2026-11-01", "--to", "2026-11-30")
    doc = run_json("billing", "export", *period, "--format", "json", home=home)
    assert [l["line_id"] for l in doc["lines"]] == ids
    assert [l["net"] for l in doc["lines"]] == ["25.00", "50.00", "50.00"]
    assert doc["lines"][0]["currency"] == "EUR" and doc["lines"][0]["vat_code"] == "E"

    plain = run("billing", "export", *period, "--format", "csv", home=home)
    assert plain.returncode == 0
    rows = list(csv.DictReader(io.StringIO(plain.stdout)))
    assert [r["line_id"] for r in rows] == ids and rows[0]["gross"] == "25.00"

    out = tmp_path / "invoices"
    written = run_json("billing", "export", *period, "--format", "finvoice", "--out", str(out), home=home)
    assert written["count"] == 3 and len(written["files"]) == 2 and written["totals"]["gross"] == "125.00"
    for name in written["files"]:
        root = ET.parse(name).getroot()
        assert root.findtext("SellerPartyDetails/SellerOrganisationName", "").endswith("(EXAMPLE)")
    assert run_json("billing", "export", *period, "--format", "finvoice", home=home, expect=1)["error"]["code"] == \
        "invalid_input"
    assert run_json("billing", "export", *period, "--format", "csv", home=home, expect=1)["error"]["code"] == \
        "invalid_input"  # --json with CSV on stdout would not be one JSON document


def test_unsent_mark_sent_and_credit(home: Path, home_db: Database, tmp_path: Path) -> None:
    ids = _bill(home, home_db)
    period = ("--from", "2026-11-01", "--to", "2026-11-30")
    sent = run_json("billing", "export", *period, "--format", "csv", "--out", str(tmp_path / "nov.csv"),
                    "--unsent", "--mark-sent", home=home)
    assert sent["marked_sent"] == 3 and (tmp_path / "nov.csv").read_text(encoding="utf-8").startswith("line_id,")
    assert run_json("billing", "export", *period, "--format", "json", "--unsent", home=home)["lines"] == []

    back = run_json("billing", "credit", ids[1], "--reason", "sent twice", "--date", "2026-11-20", home=home)
    assert back["credit_of"] == ids[1] and back["net"] == "-50.00" and back["quantity"] == -3
    again = run_json("billing", "credit", ids[1], "--reason", "again", home=home, expect=1)
    assert again["error"]["code"] == "billing_refused" and back["line_id"] in again["error"]["message"]
    assert run_json("billing", "credit", "L-NONE-0000", "--reason", "x", home=home, expect=1)["error"]["code"] == \
        "not_found"
