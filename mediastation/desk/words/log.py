"""The log area's words in Finnish, Swedish and English (merged by mediastation/desk/i18n.py)."""

LABELS: dict[str, dict[str, str]] = {
    "fi": {
        "lg_menu": "Luovutusloki", "lg_title": "Luovutusloki", "lg_state": "Lokin eheys",
        "lg_intact": "Loki on ehjä: {n} merkintää, ketju tarkistettu avaimella.",
        "lg_tampered": "Lokia on muutettu tai se ei täsmää avaimeen.", "lg_first_bad": "Ensimmäinen virheellinen merkintä: {seq}.",
        "lg_hetu": "Potilaan henkilötunnus", "lg_entries": "Luovutukset, potilas {hetu}", "lg_seq": "Nro",
        "lg_when": "Aika (Helsinki)", "lg_basis": "Peruste", "lg_actor": "Luovuttaja", "lg_verified": "Tarkistettu",
        "lg_correction": "Korjaa merkintää {seq}", "lg_not_verified": "EI TARKISTETTU",
        "lg_none": "Potilaan tietoja ei ole luovutettu.", "lg_letter_language": "Kirjeen kieli",
        "lg_pdf": "Tulosta potilaalle (PDF)",
    },
    "sv": {
        "lg_menu": "Utlämningslogg", "lg_title": "Utlämningslogg", "lg_state": "Loggens integritet",
        "lg_intact": "Loggen är intakt: {n} poster, kedjan kontrollerad med nyckeln.",
        "lg_tampered": "Loggen har ändrats eller stämmer inte med nyckeln.", "lg_first_bad": "Första felaktiga post: {seq}.",
        "lg_hetu": "Patientens personbeteckning", "lg_entries": "Utlämningar, patient {hetu}", "lg_seq": "Nr",
        "lg_when": "Tid (Helsingfors)", "lg_basis": "Grund", "lg_actor": "Utlämnad av", "lg_verified": "Kontrollerad",
        "lg_correction": "Rättar post {seq}", "lg_not_verified": "INTE KONTROLLERAD",
        "lg_none": "Inga uppgifter om patienten har lämnats ut.", "lg_letter_language": "Brevets språk",
        "lg_pdf": "Skriv ut för patienten (PDF)",
    },
    "en": {
        "lg_menu": "Disclosure log", "lg_title": "Disclosure log", "lg_state": "The log's integrity",
        "lg_intact": "The log is intact: {n} entries, the chain checked with the key.",
        "lg_tampered": "The log was changed or does not fit the key.", "lg_first_bad": "First bad entry: {seq}.",
        "lg_hetu": "The patient's personal identity code (HETU)", "lg_entries": "Disclosures, patient {hetu}", "lg_seq": "No.",
        "lg_when": "Time (Helsinki)", "lg_basis": "Basis", "lg_actor": "Released by", "lg_verified": "Verified",
        "lg_correction": "Corrects entry {seq}", "lg_not_verified": "NOT VERIFIED",
        "lg_none": "Nothing of this patient's has been disclosed.", "lg_letter_language": "The letter's language",
        "lg_pdf": "Print for the patient (PDF)",
    },
}
