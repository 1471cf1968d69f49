"""The words of each area of the desk, one module per area with the same shape as `i18n.LABELS`
(`{"fi": {...}, "sv": {...}, "en": {...}}`); `mediastation/desk/i18n.py` merges them, and
tests/test_desk_units.py checks that every language has the same keys and no key is defined twice."""

AREAS = ("imports", "shipments", "billing", "log", "devices", "admin", "transfers")
