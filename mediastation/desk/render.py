"""Server-rendered pages: Jinja2 with autoescaping on, so a value from a request, a DICOM header
or a file name is always shown as text (a patient called `<script>...` stays a name)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from mediastation.desk import i18n
from mediastation.desk.auth import Caller, request_language
from mediastation.domain.request import HELSINKI

TEMPLATES = Path(__file__).with_name("templates")
ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENVIRONMENT.globals.update(field_id=i18n.field_id, languages=i18n.LANGUAGES)


def local_time(value: Any) -> str:
    """A stored moment as people at the desk read it: Helsinki time to the minute, `6.12.2026 03:23`
    (the database keeps ISO 8601 in UTC with microseconds); a time without an offset is already
    Helsinki's (domain/request.py); anything else is shown as it is."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    except ValueError:
        return str(value or "")
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(HELSINKI)
    return f"{moment.day}.{moment.month}.{moment.year} {moment:%H:%M}"


ENVIRONMENT.filters["local_time"] = local_time

# The menu: (path, label key, roles that see it; none = everyone signed in). Each page module may add
# its own entries as `MENU`; create_app (mediastation/desk/app.py) collects them in page order.
MenuItem = tuple[str, str, tuple[str, ...]]


def render(request: Request, caller: Caller | None, template: str, *, status: int = 200, title: str = "",
           **values: Any) -> HTMLResponse:
    language = caller.language if caller else request_language(request)

    def t(key: str, /, **kw: Any) -> str:
        return i18n.label(language, key, **kw)

    menu = [(path, t(key)) for path, key, roles in getattr(request.app.state, "menu", ())
            if caller is not None and (not roles or caller.user.holds_any(roles))]
    html = ENVIRONMENT.get_template(template).render(
        request=request, caller=caller, lang=language, t=t, title=title or t("app"), menu=menu,
        path=request.url.path, csrf_token=caller.csrf_token if caller and caller.csrf_token else "",
        field_label=lambda path: i18n.field_label(language, path),
        reason_text=lambda reason, decision: i18n.reason_text(language, reason, decision),
        stage_label=lambda name: i18n.stage_label(language, name) if name else "–", **values)
    return HTMLResponse(html, status_code=status)
