"""The electronic release's words on the request page in Finnish, Swedish and English (merged by
mediastation/desk/i18n.py)."""

LABELS: dict[str, dict[str, str]] = {
    "fi": {
        "sends": "Sähköinen luovutus", "no_sends": "Ei vielä lähetetty.", "send": "Lähetä",
        "send_refused": "Lähetystä ei voi aloittaa",
        "send_hint_electronic": "Tutkimukset lähetetään kuvayhteyttä pitkin vastaanottajan arkistoon; "
                                "vastaanotto tarkistetaan ja luovutus kirjataan lokiin. Ei laskuteta.",
        "send_hint_register_copy": "Tutkimukset kopioidaan PACSissa toiseen rekisteriin; kopio tarkistetaan ja "
                                   "kirjataan lokiin. Ei laskuteta.",
    },
    "sv": {
        "sends": "Elektronisk utlämning", "no_sends": "Inte skickat ännu.", "send": "Skicka",
        "send_refused": "Sändningen kan inte startas",
        "send_hint_electronic": "Undersökningarna skickas via bildförbindelsen till mottagarens arkiv; mottagandet "
                                "kontrolleras och utlämningen loggas. Faktureras inte.",
        "send_hint_register_copy": "Undersökningarna kopieras i PACS till det andra registret; kopian kontrolleras "
                                   "och loggas. Faktureras inte.",
    },
    "en": {
        "sends": "Electronic release", "no_sends": "Not sent yet.", "send": "Send",
        "send_refused": "The transfer cannot be started",
        "send_hint_electronic": "The studies are sent over the image link to the recipient's archive; their arrival "
                                "is checked and the release logged. Not billed.",
        "send_hint_register_copy": "The studies are copied to the other register in the PACS; the copy is checked "
                                   "and logged. Not billed.",
    },
}
