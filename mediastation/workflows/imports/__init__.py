"""The import wing: an outside medium into the archive, every file accounted for.

`types` is the floor (the request, each stage's typed outcome, the context of a pass); one module per
stage (`inventory`, `reconcile`, `reports`, `precheck`, `store`, `verify`, `commit`, `record` with
`billing` and `receipt`); `pipeline` puts them in order and runs them as a job.
"""

from mediastation.workflows.imports.inventory import scan_medium
from mediastation.workflows.imports.pipeline import run_import
from mediastation.workflows.imports.types import ImportEnvironment, ImportOutcome, ImportRefused, ImportRequest

__all__ = ["ImportEnvironment", "ImportOutcome", "ImportRefused", "ImportRequest", "run_import", "scan_medium"]
