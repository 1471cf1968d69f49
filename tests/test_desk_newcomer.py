"""A technician who has never used the station releases a CD from the desk alone, reading nothing
but the screens: Debian's Chromium (Playwright, tests/support/browser.py) finds every field and
button by the words on the screen (labels, button and link texts), never by a field name. The
paper form gives the patient, the accession numbers and the requester; the desk's "look up" fills
the studies, the check's reasons lead to what is missing, the job page says what comes next.
axe-core checks the pages only this path shows (the look-up, a checked form, the finished job)."""

from __future__ import annotations

import json
import re

import pytest

from support.browser import SERIOUS, axe, chromium_browser, visits
from support.desk import DeskServer, make_home, served


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory):
    with served(make_home(tmp_path_factory.mktemp("desk-newcomer") / "home")) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def test_a_newcomer_releases_a_cd_reading_only_the_screens(desk: DeskServer, chromium) -> None:
    with visits(chromium, desk) as open_visit:
        browser = open_visit()
        page = browser.page
        browser.sign_in("tech")
        page.get_by_role("link", name="Uusi pyyntö", exact=True).first.click()
        page.get_by_label("Nimi (Sukunimi^Etunimi)").fill("Mäkelä^Aino")
        page.get_by_label("Henkilötunnus").fill("010594Y9032")
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
