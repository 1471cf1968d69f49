"""Radiology reports (lausunnot) that travel with the images (issue 9).

`sources` finds a study's report (a file the operator gives, the study's own SR / Encapsulated
PDF / CDA instances, the folder the RIS fills), `render` makes every report a readable PDF, and
`encapsulate` turns a report that came as a file into a DICOM Encapsulated PDF instance of its
study, so a PACS that imports the medium gets the report too. No workflow or CLI is imported here.
"""

from mediastation.reports.encapsulate import encapsulate_pdf, report_uids
from mediastation.reports.render import encapsulated_document, render_report
from mediastation.reports.sources import (
    DEFAULT_ORDER,
    Report,
    ReportFolderUnavailable,
    ReportInvalid,
    find_reports,
    is_report_sop_class,
)

__all__ = [
    "DEFAULT_ORDER", "Report", "ReportFolderUnavailable", "ReportInvalid", "encapsulate_pdf",
    "encapsulated_document", "find_reports", "is_report_sop_class", "render_report", "report_uids",
]
