"""The import receipt (R-G1): the result document as a PDF for the patient (documents/import_receipt.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from mediastation.errors import MediaStationError
from mediastation.workflows.imports.types import ImportRun


def preload_writer() -> None:
    """Import reportlab while the store waits on the archive, not after it."""
    threading.Thread(target=_load_writer, name="receipt-preload", daemon=True).start()


def _load_writer() -> None:
    import mediastation.documents.import_receipt  # noqa: F401


def write_receipt(run: ImportRun, document: dict[str, Any], warnings: list[str]) -> str | None:
    """The receipt's path; None (and a warning) when it could not be written: the import stands."""
    from mediastation.documents.import_receipt import write_import_receipt

    path = run.folder / f"receipt_{run.job_id}.pdf"
    try:
        write_import_receipt(path, document, language=run.request.language, station=run.env.station_name,
                             when=datetime.now(UTC).astimezone())
    except MediaStationError as exc:
        warnings.append(f"the receipt could not be written: {exc.message}")
        return None
    return str(path.resolve())
