"""C-STORE of imported instances to the archive: contexts from the inventory, parallel associations.

The requirements of docs/import-requirements.md:
- R-E1: one presentation context per (SOP class, transfer syntax) found on the medium plus an
  uncompressed fallback per SOP class; at most 128 contexts per association, split by SOP class.
- R-E2/R-E3: per instance, the syntax the archive accepted: as is, or decompressed (dicom.coerce).
- R-E4: a SOP class the archive refuses is `rejected` for that instance only; the job goes on.
- R-E6: associations are reused; 2 in parallel, each in a thread. Worker processes were used while
  pynetdicom's per-PDU Python was the cost; with requests written to the socket
  directly (pacs/pdata.py) threads were faster (17.6-19.2 s vs 18.5-22.4 s for 2,000 instances,
  three alternating runs) and spare a second interpreter's start-up and memory.
- R-E7: data sets stream from the medium in 1 MB blocks: memory stays flat whatever the size.
- R-E8: every C-STORE status is interpreted; out-of-resources is retried after a pause; a store
  the archive drops (abort, silence) is tried once more alone at the end, then the file is
  `pacs_rejected_file` if the archive still answers C-ECHO (`_Sender`).
TCP_NODELAY on every socket (pacs.network): without it each C-STORE waits ~40 ms for an ACK.
"""

from __future__ import annotations

import itertools
import queue as queue_module
import re
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mediastation.dicom.coerce import (
    Coercion,
    NotSendable,
    Unspliceable,
    Written,
    choose_syntax,
    proposed_syntax,
    spliced_head,
    write_coerced,
)
from mediastation.dicom.rawheader import RawHeaderError
from mediastation.dicom.inventory import InstanceHeader
from mediastation.dicom.sources import MediumFile
from mediastation.pacs.network import DicomNode, status_code
from mediastation.pacs.pdata import DirectAssociation, file_blocks

MAX_CONTEXTS = 128
UNCOMPRESSED = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
RETRY_DELAYS = (0.5, 1.0, 2.0)
IN_PROCESS_BELOW = 48  # fewer instances than this: one association in this process (no start-up cost)
MAX_PDU = 0  # accept whatever the archive offers; we send in its PDU size


# -- status (R-E8) -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreVerdict:
    kind: str  # success | warning | retry | failure | lost
    meaning: str


def interpret_status(status: int | None) -> StoreVerdict:
    """What a C-STORE response status means for the instance (PS3.4 Annex B, PS3.7 Annex C)."""
    if status is None:
        return StoreVerdict("lost", "no response: association aborted or timed out")
    if status == 0x0000:
        return StoreVerdict("success", "stored")
    if status == 0xB000:
        return StoreVerdict("warning", "stored; the archive coerced data elements")
    if status == 0xB006:
        return StoreVerdict("warning", "stored; the archive discarded elements")
    if status == 0xB007:
        return StoreVerdict("warning", "stored; data set does not match the SOP class")
    if 0xB000 <= status <= 0xBFFF:
        return StoreVerdict("warning", f"stored with warning {status:04X}")
    if 0xA700 <= status <= 0xA7FF:
        return StoreVerdict("retry", "refused: out of resources")
    if 0xA900 <= status <= 0xA9FF:
        return StoreVerdict("failure", "refused: data set does not match the SOP class")
    if 0xC000 <= status <= 0xCFFF:
        return StoreVerdict("failure", "refused: the archive cannot understand the data set")
    known = {0x0117: "invalid SOP instance", 0x0122: "SOP class not supported", 0x0124: "not authorised",
             0x0210: "duplicate invocation", 0x0211: "unrecognised operation", 0x0212: "mistyped argument",
             0x0213: "resource limitation"}
    if status == 0x0213:
        return StoreVerdict("retry", "refused: resource limitation")
    return StoreVerdict("failure", f"refused: {known.get(status, 'status')} {status:04X}")


# -- presentation contexts (R-E1) -------------------------------------------------------------------------
@dataclass(frozen=True)
class ContextSpec:
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]


def plan_contexts(pairs: Iterable[tuple[str, str]]) -> list[list[ContextSpec]]:
    """Contexts for the (SOP class, syntax) pairs, split into associations of at most 128.

    Each SOP class gets its uncompressed fallback (Explicit, Implicit VR LE) and one context per
    syntax present, uncompressed ones too: the acceptor picks one syntax of the fallback, and a file
    in the other would otherwise be re-encoded whole (500 Implicit VR files cost 14 s of CPU that
    way); a SOP class's contexts are never split over two associations.
    """
    by_class: dict[str, set[str]] = {}
    for sop_class, syntax in pairs:
        by_class.setdefault(sop_class, set())
        proposed = proposed_syntax(syntax)
        if proposed is not None:
            by_class[sop_class].add(proposed)
    bins: list[list[ContextSpec]] = []
    for sop_class in sorted(by_class):
        specs = [ContextSpec(sop_class, UNCOMPRESSED)] + [ContextSpec(sop_class, (ts,)) for ts in sorted(by_class[sop_class])]
        if len(specs) > MAX_CONTEXTS:
            specs = specs[:MAX_CONTEXTS]  # more compressed syntaxes than one association holds: the rest decompress
        if not bins or len(bins[-1]) + len(specs) > MAX_CONTEXTS:
            bins.append([])
        bins[-1].extend(specs)
    return bins


# -- the work -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreItem:
    index: int  # position of the file in the inventory
    file: MediumFile
    header: InstanceHeader
    group: str  # the patient group: which Coercion applies
    as_is: bool = False  # made by the station in its final form (an encapsulated report): sent uncoerced
    repairs: tuple[str, ...] = ()   # dicom/validate.py: what is repaired on the way (written by pydicom)
    odd_tags: tuple[int, ...] = ()  # elements of odd length whose previous values are kept
    size: int = 0                   # bytes, for the time the archive may take to answer


@dataclass(frozen=True)
class StoreOutcome:
    index: int
    result: str  # stored | rejected | failed
    reason: str = ""
    status: int | None = None
    transfer_syntax: str | None = None
    converted_from: str | None = None
    lossy: bool = False
    warning: str = ""


@dataclass(frozen=True)
class StoreSettings:
    node: DicomNode
    calling_ae: str
    timeout: float
    staging: str
    workers: int = 2
    slowest_mb_per_s: float = 20.0  # [imports]: the response wait grows by the instance's size at this rate

    def response_timeout(self, size: int) -> float:
        """How long the archive may take to answer a C-STORE of `size` bytes: it stores the whole
        instance before it answers, so the wait follows the size, not only the clock."""
        return self.timeout + size / 1e6 / self.slowest_mb_per_s


LOST = "lost"  # a store the archive did not answer (abort, timeout, closed): tried again alone


def store_instances(items: list[StoreItem], coercions: dict[str, Coercion], settings: StoreSettings,
                    on_outcome: Callable[[StoreOutcome], None]) -> None:
    """Send every item; `on_outcome` is called in the calling thread once per item, in completion order."""
    if not items:
        return
    Path(settings.staging).mkdir(parents=True, exist_ok=True)
    workers = max(1, min(settings.workers, len(items)))
    if workers == 1 or len(items) < IN_PROCESS_BELOW:
        _store_in_process(items, coercions, settings, 0, on_outcome)
        return
    results: queue_module.Queue[StoreOutcome] = queue_module.Queue()
    threads = [threading.Thread(target=_share, args=(items[n::workers], coercions, settings, n, results),
                                name=f"store-{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    pending = {item.index for item in items}
    try:
        while pending:
            try:
                outcome = results.get(timeout=0.5)
            except queue_module.Empty:
                if not any(thread.is_alive() for thread in threads):
                    _drain(results, pending, on_outcome)
                    break
                continue
            if outcome.index in pending:
                pending.discard(outcome.index)
                on_outcome(outcome)
    finally:
        for thread in threads:
            thread.join()  # a share ends with its own last response: no clock of ours to outlast
    for index in sorted(pending):
        on_outcome(StoreOutcome(index, "failed", "worker_stopped", None))


def _drain(results: queue_module.Queue[StoreOutcome], pending: set[int],
           on_outcome: Callable[[StoreOutcome], None]) -> None:
    while True:
        try:
            outcome = results.get_nowait()  # every thread has ended: what they put is all there
        except queue_module.Empty:
            return
        if outcome.index in pending:
            pending.discard(outcome.index)
            on_outcome(outcome)


def _share(items: list[StoreItem], coercions: dict[str, Coercion], settings: StoreSettings, number: int,
           results: queue_module.Queue[StoreOutcome]) -> None:
    """One association's share, in a thread of this process (dies with it: nothing sends on alone)."""
    try:
        _store_in_process(items, coercions, settings, number, results.put)
    except Exception as exc:  # noqa: BLE001 - the items left are reported failed by the caller
        import logging

        logging.getLogger(__name__).error("store thread %d stopped: %s", number, exc)


def _store_in_process(items: list[StoreItem], coercions: dict[str, Coercion], settings: StoreSettings,
                      number: int, emit: Callable[[StoreOutcome], None]) -> None:
    from pynetdicom import _config

    _config.STORE_SEND_CHUNKED_DATASET = True
    staging = Path(tempfile.mkdtemp(prefix=f"w{number}-", dir=settings.staging))
    try:
        for specs in plan_contexts((i.header.sop_class_uid, i.header.transfer_syntax) for i in items):
            classes = {spec.abstract_syntax for spec in specs}
            batch = [i for i in items if i.header.sop_class_uid in classes]
            _Sender(settings, specs, staging / "instance.dcm").send_all(batch, coercions, emit)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class _Spliced:
    written: Written
    head: bytes  # the coerced data set up to the pixel data
    rest: int  # where the unchanged rest of the data set starts in the original file


@dataclass(frozen=True)
class _Response:
    status: int | None
    comment: str = ""  # the archive's Error Comment
    problem: str = ""  # why no status came: the archive's abort, a timeout, a closed connection


@dataclass
class _Sender:
    """One association's worth of sending, re-associating when the archive drops it.

    A store the archive does not answer (it aborts the association, closes it or stays silent) is
    not taken for an outage: the file may be what the archive cannot take. The others go on, on a
    new association; at the end the file is tried once more alone, and if the archive drops that
    too while it still answers C-ECHO, the file is `pacs_rejected_file` with the archive's words.
    Only an archive that takes no association or no C-ECHO is `pacs_unreachable`."""

    settings: StoreSettings
    specs: list[ContextSpec]
    staged: Path
    assoc: object | None = None
    accepted: dict[str, frozenset[str]] = field(default_factory=dict)
    unreachable: str = ""
    direct: DirectAssociation | None = None

    def send_all(self, items: list[StoreItem], coercions: dict[str, Coercion],
                 emit: Callable[[StoreOutcome], None]) -> None:
        suspects: list[StoreItem] = []
        try:
            for item in items:
                outcome = self.send(item, coercions[item.group])
                if outcome.reason == LOST:
                    suspects.append(item)  # its association is gone; the next file gets a new one
                else:
                    emit(outcome)
            for item in suspects:
                emit(self.send_alone(item, coercions[item.group]))
        finally:
            self.release()

    def send_alone(self, item: StoreItem, coercion: Coercion) -> StoreOutcome:
        """The file the archive dropped, once more on an association of its own."""
        self.release()
        outcome = self.send(item, coercion)
        if outcome.reason != LOST:
            return outcome
        self.release()
        words = outcome.warning or "the archive gave no reason"
        if not self._echoes():
            return replace(outcome, result="failed", reason="pacs_unreachable",
                           warning=f"{words}; the archive does not answer C-ECHO either")
        return replace(outcome, result="rejected", reason="pacs_rejected_file",
                       warning=f"{words} (twice, the second time alone; the archive answers C-ECHO)")

    def send(self, item: StoreItem, coercion: Coercion) -> StoreOutcome:
        if not self.connect():
            return StoreOutcome(item.index, "failed", "pacs_unreachable", None, warning=self.unreachable)
        accepted = self.accepted.get(item.header.sop_class_uid, frozenset())
        if not accepted:
            return StoreOutcome(item.index, "rejected", "sop_class_not_accepted")
        try:
            spliced = self._spliced(item, coercion, accepted)
            written = spliced.written if spliced is not None else self._staged_copy(item, coercion, accepted)
        except NotSendable as exc:
            return StoreOutcome(item.index, "rejected", exc.reason, warning=exc.detail)
        except (OSError, EOFError) as exc:
            return StoreOutcome(item.index, "rejected", "unreadable_on_send", warning=_first_line(exc))
        except (ValueError, KeyError, TypeError, AttributeError, struct.error, OverflowError) as exc:
            return StoreOutcome(item.index, "rejected", "cannot_encode", warning=_encoding_problem(exc))
        response = self._send_with_retries(item, written, spliced, coercion, accepted)
        verdict = interpret_status(response.status)
        common = dict(status=response.status, transfer_syntax=written.transfer_syntax,
                      converted_from=written.converted_from, lossy=written.lossy)
        if verdict.kind in ("success", "warning"):
            warning = "" if verdict.kind == "success" else _words(verdict.meaning, response.comment)
            return StoreOutcome(item.index, "stored", warning=warning, **common)  # type: ignore[arg-type]
        if verdict.kind == "lost":
            return StoreOutcome(item.index, "failed", LOST, warning=response.problem or verdict.meaning,
                                **common)  # type: ignore[arg-type]
        return StoreOutcome(item.index, "failed", "pacs_refused", warning=_words(verdict.meaning, response.comment),
                            **common)  # type: ignore[arg-type]

    def _as_is(self, item: StoreItem, accepted: frozenset[str]) -> Written:
        """A file the station wrote itself: already coerced and in a plain syntax, copied unchanged."""
        if item.header.transfer_syntax not in accepted:
            raise NotSendable("transfer_syntax_not_accepted", f"the archive does not accept "
                                                              f"{item.header.transfer_syntax} for this SOP class")
        with item.file.open() as source, open(self.staged, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        return Written(item.header.transfer_syntax)

    def _staged_copy(self, item: StoreItem, coercion: Coercion, accepted: frozenset[str]) -> Written:
        """The coerced instance written to the staging file (pydicom's way, or when re-encoded)."""
        if item.as_is:
            return self._as_is(item, accepted)
        return write_coerced(item.file, item.header, coercion, self.staged, accepted=accepted,
                             source_ae=self.settings.calling_ae, repairs=item.repairs, odd_tags=item.odd_tags)

    def _spliced(self, item: StoreItem, coercion: Coercion, accepted: frozenset[str]) -> _Spliced | None:
        """The coerced data set as its new head plus the rest of the original file, sent without a
        staged copy (a gigabyte less written and read per gigabyte imported); None when the direct
        path or the quick coercion does not apply, or the file is repaired on the way."""
        if self.direct is None or item.as_is or item.repairs:
            return None
        target, convert = choose_syntax(item.header.transfer_syntax, accepted)
        if convert or (item.header.sop_class_uid, target) not in self.direct.contexts:
            return None
        try:
            with item.file.open() as fp:
                head, rest = spliced_head(fp, coercion, target)
        except (Unspliceable, RawHeaderError):
            return None
        return _Spliced(Written(target), head, rest)

    def _send_with_retries(self, item: StoreItem, written: Written, spliced: _Spliced | None, coercion: Coercion,
                           accepted: frozenset[str]) -> _Response:
        """The archive's answer; an out-of-resources status is tried again after a pause, a lost
        store is not (the caller tries it again alone)."""
        response = _Response(None)
        for attempt in range(len(RETRY_DELAYS) + 1):
            if not self.connect():
                return _Response(None, problem=self.unreachable)
            try:
                if spliced is not None and self.direct is None:  # re-associated without the direct path
                    self._staged_copy(item, coercion, accepted)
                    spliced = None
                response = self._send_once(item, written.transfer_syntax, spliced)
            except (RuntimeError, ValueError, OSError) as exc:
                response = _Response(None, problem=_first_line(exc))
            verdict = interpret_status(response.status)
            if verdict.kind == "lost":
                self.release()
            if verdict.kind != "retry" or attempt == len(RETRY_DELAYS):
                return response
            time.sleep(RETRY_DELAYS[attempt])
        return response

    def _send_once(self, item: StoreItem, transfer_syntax: str, spliced: _Spliced | None) -> _Response:
        """One C-STORE of the spliced data set or the staged file: straight to the socket when
        possible (pdata.py)."""
        timeout = self.settings.response_timeout(item.size)
        if spliced is not None and self.direct is not None:
            with item.file.open() as fp:
                blocks = itertools.chain((spliced.head,), file_blocks(fp, spliced.rest))
                answer = self.direct.store_data_set(blocks, item.header.sop_class_uid, item.header.sop_instance_uid,
                                                    transfer_syntax, timeout=timeout)
            return _Response(answer.status, answer.comment, answer.problem)
        if self.direct is not None:
            try:
                answer = self.direct.store(self.staged, item.header.sop_class_uid, item.header.sop_instance_uid,
                                           transfer_syntax, timeout=timeout)
                return _Response(answer.status, answer.comment, answer.problem)
            except KeyError:  # no context for exactly this syntax: pynetdicom finds one or says why not,
                self.direct.__exit__(None, None, None)  # reading its own responses again from here on
                self.direct = None
        assoc: Any = self.assoc
        assoc.dimse_timeout = timeout
        status = assoc.send_c_store(self.staged)
        code = status_code(status)
        if code is not None:
            return _Response(code, str(status.get("ErrorComment", "") or ""))
        return _Response(None, problem="the archive aborted the association" if assoc.is_aborted
                         else f"the archive did not answer in {timeout:.0f} s")

    def connect(self) -> bool:
        """An association (a new one when the last was lost); an archive that takes none after the
        retry pauses is unreachable for the rest of this share."""
        if self.assoc is not None and self.assoc.is_established:  # type: ignore[attr-defined]
            return True
        if self.unreachable:
            return False
        for pause in (*RETRY_DELAYS, None):
            if self._associate():
                return True
            if pause is not None:
                time.sleep(pause)
        return False

    def _associate(self) -> bool:
        from mediastation.pacs.network import application_entity

        ae = application_entity(self.settings.calling_ae, self.settings.timeout)
        for spec in self.specs:
            ae.add_requested_context(spec.abstract_syntax, list(spec.transfer_syntaxes))
        node = self.settings.node
        assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, max_pdu=MAX_PDU)
        if not assoc.is_established:
            self.unreachable = (f"{node.ae_title}@{node.host}:{node.port} "
                                f"{'rejected the association' if assoc.is_rejected else 'did not answer'}")
            return False
        self.unreachable = ""
        accepted: dict[str, set[str]] = {}
        for cx in assoc.accepted_contexts:
            accepted.setdefault(str(cx.abstract_syntax), set()).update(str(ts) for ts in cx.transfer_syntax)
        self.accepted = {k: frozenset(v) for k, v in accepted.items()}
        self.assoc = assoc
        self.direct = DirectAssociation.take(assoc)
        return True

    def _echoes(self) -> bool:
        from mediastation.errors import PacsError
        from mediastation.pacs.echo import echo

        try:
            echo(self.settings.node, calling_ae=self.settings.calling_ae, timeout=self.settings.timeout)
        except PacsError:
            return False
        return True

    def release(self) -> None:
        direct, self.direct = self.direct, None
        if direct is not None:
            direct.__exit__(None, None, None)
        assoc, self.assoc = self.assoc, None
        if assoc is not None and assoc.is_established:  # type: ignore[attr-defined]
            try:
                assoc.release()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the archive may already be gone; nothing to release
                pass


def _words(meaning: str, comment: str) -> str:
    return f"{meaning} ({comment})" if comment else meaning


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _encoding_problem(exc: BaseException) -> str:
    """What pydicom could not encode, in words: the element (pydicom prefixes its message with
    "With tag (gggg,eeee) got exception:" and appends a traceback) and the first line of why."""
    text = str(exc)
    match = re.match(r"With tag (\([0-9A-Fa-f]{4}, ?[0-9A-Fa-f]{4}\)) got exception: (.*)", text)
    if match:
        tag, why = match.group(1), match.group(2).strip()
        return f"the value of {tag} cannot be written as its VR requires ({why[:200]}); the file was not sent"
    return f"the data set cannot be re-encoded ({_first_line(exc)}); the file was not sent"
