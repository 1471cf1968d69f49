"""Every user-facing word of the documents, in Finnish, Swedish and English (domain.md §6).

One table per language with the same keys (a test checks they are complete and carry the same
placeholders), so a translator edits one file and no writer holds a sentence of its own.
Terms follow HUS's Finnish usage and the source instruction (AC-numero,
tutkimusnimike, luovutuspyyntö); the Swedish and English wording wants HUS translators' approval.

Sentences about the medium take its noun in the case they need: `{m_nom}` levy / muistitikku,
`{m_par}` levyä, `{m_gen}` levyn, `{m_abl}` levyltä, `{m_ade}` levyllä, `{m_def}` skivan / the disc,
`{m_pron}` se / den / it, with `_cap` forms at the start of a sentence (see `MEDIUM_WORDS`).
"""

from __future__ import annotations

import string
from datetime import date, datetime
from typing import Iterable

from mediastation.errors import InputError

LANGUAGES = ("fi", "sv", "en")

TEXTS: dict[str, dict[str, str]] = {
    "fi": {
        # letter: head
        "doc_type": "SAATEKIRJE",
        "confidential": "SALASSA PIDETTÄVÄ",
        "confidential_basis": "Potilaslaki 785/1992, 13 §",
        "page": "{page} ({pages})",
        "request_ref": "Luovutuspyyntö {request_id}",
        "subject": "Kuvantamistutkimusten kopio",
        "intro": "Oheisena lähetämme alla luetellut potilaan kuvantamistutkimukset "
                 "luovutuspyynnön {request_id} mukaisesti.",
        "label_patient": "Potilas",
        "label_hetu": "Henkilötunnus",
        "label_basis": "Luovutuksen peruste",
        "label_release_date": "Luovutuspäivä",
        "label_media": "Tallenteet",
        # letter: studies
        "studies_heading": "Tutkimukset",
        "col_accession": "AC-numero",
        "col_description": "Tutkimusnimike",
        "col_datetime": "Päivämäärä ja aika",
        "col_report": "Lausunto",
        "col_disc": "Levy",
        "report_included": "lausunto mukana",
        "report_missing": "ei lausuntoa saatavilla",
        "report_not_applicable": "–",
        # letter: viewing
        "view_heading": "Kuvien katselu",
        "view_open": "Avaa {m_abl} tiedosto INDEX.HTM millä tahansa verkkoselaimella (esimerkiksi "
                     "Edge, Chrome, Firefox tai Safari). Ohjelmia ei tarvitse asentaa.",
        "view_no_autorun": "{m_nom_cap} ei käynnisty itsestään. Avaa {m_nom} tietokoneen "
                           "tiedostonhallinnassa (Windowsissa Resurssienhallinta, Macissa Finder) ja "
                           "kaksoisnapsauta tiedostoa INDEX.HTM.",
        "view_dicom": "Kuvat ovat {m_ade} myös DICOM-muodossa (hakemisto DICOMDIR ja kansio DICOM), "
                      "joten sairaalan tai muun terveydenhuollon yksikön kuva-arkisto (PACS) voi tuoda "
                      "ne suoraan.",
        "view_several": "Tutkimukset on jaettu {count} tallenteelle. Jokainen avataan samalla tavalla; "
                        "sarake Levy kertoo, millä tallenteella kukin tutkimus on.",
        # letter: data protection
        "privacy_heading": "Tietosuoja",
        "privacy": "{m_nom_cap} sisältää salassa pidettäviä potilastietoja. Säilytä {m_nom} "
                   "huolellisesti äläkä anna sitä sivullisille.",
        "wrong_recipient": "Jos tämä lähetys on tullut sinulle vahingossa, älä avaa äläkä kopioi "
                           "{m_par}. Ota heti yhteyttä lähettäjään (yhteystiedot alla) ja palauta "
                           "{m_nom} lähettäjälle tai hävitä {m_pron} luotettavasti.",
        # letter: close
        "contact": "Lisätietoja: puh. {phone}, {email}.",
        "regards": "Ystävällisin terveisin",
        "phone": "puh. {phone}",
        # media
        "medium_cd": "CD",
        "medium_dvd": "DVD",
        "medium_dvd-dl": "DVD",
        "medium_usb": "USB-muisti",
        # basis of the release (request basis.kind)
        "basis_care": "Potilaan hoito",
        "basis_consent": "Potilaan suostumus",
        "basis_statutory": "Lakiin perustuva tiedonsaantioikeus",
        "basis_patient_own": "Potilaan oma pyyntö",
        # disc label
        "label_born": "Syntynyt {date}",
        "label_studies": "Tutkimukset {dates}",
        "label_disc": "Levy {index}/{count}",
        "label_created": "Tehty {date}",
        "label_confidential": "Salassa pidettävä",
        # README.TXT
        "readme_title": "KUVANTAMISTUTKIMUSTEN KOPIO - LUE MINUT",
        "readme_what": "Tämä tallenne sisältää potilaan kuvantamistutkimuksia DICOM-muodossa (IHE PDI, "
                       "Portable Data for Imaging) ja verkkoselaimella avattavan tutkimusluettelon.",
        "readme_what_viewer": "Mukana on myös selaimessa toimiva katseluohjelma ({viewer}).",
        "readme_medium": "Tallenne {index}/{count}, tiedostojoukon tunnus (File-set ID) {fileset_id}.",
        "readme_made_by": "Tekijä: {sender}. Tehty {date}.",
        "readme_application": "Ohjelma: {station_name}, mediastation {version}.",
        "readme_open_heading": "KUVIEN AVAAMINEN",
        "readme_open": "Avaa {m_abl} tiedosto INDEX.HTM millä tahansa ajantasaisella "
                       "verkkoselaimella. Mitään ei tarvitse asentaa eikä järjestelmänvalvojan "
                       "oikeuksia tarvita.",
        "readme_dicom": "Sairaaloille ja kuva-arkistoille: DICOM-tiedostot ovat kansiossa DICOM, ja "
                        "niiden hakemisto DICOMDIR on {m_gen} juurihakemistossa. Tuo tutkimukset "
                        "PACSiin DICOMDIRin kautta.",
        "readme_requirements_heading": "VAATIMUKSET",
        "readme_requirements": "Ajantasainen verkkoselain (Edge, Chrome, Firefox tai Safari) "
                               "Windowsissa, macOS:ssä tai Linuxissa. Tutkimusluettelo (INDEX.HTM) ja "
                               "saatekirje (LETTER.PDF) avautuvat ilman JavaScriptiä.",
        "readme_requirements_viewer": "Katseluohjelma tarvitsee JavaScriptin.",
        "readme_contact_heading": "YHTEYSTIEDOT",
        "readme_privacy_heading": "TIETOSUOJA",
        "readme_disclaimer_heading": "VASTUUVAPAUS",
        "readme_disclaimer": "Tallenteen katseluohjelma ja kuvasivut on tarkoitettu kuvien "
                             "katseluun, ei diagnostiikkaan. Diagnostinen tulkinta tehdään "
                             "DICOM-tiedostoista hyväksytyllä diagnostisella työasemalla.",
        # INDEX.HTM
        "index_title": "Kuvantamistutkimukset",
        "index_intro": "Tämän tallenteen potilaat, tutkimukset ja sarjat.",
        "index_open_viewer": "Avaa kuvat katseluohjelmassa",
        "index_viewer_needs_js": "(tarvitsee JavaScriptin)",
        "index_letter": "Saatekirje (PDF)",
        "index_readme": "Lue minut (README.TXT)",
        "index_patient_id": "Potilastunnus",
        "index_birth_date": "Syntymäaika",
        "index_images": "{count} kuvaa",
        "index_image_one": "1 kuva",
        "index_dicom": "DICOM-tiedostot sairaaloiden kuva-arkistoille: DICOMDIR ja kansio DICOM.",
        "index_not_diagnostic": "Ei diagnostiseen käyttöön.",
        # the patient's disclosure report (`log patient --pdf`, act 703/2023 § 11)
        "plog_doc_type": "LUOVUTUSSELVITYS",
        "plog_subject": "Selvitys kuvantamistutkimustesi luovutuksista",
        "plog_intro": "Tässä selvityksessä ovat kaikki luovutuslokiin kirjatut luovutukset potilaan "
                      "kuvantamistutkimuksista (laki sosiaali- ja terveydenhuollon asiakastietojen "
                      "käsittelystä 703/2023, 11 §). Ajat ovat Suomen aikaa.",
        "plog_label_prepared": "Laadittu",
        "plog_label_count": "Luovutuksia",
        "plog_col_when": "Aika",
        "plog_col_recipient": "Vastaanottaja",
        "plog_col_basis": "Peruste",
        "plog_col_channel": "Tapa",
        "plog_col_released": "Luovutetut tutkimukset",
        "plog_col_by": "Luovuttaja",
        "plog_none": "Luovutuslokiin ei ole kirjattu yhtään potilaan kuvantamistutkimusten luovutusta.",
        "plog_correction": "Korjaus merkintään {seq}: {note}",
        "plog_unverified": "EI VARMENNETTU: merkintä ei vastaa luovutuslokin tarkistusketjua.",
        "plog_unverified_note": "Merkinnät, joiden kohdalla lukee EI VARMENNETTU, eivät vastaa luovutuslokin "
                                "tarkistusketjua; asia on ilmoitettu tietoturvasta vastaaville.",
        "plog_channel_electronic": "sähköinen kuvayhteys",
        "plog_channel_register_copy": "kopio toiseen rekisteriin",
    },
    "sv": {
        "doc_type": "FÖLJEBREV",
        "confidential": "SEKRETESSBELAGD",
        "confidential_basis": "Patientlagen 785/1992, 13 §",
        "page": "{page} ({pages})",
        "request_ref": "Begäran om utlämnande {request_id}",
        "subject": "Kopia av bilddiagnostiska undersökningar",
        "intro": "Här bifogas patientens bilddiagnostiska undersökningar som förtecknas nedan, "
                 "enligt begäran om utlämnande {request_id}.",
        "label_patient": "Patient",
        "label_hetu": "Personbeteckning",
        "label_basis": "Grund för utlämnandet",
        "label_release_date": "Datum för utlämnandet",
        "label_media": "Medier",
        "studies_heading": "Undersökningar",
        "col_accession": "Undersöknings-\nnummer",  # "\n": where a narrow column may break
        "col_description": "Undersökning",
        "col_datetime": "Datum och tid",
        "col_report": "Utlåtande",
        "col_disc": "Skiva",
        "report_included": "utlåtande bifogat",
        "report_missing": "inget utlåtande tillgängligt",
        "report_not_applicable": "–",
        "view_heading": "Visa bilderna",
        "view_open": "Öppna filen INDEX.HTM på {m_def} i valfri webbläsare (till exempel Edge, Chrome, "
                     "Firefox eller Safari). Inga program behöver installeras.",
        "view_no_autorun": "{m_def_cap} startar inte av sig själv. Öppna {m_def} i datorns filhanterare "
                           "(Utforskaren i Windows, Finder på Mac) och dubbelklicka på filen INDEX.HTM.",
        "view_dicom": "Bilderna finns på {m_def} även i DICOM-format (katalogen DICOMDIR och mappen "
                      "DICOM), så att ett sjukhus eller en annan vårdenhets bildarkiv (PACS) kan "
                      "importera dem direkt.",
        "view_several": "Undersökningarna är fördelade på {count} medier. Alla öppnas på samma sätt; "
                        "kolumnen Skiva visar var varje undersökning finns.",
        "privacy_heading": "Dataskydd",
        "privacy": "{m_def_cap} innehåller sekretessbelagda patientuppgifter. Förvara {m_def} väl och "
                   "låt inte utomstående ta del av uppgifterna.",
        "wrong_recipient": "Om denna försändelse har kommit till dig av misstag: öppna eller kopiera "
                           "inte {m_def}. Kontakta genast avsändaren (kontaktuppgifter nedan) och "
                           "returnera {m_def} till avsändaren eller förstör {m_pron} på ett säkert sätt.",
        "contact": "Mer information: tfn {phone}, {email}.",
        "regards": "Med vänlig hälsning",
        "phone": "tfn {phone}",
        "medium_cd": "CD",
        "medium_dvd": "DVD",
        "medium_dvd-dl": "DVD",
        "medium_usb": "USB-minne",
        "basis_care": "Vård av patienten",
        "basis_consent": "Patientens samtycke",
        "basis_statutory": "Lagstadgad rätt att få uppgifter",
        "basis_patient_own": "Patientens egen begäran",
        "label_born": "Född {date}",
        "label_studies": "Undersökningar {dates}",
        "label_disc": "Skiva {index}/{count}",
        "label_created": "Skapad {date}",
        "label_confidential": "Sekretessbelagd",
        "readme_title": "KOPIA AV BILDDIAGNOSTISKA UNDERSÖKNINGAR - LÄS MIG",
        "readme_what": "Detta medium innehåller en patients bilddiagnostiska undersökningar i "
                       "DICOM-format (IHE PDI, Portable Data for Imaging) och en förteckning över "
                       "undersökningarna som öppnas i en webbläsare.",
        "readme_what_viewer": "Mediet innehåller också ett visningsprogram som körs i webbläsaren "
                              "({viewer}).",
        "readme_medium": "Medium {index}/{count}, filuppsättningens identitet (File-set ID) "
                         "{fileset_id}.",
        "readme_made_by": "Framställt av: {sender}. Skapat {date}.",
        "readme_application": "Program: {station_name}, mediastation {version}.",
        "readme_open_heading": "ÖPPNA BILDERNA",
        "readme_open": "Öppna filen INDEX.HTM på {m_def} i en aktuell webbläsare. Inget behöver "
                       "installeras och inga administratörsrättigheter behövs.",
        "readme_dicom": "För sjukhus och bildarkiv: DICOM-filerna finns i mappen DICOM och deras "
                        "katalog DICOMDIR ligger i roten av {m_def}. Importera undersökningarna till "
                        "PACS via DICOMDIR.",
        "readme_requirements_heading": "KRAV",
        "readme_requirements": "En aktuell webbläsare (Edge, Chrome, Firefox eller Safari) i Windows, "
                               "macOS eller Linux. Förteckningen (INDEX.HTM) och följebrevet "
                               "(LETTER.PDF) öppnas utan JavaScript.",
        "readme_requirements_viewer": "Visningsprogrammet kräver JavaScript.",
        "readme_contact_heading": "KONTAKTUPPGIFTER",
        "readme_privacy_heading": "DATASKYDD",
        "readme_disclaimer_heading": "ANSVARSFRISKRIVNING",
        "readme_disclaimer": "Visningsprogrammet och bildsidorna på mediet är avsedda för att visa "
                             "bilderna, inte för diagnostik. Diagnostisk granskning görs av "
                             "DICOM-filerna på en godkänd diagnostisk arbetsstation.",
        "index_title": "Bilddiagnostiska undersökningar",
        "index_intro": "Patienter, undersökningar och serier på detta medium.",
        "index_open_viewer": "Öppna bilderna i visningsprogrammet",
        "index_viewer_needs_js": "(kräver JavaScript)",
        "index_letter": "Följebrev (PDF)",
        "index_readme": "Läs mig (README.TXT)",
        "index_patient_id": "Patient-ID",
        "index_birth_date": "Födelsedatum",
        "index_images": "{count} bilder",
        "index_image_one": "1 bild",
        "index_dicom": "DICOM-filer för sjukhusens bildarkiv: DICOMDIR och mappen DICOM.",
        "index_not_diagnostic": "Inte för diagnostiskt bruk.",
        # the patient's disclosure report (`log patient --pdf`, act 703/2023 § 11)
        "plog_doc_type": "UTLÄMNANDEREDOGÖRELSE",
        "plog_subject": "Redogörelse för utlämnanden av dina bildundersökningar",
        "plog_intro": "Denna redogörelse innehåller alla utlämnanden av patientens bildundersökningar "
                      "som antecknats i utlämnandeloggen (lagen om behandling av klientuppgifter inom "
                      "social- och hälsovården 703/2023, 11 §). Tiderna är finsk tid.",
        "plog_label_prepared": "Upprättad",
        "plog_label_count": "Utlämnanden",
        "plog_col_when": "Tid",
        "plog_col_recipient": "Mottagare",
        "plog_col_basis": "Grund",
        "plog_col_channel": "Sätt",
        "plog_col_released": "Utlämnade undersökningar",
        "plog_col_by": "Utlämnat av",
        "plog_none": "Inga utlämnanden av patientens bildundersökningar har antecknats i utlämnandeloggen.",
        "plog_correction": "Rättelse av anteckning {seq}: {note}",
        "plog_unverified": "EJ VERIFIERAD: anteckningen stämmer inte med utlämnandeloggens kontrollkedja.",
        "plog_unverified_note": "Anteckningar märkta EJ VERIFIERAD stämmer inte med utlämnandeloggens "
                                "kontrollkedja; saken har anmälts till dem som ansvarar för datasäkerheten.",
        "plog_channel_electronic": "elektronisk bildförbindelse",
        "plog_channel_register_copy": "kopia till ett annat register",
    },
    "en": {
        "doc_type": "COVER LETTER",
        "confidential": "CONFIDENTIAL",
        "confidential_basis": "Act on the Status and Rights of Patients 785/1992, s. 13",
        "page": "Page {page} of {pages}",
        "request_ref": "Release request {request_id}",
        "subject": "Copy of imaging studies",
        "intro": "Enclosed are the patient's imaging studies listed below, released under release "
                 "request {request_id}.",
        "label_patient": "Patient",
        "label_hetu": "Personal identity code",
        "label_basis": "Basis of the release",
        "label_release_date": "Date of release",
        "label_media": "Media",
        "studies_heading": "Studies",
        "col_accession": "Accession number",
        "col_description": "Study name",
        "col_datetime": "Date and time",
        "col_report": "Report",
        "col_disc": "Disc",
        "report_included": "report included",
        "report_missing": "no report available",
        "report_not_applicable": "–",
        "view_heading": "Viewing the images",
        "view_open": "Open the file INDEX.HTM on {m_def} in any web browser (for example Edge, Chrome, "
                     "Firefox or Safari). Nothing needs to be installed.",
        "view_no_autorun": "{m_def_cap} does not start by itself. Open {m_def} in the computer's file "
                           "manager (File Explorer on Windows, Finder on a Mac) and double-click the "
                           "file INDEX.HTM.",
        "view_dicom": "The images are also on {m_def} in DICOM format (the DICOMDIR index and the "
                      "DICOM folder), so the image archive (PACS) of a hospital or other care unit "
                      "can import them directly.",
        "view_several": "The studies are spread over {count} media. Each one opens the same way; "
                        "the Disc column shows where each study is.",
        "privacy_heading": "Data protection",
        "privacy": "{m_def_cap} holds confidential patient data. Keep {m_pron} safe and do not let "
                   "anyone else see the data.",
        "wrong_recipient": "If this item reached you by mistake, do not open or copy {m_def}. Contact "
                           "the sender at once (details below) and return {m_def} to the sender or "
                           "destroy {m_pron} securely.",
        "contact": "More information: tel. {phone}, {email}.",
        "regards": "Yours sincerely",
        "phone": "tel. {phone}",
        "medium_cd": "CD",
        "medium_dvd": "DVD",
        "medium_dvd-dl": "DVD",
        "medium_usb": "USB stick",
        "basis_care": "The patient's care",
        "basis_consent": "The patient's consent",
        "basis_statutory": "A right to the data given by law",
        "basis_patient_own": "The patient's own request",
        "label_born": "Born {date}",
        "label_studies": "Studies {dates}",
        "label_disc": "Disc {index}/{count}",
        "label_created": "Created {date}",
        "label_confidential": "Confidential",
        "readme_title": "COPY OF IMAGING STUDIES - READ ME",
        "readme_what": "This medium holds a patient's imaging studies in DICOM format (IHE PDI, "
                       "Portable Data for Imaging) and a list of the studies that opens in a web "
                       "browser.",
        "readme_what_viewer": "It also holds a viewer that runs in the web browser ({viewer}).",
        "readme_medium": "Medium {index}/{count}, File-set ID {fileset_id}.",
        "readme_made_by": "Made by: {sender}. Created {date}.",
        "readme_application": "Application: {station_name}, mediastation {version}.",
        "readme_open_heading": "OPENING THE IMAGES",
        "readme_open": "Open the file INDEX.HTM on {m_def} in any current web browser. Nothing "
                       "needs to be installed and no administrator rights are needed.",
        "readme_dicom": "For hospitals and image archives: the DICOM files are in the DICOM folder "
                        "and their index, the file DICOMDIR, is at the root of {m_def}. Import the "
                        "studies into a PACS through the DICOMDIR.",
        "readme_requirements_heading": "REQUIREMENTS",
        "readme_requirements": "A current web browser (Edge, Chrome, Firefox or Safari) on Windows, "
                               "macOS or Linux. The study list (INDEX.HTM) and the cover letter "
                               "(LETTER.PDF) open without JavaScript.",
        "readme_requirements_viewer": "The viewer needs JavaScript.",
        "readme_contact_heading": "CONTACT",
        "readme_privacy_heading": "DATA PROTECTION",
        "readme_disclaimer_heading": "DISCLAIMER",
        "readme_disclaimer": "The viewer and the image pages on this medium are for viewing the "
                             "images, not for diagnosis. Diagnostic reading is done from the DICOM "
                             "files on an approved diagnostic workstation.",
        "index_title": "Imaging studies",
        "index_intro": "Patients, studies and series on this medium.",
        "index_open_viewer": "Open the images in the viewer",
        "index_viewer_needs_js": "(needs JavaScript)",
        "index_letter": "Cover letter (PDF)",
        "index_readme": "Read me (README.TXT)",
        "index_patient_id": "Patient ID",
        "index_birth_date": "Date of birth",
        "index_images": "{count} images",
        "index_image_one": "1 image",
        "index_dicom": "DICOM files for hospitals' image archives: DICOMDIR and the DICOM folder.",
        "index_not_diagnostic": "Not for diagnostic use.",
        # the patient's disclosure report (`log patient --pdf`, act 703/2023 § 11)
        "plog_doc_type": "DISCLOSURE REPORT",
        "plog_subject": "Report of the disclosures of your imaging studies",
        "plog_intro": "This report lists every disclosure of the patient's imaging studies recorded in "
                      "the disclosure log (Act on the Processing of Client Data in Healthcare and Social "
                      "Welfare 703/2023, section 11). Times are Finnish time.",
        "plog_label_prepared": "Prepared",
        "plog_label_count": "Disclosures",
        "plog_col_when": "Time",
        "plog_col_recipient": "Recipient",
        "plog_col_basis": "Basis",
        "plog_col_channel": "Channel",
        "plog_col_released": "Studies released",
        "plog_col_by": "Released by",
        "plog_none": "No disclosure of the patient's imaging studies has been recorded in the disclosure log.",
        "plog_correction": "Correction of entry {seq}: {note}",
        "plog_unverified": "NOT VERIFIED: the entry does not match the disclosure log's chain.",
        "plog_unverified_note": "Entries marked NOT VERIFIED do not match the disclosure log's chain; this has "
                                "been reported to those responsible for information security.",
        "plog_channel_electronic": "electronic image link",
        "plog_channel_register_copy": "copy to another register",
    },
}

# The medium's noun in the forms the sentences need (see the module docstring).
MEDIUM_WORDS: dict[str, dict[str, dict[str, str]]] = {
    "fi": {
        "disc": {"m_nom": "levy", "m_nom_cap": "Levy", "m_par": "levyä", "m_gen": "levyn",
                 "m_abl": "levyltä", "m_ade": "levyllä", "m_def": "levy", "m_def_cap": "Levy",
                 "m_pron": "se"},
        "usb": {"m_nom": "muistitikku", "m_nom_cap": "Muistitikku", "m_par": "muistitikkua",
                "m_gen": "muistitikun", "m_abl": "muistitikulta", "m_ade": "muistitikulla",
                "m_def": "muistitikku", "m_def_cap": "Muistitikku", "m_pron": "se"},
    },
    "sv": {
        "disc": {"m_nom": "skiva", "m_nom_cap": "Skiva", "m_par": "skivan", "m_gen": "skivans",
                 "m_abl": "skivan", "m_ade": "skivan", "m_def": "skivan", "m_def_cap": "Skivan",
                 "m_pron": "den"},
        "usb": {"m_nom": "USB-minne", "m_nom_cap": "USB-minne", "m_par": "USB-minnet",
                "m_gen": "USB-minnets", "m_abl": "USB-minnet", "m_ade": "USB-minnet",
                "m_def": "USB-minnet", "m_def_cap": "USB-minnet", "m_pron": "det"},
    },
    "en": {
        "disc": {"m_nom": "disc", "m_nom_cap": "Disc", "m_par": "the disc", "m_gen": "the disc's",
                 "m_abl": "the disc", "m_ade": "the disc", "m_def": "the disc", "m_def_cap": "The disc",
                 "m_pron": "it"},
        "usb": {"m_nom": "USB stick", "m_nom_cap": "USB stick", "m_par": "the USB stick",
                "m_gen": "the USB stick's", "m_abl": "the USB stick", "m_ade": "the USB stick",
                "m_def": "the USB stick", "m_def_cap": "The USB stick", "m_pron": "it"},
    },
}

MEDIUM_WORD_KEYS = frozenset(MEDIUM_WORDS["fi"]["disc"])

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def check_language(language: str) -> str:
    """The language code if the documents exist in it; otherwise a refusal that lists the choices."""
    if language not in TEXTS:
        raise InputError(f"Documents exist in {', '.join(LANGUAGES)}, not {language!r}: "
                         "set the request's language to one of them.")
    return language


def text(language: str, key: str, /, **values: object) -> str:
    """The text `key` in `language`, with its placeholders filled from `values`."""
    template = TEXTS[check_language(language)][key]
    return template.format(**values)


def medium_words(language: str, *, usb: bool) -> dict[str, str]:
    """The medium's noun forms for `text(..., **medium_words(...))`."""
    return dict(MEDIUM_WORDS[check_language(language)]["usb" if usb else "disc"])


def placeholders(template: str) -> set[str]:
    """The `{names}` a template uses (for the completeness test and translators' checks)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def format_date(value: date, language: str) -> str:
    """26.11.2026 in Finnish and Swedish (Finnish usage, no leading zeros); 26 November 2026 in English."""
    check_language(language)
    if language == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.day}.{value.month}.{value.year}"


def format_short_date(value: date, language: str) -> str:
    """Where room is short (tables, labels): 26.11.2026 in Finnish and Swedish, ISO 2026-11-26 in English."""
    if check_language(language) == "en":
        return value.isoformat()
    return format_date(value, language)


def format_time(value: datetime, language: str) -> str:
    """klo 10.31 / kl. 10.31 (Finnish usage: a full stop between hours and minutes) / 10:31."""
    check_language(language)
    if language == "en":
        return f"{value:%H:%M}"
    return f"{'klo' if language == 'fi' else 'kl.'} {value.hour:02d}.{value.minute:02d}"


def format_datetime(value: datetime, language: str) -> str:
    """20.11.2026 klo 10.31 / 20.11.2026 kl. 10.31 / 20 Nov 2026 10:31 (the study's local time)."""
    if check_language(language) == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1][:3]} {value.year} {value:%H:%M}"
    return f"{format_date(value.date(), language)} {format_time(value, language)}"


def format_dates(values: Iterable[date], language: str, *, most: int = 3) -> str:
    """Distinct dates in order; more than `most` become a range first–last (a label has little room)."""
    days = sorted(set(values))
    if len(days) > most:
        return f"{format_short_date(days[0], language)}–{format_short_date(days[-1], language)}"
    return ", ".join(format_short_date(d, language) for d in days)


def media_summary(kinds: Iterable[str], language: str) -> str:
    """How many media of which kind: "1 CD", "2 DVD", "1 DVD + 1 CD" (the letter's count of discs)."""
    counts: dict[str, int] = {}
    for kind in kinds:
        label = text(language, f"medium_{kind}")
        counts[label] = counts.get(label, 0) + 1
    return " + ".join(f"{n} {label}" for label, n in counts.items())


def basis_label(kind: str, language: str, detail: str = "") -> str:
    """The release's basis (request `basis.kind`) for the letter; `detail` e.g. the law's label.

    The export passes e.g. `basis_label("statutory", "fi", legal_basis.label("fi"))`.
    """
    label = text(language, f"basis_{kind}")
    return f"{label}: {detail}" if detail else label
