"""Reports marked on the medium: a loose PDF the operator names with `--report PATH=STUDY_UID`
becomes an Encapsulated PDF instance of that study (PS3.3 A.45.1).

Every mark is checked before the job is opened (`plan_reports`). At the start of a pass the PDF is
encapsulated from a coerced instance of its study, so it carries the local identity, and it then
goes the way of the study's instances (precheck, store, verify, commit) in place of the PDF in the
inventory; its UIDs derive from the study and the PDF, so a later pass finds it in the archive
instead of storing it twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

from mediastation.dicom.coerce import Coercion, coerce
from mediastation.dicom.inventory import Inventory, InventoryFile, examine
from mediastation.dicom.sources import MediumFile, OsFile
from mediastation.domain.reconcile import Mapping
from mediastation.reports.encapsulate import encapsulate_pdf, report_uids
from mediastation.reports.sources import ReportInvalid, is_pdf
from mediastation.workflows.imports.types import REPORT_REASON, REPORT_TITLES, ImportRun, ReportPlan, refused


def plan_reports(options: tuple[str, ...], inventory: Inventory, mapping: Mapping, uid_root: str) -> list[ReportPlan]:
    """Check every `--report PATH=STUDY_UID` before anything is sent; every problem is named at once."""
    plans: list[ReportPlan] = []
    problems: list[str] = []
    seen: set[int] = set()
    for option in options:
        path, sep, study_uid = (part.strip() for part in option.partition("="))
        if not sep or not path or not study_uid:
            problems.append(f"--report {option!r}: expected PATH=STUDY_UID, PATH as `import scan` lists it")
            continue
        seq = inventory.index_of(path)
        if seq is None:
            problems.append(f"--report {path}: no such file on the medium; give the path as `import scan` lists it")
            continue
        if seq in seen:
            problems.append(f"--report {path}: given twice; a report file belongs to one study")
            continue
        data = _pdf_bytes(inventory.files[seq])
        if data is None:
            problems.append(f"--report {path}: not a PDF (no %PDF- header); only a PDF file can be imported as a report")
            continue
        template = _template_of(inventory, mapping, study_uid)
        if template is None:
            problems.append(f"--report {path}: {study_uid} is not a study of a mapped group on this medium; "
                            "check the Study Instance UID in `import scan` and map its group with --map")
            continue
        seen.add(seq)
        _series, instance = report_uids(study_uid, hashlib.sha256(data).hexdigest(), uid_root)
        plans.append(ReportPlan(seq, study_uid, template, inventory.files[template].patient_key or "", instance))
    if problems:
        raise refused(problems)
    return plans


def _pdf_bytes(item: InventoryFile) -> bytes | None:
    if item.kind != "non_dicom" or item.source is None:
        return None
    try:
        with item.source.open() as fp:
            data = fp.read()
    except OSError:
        return None
    return data if is_pdf(data) else None


def _template_of(inventory: Inventory, mapping: Mapping, study_uid: str) -> int | None:
    """An instance of the study in a mapped group; one with File Meta Information reads most surely."""
    candidates = [seq for seq, f in enumerate(inventory.files)
                  if f.sendable and f.header and f.header.study_instance_uid == study_uid
                  and mapping.for_key(f.patient_key or "") is not None]
    candidates.sort(key=lambda seq: not inventory.files[seq].header.has_meta)  # type: ignore[union-attr]
    return candidates[0] if candidates else None


def report_folder(run: ImportRun) -> Path:
    return run.folder / "reports"


def encapsulate_marked(run: ImportRun) -> None:
    """The pass's inventory with each marked PDF still to send in the place of its encapsulated
    instance, made from a coerced instance of the study and stored as it is (`discard` removes the
    files once the pass is over)."""
    plans = [plan for plan in run.reports if plan.seq in run.todo]
    if not plans:
        return
    inventory = run.inventory
    files = list(inventory.files)
    folder = report_folder(run)
    folder.mkdir(parents=True, exist_ok=True)
    title = REPORT_TITLES.get(run.request.language, REPORT_TITLES["en"])
    for plan in plans:
        pdf = inventory.files[plan.seq]
        data = _pdf_bytes(pdf)
        if data is None:
            raise ReportInvalid(f"{pdf.path} can no longer be read as a PDF from the medium", details={"file": pdf.path})
        staged = folder / f"{plan.seq}.pdf"
        staged.write_bytes(data)
        template = _coerced_template(inventory.files[plan.template], run.coercions[plan.patient_key])
        out = encapsulate_pdf(staged, template, folder / f"{plan.sop_instance_uid}.dcm", uid_root=run.env.uid_root,
                              title=title)
        made = examine(MediumFile(str(out), out.stat().st_size, OsFile(str(out))))
        if made.header is None or made.header.sop_instance_uid != plan.sop_instance_uid:
            raise ReportInvalid(f"{pdf.path}: the encapsulated report could not be read back", details={"file": pdf.path})
        files[plan.seq] = dataclasses.replace(made, path=pdf.path, reason=REPORT_REASON, patient_key=plan.patient_key)
    run.inventory = dataclasses.replace(inventory, files=tuple(files))


def discard(run: ImportRun) -> None:
    shutil.rmtree(report_folder(run), ignore_errors=True)


def _coerced_template(item: InventoryFile, coercion: Coercion) -> Dataset:
    assert item.source is not None
    try:
        with item.source.open() as fp:
            ds = dcmread(fp, stop_before_pixels=True, force=True)
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ReportInvalid(f"{item.path}: the study's instance could not be read for the report: {exc}",
                            details={"file": item.path}) from None
    coerce(ds, coercion)
    return ds


def reason_for(item: InventoryFile, text: str) -> str:
    """An encapsulated report's outcome says so, whatever else it says."""
    if item.reason != REPORT_REASON:
        return text
    return f"{REPORT_REASON}: {text}" if text else REPORT_REASON
