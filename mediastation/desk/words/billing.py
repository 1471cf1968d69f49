"""The billing area's words in Finnish, Swedish and English (merged by mediastation/desk/i18n.py)."""

LABELS: dict[str, dict[str, str]] = {"fi": {}, "sv": {}, "en": {}}
