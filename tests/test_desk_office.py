"""The desk's office pages against a real `mediastation serve` (docs/desk.md): the post room
(`/shipments`), billing (`/billing`), the disclosure log (`/log`), devices and admin, in Chromium
(as tests/test_desk_browser.py) and through `/api/v1/`. What the pages do is checked against the
CLI on the same home: the same documents, the same files, the signed-in person as the actor.

The shipments, invoice lines and disclosure entries are made through the workflows the export
pipeline uses, on the home's own database, before the desk starts."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mediastation.domain.delivery import ShipmentContents
from mediastation.domain.pricing import BillableEvent
from mediastation.store import open_database
from mediastation.store.disclosures import read_key_file
from mediastation.workflows.billing import bill_event, load_price_list
from mediastation.workflows.requests import add_request, record_release
from mediastation.workflows.shipments import create_shipment, post, today
from mediastation.config import load_settings, release_policy
from support.cli import EXAMPLES, run_json
from support.browser import SERIOUS, axe, chromium, visit  # noqa: F401 (fixtures)
from support.desk import PASSWORD, Client, DeskServer, make_home, served

HETU = "010594Y9032"  # first_release.json's patient (synthetic)
ADDRESS = {"name": "Terveystalo Kamppi, kuvantaminen", "street": "Jaakonkatu 3", "postal_code": "00100",
           "city": "Helsinki", "country": "FI"}
PERIOD = ("2026-11-01", "2026-11-30")
GOOD_TRACKING, BAD_TRACKING = "RR123456785FI", "RR123456784FI"  # the second's S10 check digit is wrong


ROBOT = """
[[burners.devices]]
name = "robot"
kind = "robot-epson"
path = "{home}/robot-hot"
"""


def _seed(home: Path) -> dict[str, object]:
    """A disc robot beside the folder burner (its hot folder and TD Bridge's status file); three
    shipments to post (the last one for the refusals), one posted long ago (overdue), invoice lines
    of two payers in November 2026, and a release of HETU's request in the disclosure log."""
    with (home / "station.toml").open("a", encoding="utf-8") as config:
        config.write(ROBOT)
    (home / "robot-hot").mkdir()
    (home / "robot-hot" / "TDBStatus.txt").write_text("[STATUS]\n", encoding="utf-8")
    database = open_database(f"sqlite:///{home / 'station.db'}", log_key=read_key_file(home / "disclosure.key"))
    try:
        settings = load_settings(home / "station.toml")
        added = add_request(database, (EXAMPLES / "first_release.json").read_bytes(),
                            release_policy(settings, home), actor="seed", station="test")
        record_release(database, added.request_id, actor="radiographer", station="test", note="seeded release")
        shipments = [create_shipment(database, request_id=f"R-SEED-000{n}", recipient=ADDRESS,
                                     contents=ShipmentContents((f"M{n}",)), actor="export",
                                     on=today() - timedelta(days=30)) for n in range(4)]
        post(database, shipments[2], on=today() - timedelta(days=20), tracking="JJFI65432100000012345",
             actor="postroom")
        price_list = load_price_list(home / "price_list.toml")
        lines: list[str] = []
        for n, (payer, studies) in enumerate([("1234567-1", 1), ("1234567-1", 3), ("2345678-0", 2)]):
            lines += bill_event(database, BillableEvent(f"export:J-{n}", "media_export", date(2026, 11, 3 + n), payer,
                                                        "organisation", f"R-SEED-000{n}", studies=studies, media=1,
                                                        medium_kind="usb"), price_list)
    finally:
        database.dispose()
    return {"request_id": added.request_id, "shipments": shipments, "lines": lines}


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory):
    home = make_home(tmp_path_factory.mktemp("desk-office") / "home")
    seeded = _seed(home)
    with served(home, "--no-worker") as server:
        yield server, seeded


@pytest.fixture(scope="module")
def desk(office) -> DeskServer:
    return office[0]


@pytest.fixture(scope="module")
def seeded(office) -> dict:
    return office[1]


def _api(desk: DeskServer, user: str) -> tuple[Client, dict[str, str]]:
    client = Client(desk.url)
    return client, {"X-CSRF-Token": client.sign_in_api(user)}


# -- the post room --------------------------------------------------------------------------------

def test_a_technician_posts_a_shipment_with_a_wrong_and_a_right_tracking_code(desk: DeskServer, seeded: dict,
                                                                             visit) -> None:
    shipment = seeded["shipments"][0]
    browser = visit()
    browser.sign_in("tech")
    assert browser.page.locator("#overdue-shipments + ul li").count() == 1  # the home page names the late one
    browser.page.click('nav a[href="/shipments"]')
    row = browser.page.locator(f'tr[data-shipment="{shipment}"]')
    assert row.get_attribute("data-state") == "prepared"
    assert browser.page.locator('section[data-section="overdue"] tr[data-shipment]').count() == 1
    row.locator('input[name="tracking"]').fill(BAD_TRACKING)
    row.locator("form.post button").click()
    alert = browser.page.locator("#shipment-error")
    assert "check digit" in alert.inner_text() and shipment in alert.inner_text()  # the S10 rule's own words
    row = browser.page.locator(f'tr[data-shipment="{shipment}"]')
    assert row.get_attribute("data-state") == "prepared"
    assert row.locator('input[name="tracking"]').input_value() == BAD_TRACKING  # kept, to correct one digit
    assert row.locator('input[name="tracking"]').get_attribute("aria-invalid") == "true"
    row.locator('input[name="tracking"]').fill(GOOD_TRACKING)
    row.locator("form.post button").click()
    browser.page.wait_for_url(f"**/shipments#{shipment}")
    posted = browser.page.locator(f'section[data-section="posted"] tr[data-shipment="{shipment}"]')
    assert posted.get_attribute("data-state") == "posted" and GOOD_TRACKING in posted.inner_text()
    browser.assert_clean()
    listed = {s["shipment_id"]: s for s in run_json("shipments", "list", home=desk.home)["shipments"]}
    assert listed[shipment]["tracking"] == GOOD_TRACKING
    assert listed[shipment]["events"][-1]["actor"] == "tech"  # the signed-in person, as the CLI records it
    assert listed[shipment]["posted_on"] == today().isoformat()


def test_the_shipments_api_answers_the_clis_documents(desk: DeskServer, seeded: dict) -> None:
    client, csrf = _api(desk, "tech")
    overdue = client.get("/api/v1/shipments?overdue=true").json()
    assert overdue == run_json("shipments", "list", "--overdue", home=desk.home)
    assert [s["shipment_id"] for s in overdue["shipments"]] == [seeded["shipments"][2]]
    shipment = seeded["shipments"][1]
    bad = client.post(f"/api/v1/shipments/{shipment}/post", json_body={"tracking": BAD_TRACKING}, headers=csrf)
    assert bad.status == 422 and bad.json()["error"]["reason"] == "invalid_tracking_code"
    day = (today() - timedelta(days=1)).isoformat()
    answer = client.post(f"/api/v1/shipments/{shipment}/post", json_body={"tracking": "EE123456785FI", "date": day},
                         headers=csrf)
    assert answer.status == 200, answer.text
    posted = answer.json()
    assert (posted["state"], posted["posted_on"], posted["tracking"], posted["changed"]) == (
        "posted", day, "EE123456785FI", True)
    assert posted["events"][-1]["actor"] == "tech"
    listed = {s["shipment_id"]: s for s in run_json("shipments", "list", home=desk.home)["shipments"]}
    assert {**listed[shipment], "changed": True} == posted
    late = seeded["shipments"][2]
    back = client.post(f"/api/v1/shipments/{late}/returned", json_body={"note": "no such recipient"}, headers=csrf)
    assert back.status == 200 and back.json()["state"] == "returned" and back.json()["events"][-1]["actor"] == "tech"
    assert client.post(f"/api/v1/shipments/{late}/delivered", json_body={}, headers=csrf).json()["error"]["code"] == \
        "shipment_refused"  # returned is final: the rule's refusal, not the desk's



# -- billing --------------------------------------------------------------------------------------

def _check_finvoice(data: bytes) -> ET.Element:
    """As tests/test_cli_billing.py and tests/test_billing.py read a Finvoice file: version 3.0,
    the seller of the (example) price list, the totals the sums of the rows."""
    root = ET.fromstring(data)
    assert root.tag == "Finvoice" and root.get("Version") == "3.0"
    assert root.findtext("SellerPartyDetails/SellerOrganisationName", "").endswith("(EXAMPLE)")

    def amount(element: ET.Element | None) -> Decimal:
        assert element is not None and element.get("AmountCurrencyIdentifier") == "EUR"
        return Decimal((element.text or "").replace(",", "."))

    rows = root.findall("InvoiceRow")
    assert rows
    details = root.find("InvoiceDetails")
    assert amount(details.find("InvoiceTotalVatIncludedAmount")) == sum((amount(r.find("RowAmount")) for r in rows),
                                                                       Decimal(0))
    return root


def test_a_billing_user_downloads_finvoice_and_credits_a_line(desk: DeskServer, seeded: dict, visit,
                                                              tmp_path: Path) -> None:
    browser = visit()
    browser.sign_in("bill")
    browser.page.click('nav a[href="/billing"]')
    browser.page.fill("#from", PERIOD[0])
    browser.page.fill("#to", PERIOD[1])
    browser.page.click("form.period button")
    assert browser.page.locator("tr[data-line]").count() == 3
    assert browser.page.locator("#bi-sum [data-gross]").get_attribute("data-gross") == "125.00"
    assert "EXAMPLE" in browser.page.locator(".warning").first.inner_text()  # the example price list is said
    with browser.page.expect_download() as download:
        browser.page.click('a[data-format="finvoice"]')
    assert download.value.suggested_filename == "finvoice_20261101-20261130.zip"
    out = tmp_path / "cli"
    cli = run_json("billing", "export", "--from", PERIOD[0], "--to", PERIOD[1], "--format", "finvoice", "--out",
                   str(out), home=desk.home)
    with zipfile.ZipFile(download.value.path()) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert files == {Path(name).name: Path(name).read_bytes() for name in cli["files"]}  # the CLI's very bytes
    buyers = {_check_finvoice(data).findtext("BuyerPartyDetails/BuyerPartyIdentifier") for data in files.values()}
    assert buyers == {"1234567-1", "2345678-0"}
    # one payer's period: its XML file itself
    fetch = browser.context.request  # with the browser's session cookie
    single = fetch.get(desk.url + "/billing/download?format=finvoice&from=2026-11-05&to=2026-11-05")
    assert single.status == 200 and single.headers["content-type"].startswith("application/xml")
    assert _check_finvoice(single.body()).findtext("BuyerPartyDetails/BuyerPartyIdentifier") == "2345678-0"
    for fmt in ("csv", "json"):
        downloaded = fetch.get(f"{desk.url}/billing/download?format={fmt}&from={PERIOD[0]}&to={PERIOD[1]}").body()
        run_json("billing", "export", "--from", PERIOD[0], "--to", PERIOD[1], "--format", fmt, "--out",
                 str(tmp_path / f"lines.{fmt}"), home=desk.home)
        assert downloaded == (tmp_path / f"lines.{fmt}").read_bytes()
    rows = csv.DictReader(io.StringIO((tmp_path / "lines.csv").read_text(encoding="utf-8")))
    assert [r["line_id"] for r in rows] == seeded["lines"]

    line = seeded["lines"][1]
    row = browser.page.locator(f'tr[data-line="{line}"]')
    row.locator('input[name="reason"]').fill("sent twice")
    row.locator("form.credit button").click()
    browser.page.wait_for_url(f"**/billing?from={PERIOD[0]}&to={PERIOD[1]}#{line}")
    credited = browser.page.locator(f'tr[data-line="{line}"] .credited').inner_text()
    credit = run_json("billing", "export", "--from", today().isoformat(), "--to", today().isoformat(), "--format",
                      "json", home=desk.home)["lines"]
    (credit_line,) = [c for c in credit if c["credit_of"] == line]
    assert credit_line["line_id"] in credited and credit_line["net"] == "-50.00"
    assert credit_line["note"].endswith("sent twice")
    assert _created_by(desk.home, credit_line["line_id"]) == "bill"  # the signed-in person wrote the line
    browser.assert_clean()


def _created_by(home: Path, line_id: str) -> str:
    import sqlite3

    with sqlite3.connect(home / "station.db") as connection:
        return connection.execute("SELECT created_by FROM invoice_lines WHERE line_id = ?", (line_id,)).fetchone()[0]


def test_the_billing_api_answers_the_clis_documents(desk: DeskServer, seeded: dict) -> None:
    client, csrf = _api(desk, "bill")
    answer = client.get(f"/api/v1/billing/lines?from={PERIOD[0]}&to={PERIOD[1]}")
    assert answer.status == 200
    assert answer.json() == run_json("billing", "export", "--from", PERIOD[0], "--to", PERIOD[1], "--format", "json",
                                     home=desk.home)
    line = seeded["lines"][2]
    refused = client.post(f"/api/v1/billing/lines/{line}/credit", json_body={"reason": " "}, headers=csrf)
    assert refused.status == 422 and "reason" in refused.json()["error"]["message"]
    credit = client.post(f"/api/v1/billing/lines/{line}/credit", json_body={"reason": "wrong payer",
                                                                           "date": "2026-11-30"}, headers=csrf)
    assert credit.status == 200 and credit.json()["credit_of"] == line and credit.json()["service_date"] == "2026-11-30"
    again = client.post(f"/api/v1/billing/lines/{line}/credit", json_body={"reason": "again"}, headers=csrf)
    assert again.status == 409 and again.json()["error"]["code"] == "billing_refused"



# -- the disclosure log ---------------------------------------------------------------------------

def _pdf_text(data: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_log_page_shows_a_patients_disclosures_and_prints_the_clis_report(desk: DeskServer, seeded: dict, visit,
                                                                              tmp_path: Path) -> None:
    browser = visit()
    browser.sign_in("tech")
    browser.page.click('nav a[href="/log"]')
    assert browser.page.locator(".log-state").get_attribute("data-ok") == "true"
    browser.page.fill("#hetu", "010594Y9033")  # a wrong check mark: the HETU rule's refusal, on the page
    browser.page.click('form[role="search"] button')
    assert "HETU" in browser.page.locator("#log-error").inner_text()
    browser.page.fill("#hetu", HETU.lower())
    browser.page.click('form[role="search"] button')
    rows = browser.page.locator("table.disclosures tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-verified") == "true"
    assert "Terveystalo Kamppi" in rows.first.inner_text() and "HUSDEMO001" in rows.first.inner_text()
    browser.assert_clean()  # (before the PDF: Chromium's own PDF viewer is an extension page)
    browser.page.select_option("#letter-language", "sv")
    with browser.page.expect_response(lambda response: "/report.pdf" in response.url) as opened:
        browser.page.click("form.report button")
    assert opened.value.status == 200 and opened.value.headers["content-type"] == "application/pdf"
    data = browser.context.request.get(opened.value.url).body()
    assert data.startswith(b"%PDF")
    text = _pdf_text(data, tmp_path, "desk.pdf")
    assert HETU in text and "Terveystalo" in text and "HUSDEMO001" in text and "Personbeteckning" in text
    run_json("log", "patient", HETU, "--pdf", str(tmp_path / "cli.pdf"), "--language", "sv", home=desk.home)
    assert text == _pdf_text((tmp_path / "cli.pdf").read_bytes(), tmp_path, "cli-copy.pdf")  # the CLI's report


def test_the_log_api_answers_the_clis_documents(desk: DeskServer) -> None:
    client, _ = _api(desk, "tech")
    assert client.get(f"/api/v1/log/patients/{HETU}").json() == run_json("log", "patient", HETU, home=desk.home)
    assert client.get("/api/v1/log/patients/010594Y9033").json()["error"]["reason"] == "invalid_hetu"
    assert client.get("/api/v1/log/verify").json() == run_json("log", "verify", home=desk.home)



# -- devices --------------------------------------------------------------------------------------

def test_the_devices_page_shows_the_burners_and_what_each_is_doing(desk: DeskServer, seeded: dict, visit) -> None:
    client, csrf = _api(desk, "tech")
    queued = client.post(f"/api/v1/requests/{seeded['request_id']}/exports", json_body={"medium": "cd",
                                                                                      "burner": "folder"}, headers=csrf)
    assert queued.status == 202, queued.text
    job_id = queued.json()["job_id"]  # no worker in this desk: it waits for the folder burner
    browser = visit()
    browser.sign_in("tech")
    browser.page.click('nav a[href="/devices"]')
    folder = browser.page.locator('tr[data-burner="folder"]')
    assert folder.locator(f'a[href="/jobs/{job_id}"]').count() == 1
    robot = browser.page.locator('tr[data-burner="robot"]')
    assert "TD Bridge status file present" in robot.inner_text()  # the robot's own state, from its status file
    browser.assert_clean()
    document = client.get("/api/v1/devices").json()
    cli = run_json("devices", home=desk.home)
    assert [d["device"] for d in document["devices"]] == [d["device"] for d in cli["devices"]]
    assert [{k: b[k] for k in ("name", "kind", "device", "default")} for b in document["burners"]] == cli["burners"]
    burners = {b["name"]: b for b in document["burners"]}
    assert [j["job_id"] for j in burners["folder"]["jobs"]] == [job_id] and burners["robot"]["jobs"] == []
    assert burners["robot"]["state"] == "blank"



# -- admin ----------------------------------------------------------------------------------------

def test_the_admin_adds_and_disables_a_user_and_reads_settings_and_prices(desk: DeskServer, visit) -> None:
    browser = visit()
    browser.sign_in("boss")
    browser.page.click('nav a[href="/admin"]')
    assert browser.page.locator('tr[data-item="COPY-USB"]').count() == 1  # the example list's item in force
    assert "EXAMPLE" in browser.page.locator(".warning").inner_text()
    settings = browser.page.locator("pre.settings").inner_text()
    assert "[burners]" in settings and 'name = "robot"' in settings and str(desk.home) in settings  # {home} expanded
    form = browser.page.locator("form.add-user")
    form.locator("#new-name").fill("postroom")
    form.locator('input[name="roles"][value="technician"]').check()
    form.locator("#new-password").fill(PASSWORD)
    form.locator("#new-password-again").fill(PASSWORD + "x")
    form.locator('button[type="submit"]').click()
    assert "differ" in browser.page.locator("#admin-error").inner_text()
    form = browser.page.locator("form.add-user")
    assert form.locator("#new-name").input_value() == "postroom"  # kept, with its role
    assert form.locator('input[name="roles"][value="technician"]').is_checked()
    form.locator("#new-password").fill(PASSWORD)
    form.locator("#new-password-again").fill(PASSWORD)
    form.locator('button[type="submit"]').click()
    browser.page.wait_for_url("**/admin#users")
    assert browser.page.locator('tr[data-user="postroom"]').get_attribute("data-disabled") == "false"
    listed = {u["name"]: u for u in run_json("users", "list", home=desk.home)["users"]}
    assert listed["postroom"]["roles"] == ["technician"]  # the CLI's users
    postroom = Client(desk.url)
    postroom.sign_in_api("postroom")
    assert postroom.get("/api/v1/shipments").status == 200
    browser.page.locator('tr[data-user="postroom"] form.disable button').click()
    browser.page.wait_for_url("**/admin#users")
    assert browser.page.locator('tr[data-user="postroom"]').get_attribute("data-disabled") == "true"
    assert postroom.get("/api/v1/shipments").status == 401  # disabling ended its session
    browser.assert_clean()


def test_the_users_api_answers_the_clis_documents(desk: DeskServer) -> None:
    client, csrf = _api(desk, "boss")
    added = client.post("/api/v1/users", json_body={"name": "biller2", "roles": ["billing"], "password": PASSWORD},
                        headers=csrf)
    assert added.status == 201 and added.json()["roles"] == ["billing"]
    assert client.get("/api/v1/users").json() == run_json("users", "list", home=desk.home)
    twice = client.post("/api/v1/users", json_body={"name": "biller2", "roles": ["billing"], "password": PASSWORD},
                        headers=csrf)
    assert twice.status == 422 and "exists" in twice.json()["error"]["message"]
    assert client.post("/api/v1/users/biller2/disable", headers=csrf).json()["disabled"] is True
    assert client.post("/api/v1/users/nobody/disable", headers=csrf).status == 404



# -- accessibility --------------------------------------------------------------------------------

def test_every_office_page_has_no_serious_accessibility_violation(desk: DeskServer, seeded: dict, visit) -> None:
    browser = visit()
    browser.sign_in("boss")  # admin holds every role
    pages = {}
    for path in ("/", "/shipments", "/billing", f"/billing?from={PERIOD[0]}&to={PERIOD[1]}", "/log", f"/log?hetu={HETU}",
                 "/log?hetu=010594Y9033", "/devices", "/admin"):
        browser.go(path)
        pages[path] = axe(browser.page)
    browser.go("/shipments")
    prepared = browser.page.locator('section[data-section="prepared"] tr[data-shipment]').first
    prepared.locator('input[name="tracking"]').fill(BAD_TRACKING)
    prepared.locator("form.post button").click()
    assert browser.page.locator("#shipment-error").count() == 1
    pages["/shipments (refused)"] = axe(browser.page)
    browser.go(f"/billing?from={PERIOD[0]}&to={PERIOD[1]}")
    line = browser.page.locator("form.credit").first
    line.locator('input[name="reason"]').fill("   ")
    line.locator("button").click()
    assert browser.page.locator("#billing-error").count() == 1
    pages["/billing (refused)"] = axe(browser.page)
    browser.go("/admin")
    browser.page.fill("#new-name", "bad name!")
    browser.page.locator('form.add-user input[name="roles"]').first.check()
    browser.page.fill("#new-password", PASSWORD)
    browser.page.fill("#new-password-again", PASSWORD)
    browser.page.click('form.add-user button[type="submit"]')
    assert browser.page.locator("#admin-error").count() == 1
    pages["/admin (refused)"] = axe(browser.page)
    serious = {path: [v for v in found if v["impact"] in SERIOUS] for path, found in pages.items()}
    assert serious == {path: [] for path in pages}, json.dumps(serious, indent=1)


# -- roles and CSRF on every office route (docs/desk.md "Security") ---------------------------------
# Each route with a person whose roles do not include it; the route's own `require(...)` is what
# refuses (tried: `require()` in its module makes its case fail).
WRONG_ROLE_PAGES = [("bill", "/shipments"), ("imp", "/shipments"), ("tech", "/billing"),
                    ("tech", "/billing/download?format=csv"), ("bill", "/log"),
                    ("bill", f"/log/patients/{HETU}/report.pdf"), ("imp", "/log"), ("bill", "/devices"),
                    ("tech", "/admin"), ("bill", "/admin"), ("imp", "/admin")]
WRONG_ROLE_API = [("bill", "GET", "/api/v1/shipments"), ("bill", "POST", "/api/v1/shipments/S-0000-0000/post"),
                  ("bill", "GET", "/api/v1/requests"), ("tech", "GET", "/api/v1/billing/lines"),
                  ("tech", "POST", "/api/v1/billing/lines/L-0000-0000/credit"),
                  ("bill", "GET", f"/api/v1/log/patients/{HETU}"), ("bill", "GET", "/api/v1/log/verify"),
                  ("bill", "GET", "/api/v1/devices"), ("tech", "GET", "/api/v1/users"),
                  ("tech", "POST", "/api/v1/users"), ("tech", "POST", "/api/v1/users/tech/disable")]
# Unsafe routes of a cookie session: without the session's token nothing happens (403).
UNSAFE = [("tech", "/shipments/{shipment}/post", {"tracking": GOOD_TRACKING}),
          ("tech", "/api/v1/shipments/{shipment}/post", {"tracking": GOOD_TRACKING}),
          ("bill", "/billing/lines/{line}/credit", {"reason": "csrf"}),
          ("bill", "/api/v1/billing/lines/{line}/credit", {"reason": "csrf"}),
          ("boss", "/admin/users", {"name": "csrf", "roles": "technician", "password": PASSWORD,
                                    "password_again": PASSWORD}),
          ("boss", "/admin/users/tech/disable", {}),
          ("boss", "/api/v1/users", {"name": "csrf", "roles": ["technician"], "password": PASSWORD}),
          ("boss", "/api/v1/users/tech/disable", {})]


def _page_session(desk: DeskServer, user: str) -> tuple[Client, str]:
    """Signed in through the form, as a browser does; (the client, its CSRF token)."""
    client = Client(desk.url)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", form={"user": user, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert answer.status == 303, answer.text
    return client, re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)


@pytest.mark.parametrize("user,path", WRONG_ROLE_PAGES)
def test_an_office_page_of_another_role_is_403(desk: DeskServer, user: str, path: str) -> None:
    client, _ = _page_session(desk, user)
    answer = client.get(path)
    assert answer.status == 403 and "text/html" in answer.headers["Content-Type"]


@pytest.mark.parametrize("user,method,path", WRONG_ROLE_API)
def test_an_office_api_route_of_another_role_is_403(desk: DeskServer, user: str, method: str, path: str) -> None:
    client, csrf = _api(desk, user)
    answer = client.request(method, path, json_body={} if method == "POST" else None, headers=csrf)
    assert answer.status == 403 and answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("user,path,body", [("bill", "/shipments/{shipment}/post", {"tracking": GOOD_TRACKING}),
                                            ("tech", "/billing/lines/{line}/credit", {"reason": "role"}),
                                            ("tech", "/admin/users", {"name": "role", "roles": "technician",
                                                                      "password": PASSWORD,
                                                                      "password_again": PASSWORD}),
                                            ("bill", "/admin/users/tech/disable", {})])
def test_an_office_form_of_another_role_is_403_with_a_valid_token(desk: DeskServer, seeded: dict, user: str,
                                                                  path: str, body: dict) -> None:
    before = _state(desk)
    client, csrf = _page_session(desk, user)
    target = path.format(shipment=seeded["shipments"][3], line=seeded["lines"][0])
    assert client.post(target, form={**body, "csrf_token": csrf}).status == 403
    assert _state(desk) == before


@pytest.mark.parametrize("user,path,body", UNSAFE)
def test_an_unsafe_office_request_without_the_csrf_token_is_403(desk: DeskServer, seeded: dict, user: str,
                                                                 path: str, body: dict) -> None:
    before = _state(desk)
    client, csrf = _page_session(desk, user)
    target = path.format(shipment=seeded["shipments"][3], line=seeded["lines"][0], hetu=HETU)
    api = target.startswith("/api/")
    for token in ("", "wrong" + csrf[5:]):
        if api:
            answer = client.post(target, json_body=body, headers={"X-CSRF-Token": token} if token else {})
        else:
            answer = client.post(target, form={**body, **({"csrf_token": token} if token else {})})
        assert answer.status == 403, (target, answer.status)
    assert _state(desk) == before  # nothing changed


def _state(desk: DeskServer) -> list:
    """What an unsafe office request could change: shipments, invoice lines, desk users."""
    return [run_json("shipments", "list", home=desk.home),
            run_json("billing", "export", "--from", "2000-01-01", "--to", "2099-12-31", "--format", "json",
                     home=desk.home)["lines"],
            run_json("users", "list", home=desk.home)]


def test_a_route_that_fails_answers_json_without_a_trace(desk: DeskServer) -> None:
    """The desk's last error boundary (mediastation/desk/app.py) logs and answers 500 JSON; a page
    module named `log` once shadowed its logger there, so a failure became a bare 500 with a trace."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from mediastation.desk.app import create_app
    from mediastation.desk.context import DeskContext

    database = open_database(f"sqlite:///{desk.home / 'station.db'}", log_key=read_key_file(desk.home / "disclosure.key"))
    app = create_app(DeskContext(home=desk.home, settings=load_settings(desk.home / "station.toml"), database=database))

    def fails() -> None:
        raise RuntimeError("a bug")

    app.app.add_api_route("/api/v1/fails", fails)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/api/v1/fails", "raw_path": b"/api/v1/fails", "query_string": b"", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "root_path": ""}
    try:
        with pytest.raises(RuntimeError, match="a bug"):  # Starlette raises it again after the answer, for the server's log
            # in a thread of its own: Playwright's sync API keeps an event loop running in this one
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, app(scope, receive, send)).result()
    finally:
        database.dispose()
    assert sent[0]["status"] == 500
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["code"] == "internal_error" and "a bug" not in json.dumps(body)
