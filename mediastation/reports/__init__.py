"""Radiology reports (lausunnot) that travel with the images.

`sources` finds a study's report (a file the operator gives, the study's own SR / Encapsulated
PDF / CDA instances, the folder the RIS fills), `render` makes every report a readable PDF, and
`encapsulate` turns a report that came as a file into a DICOM Encapsulated PDF instance of its
study, so a PACS that imports the medium gets the report too. No workflow or CLI is imported here.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module; loaded on first use, so that a workflow needing only `encapsulate` (an import)
# does not pay for reportlab, which `render` needs
_WHERE = {
    "encapsulate_pdf": "encapsulate", "report_uids": "encapsulate",
    "encapsulated_document": "render", "render_report": "render",
    "DEFAULT_ORDER": "sources", "Report": "sources", "ReportFolderUnavailable": "sources",
    "ReportInvalid": "sources", "find_reports": "sources", "is_report_sop_class": "sources",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
