"""Storage Commitment (Push Model): the archive takes responsibility for what was stored (R-F2).

N-ACTION on our association, then the N-EVENT-REPORT: on the same association if the archive
sends it there, else on an association the archive opens to our listening port (PS3.4 J.3.3.1.2;
Orthanc always does the latter, with the SCP role proposed by the requestor). An archive that does
not accept the SOP class is "unsupported" and the C-FIND check alone decides; a report that does not
come within the timeout is noted, never taken as success.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from mediastation.pacs.network import DicomNode, application_entity, status_code

STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
CHUNK = 100


@dataclass
class CommitmentResult:
    state: str  # committed | partial | incomplete (reports missing) | unsupported | no_report | unavailable
    committed: set[str] = field(default_factory=set)
    failed: dict[str, int] = field(default_factory=dict)  # SOP Instance UID -> Failure Reason
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {"state": self.state, "committed": len(self.committed), "failed": len(self.failed), "note": self.note}


class _Reports:
    """N-EVENT-REPORTs by Transaction UID, from whichever association they come on."""

    def __init__(self, transaction_uids: set[str]) -> None:
        self.expected = set(transaction_uids)
        self.received: dict[str, Dataset] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()

    def handler(self, event) -> tuple[int, None]:  # type: ignore[no-untyped-def]
        info = event.event_information
        uid = str(info.get("TransactionUID", "")) if info is not None else ""
        with self.lock:
            if uid in self.expected:
                self.received[uid] = info
                if set(self.received) == self.expected:
                    self.done.set()
        return 0x0000, None


def request_commitment(node: DicomNode, calling_ae: str, references: Iterable[tuple[str, str]], *,
                       listen_port: int, timeout: float, network_timeout: float = 30.0,
                       chunk: int = CHUNK) -> CommitmentResult:
    """Ask the archive to commit the (SOP class, SOP instance) pairs; wait for its reports.

    The request goes in transactions of `chunk` instances, all sent before any report is awaited:
    archives handle them in parallel, and some (Orthanc) take quadratic time in one big request.
    """
    refs = list(references)
    if not refs:
        return CommitmentResult("committed", note="nothing to commit")
    batches = {generate_uid(): refs[start:start + chunk] for start in range(0, len(refs), chunk)}
    reports = _Reports(set(batches))
    handlers = [(evt.EVT_N_EVENT_REPORT, reports.handler)]
    listener = AE(ae_title=calling_ae)
    listener.add_supported_context(STORAGE_COMMITMENT, scu_role=True, scp_role=True)
    listener.network_timeout = network_timeout
    host = "127.0.0.1" if node.host in ("127.0.0.1", "localhost", "::1") else ""
    try:
        server = _listen(listener, (host, listen_port), handlers)
    except OSError as exc:
        return CommitmentResult("unavailable", note=f"cannot listen on port {listen_port} for the report: {exc}")
    try:
        return _request(node, calling_ae, batches, reports, handlers, timeout, network_timeout)
    finally:
        server.shutdown()


def _listen(listener: AE, address: tuple[str, int], handlers: list) -> ThreadedAssociationServer:  # type: ignore[type-arg]
    """`AE.start_server(block=False)` with a 20 ms poll: its loop wakes every 0.5 s, and shutting it
    down waited that long after every commitment request (~0.45 s each)."""
    server = listener.make_server(address, evt_handlers=handlers, server_class=ThreadedAssociationServer)
    listener._servers.append(server)  # as start_server does; the server's shutdown() removes it
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="commitment-listener",
                     daemon=True).start()
    return server


def _request(node: DicomNode, calling_ae: str, batches: dict[str, list[tuple[str, str]]], reports: _Reports,
             handlers: list, timeout: float, network_timeout: float) -> CommitmentResult:  # type: ignore[type-arg]
    ae = application_entity(calling_ae, network_timeout)
    ae.add_requested_context(STORAGE_COMMITMENT)
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, evt_handlers=handlers)
    if not assoc.is_established:
        return CommitmentResult("unavailable", note="the archive did not accept an association for storage commitment")
    deadline = time.monotonic() + timeout
    try:
        if not any(str(cx.abstract_syntax) == STORAGE_COMMITMENT for cx in assoc.accepted_contexts):
            return CommitmentResult("unsupported", note="the archive does not support Storage Commitment")
        for number, (transaction_uid, refs) in enumerate(batches.items(), start=1):
            request = Dataset()
            request.TransactionUID = transaction_uid
            request.ReferencedSOPSequence = [_reference(sop_class, uid) for sop_class, uid in refs]
            status, _reply = assoc.send_n_action(request, 1, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE,
                                                 msg_id=number)
            code = status_code(status)
            if code != 0x0000:
                code_text = "no response" if code is None else f"status {code:04X}"
                return CommitmentResult("unavailable", note=f"the archive refused the commitment request ({code_text})")
        deadline = time.monotonic() + timeout
        while not reports.done.is_set() and time.monotonic() < deadline and assoc.is_established:
            reports.done.wait(0.05)
    finally:
        if assoc.is_established:
            assoc.release()
    reports.done.wait(max(0.0, deadline - time.monotonic()))
    if not reports.received:
        return CommitmentResult("no_report", note=f"no commitment report within {timeout:.0f} s")
    result = _result([(reports.received[uid], {u for _cls, u in batches[uid]}) for uid in reports.received])
    missing = len(batches) - len(reports.received)
    if missing:  # not a failure: the archive has not said yet; the C-FIND check stands for those
        result.state = "partial" if result.failed else "incomplete"
        result.note = f"{missing} of {len(batches)} commitment reports did not come within {timeout:.0f} s"
    return result


def _reference(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def _result(reports: list[tuple[Dataset, set[str]]]) -> CommitmentResult:
    """Committed and failed instances from each received report and the instances it was asked for."""
    committed: set[str] = set()
    failed: dict[str, int] = {}
    for info, asked in reports:
        listed = {str(i.ReferencedSOPInstanceUID) for i in info.get("ReferencedSOPSequence", [])} & asked
        refused = {str(i.ReferencedSOPInstanceUID): int(i.get("FailureReason", 0x0110))
                   for i in info.get("FailedSOPSequence", [])}
        committed |= listed
        failed.update(refused)
        for uid in asked - listed - set(refused):
            failed[uid] = 0x0110  # asked in this transaction, not in its report: not committed
    return CommitmentResult("committed" if not failed else "partial", committed, failed)
