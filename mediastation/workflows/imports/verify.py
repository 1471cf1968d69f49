"""Verify (R-F1): only what the archive lists under the local patient after the store counts as
imported; and the storage commitment (R-F2) requested on the way, applied by `commit`.

The look-ups overlap the store (the store's speed target): a series is looked up at IMAGE level as
soon as every instance of it that was to be sent has an outcome, and what was stored of it joins the
next storage-commitment request, while the other series are still being sent: at the end of the
store only the last series remain to be checked. `OverlappedVerifier` only collects the archive's
answers; the `verify` stage compares and records them, so what counts as imported is decided
exactly as after a store without overlap.

Each batch of look-ups gets its own association (an archive closes idle ones, Orthanc after 30 s);
commitment requests go one after another (each listens on the station's port for its report).

An archive may answer a C-STORE before a C-FIND on another association lists what it stored:
Orthanc 1.10 did so in 2 of 60 imports of three files into a fresh archive (the study not found
30 ms after its last store was answered), more often on a busy machine, and the import then failed
files that were in the archive. So no look-up is trusted to be late enough by the clock: a stored
instance the look-ups did not list is looked up again at the end, once the archive has answered the
commitment request (its own word that its work on those instances is done), and again while each
look-up still finds more than the one before.
"""


from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mediastation.errors import PacsError
from mediastation.pacs.commitment import CommitmentResult, request_commitment
from mediastation.pacs.lookup import ArchivedInstance, ArchiveQuery
from mediastation.store.imports import FileUpdate
from mediastation.workflows.imports.precheck import compare_archived
from mediastation.workflows.imports.reports import reason_for
from mediastation.workflows.imports.types import Collected, ImportRun, Verified

# instances per storage-commitment request made during the store: Orthanc stores more slowly while it
# commits, and fewer, larger requests slowed it least (measured: every series at once, store +30 %)
COMMIT_EVERY = 500
SeriesKey = tuple[str, str]  # (Study Instance UID, Series Instance UID)


class OverlappedVerifier:
    """`outcome(seq, stored)` for every instance the store reports; `finish()` when it is done."""

    def __init__(self, env: Any, series_of: dict[int, SeriesKey], references: dict[int, tuple[str, str]]) -> None:
        self.env = env
        self.series_of = series_of
        self.references = references  # seq -> (SOP Class UID, SOP Instance UID)
        self.waiting: dict[SeriesKey, int] = {}
        for key in series_of.values():
            self.waiting[key] = self.waiting.get(key, 0) + 1
        self.stored_of: dict[SeriesKey, list[int]] = {}
        self.stored: list[int] = []  # every instance the store reported stored
        self.ready: queue.Queue[tuple[SeriesKey, list[int]] | None] = queue.Queue()
        self.collected = Collected()
        self.patient_ids: dict[str, str] = {}
        self.to_commit: list[int] = []
        self.commitments: list[CommitmentResult | dict[str, Any]] = []
        self.thread = threading.Thread(target=self._run, name="import-verify", daemon=True)
        self.thread.start()

    def outcome(self, seq: int, stored: bool) -> None:
        """Called in the store's thread once per instance it was given."""
        key = self.series_of.get(seq)
        if key is None:
            return
        if stored:
            self.stored_of.setdefault(key, []).append(seq)
            self.stored.append(seq)
        self.waiting[key] -= 1
        if self.waiting[key] == 0:
            self.ready.put((key, self.stored_of.pop(key, [])))

    def finish(self) -> Collected:
        """Look up whatever is left (series the store did not finish count as they are) and commit."""
        for key, count in list(self.waiting.items()):
            if count > 0:
                self.waiting[key] = 0
                self.ready.put((key, self.stored_of.pop(key, [])))
        self.ready.put(None)
        self.thread.join()
        self._guarded(lambda: self._commit(final=True))
        self.collected.commitment = merge_commitments(self.commitments, self.env)
        self._guarded(self._look_again)
        return self.collected

    def _look_again(self) -> None:
        """The stored instances the look-ups did not list, looked up again now that the archive has
        answered for them, and again while a look-up finds more than the last."""
        while self.collected.error is None:
            missing = [seq for seq in self.stored if self.references[seq][1] not in self.collected.archived]
            if not missing:
                return
            series: dict[SeriesKey, list[int]] = {}
            for seq in missing:
                series.setdefault(self.series_of[seq], []).append(seq)
            before = len(self.collected.archived)
            self._look_up(list(series.items()))
            if len(self.collected.archived) == before:
                return  # the archive's answer no longer changes: what it does not list is not there

    # -- the worker thread ---------------------------------------------------------------------
    def _run(self) -> None:
        self._guarded(self._serve)

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run `work`; a failure of ours becomes the collected error: nothing counts as verified."""
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - a dead worker must not pass for a verified import
            self.collected.error = PacsError(f"the verification stopped unexpectedly ({exc!r}); "
                                             "run the same import again to verify what was sent")

    def _serve(self) -> None:
        while True:
            batch = [self.ready.get()]
            while not self.ready.empty():
                batch.append(self.ready.get())
            done = None in batch
            series = [item for item in batch if item is not None and item[1]]
            if series and self.collected.error is None:
                self._look_up(series)
                self.to_commit += [seq for _key, seqs in series for seq in seqs]
                self._commit(final=False)
            if done:
                return

    def _look_up(self, series: list[tuple[SeriesKey, list[int]]]) -> None:
        env = self.env
        try:
            with ArchiveQuery(env.node, env.calling_ae, env.timeout) as query:
                for (study_uid, series_uid), _seqs in series:
                    patient_id = self.patient_ids.get(study_uid)
                    if patient_id is None:  # a study not listed yet is asked for again next time
                        patient_id = query.study_patient_id(study_uid)
                        if patient_id is not None:
                            self.patient_ids[study_uid] = patient_id
                    if patient_id is not None:
                        self.collected.archived.update(query.series_instances(study_uid, series_uid, patient_id))
        except PacsError as exc:  # the archive went away: what was sent stays to be found by the next run
            self.collected.error = exc

    def _commit(self, *, final: bool) -> None:
        if not self.env.settings.storage_commitment or self.collected.error is not None:
            self.to_commit = []
            return
        while self.to_commit and (final or len(self.to_commit) >= COMMIT_EVERY):
            batch, self.to_commit = self.to_commit[:COMMIT_EVERY], self.to_commit[COMMIT_EVERY:]
            refs = [self.references[seq] for seq in batch]
            self.commitments.append(request_commitment(
                self.env.node, self.env.calling_ae, refs, listen_port=self.env.listen_port,
                timeout=self.env.settings.commitment_timeout, network_timeout=self.env.timeout))


def merge_commitments(results: Iterable[CommitmentResult | dict[str, Any]], env: Any) -> CommitmentResult | dict[str, Any]:
    """One outcome for the requests made: the worst state, every committed and failed instance."""
    results = list(results)
    if not env.settings.storage_commitment:
        return {"state": "off", "note": "storage commitment is switched off ([imports] storage_commitment)"}
    answers = [r for r in results if isinstance(r, CommitmentResult)]
    if not answers:
        return {"state": "nothing_to_commit"}
    order = ("committed", "partial", "incomplete", "no_report", "unsupported", "unavailable")
    worst = max((a.state for a in answers), key=lambda state: order.index(state) if state in order else len(order))
    merged = CommitmentResult(worst, note="; ".join(sorted({a.note for a in answers if a.note})))
    for answer in answers:
        merged.committed |= answer.committed
        merged.failed.update(answer.failed)
    return merged


# -- the stage ------------------------------------------------------------------------------------
def start_verifier(run: ImportRun) -> OverlappedVerifier:
    """The look-ups of the instances the store is about to send, started before it sends."""
    headers = {seq: run.inventory.files[seq].header for seq in run.todo}
    return OverlappedVerifier(run.env, {seq: (h.study_instance_uid, h.series_instance_uid)
                                        for seq, h in headers.items() if h},
                              {seq: (h.sop_class_uid, h.sop_instance_uid) for seq, h in headers.items() if h})


def verify(run: ImportRun) -> Verified:
    """Compare what the archive listed with what was stored, and record it."""
    collected = run.collected
    assert collected is not None, "the store stage collects the archive's answers"
    stored = run.stored
    if collected.error is not None:  # the archive went away: what was sent stays to be found by the next pass
        message = collected.error.message
        run.repository.record(run.job_id, [FileUpdate(seq, "failed", f"not_verified: {message}", o.status,
                                                      o.transfer_syntax, o.converted_from)
                                           for seq, o in stored.items()])
        run.verified = []
        run.clock.lap("verify")
        return Verified(failed=len(stored), error=message[:300])
    updates, verified = [], []
    for seq, outcome in stored.items():
        item = run.inventory.files[seq]
        assert item.header and item.patient_key
        found = collected.archived.get(item.header.sop_instance_uid)
        if found is not None and compare_archived(item, found, run.patients[item.patient_key].hetu) == "same":
            reason = outcome.warning or ("converted from " + outcome.converted_from if outcome.converted_from else "")
            updates.append(FileUpdate(seq, "imported", reason_for(item, reason), outcome.status,
                                      outcome.transfer_syntax, outcome.converted_from))
            verified.append(seq)
        else:
            updates.append(FileUpdate(seq, "failed", "not_in_archive_after_store", outcome.status,
                                      outcome.transfer_syntax, outcome.converted_from))
    run.repository.record(run.job_id, updates)
    run.verified = verified
    run.clock.lap("verify")
    return Verified(verified=len(verified), failed=len(stored) - len(verified))
