"""The disclosure log at the desk: a patient's disclosures by HETU (act 703/2023 § 11), the report
for the patient as a PDF, the chain's verification state; and `/api/v1/log/`.

The entries are `workflows.disclosures.patient_entries` (each marked when it fails verification),
the PDF is `patient_report`, the very code of `log patient HETU --pdf`, and the state is
`verify_log` (`log verify`) with the signed-in person named in the alert of a failure.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from mediastation.desk.auth import Caller, desk, require
from mediastation.desk.i18n import LANGUAGES, label
from mediastation.desk.render import MenuItem, render
from mediastation.errors import InputError
from mediastation.workflows.disclosures import helsinki_time, patient_entries, patient_report, verify_log

router = APIRouter()
MENU: tuple[MenuItem, ...] = (("/log", "lg_menu", ("technician",)),)
technician = require("technician")


def _verification(request: Request, caller: Caller) -> Any:
    context = desk(request)
    return verify_log(context.database, key_file=context.path(context.settings.log.key_file), actor=caller.name)


def _letter_language(request: Request, value: str) -> str:
    return value if value in LANGUAGES else desk(request).settings.station.language


@router.get("/log")
def log_page(request: Request, hetu: str = "", caller: Caller = Depends(technician)) -> Response:
    """`?hetu=`: the patient's disclosures, oldest first; without it only the search and the log's state."""
    hetu = hetu.strip().upper()
    entries, error, status = None, "", 200
    if hetu:
        try:
            entries = patient_entries(desk(request).database, hetu)
        except InputError as invalid:
            error, status = invalid.message, 422
    return render(request, caller, "log.html", status=status, title=label(caller.language, "lg_title"), hetu=hetu,
                  entries=entries, error=error, check=_verification(request, caller),
                  when=lambda value: helsinki_time(value).strftime("%Y-%m-%d %H:%M"),
                  letter_language=_letter_language(request, ""))


@router.get("/log/patients/{hetu}/report.pdf")
def log_report(request: Request, hetu: str, language: str = "", caller: Caller = Depends(technician)) -> Response:
    """The patient's report as `log patient HETU --pdf [--language L]` writes it."""
    context = desk(request)
    hetu = hetu.strip().upper()
    entries = patient_entries(context.database, hetu)
    with tempfile.TemporaryDirectory(prefix="desk-log-") as folder:
        path = patient_report(Path(folder) / "report.pdf", entries, hetu=hetu, settings=context.settings,
                              home=context.home, language=_letter_language(request, language))
        data = path.read_bytes()
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="disclosures-{hetu}.pdf"'})


# -- JSON API -------------------------------------------------------------------------------------

@router.get("/api/v1/log/patients/{hetu}")
def api_patient(request: Request, hetu: str, caller: Caller = Depends(technician)) -> dict[str, Any]:
    """`log patient HETU --json`."""
    return {"hetu": hetu.strip(), "disclosures": patient_entries(desk(request).database, hetu)}


@router.get("/api/v1/log/verify")
def api_verify(request: Request, caller: Caller = Depends(technician)) -> dict[str, Any]:
    """`log verify --json` (its document whether the log is intact or not)."""
    return _verification(request, caller).to_json()
