"""The desk's words in Finnish (default), Swedish and English.

One table per language with the same keys (tests/test_desk_units.py checks they match). The
decision's reasons come from the rules in English (mediastation/domain/release.py); `reason_text`
gives each reason code's sentence in the person's language, filled with the reason's field and
destination, and the original English sentence stays available beside it for its details.
"""

from __future__ import annotations

import re
from typing import Any

LANGUAGES = ("fi", "sv", "en")
DEFAULT = "fi"

LABELS: dict[str, dict[str, str]] = {
    "fi": {
        "app": "Kuvaluovutuksen työpöytä", "skip": "Siirry sisältöön", "nav": "Päävalikko",
        "home": "Etusivu", "requests": "Pyynnöt", "new_request": "Uusi pyyntö", "jobs": "Työt",
        "sign_in": "Kirjaudu", "sign_out": "Kirjaudu ulos", "user": "Käyttäjätunnus", "password": "Salasana",
        "signed_in_as": "Kirjautunut: {name}", "language": "Kieli", "change": "Vaihda",
        "wrong_password": "Väärä käyttäjätunnus tai salasana.",
        "locked": "Tunnus on lukittu {minutes} minuutiksi viiden väärän salasanan jälkeen.",
        "disabled": "Tunnus ei ole käytössä. Pääkäyttäjä voi ottaa sen käyttöön.",
        "session_ended": "Istunto päättyi. Kirjaudu uudelleen.",
        "forbidden": "Sinulla ei ole oikeutta tähän sivuun.", "not_found": "Sivua tai tietoa ei löytynyt.",
        "error": "Virhe", "csrf": "Lomake vanheni. Lataa sivu uudelleen ja yritä uudestaan.",
        "today": "Tämän päivän työt", "to_export": "Luovutettavat pyynnöt, joita ei ole viety medialle",
        "failed_jobs": "Epäonnistuneet työt", "running_jobs": "Käynnissä olevat työt", "nothing": "Ei mitään.",
        "request_list": "Luovutuspyynnöt", "search": "Hae", "search_hint": "Henkilötunnus tai pyynnön tunnus",
        "filter_decision": "Päätös", "all": "Kaikki", "received": "Vastaanotettu", "patient": "Potilas",
        "destination": "Vastaanottaja", "decision": "Päätös", "channel": "Kanava", "state": "Tila",
        "request": "Pyyntö", "no_requests": "Ei pyyntöjä.",
        "form_title": "Uusi luovutuspyyntö", "form_intro": "Täytä pyynnön tiedot. Tarkista päätös ennen tallennusta.",
        "check": "Tarkista", "save": "Tallenna pyyntö", "more_rows": "Lisää tutkimusrivi",
        "problems": "Lomakkeessa on virheitä", "checked_decision": "Päätös ennen tallennusta",
        "not_saved": "Pyyntöä ei ole vielä tallennettu.",
        "sec_patient": "Potilas", "sec_prohibition": "Luovutuskielto", "sec_requester": "Pyytäjä",
        "sec_basis": "Luovutuksen peruste", "sec_destination": "Vastaanottaja", "sec_address": "Postiosoite",
        "sec_node": "Sähköinen kuvayhteys (valinnainen)", "sec_delivery": "Toimitus", "sec_studies": "Tutkimukset",
        "study_n": "Tutkimus {n}",
        "f_received_at": "Vastaanotettu (tyhjä = nyt)", "f_patient.name": "Nimi (Sukunimi^Etunimi)",
        "f_patient.hetu": "Henkilötunnus", "f_no_prohibition.confirmed": "Potilas ei ole kieltänyt luovutusta",
        "f_no_prohibition.confirmed_by": "Kiellon puuttumisen tarkisti", "f_requester.unit": "Pyytävä yksikkö",
        "f_requester.person": "Pyytäjä", "f_requester.email": "Pyytäjän sähköposti",
        "f_basis.kind": "Peruste", "f_basis.reference": "Viite (suostumus, lakiperuste tai valtakirja)",
        "f_destination.kind": "Vastaanottajan laji", "f_destination.name": "Vastaanottajan nimi",
        "f_destination.county": "Hyvinvointialue tai kaupunki",
        "f_destination.participates_in_care": "Vastaanottaja hoitaa potilasta",
        "f_destination.on_hus_commission": "Hoitaa HUSin toimeksiannosta",
        "f_destination.address.name": "Vastaanottaja osoitteessa", "f_destination.address.street": "Katuosoite",
        "f_destination.address.postal_code": "Postinumero", "f_destination.address.city": "Postitoimipaikka",
        "f_destination.address.country": "Maa", "f_destination.dicom_node.ae_title": "AE-nimi",
        "f_destination.dicom_node.host": "Palvelin", "f_destination.dicom_node.port": "Portti",
        "f_channel": "Kanava", "f_content": "Sisältö", "f_urgent": "Kiireellinen", "f_language": "Saatekirjeen kieli",
        "f_accession_number": "AC-numero", "f_study_description": "Tutkimusnimike",
        "f_study_datetime": "Tutkimuksen aika", "f_register": "Rekisteri", "f_studies": "Tutkimukset",
        "yes": "Kyllä", "no": "Ei", "not_answered": "Ei vastattu",
        "basis_care": "Hoito", "basis_consent": "Suostumus", "basis_statutory": "Lakisääteinen",
        "basis_patient_own": "Potilaan oma pyyntö",
        "dest_patient": "Potilas", "dest_authorised_person": "Valtuutettu henkilö", "dest_authority": "Viranomainen",
        "dest_insurer": "Vakuutusyhtiö", "dest_service_provider": "Palveluntuottaja", "dest_register": "Toinen rekisteri",
        "ch_auto": "Automaattinen", "ch_cd": "CD", "ch_dvd": "DVD", "ch_usb": "USB-muisti", "ch_electronic": "Sähköinen",
        "ch_register_copy": "Rekisterikopio",
        "content_images_and_reports": "Kuvat ja lausunnot", "content_images_only": "Vain kuvat",
        "content_reports_only": "Vain lausunnot",
        "lang_fi": "suomi", "lang_sv": "ruotsi", "lang_en": "englanti",
        "dec_release": "Luovutetaan", "dec_no_release_needed": "Luovutusta ei tarvita", "dec_route": "Ohjataan muualle",
        "dec_needs_consent": "Tarvitaan suostumus", "dec_refused": "Hylätty",
        "billable": "Laskutettava", "on_call": "Päivystysaikana", "earliest_delivery": "Aikaisin toimitus",
        "reasons": "Perustelut", "rule": "Sääntö", "details_en": "Alkuperäinen teksti (englanti)",
        "where": "Ohjaa", "request_title": "Pyyntö {id}", "added_by": "Lisännyt",
        "export": "Vie medialle", "medium": "Media", "burner": "Poltin", "default_burner": "Oletus ({name})",
        "exports": "Vientityöt", "no_exports": "Ei vientejä.", "export_refused": "Vientiä ei voi aloittaa",
        "not_exportable": "Tätä pyyntöä ei viedä medialle (päätös tai kanava ei ole median luovutus).",
        "studies": "Tutkimukset", "job": "Työ", "job_title": "Työ {id}", "stage": "Vaihe", "stages": "Vaiheet",
        "seconds": "s", "owner": "Suorittaja", "live": "Tilanne päivittyy itsestään.",
        "job_failed": "Työ epäonnistui", "try_again": "Yritä uudelleen", "job_done": "Valmis",
        "letter": "Saatekirje (PDF)", "label": "Levyn etiketti {n} (PDF)", "print_these": "Tulosta nämä",
        "media": "Mediat", "image": "Levykuva", "shipment": "Lähetys", "disclosure": "Luovutuslokin merkintä",
        "state_queued": "Jonossa", "state_running": "Käynnissä", "state_done": "Valmis", "state_failed": "Epäonnistui",
        "stage_retrieve": "Haku arkistosta", "stage_compose": "Levyn kokoaminen", "stage_package": "Levykuva",
        "stage_write": "Kirjoitus", "stage_verify": "Tarkistus", "stage_record": "Kirjaus (loki, lähetys, lasku)",
        "stage_precheck": "Esitarkistus", "stage_store": "Tallennus arkistoon", "stage_commit": "Vahvistus",
        "stage_done": "Valmis",
        "state_cancelled": "Peruttu", "stage_": "–", "back_to_request": "Takaisin pyyntöön",
        "state_open": "Avoin", "state_released": "Luovutettu",
        "disclosures": "Luovutuslokin merkinnät", "no_disclosures": "Ei merkintöjä.",
        "release_note": "Lisätieto (valinnainen)", "record_release": "Kirjaa muualla tehty luovutus lokiin",
        "pages": "Sivut", "newer_requests": "← Uudemmat pyynnöt", "older_requests": "Vanhemmat pyynnöt →",
        "lookup": "Hae tutkimusten tiedot arkistosta",
        "lookup_hint": "Kirjoita kunkin tutkimuksen AC-numero ja paina ”Hae tutkimusten tiedot arkistosta”: tyhjät nimike- ja aikakentät täytetään arkistosta, ja näet onko tutkimus tämän potilaan.",
        "lookup_needs_number": "Kirjoita ensin vähintään yhden tutkimuksen AC-numero.",
        "archive_found": "Arkiston tutkimukset", "archive_failed": "Arkistoon ei saatu yhteyttä:",
        "archive_none": "arkistossa ei ole tutkimusta tällä AC-numerolla. Tarkista numero lähetteestä.",
        "archive_several": "arkistossa on {n} tutkimusta tällä AC-numerolla: arkiston tiedot on korjattava ennen luovutusta.",
        "archive_images": "{n} kuvaa", "archive_patient": "Arkistossa potilas",
        "archive_other_patient": "Tutkimus on arkistossa toisella henkilötunnuksella kuin lomakkeessa. Tarkista henkilötunnus ja AC-numero: vientiä ei tehdä toisen potilaan kuvista.",
        "archive_other_name": "Potilaan nimi arkistossa ei ole lomakkeen nimi. Tarkista nimi (vienti vaatii saman nimen).",
        "archive_differs": "lomakkeessa ”{typed}”, arkistossa ”{archived}”. Vienti vaatii arkiston tiedon: tarkista kumpi on oikein.",
        "archive_filled": "Tyhjät nimike- ja aikakentät täytettiin arkistosta. Tarkista lomake ja paina ”Tarkista”.",
        "based_on": "Lomakkeella on pyynnön {id} tiedot. Korjaa ne ja paina ”Tarkista”: korjattu pyyntö tallentuu uutena, alkuperäinen päätös jää näkyviin.",
        "correct_request": "Korjaa: uusi pyyntö tämän pohjalta",
        "correct_hint": "Kun puuttuva tieto (esimerkiksi suostumus) on saatu tai virhe korjattu, tee korjattu pyyntö:",
        "failure_refused": "Pyyntöä ei voi viedä sellaisenaan. Uusi yritys ei auta ennen kuin pyyntö tai arkiston tiedot on korjattu: korjaa pyyntö alla olevan syyn mukaan.",
        "failure_outside": "Arkisto, asema tai levy ei toiminut. Yritä hetken kuluttua uudelleen; jos virhe toistuu, ilmoita pääkäyttäjälle.",
        "failure_other": "Yritä uudelleen; jos virhe toistuu, ilmoita pääkäyttäjälle ja kerro työn tunnus.",
        "failure_reason": "Syy (aseman ilmoitus englanniksi):",
        "folder_burner": "levykuva kansiossa (tämä asema ei polta levyä: polta kuva levylle tai valitse poltin)",
        "burner_folder": "kansio (levykuva, ei polttoa)",
        "job_kind_export": "Vienti medialle", "job_kind_import": "Tuonti", "job_kind_transfer": "Sähköinen luovutus",
        "home_hint": "Luovutuspyyntö paperilta: täytä lomake, tarkista päätös ja tallenna; tallennetun pyynnön sivulla viet sen levylle.",
        "invalid_value": "arvo ei kelpaa tähän kenttään; korjaa se ja tarkista uudelleen",
        "next_steps": "Seuraavaksi", "next_print": "Tulosta saatekirje ja levyn etiketti yllä olevista linkeistä.",
        "next_post": "Laita levy ja saatekirje kuoreen. Lähetys {id} odottaa postitusta: kirjaa seurantatunnus, kun kuori lähtee.",
        "next_shipments": "Lähetykset", "next_logged": "Luovutus on kirjattu luovutuslokiin (merkintä {seq}).",
        "job_warnings": "Huomautukset (aseman ilmoitus englanniksi)",
    },
    "sv": {
        "app": "Bildutlämningens skrivbord", "skip": "Till innehållet", "nav": "Huvudmeny",
        "home": "Startsida", "requests": "Begäranden", "new_request": "Ny begäran", "jobs": "Jobb",
        "sign_in": "Logga in", "sign_out": "Logga ut", "user": "Användarnamn", "password": "Lösenord",
        "signed_in_as": "Inloggad: {name}", "language": "Språk", "change": "Byt",
        "wrong_password": "Fel användarnamn eller lösenord.",
        "locked": "Namnet är låst i {minutes} minuter efter fem fel lösenord.",
        "disabled": "Namnet är inte i bruk. En administratör kan aktivera det.",
        "session_ended": "Sessionen har upphört. Logga in igen.",
        "forbidden": "Du har inte behörighet till denna sida.", "not_found": "Sidan eller uppgiften hittades inte.",
        "error": "Fel", "csrf": "Formuläret har gått ut. Ladda om sidan och försök igen.",
        "today": "Dagens arbete", "to_export": "Begäranden att lämna ut som inte skrivits till medium",
        "failed_jobs": "Misslyckade jobb", "running_jobs": "Pågående jobb", "nothing": "Inget.",
        "request_list": "Utlämningsbegäranden", "search": "Sök", "search_hint": "Personbeteckning eller begärans id",
        "filter_decision": "Beslut", "all": "Alla", "received": "Mottagen", "patient": "Patient",
        "destination": "Mottagare", "decision": "Beslut", "channel": "Kanal", "state": "Status",
        "request": "Begäran", "no_requests": "Inga begäranden.",
        "form_title": "Ny utlämningsbegäran", "form_intro": "Fyll i begärans uppgifter. Kontrollera beslutet innan du sparar.",
        "check": "Kontrollera", "save": "Spara begäran", "more_rows": "Lägg till en undersökningsrad",
        "problems": "Formuläret har fel", "checked_decision": "Beslut före sparande",
        "not_saved": "Begäran har inte sparats ännu.",
        "sec_patient": "Patient", "sec_prohibition": "Utlämningsförbud", "sec_requester": "Begärande",
        "sec_basis": "Grund för utlämning", "sec_destination": "Mottagare", "sec_address": "Postadress",
        "sec_node": "Elektronisk bildförbindelse (valfri)", "sec_delivery": "Leverans", "sec_studies": "Undersökningar",
        "study_n": "Undersökning {n}",
        "f_received_at": "Mottagen (tom = nu)", "f_patient.name": "Namn (Efternamn^Förnamn)",
        "f_patient.hetu": "Personbeteckning", "f_no_prohibition.confirmed": "Patienten har inte förbjudit utlämning",
        "f_no_prohibition.confirmed_by": "Kontrollerat av", "f_requester.unit": "Begärande enhet",
        "f_requester.person": "Begärande person", "f_requester.email": "Begärandes e-post",
        "f_basis.kind": "Grund", "f_basis.reference": "Referens (samtycke, lagrum eller fullmakt)",
        "f_destination.kind": "Typ av mottagare", "f_destination.name": "Mottagarens namn",
        "f_destination.county": "Välfärdsområde eller stad",
        "f_destination.participates_in_care": "Mottagaren vårdar patienten",
        "f_destination.on_hus_commission": "Vårdar på HUS uppdrag",
        "f_destination.address.name": "Mottagare på adressen", "f_destination.address.street": "Gatuadress",
        "f_destination.address.postal_code": "Postnummer", "f_destination.address.city": "Postanstalt",
        "f_destination.address.country": "Land", "f_destination.dicom_node.ae_title": "AE-titel",
        "f_destination.dicom_node.host": "Server", "f_destination.dicom_node.port": "Port",
        "f_channel": "Kanal", "f_content": "Innehåll", "f_urgent": "Brådskande", "f_language": "Följebrevets språk",
        "f_accession_number": "AC-nummer", "f_study_description": "Undersökningens namn",
        "f_study_datetime": "Undersökningens tid", "f_register": "Register", "f_studies": "Undersökningar",
        "yes": "Ja", "no": "Nej", "not_answered": "Inte besvarat",
        "basis_care": "Vård", "basis_consent": "Samtycke", "basis_statutory": "Lagstadgad",
        "basis_patient_own": "Patientens egen begäran",
        "dest_patient": "Patient", "dest_authorised_person": "Befullmäktigad person", "dest_authority": "Myndighet",
        "dest_insurer": "Försäkringsbolag", "dest_service_provider": "Tjänsteproducent", "dest_register": "Annat register",
        "ch_auto": "Automatisk", "ch_cd": "CD", "ch_dvd": "DVD", "ch_usb": "USB-minne", "ch_electronic": "Elektronisk",
        "ch_register_copy": "Registerkopia",
        "content_images_and_reports": "Bilder och utlåtanden", "content_images_only": "Endast bilder",
        "content_reports_only": "Endast utlåtanden",
        "lang_fi": "finska", "lang_sv": "svenska", "lang_en": "engelska",
        "dec_release": "Lämnas ut", "dec_no_release_needed": "Utlämning behövs inte", "dec_route": "Hänvisas vidare",
        "dec_needs_consent": "Samtycke behövs", "dec_refused": "Avslagen",
        "billable": "Faktureras", "on_call": "Under jourtid", "earliest_delivery": "Tidigast levererad",
        "reasons": "Motiveringar", "rule": "Regel", "details_en": "Ursprunglig text (engelska)",
        "where": "Hänvisa till", "request_title": "Begäran {id}", "added_by": "Tillagd av",
        "export": "Skriv till medium", "medium": "Medium", "burner": "Brännare", "default_burner": "Standard ({name})",
        "exports": "Exportjobb", "no_exports": "Inga exporter.", "export_refused": "Exporten kan inte startas",
        "not_exportable": "Denna begäran skrivs inte till medium (beslutet eller kanalen är inte utlämning på medium).",
        "studies": "Undersökningar", "job": "Jobb", "job_title": "Jobb {id}", "stage": "Skede", "stages": "Skeden",
        "seconds": "s", "owner": "Utförare", "live": "Läget uppdateras av sig själv.",
        "job_failed": "Jobbet misslyckades", "try_again": "Försök igen", "job_done": "Klart",
        "letter": "Följebrev (PDF)", "label": "Skivetikett {n} (PDF)", "print_these": "Skriv ut dessa",
        "media": "Medier", "image": "Skivavbild", "shipment": "Försändelse", "disclosure": "Post i utlämningsloggen",
        "state_queued": "I kö", "state_running": "Pågår", "state_done": "Klart", "state_failed": "Misslyckades",
        "stage_retrieve": "Hämtning från arkivet", "stage_compose": "Sammanställning av skivan", "stage_package": "Skivavbild",
        "stage_write": "Skrivning", "stage_verify": "Kontroll", "stage_record": "Registrering (logg, försändelse, faktura)",
        "stage_precheck": "Förkontroll", "stage_store": "Lagring i arkivet", "stage_commit": "Bekräftelse",
        "stage_done": "Klart",
        "state_cancelled": "Avbrutet", "stage_": "–", "back_to_request": "Tillbaka till begäran",
        "state_open": "Öppen", "state_released": "Utlämnad",
        "disclosures": "Poster i utlämningsloggen", "no_disclosures": "Inga poster.",
        "release_note": "Tilläggsuppgift (valfri)", "record_release": "Registrera en utlämning gjord på annat sätt",
        "pages": "Sidor", "newer_requests": "← Nyare begäranden", "older_requests": "Äldre begäranden →",
        "lookup": "Hämta undersökningarnas uppgifter från arkivet",
        "lookup_hint": "Skriv varje undersöknings AC-nummer och tryck på ”Hämta undersökningarnas uppgifter från arkivet”: tomma namn- och tidsfält fylls i från arkivet, och du ser om undersökningen är denna patients.",
        "lookup_needs_number": "Skriv först AC-numret för minst en undersökning.",
        "archive_found": "Arkivets undersökningar", "archive_failed": "Ingen förbindelse med arkivet:",
        "archive_none": "arkivet har ingen undersökning med detta AC-nummer. Kontrollera numret i remissen.",
        "archive_several": "arkivet har {n} undersökningar med detta AC-nummer: arkivets uppgifter måste rättas före utlämningen.",
        "archive_images": "{n} bilder", "archive_patient": "Patient i arkivet",
        "archive_other_patient": "Undersökningen har en annan personbeteckning i arkivet än i formuläret. Kontrollera personbeteckningen och AC-numret: en annan patients bilder skrivs inte ut.",
        "archive_other_name": "Patientens namn i arkivet är inte namnet i formuläret. Kontrollera namnet (utlämningen kräver samma namn).",
        "archive_differs": "i formuläret ”{typed}”, i arkivet ”{archived}”. Utlämningen kräver arkivets uppgift: kontrollera vilken som är rätt.",
        "archive_filled": "Tomma namn- och tidsfält fylldes i från arkivet. Kontrollera formuläret och tryck på ”Kontrollera”.",
        "based_on": "Formuläret har uppgifterna från begäran {id}. Rätta dem och tryck på ”Kontrollera”: den rättade begäran sparas som ny, det ursprungliga beslutet finns kvar.",
        "correct_request": "Rätta: ny begäran utifrån denna",
        "correct_hint": "När den saknade uppgiften (till exempel samtycket) finns eller felet är rättat, gör en rättad begäran:",
        "failure_refused": "Begäran kan inte skrivas ut som den är. Ett nytt försök hjälper inte förrän begäran eller arkivets uppgifter är rättade: rätta begäran enligt orsaken nedan.",
        "failure_outside": "Arkivet, enheten eller disken fungerade inte. Försök igen om en stund; om felet upprepas, meddela huvudanvändaren.",
        "failure_other": "Försök igen; om felet upprepas, meddela huvudanvändaren och ange jobbets id.",
        "failure_reason": "Orsak (stationens meddelande på engelska):",
        "folder_burner": "skivavbild i en mapp (denna station bränner ingen skiva: bränn avbilden eller välj en brännare)",
        "burner_folder": "mapp (skivavbild, ingen bränning)",
        "job_kind_export": "Utskrivning på medium", "job_kind_import": "Import", "job_kind_transfer": "Elektronisk utlämning",
        "home_hint": "En begäran på papper: fyll i formuläret, kontrollera beslutet och spara; på den sparade begärans sida skriver du ut den på skiva.",
        "invalid_value": "värdet passar inte i detta fält; rätta det och kontrollera igen",
        "next_steps": "Härnäst", "next_print": "Skriv ut följebrevet och skivetiketten via länkarna ovan.",
        "next_post": "Lägg skivan och följebrevet i kuvertet. Försändelsen {id} väntar på att postas: registrera spårningskoden när kuvertet går.",
        "next_shipments": "Försändelser", "next_logged": "Utlämningen är registrerad i utlämningsloggen (post {seq}).",
        "job_warnings": "Anmärkningar (stationens meddelande på engelska)",
    },
    "en": {
        "app": "Image release desk", "skip": "Skip to content", "nav": "Main menu",
        "home": "Home", "requests": "Requests", "new_request": "New request", "jobs": "Jobs",
        "sign_in": "Sign in", "sign_out": "Sign out", "user": "User name", "password": "Password",
        "signed_in_as": "Signed in: {name}", "language": "Language", "change": "Change",
        "wrong_password": "Wrong user name or password.",
        "locked": "The name is locked for {minutes} minutes after five wrong passwords.",
        "disabled": "The name is disabled. An administrator can enable it.",
        "session_ended": "The session ended. Sign in again.",
        "forbidden": "You have no access to this page.", "not_found": "The page or item was not found.",
        "error": "Error", "csrf": "The form expired. Reload the page and try again.",
        "today": "Today's work", "to_export": "Released requests not yet on media",
        "failed_jobs": "Failed jobs", "running_jobs": "Running jobs", "nothing": "Nothing.",
        "request_list": "Release requests", "search": "Search", "search_hint": "HETU or request id",
        "filter_decision": "Decision", "all": "All", "received": "Received", "patient": "Patient",
        "destination": "Recipient", "decision": "Decision", "channel": "Channel", "state": "State",
        "request": "Request", "no_requests": "No requests.",
        "form_title": "New release request", "form_intro": "Fill in the request. Check the decision before saving.",
        "check": "Check", "save": "Save request", "more_rows": "Add a study row",
        "problems": "The form has errors", "checked_decision": "Decision before saving",
        "not_saved": "The request is not saved yet.",
        "sec_patient": "Patient", "sec_prohibition": "Release prohibition", "sec_requester": "Requester",
        "sec_basis": "Basis of the release", "sec_destination": "Recipient", "sec_address": "Postal address",
        "sec_node": "Electronic image link (optional)", "sec_delivery": "Delivery", "sec_studies": "Studies",
        "study_n": "Study {n}",
        "f_received_at": "Received (empty = now)", "f_patient.name": "Name (Family^Given)",
        "f_patient.hetu": "Personal identity code (HETU)",
        "f_no_prohibition.confirmed": "The patient has not prohibited release",
        "f_no_prohibition.confirmed_by": "Checked by", "f_requester.unit": "Requesting unit",
        "f_requester.person": "Requesting person", "f_requester.email": "Requester's e-mail",
        "f_basis.kind": "Basis", "f_basis.reference": "Reference (consent, legal basis or power of attorney)",
        "f_destination.kind": "Kind of recipient", "f_destination.name": "Recipient's name",
        "f_destination.county": "Wellbeing services county or city",
        "f_destination.participates_in_care": "The recipient treats the patient",
        "f_destination.on_hus_commission": "Treats on HUS's commission",
        "f_destination.address.name": "Addressee", "f_destination.address.street": "Street",
        "f_destination.address.postal_code": "Postal code", "f_destination.address.city": "City",
        "f_destination.address.country": "Country", "f_destination.dicom_node.ae_title": "AE title",
        "f_destination.dicom_node.host": "Host", "f_destination.dicom_node.port": "Port",
        "f_channel": "Channel", "f_content": "Content", "f_urgent": "Urgent", "f_language": "Cover letter language",
        "f_accession_number": "Accession number", "f_study_description": "Study name",
        "f_study_datetime": "Study date and time", "f_register": "Register", "f_studies": "Studies",
        "yes": "Yes", "no": "No", "not_answered": "Not answered",
        "basis_care": "Care", "basis_consent": "Consent", "basis_statutory": "Statutory",
        "basis_patient_own": "The patient's own request",
        "dest_patient": "Patient", "dest_authorised_person": "Authorised person", "dest_authority": "Authority",
        "dest_insurer": "Insurer", "dest_service_provider": "Service provider", "dest_register": "Another register",
        "ch_auto": "Automatic", "ch_cd": "CD", "ch_dvd": "DVD", "ch_usb": "USB stick", "ch_electronic": "Electronic",
        "ch_register_copy": "Register copy",
        "content_images_and_reports": "Images and reports", "content_images_only": "Images only",
        "content_reports_only": "Reports only",
        "lang_fi": "Finnish", "lang_sv": "Swedish", "lang_en": "English",
        "dec_release": "Release", "dec_no_release_needed": "No release needed", "dec_route": "Routed elsewhere",
        "dec_needs_consent": "Consent needed", "dec_refused": "Refused",
        "billable": "Billable", "on_call": "On call", "earliest_delivery": "Earliest delivery",
        "reasons": "Reasons", "rule": "Rule", "details_en": "Original text (English)",
        "where": "Turn to", "request_title": "Request {id}", "added_by": "Added by",
        "export": "Export to media", "medium": "Medium", "burner": "Burner", "default_burner": "Default ({name})",
        "exports": "Export jobs", "no_exports": "No exports.", "export_refused": "The export cannot start",
        "not_exportable": "This request is not exported to media (its decision or channel is not a media release).",
        "studies": "Studies", "job": "Job", "job_title": "Job {id}", "stage": "Stage", "stages": "Stages",
        "seconds": "s", "owner": "Run by", "live": "This page updates by itself.",
        "job_failed": "The job failed", "try_again": "Try again", "job_done": "Done",
        "letter": "Cover letter (PDF)", "label": "Disc label {n} (PDF)", "print_these": "Print these",
        "media": "Media", "image": "Disc image", "shipment": "Shipment", "disclosure": "Disclosure log entry",
        "state_queued": "Queued", "state_running": "Running", "state_done": "Done", "state_failed": "Failed",
        "stage_retrieve": "Retrieve from the archive", "stage_compose": "Compose the disc", "stage_package": "Disc image",
        "stage_write": "Write", "stage_verify": "Verify", "stage_record": "Record (log, shipment, invoice)",
        "stage_precheck": "Pre-check", "stage_store": "Store in the archive", "stage_commit": "Commitment",
        "stage_done": "Done",
        "state_cancelled": "Cancelled", "stage_": "–", "back_to_request": "Back to the request",
        "state_open": "Open", "state_released": "Released",
        "disclosures": "Disclosure log entries", "no_disclosures": "No entries.",
        "release_note": "Note (optional)", "record_release": "Record a release done elsewhere in the log",
        "pages": "Pages", "newer_requests": "← Newer requests", "older_requests": "Older requests →",
        "lookup": "Look up the studies in the archive",
        "lookup_hint": "Type each study's accession number and press “Look up the studies in the archive”: empty name and time fields are filled from the archive, and you see whether the study is this patient's.",
        "lookup_needs_number": "Type at least one study's accession number first.",
        "archive_found": "The archive's studies", "archive_failed": "The archive could not be reached:",
        "archive_none": "the archive has no study with this accession number. Check the number on the referral.",
        "archive_several": "the archive has {n} studies with this accession number: the archive's data must be corrected before release.",
        "archive_images": "{n} images", "archive_patient": "Patient in the archive",
        "archive_other_patient": "The archive files this study under another HETU than the form's. Check the HETU and the accession number: another patient's images are not exported.",
        "archive_other_name": "The patient's name in the archive is not the form's. Check the name (the export needs the same name).",
        "archive_differs": "the form says “{typed}”, the archive “{archived}”. The export needs the archive's value: check which is right.",
        "archive_filled": "Empty name and time fields were filled from the archive. Check the form and press “Check”.",
        "based_on": "The form holds request {id}. Correct it and press “Check”: the corrected request is saved as a new one, the first decision stays on record.",
        "correct_request": "Correct: a new request from this one",
        "correct_hint": "Once the missing item (a consent, say) is at hand or the mistake is found, make a corrected request:",
        "failure_refused": "The request cannot be exported as it is. Trying again does not help until the request or the archive's data is corrected: correct the request as the reason below says.",
        "failure_outside": "The archive, a drive or a disk failed. Try again in a moment; if it fails again, tell the administrator.",
        "failure_other": "Try again; if it fails again, tell the administrator the job's id.",
        "failure_reason": "Reason (the station's message):",
        "folder_burner": "a disc image in a folder (this station burns no disc: burn the image or choose a burner)",
        "burner_folder": "folder (a disc image, no burning)",
        "job_kind_export": "Export to media", "job_kind_import": "Import", "job_kind_transfer": "Electronic release",
        "home_hint": "A request on paper: fill in the form, check the decision and save; on the saved request's page you export it to a disc.",
        "invalid_value": "this value does not fit the field; correct it and check again",
        "next_steps": "Next", "next_print": "Print the cover letter and the disc label from the links above.",
        "next_post": "Put the disc and the letter in the envelope. Shipment {id} waits to be posted: record its tracking code when the envelope leaves.",
        "next_shipments": "Shipments", "next_logged": "The release is in the disclosure log (entry {seq}).",
        "job_warnings": "Notes (the station's message)",
    },
}

# A reason code's sentence; {field} is the named field's label, {where} the place to turn to,
# {earliest} the decision's earliest delivery. A code without an entry shows the rules' own text.
REASONS: dict[str, dict[str, str]] = {
    "fi": {
        "missing_field": "Pyynnöstä puuttuu: {field}. Lisää se ja tarkista uudelleen.",
        "invalid_hetu": "Henkilötunnus ei ole kelvollinen tai sen syntymäaika on pyynnön jälkeen. Tarkista se potilastiedoista.",
        "received_in_future": "Vastaanottoaika on myöhemmin kuin nyt. Anna hetki, jolloin pyyntö saapui.",
        "study_after_request": "Tutkimuksen aika on pyynnön vastaanoton jälkeen. Tarkista tutkimuksen päivä ja kellonaika.",
        "invalid_accession_number": "AC-numero on liian pitkä tai sisältää kiellettyjä merkkejä (enintään 16 merkkiä).",
        "prohibited": "Luovutuskieltoa ei ole suljettu pois: pyytäjän on vahvistettava, ettei potilas ole kieltänyt luovutusta, ja kerrottava kuka tarkisti.",
        "unknown_register": "Rekisteri ei ole tämän aseman tuntema rekisteri. Valitse tunnettu rekisteri.",
        "unknown_legal_basis": "Lakiperuste ei ole määritetty peruste. Valitse määritetty peruste tai pyydä potilaan kirjallinen suostumus.",
        "channel_not_possible": "Valittu kanava ei sovi tälle vastaanottajalle. Valitse toinen kanava.",
        "no_electronic_link": "Vastaanottajaan ei ole sähköistä kuvayhteyttä. Lisää yhteys tai valitse automaattinen kanava.",
        "reports_only": "Pyydetään vain lähetettä ja lausuntoa: tilaa ne sairaala-arkistosta. {where}",
        "uusimaa_care_access": "Vastaanottaja kuuluu HUS-yhtymään, Helsinkiin tai Uudenmaan hyvinvointialueisiin ja hoitaa potilasta: se näkee kuvat PACSista suoraan. Mitään ei luovuteta.",
        "consent_required": "Potilaan kirjallinen suostumus puuttuu eikä lakiperustetta ole. Pyydä suostumus.",
        "postal_delivery_week": "Media lähtee postitse, mikä vie vähintään viikon: lupaa toimitus aikaisintaan {earliest}.",
        "register_copy": "Kopioi tutkimukset toiseen rekisteriin PACSin sisällä; käytettävissä heti, ei laskuteta.",
        "electronic_preferred": "Vastaanottajaan on sähköinen kuvayhteys: lähetä tutkimukset sitä kautta, ei mediaa.",
        "dvd_capacity": "Tutkimukset eivät mahdu CD:lle: polta DVD.",
        "on_call": "Pyyntö saapui virka-ajan ulkopuolella: asiakaspalvelu käsittelee sen seuraavana arkipäivänä, ellei se ole kiireellinen.",
        "defence_forces_register": "Tutkimus on Puolustusvoimien rekisterissä: ohjaa pyyntö sinne. {where}",
        "occupational_health_register": "Tutkimus on työterveyshuollon rekisterissä: ohjaa pyyntö sinne. {where}",
        "own_xray_unit": "Tutkimus on toisen hyvinvointialueen rekisterissä: sen oma röntgenyksikkö luovuttaa sen. {where}",
    },
    "sv": {
        "missing_field": "Begäran saknar: {field}. Lägg till det och kontrollera igen.",
        "invalid_hetu": "Personbeteckningen är ogiltig eller dess födelsedatum är efter begäran. Kontrollera den mot patientuppgifterna.",
        "received_in_future": "Mottagningstiden är senare än nu. Ange när begäran kom in.",
        "study_after_request": "Undersökningens tid är efter att begäran togs emot. Kontrollera datum och klockslag.",
        "invalid_accession_number": "AC-numret är för långt eller innehåller otillåtna tecken (högst 16 tecken).",
        "prohibited": "Ett utlämningsförbud är inte uteslutet: den begärande ska bekräfta att patienten inte förbjudit utlämning och ange vem som kontrollerade det.",
        "unknown_register": "Registret är inte ett register som stationen känner. Välj ett känt register.",
        "unknown_legal_basis": "Lagrummet är inte en konfigurerad grund. Välj en konfigurerad grund eller begär patientens skriftliga samtycke.",
        "channel_not_possible": "Den valda kanalen passar inte denna mottagare. Välj en annan kanal.",
        "no_electronic_link": "Det finns ingen elektronisk bildförbindelse till mottagaren. Lägg till en eller välj automatisk kanal.",
        "reports_only": "Endast remiss och utlåtande begärs: beställ dem från sjukhusarkivet. {where}",
        "uusimaa_care_access": "Mottagaren hör till HUS, Helsingfors eller Nylands välfärdsområden och vårdar patienten: den ser bilderna direkt i PACS. Inget lämnas ut.",
        "consent_required": "Patientens skriftliga samtycke saknas och ingen lagstadgad grund finns. Begär samtycke.",
        "postal_delivery_week": "Mediet skickas per post, vilket tar minst en vecka: lova leverans tidigast {earliest}.",
        "register_copy": "Kopiera undersökningarna till det andra registret i PACS; tillgängligt genast, faktureras inte.",
        "electronic_preferred": "Det finns en elektronisk bildförbindelse till mottagaren: skicka undersökningarna den vägen, inget medium.",
        "dvd_capacity": "Undersökningarna ryms inte på en CD: bränn en DVD.",
        "on_call": "Begäran kom utanför tjänstetid: kundtjänsten behandlar den nästa vardag om den inte är brådskande.",
        "defence_forces_register": "Undersökningen finns i Försvarsmaktens register: hänvisa begäran dit. {where}",
        "occupational_health_register": "Undersökningen finns i företagshälsovårdens register: hänvisa begäran dit. {where}",
        "own_xray_unit": "Undersökningen finns i ett annat välfärdsområdes register: dess egen röntgenenhet lämnar ut den. {where}",
    },
}

def _merge_areas() -> None:
    """Add each area's words (mediastation/desk/words/) to LABELS; a key defined twice is an error
    at import, so two areas cannot silently give one key two meanings."""
    import importlib

    from mediastation.desk.words import AREAS

    for area in AREAS:
        table = importlib.import_module(f"mediastation.desk.words.{area}").LABELS
        for language in LANGUAGES:
            twice = LABELS[language].keys() & table[language].keys()
            if twice:
                raise RuntimeError(f"desk words of {area!r} redefine {sorted(twice)} in {language}")
            LABELS[language].update(table[language])


_merge_areas()


_INDEX = re.compile(r"\[(\d+)\]")


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def label(language: str, key: str, /, **values: Any) -> str:
    """The label `key` in `language` (Finnish, then the key itself, when a table lacks it)."""
    text = LABELS[language_of(language)].get(key) or LABELS[DEFAULT].get(key) or key
    return text.format(**values) if values else text


def stage_label(language: str, name: str) -> str:
    """A pipeline stage in the person's language (the stage's own name when the table lacks it)."""
    key = f"stage_{name}"
    return label(language, key) if key in LABELS[DEFAULT] else name


def field_label(language: str, path: str) -> str:
    """A request path as the form names it: `studies[0].study_datetime` -> "Study 1: Study date and time"."""
    dotted = _INDEX.sub(lambda m: f".{m.group(1)}", path)
    parts = dotted.split(".")
    if parts[0] == "studies" and len(parts) == 3 and parts[1].isdigit():
        return f"{label(language, 'study_n', n=int(parts[1]) + 1)}: {label(language, 'f_' + parts[2])}"
    return label(language, "f_" + dotted)


def field_id(path: str) -> str:
    """The form control's id for a request path (`studies[0].x` and `studies.0.x` alike)."""
    return "f-" + _INDEX.sub(lambda m: f".{m.group(1)}", path).replace(".", "-").replace("_", "-")


def reason_text(language: str, reason: dict[str, Any], decision: dict[str, Any]) -> str:
    """One reason of a decision document in the person's language."""
    language = language_of(language)
    template = REASONS.get(language, {}).get(reason.get("code", ""))
    if template is None:
        return str(reason.get("message", ""))
    values = {"field": field_label(language, reason["field"]) if reason.get("field") else "",
              "where": reason.get("where") or "", "earliest": decision.get("earliest_delivery") or ""}
    return template.format(**values).strip()
