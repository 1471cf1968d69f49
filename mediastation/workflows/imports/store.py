"""Store: every instance still to send goes to the archive, coerced (pacs/store.py, dicom/coerce.py),
while `verify`'s look-ups of the series already sent run beside it.

Outcomes are recorded in batches as they come; an instance the archive took stays `pending` until
the verify stage finds it there.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from mediastation.pacs.store import StoreItem, StoreOutcome, StoreSettings, store_instances
from mediastation.store.imports import FileUpdate
from mediastation.workflows.imports.receipt import preload_writer
from mediastation.workflows.imports.types import RECORD_EVERY, REPORT_REASON, ImportRun, Stored
from mediastation.workflows.imports.verify import start_verifier


def store(run: ImportRun) -> Stored:
    preload_writer()
    verifier = start_verifier(run)
    try:
        stored, refused = _send(run, verifier.outcome)
    finally:
        run.clock.lap("store")
        run.collected = verifier.finish()  # series were checked during the store; what is left, now
    run.stored = stored
    return Stored(instances=len(stored), bytes=sum(run.inventory.files[s].size for s in stored), refused=refused)


def _send(run: ImportRun, observe: Callable[[int, bool], None]) -> tuple[dict[int, StoreOutcome], int]:
    env, inventory = run.env, run.inventory
    items = []
    for seq in run.todo:
        item = inventory.files[seq]
        assert item.source is not None and item.header is not None and item.patient_key is not None
        items.append(StoreItem(seq, item.source, item.header, item.patient_key, as_is=item.reason == REPORT_REASON,
                               repairs=item.repairs, odd_tags=item.odd_tags, size=item.size))
    staging = run.folder / "staging"
    settings = StoreSettings(env.node, env.calling_ae, env.timeout, str(staging), env.settings.associations,
                             slowest_mb_per_s=env.settings.slowest_archive_mb_s)
    stored: dict[int, StoreOutcome] = {}
    refused = 0
    batch: list[FileUpdate] = []

    def on_outcome(outcome: StoreOutcome) -> None:
        nonlocal refused
        observe(outcome.index, outcome.result == "stored")
        if outcome.result == "stored":
            stored[outcome.index] = outcome
            batch.append(FileUpdate(outcome.index, "pending", "sent, not yet verified", outcome.status,
                                    outcome.transfer_syntax, outcome.converted_from))
        else:
            refused += 1
            reason = outcome.reason if not outcome.warning else f"{outcome.reason}: {outcome.warning}"
            batch.append(FileUpdate(outcome.index, outcome.result, reason, outcome.status,
                                    outcome.transfer_syntax, outcome.converted_from))
        if len(batch) >= RECORD_EVERY:
            run.repository.record(run.job_id, batch)
            batch.clear()
        if run.store_progress:
            run.store_progress(len(stored), len(items), inventory.files[outcome.index].path)

    try:
        store_instances(items, run.coercions, settings, on_outcome)
    finally:
        run.repository.record(run.job_id, batch)
        shutil.rmtree(staging, ignore_errors=True)
    return stored, refused
