"""The station's devices at the desk: drives and sticks with what is in them, the burners and
robots with their state and the export jobs each has queued or running; and `/api/v1/devices`.
Everything comes from `workflows.devices` (the `devices` command's code)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.i18n import label
from mediastation.desk.render import MenuItem, render
from mediastation.workflows.devices import overview

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/devices", "dv_menu", ("technician",)),)
technician = require("technician")


def _overview(request: Request) -> Any:
    context = desk(request)
    return overview(context.database, context.settings.burners, context.path)


@router.get("/devices")
def devices_page(request: Request, caller: Caller = Depends(technician)) -> Response:
    found = _overview(request)
    return render(request, caller, "devices.html", title=label(caller.language, "dv_title"), overview=found,
                  document=found.to_json())


@router.get("/api/v1/devices")
def api_devices(request: Request, caller: Caller = Depends(technician)) -> dict[str, Any]:
    """`devices --json` with each burner's state and live jobs, and the other live jobs."""
    return _overview(request).to_json()
