"""The export wing: an approved release request onto verified, recorded media.

`types` is the floor (parameters, each stage's typed outcome, the shared context); one module per
stage (`retrieve`, `compose`, `package`, `write`, `verify`, `record`) with `reports`, `documents`
and `burner` beside them; `pipeline` puts the stages in order and runs them as a job.
"""

from mediastation.workflows.export.pipeline import (
    ExportOptions,
    ExportResult,
    enqueue_export,
    run_export,
    run_export_job,
)
from mediastation.workflows.export.types import ExportEnvironment, ExportRefused

__all__ = ["ExportEnvironment", "ExportOptions", "ExportRefused", "ExportResult", "enqueue_export", "run_export",
           "run_export_job"]
