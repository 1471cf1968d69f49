"""The billing office at the desk: a period's invoice lines and totals, the downloads (CSV, JSON,
Finvoice), credit of a line with its reason; and `/api/v1/billing/lines`.

Lines, totals, files and credits all come from `workflows.billing`, the code of `billing export`
and `billing credit`: a download is the bytes `billing export --out` writes for the same period
(Finvoice: the same file per payer, several payers in one zip), and a credit is `credit_line` with
the signed-in person as the line's author. Nothing here prices or sums anything itself.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.i18n import label
from mediastation.desk.render import MenuItem, render
from mediastation.desk.shipments import day_of
from mediastation.domain.pricing import Seller, totals
from mediastation.errors import InputError, MediaStationError
from mediastation.store.billing import InvoiceLineRepository
from mediastation.workflows.billing import (FORMATS, credit_line, export_lines, export_summary, finvoice_parties,
                                            lines_document)
from mediastation.workflows.shipments import today

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/billing", "bi_menu", ("billing",)),)
billing = require("billing")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "finvoice": "application/xml"}


def period(start: Any, end: Any) -> tuple[date, date]:
    """The period asked for, or the previous calendar month (what the office bills at the start of a month)."""
    first_of_month = today().replace(day=1)
    last_month_end = first_of_month - timedelta(days=1)
    return day_of(start, last_month_end.replace(day=1)), day_of(end, last_month_end)


def _price_list(request: Request) -> Path:
    context = desk(request)
    return context.path(context.settings.pricing.price_list)


def _export(request: Request, start: date, end: date, fmt: str, out: Path | None = None) -> Any:
    if fmt not in FORMATS:
        raise InputError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    seller, prices = finvoice_parties(_price_list(request)) if fmt == "finvoice" else (Seller(), None)
    return export_lines(desk(request).database, start=start, end=end, fmt=fmt, out=out,  # type: ignore[arg-type]
                        seller=seller, price_list=prices)


def _page(request: Request, caller: Caller, start: date, end: date, *, error: str = "", failed: str = "",
          reason: str = "", status: int = 200) -> Response:
    result = _export(request, start, end, "json")
    summary = export_summary(result, fmt="json", start=start, end=end, price_list=_price_list(request))
    by_payer: dict[str, list[Any]] = {}
    for line in result.lines:
        by_payer.setdefault(line.payer, []).append(line)
    credited = InvoiceLineRepository(desk(request).database).credited(line.line_id for line in result.lines)
    return render(request, caller, "billing.html", status=status, title=label(caller.language, "bi_title"),
                  start=start.isoformat(), end=end.isoformat(), lines=result.lines, totals=result.totals,
                  payers={payer: totals(lines) for payer, lines in sorted(by_payer.items())}, credited=credited,
                  warnings=summary.get("warnings", []), error=error, failed=failed, reason=reason)


@router.get("/billing")
def billing_page(request: Request, start: str = Query("", alias="from"), end: str = Query("", alias="to"),
                 caller: Caller = Depends(billing)) -> Response:
    """`?from=&to=` (YYYY-MM-DD), by default the previous month."""
    first, last = period(start, end)
    return _page(request, caller, first, last)


@router.get("/billing/download")
def billing_download(request: Request, format: str, start: str = Query("", alias="from"),
                     end: str = Query("", alias="to"), caller: Caller = Depends(billing)) -> Response:
    """The period as `billing export --format F --out ...` writes it: CSV or JSON one file;
    Finvoice one file per payer (one payer: its XML; several: their files in one zip)."""
    first, last = period(start, end)
    stem = f"invoice_lines_{first:%Y%m%d}-{last:%Y%m%d}"
    if format != "finvoice":
        result = _export(request, first, last, format)
        return _attachment(result.text.encode("utf-8"), f"{stem}.{format}", MEDIA_TYPES.get(format, "text/plain"))
    with tempfile.TemporaryDirectory(prefix="desk-finvoice-") as folder:
        result = _export(request, first, last, "finvoice", Path(folder))
        files = [(path.name, path.read_bytes()) for path in result.files]
    if not files:
        raise InputError(f"no invoice lines from {first.isoformat()} to {last.isoformat()}: nothing to invoice")
    if len(files) == 1:
        return _attachment(files[0][1], files[0][0], MEDIA_TYPES["finvoice"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return _attachment(buffer.getvalue(), f"finvoice_{first:%Y%m%d}-{last:%Y%m%d}.zip", "application/zip")


def _attachment(data: bytes, name: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/billing/lines/{line_id}/credit")
def billing_credit(request: Request, line_id: str, caller: Caller = Depends(billing)) -> Response:
    """`billing credit LINE --reason R` as the signed-in person; back to the period shown."""
    form = caller.form or {}
    first, last = period(form.get("from"), form.get("to"))
    reason = str(form.get("reason") or "")
    try:
        credit_line(desk(request).database, line_id, reason, actor=caller.name)
    except MediaStationError as refused:
        if refused.code == "not_found":
            raise
        return _page(request, caller, first, last, error=refused.message, failed=line_id, reason=reason,
                     status=422 if isinstance(refused, InputError) else 409)
    return RedirectResponse(f"/billing?from={first.isoformat()}&to={last.isoformat()}#{line_id}", status_code=303)


# -- JSON API -------------------------------------------------------------------------------------

@router.get("/api/v1/billing/lines")
def api_lines(request: Request, start: str = Query("", alias="from"), end: str = Query("", alias="to"),
              caller: Caller = Depends(billing)) -> dict[str, Any]:
    """`?from=&to=` -> `billing export --from --to --format json --json`: the lines and the summary."""
    first, last = period(start, end)
    result = _export(request, first, last, "json")
    return {**lines_document(result.lines),
            **export_summary(result, fmt="json", start=first, end=last, price_list=_price_list(request))}


@router.post("/api/v1/billing/lines/{line_id}/credit")
def api_credit(request: Request, line_id: str, caller: Caller = Depends(billing)) -> dict[str, Any]:
    """`{"reason", "date"}` -> the credit line (`billing credit LINE --reason R --json`)."""
    body = caller.body if isinstance(caller.body, dict) else {}
    on = day_of(body.get("date")) if body.get("date") else None
    return credit_line(desk(request).database, line_id, str(body.get("reason") or ""), actor=caller.name,
                       on=on).to_json()
