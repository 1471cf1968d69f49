"""The administrator's page: desk users and their roles (added and disabled through
`workflows.users`, the `users` commands' code), the effective settings (`config show`, read-only),
and the price list in force today (`billing price-list check`'s file, read through
`workflows.billing.load_price_list`); `/api/v1/users`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from mediastation.config import effective_settings, to_toml
from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.i18n import label
from mediastation.desk.render import MenuItem, render
from mediastation.domain.pricing import NoPriceInForce
from mediastation.errors import InputError, MediaStationError
from mediastation.workflows.billing import EXAMPLE_WARNING, load_price_list
from mediastation.workflows.shipments import today
from mediastation.workflows.users import ROLES, add_user, disable_user, list_users, user_document

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/admin", "ad_menu", ("admin",)),)
admin = require("admin")


def shown_settings(context: Any) -> str:
    """`config show`'s TOML, with a database password (postgresql+psycopg://user:PASSWORD@host) hidden:
    the page is read on a screen others may see, the CLI only by whoever has the station's files."""
    from sqlalchemy.engine import make_url

    effective = effective_settings(context.settings, context.home)
    url = effective.get("database", {}).get("url")
    if url:
        effective["database"]["url"] = make_url(url).render_as_string(hide_password=True)
    return to_toml(effective)


def price_list_in_force(context: Any, language: str) -> dict[str, Any]:
    """The price list file and the version in force today, or what is wrong with it."""
    path = context.path(context.settings.pricing.price_list)
    try:
        prices = load_price_list(path)
    except MediaStationError as refused:
        return {"file": str(path), "error": refused.message}
    shown: dict[str, Any] = {"file": str(path), "title": prices.title, "status": prices.status,
                             "currency": prices.currency, "warning": EXAMPLE_WARNING if prices.is_example else "",
                             "seller": prices.seller}
    try:
        version = prices.version_on(today())
    except NoPriceInForce as none:
        return {**shown, "error": str(none)}
    shown["version"] = version
    shown["items"] = [{"code": item.code, "name": item.name(language), "unit": item.unit, "vat_code": item.vat_code,
                       "vat_rate": item.vat_rate, "cost_centre": item.cost_centre,
                       "tiers": item.describe_tiers() if len(item.tiers) > 1 else
                       f"{item.tiers[0].price} {prices.currency}" + (f" / {item.unit}" if item.tiers[0].per_unit else ""),
                       "exempt": ", ".join(sorted(item.exempt_payer_categories))}
                      for item in version.items.values()]
    return shown


def _page(request: Request, caller: Caller, *, error: str = "", typed: dict[str, Any] | None = None,
          status: int = 200) -> Response:
    context = desk(request)
    users = [user_document(row) for row in list_users(context.database)]
    return render(request, caller, "admin.html", status=status, title=label(caller.language, "ad_title"), users=users,
                  roles=ROLES, settings_toml=shown_settings(context), config_file=str(context.home / "station.toml"),
                  prices=price_list_in_force(context, caller.language), error=error, typed=typed or {})


@router.get("/admin")
def admin_page(request: Request, caller: Caller = Depends(admin)) -> Response:
    return _page(request, caller)


def _add(request: Request, values: Any, roles: list[str]) -> Any:
    password = str(values.get("password") or "")
    if "password_again" in values and values.get("password_again") != password:
        raise InputError("the two passwords differ: type the same password twice")
    return add_user(desk(request).database, str(values.get("name") or "").strip(), roles, password)


@router.post("/admin/users")
def admin_add_user(request: Request, caller: Caller = Depends(admin)) -> Response:
    """`users add NAME --role R... --password-stdin`; a refusal shows the page again with the name and roles kept."""
    form = caller.form
    roles = [str(role) for role in form.getlist("roles")] if form is not None else []
    try:
        _add(request, form or {}, roles)
    except MediaStationError as refused:
        return _page(request, caller, error=refused.message, status=422 if isinstance(refused, InputError) else 409,
                     typed={"name": str((form or {}).get("name") or ""), "roles": roles})
    return RedirectResponse("/admin#users", status_code=303)


@router.post("/admin/users/{name}/disable")
def admin_disable_user(request: Request, name: str, caller: Caller = Depends(admin)) -> Response:
    """`users disable NAME`: its sessions and token end; what it did keeps its name."""
    disable_user(desk(request).database, name)
    return RedirectResponse("/admin#users", status_code=303)


# -- JSON API -------------------------------------------------------------------------------------

@router.get("/api/v1/users")
def api_users(request: Request, caller: Caller = Depends(admin)) -> dict[str, Any]:
    """`users list --json`."""
    return {"users": [user_document(row) for row in list_users(desk(request).database)]}


@router.post("/api/v1/users")
def api_add_user(request: Request, caller: Caller = Depends(admin)) -> Response:
    """`{"name", "roles", "password"}` -> `users add --json` (201)."""
    body = caller.body if isinstance(caller.body, dict) else {}
    roles = body.get("roles") if isinstance(body.get("roles"), list) else []
    return JSONResponse(_add(request, body, [str(role) for role in roles]).to_json(), status_code=201)


@router.post("/api/v1/users/{name}/disable")
def api_disable_user(request: Request, name: str, caller: Caller = Depends(admin)) -> dict[str, Any]:
    """`users disable NAME --json`."""
    return disable_user(desk(request).database, name).to_json()
