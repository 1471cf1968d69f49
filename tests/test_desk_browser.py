"""The desk in a real browser: Debian's Chromium driven by Playwright (no browser download, as in
tests/test_viewer_browser.py) against `mediastation serve` on a free port, on a home set up with
`mediastation init --samples` and people added with `users add`; the desk's own worker runs the
export. axe-core (npm, pinned in tests/firefox/package.json) checks every page for WCAG 2.1 AA."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from support.cli import EXAMPLES, run_json
from support.browser import SERIOUS, axe, chromium, visit  # noqa: F401 (fixtures)
from support.desk import PASSWORD, Client, DeskServer, form_fields, make_home, served

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory):
    with served(make_home(tmp_path_factory.mktemp("desk-browser") / "home")) as server:
        yield server


def _fill(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f'[name="{name}"]')
        kind = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind == "input:checkbox":
            field.set_checked(value == "true")
        elif kind.startswith("select"):
            field.select_option(value)
        elif kind == "input:datetime-local":
            field.fill(value[:16])
        else:
            field.fill(value)


def _first_release() -> dict:
    document = json.loads((EXAMPLES / "first_release.json").read_text(encoding="utf-8"))
    document["received_at"] = "2026-11-26T09:12"  # the form's local time (Helsinki), as a technician types it
    return document


def test_a_technician_releases_a_cd_from_the_desk(desk: DeskServer, visit) -> None:
    browser = visit()
    browser.go("/requests")
    assert "/login?next=" in browser.page.url  # not signed in: the sign-in page
    browser.sign_in("tech")
    browser.page.click('nav a[href="/requests/new"]')
    _fill(browser.page, form_fields(_first_release()))
    browser.page.click('button[name="action"][value="check"]')
    decision = browser.page.locator("section.decision")
    assert decision.get_attribute("data-decision") == "release"
    assert "Luovutetaan" in decision.inner_text()
    reason = browser.page.locator('.reasons li[data-code="postal_delivery_week"]')
    assert reason.get_attribute("data-rule") == "R16" and "Media lähtee postitse" in reason.inner_text()
    assert browser.page.locator('[name="patient.name"]').input_value() == "Mäkelä^Aino"  # the form kept its values
    browser.page.click('button[name="action"][value="save"]')
    browser.page.wait_for_url("**/requests/R-*")
    request_id = browser.page.url.rsplit("/", 1)[1]
    assert browser.page.locator(".patient-name").inner_text() == "Mäkelä^Aino"
    browser.page.select_option('select[name="medium"]', "cd")
    browser.page.click("form.export button")
    browser.page.wait_for_url("**/jobs/E-*")
    job_id = browser.page.url.rsplit("/", 1)[1]
    browser.page.wait_for_selector('#job-state[data-state="done"]', timeout=180000)  # live, then the final page
    assert any(url.endswith(f"/jobs/{job_id}/events") for url in browser.requests)  # followed by server-sent events
    letter = browser.page.locator('a[data-file="letter.pdf"]')
    assert browser.page.locator('a[data-file^="label-"]').count() == 1
    browser.assert_clean()
    with browser.page.expect_response(lambda response: response.url.endswith("/files/letter.pdf")) as opened:
        letter.click()
    response = opened.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    fetched = browser.context.request.get(response.url)  # the same bytes with the browser's cookie (the page
    assert fetched.body().startswith(b"%PDF")              # itself now holds Chromium's PDF viewer)
    unsigned = browser.context.browser.new_context().request.get(response.url, max_redirects=0)
    assert unsigned.status == 303  # no letter without a session
    # the signed-in person is the actor: in the request, the job and the disclosure log
    shown = run_json("request", "show", request_id, home=desk.home)
    assert shown["added_by"] == "tech" and shown["state"] == "released"
    assert run_json("jobs", "show", job_id, home=desk.home)["params"]["actor"] == "tech"
    entries = run_json("log", "patient", "010594Y9032", home=desk.home)["disclosures"]
    assert [e["actor"] for e in entries if e["note"] == f"export job {job_id}"] == ["tech"]


def test_the_same_request_at_the_desk_and_by_request_add_is_one(desk: DeskServer, tmp_path: Path) -> None:
    client = Client(desk.url)
    csrf = client.sign_in_api("tech")
    document = json.loads((EXAMPLES / "first_release.json").read_text(encoding="utf-8"))
    document["patient"]["name"] = "Mäkelä^Aino Maria"
    at_desk = client.post("/api/v1/requests", json_body=document, headers={"X-CSRF-Token": csrf}).json()
    file = tmp_path / "request.json"
    file.write_text(json.dumps(document, indent=4), encoding="utf-8")
    by_cli = run_json("request", "add", str(file), home=desk.home)
    assert by_cli["request_id"] == at_desk["request_id"] and by_cli["created"] is False


def test_a_hostile_name_is_shown_as_text_and_runs_nothing(desk: DeskServer, visit) -> None:
    client = Client(desk.url)
    csrf = client.sign_in_api("tech")
    document = json.loads((EXAMPLES / "first_release.json").read_text(encoding="utf-8"))
    document["patient"]["name"] = EVIL
    document["studies"][0]["study_description"] = EVIL
    request_id = client.post("/api/v1/requests", json_body=document, headers={"X-CSRF-Token": csrf}).json()["request_id"]
    browser = visit()
    browser.sign_in("tech")
    browser.go(f"/requests/{request_id}")
    assert browser.page.locator(".patient-name").inner_text() == EVIL
    browser.go("/requests")
    assert EVIL in browser.page.locator("table.list").inner_text()
    assert browser.page.evaluate("[...document.scripts].every(s => !s.text.includes('alert(1)'))")
    browser.assert_clean()


def test_the_language_is_the_persons_choice(desk: DeskServer, visit) -> None:
    browser = visit()
    browser.sign_in("boss")
    browser.page.select_option("#desk-language", "sv")
    browser.page.click('form[action="/language"] button')
    browser.go("/requests/new")
    assert browser.page.locator("h1").inner_text() == "Ny utlämningsbegäran"
    assert browser.page.locator("html").get_attribute("lang") == "sv"
    browser.page.click('button[name="action"][value="check"]')  # an empty form: every missing item, in Swedish
    missing = browser.page.locator('.reasons li[data-code="missing_field"]')
    assert missing.count() >= 5 and "Begäran saknar" in missing.first.inner_text()
    again = visit()
    again.sign_in("boss")  # remembered for the person, not only in this browser
    again.go("/requests/new")
    assert again.page.locator("h1").inner_text() == "Ny utlämningsbegäran"
    run_json("users", "list", home=desk.home)  # the CLI reads the same users
    again.page.select_option("#desk-language", "fi")
    again.page.click('form[action="/language"] button')


def test_the_job_page_refreshes_itself_without_javascript(desk: DeskServer, visit) -> None:
    jobs = run_json("jobs", "list", home=desk.home)["jobs"]
    assert jobs, "the release test made no job"
    browser = visit(javascript=False)
    browser.sign_in("tech")
    browser.go(f"/jobs/{jobs[0]['job_id']}")
    assert browser.page.locator("#job-state").get_attribute("data-state") == "done"
    assert browser.page.locator('a[data-file="letter.pdf"]').count() == 1


def test_every_page_has_no_serious_accessibility_violation(desk: DeskServer, visit) -> None:
    client = Client(desk.url)
    csrf = client.sign_in_api("tech")
    request_id = client.post("/api/v1/requests", json_body=json.loads((EXAMPLES / "first_release.json").read_text()),
                             headers={"X-CSRF-Token": csrf}).json()["request_id"]
    refused = client.post("/api/v1/requests", json_body={"patient": {"name": "Virtanen^Ville"}},
                          headers={"X-CSRF-Token": csrf}).json()["request_id"]
    jobs = run_json("jobs", "list", home=desk.home)["jobs"]
    browser = visit()
    browser.go("/login")
    pages = {"/login": axe(browser.page)}
    browser.sign_in("tech")
    for path in ("/", "/requests", "/requests/new", f"/requests/{request_id}", f"/requests/{refused}",
                 "/nowhere", *(f"/jobs/{job['job_id']}" for job in jobs[:1])):
        browser.go(path)
        pages[path] = axe(browser.page)
    browser.go("/requests/new")
    browser.page.fill('[name="patient.hetu"]', "010594Y9033")
    browser.page.click('button[name="action"][value="check"]')
    pages["/requests/new (checked)"] = axe(browser.page)
    browser.page.fill('[name="destination.dicom_node.port"]', "not a port")
    browser.page.click('button[name="action"][value="check"]')
    assert browser.page.locator(".problems li").count() >= 1
    pages["/requests/new (problems)"] = axe(browser.page)
    serious = {path: [v for v in found if v["impact"] in SERIOUS] for path, found in pages.items()}
    assert serious == {path: [] for path in pages}, json.dumps(serious, indent=1)


def test_a_newcomer_releases_a_cd_reading_only_the_screens(desk: DeskServer, visit) -> None:
    """A technician who has never used the station, reading nothing but the screens: every field,
    button and link found by its words (labels, button and link texts), never by a field name. The
    paper form gives the patient, the accession numbers and the requester; the look-up fills the
    studies, the check's reasons lead to what is missing, the job page says what comes next. axe-core
    on the pages only this path shows (the look-up, a checked form, the finished job)."""
    browser = visit()
    page = browser.page
    browser.sign_in("tech")
    page.get_by_role("link", name="Uusi pyyntö", exact=True).first.click()
    page.get_by_label("Nimi (Sukunimi^Etunimi)").fill("Mäkelä^Aino")
    page.get_by_label("Henkilötunnus").fill("010594Y9032")
    page.get_by_label("Henkilötunnus").press("Enter")  # Enter checks the form (it does not add a study row)
    assert page.locator("section.decision").get_attribute("data-decision") == "refused"
    assert page.locator('[name="studies.2.accession_number"]').count() == 0
    page.get_by_label("Tutkimus 1: AC-numero").fill("HUSDEMO001")
    page.get_by_label("Tutkimus 2: AC-numero").fill("HUSDEMO002")
    page.get_by_role("button", name="Hae tutkimusten tiedot arkistosta").click()
    assert page.get_by_label("Tutkimus 1: Tutkimusnimike").input_value() == "TT VATSA"
    assert page.get_by_label("Tutkimus 2: Tutkimuksen aika").input_value() == "2026-10-02T08:15"
    checked = {"look-up": axe(page)}

    page.get_by_role("button", name="Tarkista", exact=True).click()  # what is still missing?
    reasons = page.locator(".reasons li")
    assert reasons.count() >= 1 and page.locator("section.decision").get_attribute("data-decision") == "refused"
    for target in page.locator(".reasons li a").evaluate_all("links => links.map(a => a.hash)"):
        assert page.locator(target).count() == 1, f"a reason links {target}, which is not a field"
    checked["missing items"] = axe(page)

    page.get_by_label("Potilas ei ole kieltänyt luovutusta").select_option(label="Kyllä")
    page.get_by_label("Kiellon puuttumisen tarkisti").fill("Liisa Virtanen")
    page.get_by_label("Pyytävä yksikkö").fill("Terveystalo Kamppi")
    page.get_by_label("Pyytäjän sähköposti").fill("liisa.virtanen@example.fi")
    page.get_by_label("Peruste", exact=True).select_option(label="Suostumus")
    page.get_by_label("Viite (suostumus, lakiperuste tai valtakirja)").fill("HUS suostumuslomake 2026-11-24")
    page.get_by_label("Vastaanottajan laji").select_option(label="Palveluntuottaja")
    page.get_by_label("Vastaanottajan nimi").fill("Terveystalo Kamppi")
    page.get_by_label("Katuosoite").fill("Jaakonkatu 3")
    page.get_by_label("Postinumero").fill("00100")
    page.get_by_label("Postitoimipaikka").fill("Helsinki")
    page.get_by_label("Kanava").select_option(label="CD")
    page.get_by_role("button", name="Tarkista", exact=True).click()
    missing = page.locator(".reasons li a")  # the requester's name was left out: its reason leads there
    assert missing.count() == 1 and "Pyytäjä" in missing.inner_text()
    missing.click()
    page.keyboard.type("Liisa Virtanen")  # the cursor is in the field the reason named
    page.get_by_role("button", name="Tarkista", exact=True).click()
    decision = page.locator("section.decision")
    assert decision.get_attribute("data-decision") == "release", decision.inner_text()
    assert "Luovutetaan" in decision.inner_text()

    page.get_by_role("button", name="Tallenna pyyntö").click()
    page.wait_for_url(re.compile(r".*/requests/R-[^/]+$"))
    page.get_by_role("button", name="Vie medialle").click()
    page.wait_for_url(re.compile(r".*/jobs/E-[^/]+$"))
    page.wait_for_selector('#job-state[data-state="done"]', timeout=180000)
    next_steps = page.locator("section.next")
    assert "Seuraavaksi" in next_steps.inner_text() and "Lähetys S-" in next_steps.inner_text()
    checked["finished job"] = axe(page)
    browser.assert_clean()  # before the letter: Chromium's PDF viewer is an extension of its own
    with page.expect_response(lambda response: response.url.endswith("/files/letter.pdf")) as opened:
        page.get_by_role("link", name="Saatekirje (PDF)").click()
    assert opened.value.status == 200 and opened.value.headers["content-type"] == "application/pdf"
    serious = {name: [v for v in found if v["impact"] in SERIOUS] for name, found in checked.items()}
    assert serious == {name: [] for name in checked}, json.dumps(serious, indent=1)


FIREFOX = Path("/usr/bin/firefox-esr")
FIREFOX_CHECK = Path(__file__).parent / "firefox" / "desk_check.js"


def test_firefox_esr_releases_a_cd_from_the_desk(desk: DeskServer) -> None:
    """The same flow in Debian's firefox-esr (puppeteer-core from tests/firefox, `make npm`)."""
    import shutil
    import subprocess

    if not FIREFOX.exists():
        pytest.skip("Debian's firefox-esr is not installed (apt-get install firefox-esr)")
    if shutil.which("node") is None or not (FIREFOX_CHECK.parent / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip("node or puppeteer-core is missing: `make npm` (npm ci --prefix tests/firefox)")
    document = _first_release()
    document["received_at"] = "2026-11-26T09:14"  # another request than the Chromium test's (same patient)
    done = subprocess.run(["node", str(FIREFOX_CHECK), desk.url, "tech", PASSWORD, json.dumps(form_fields(document)),
                           str(FIREFOX)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["signInPage"] == "/login" and seen["afterSignIn"] == "/requests/new"
    assert seen["decision"] == "release" and "postal_delivery_week" in seen["reasonCodes"]
    assert seen["requestPage"].startswith("/requests/R-") and seen["jobPage"].startswith("/jobs/E-")
    job_id = seen["jobPage"].rsplit("/", 1)[1]
    assert f"/jobs/{job_id}/files/letter.pdf" in seen["files"]
    assert any(url.endswith(f"/jobs/{job_id}/events") for url in seen["requests"])  # live by server-sent events
    origin = urlparse(desk.url).netloc
    assert all(urlparse(url).netloc == origin for url in seen["requests"] if url.startswith("http"))
    assert seen["dialogs"] == [] and seen["errors"] == []
