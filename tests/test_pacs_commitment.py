"""Storage Commitment against a real pynetdicom SCP on loopback (pacs/commitment.py): the report
comes on an association the archive opens to the station's port; an archive that does not answer
the N-ACTION is "unavailable", never an exception; the station's listener is gone afterwards."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation

from mediastation.pacs.commitment import STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE, request_commitment
from mediastation.pacs.network import DicomNode
from support.orthanc import free_port

CT = "1.2.840.10008.5.1.4.1.1.2"
REFS = [(CT, f"1.2.826.0.1.3680043.8.498.{n}") for n in range(1, 6)]


class CommitmentArchive:
    """Answers each N-ACTION, then reports on a new association to the station: every instance
    committed except those in `missing`; `silent` archives never answer the N-ACTION."""

    def __init__(self, station_port: int, *, missing: frozenset[str] = frozenset(), silent: bool = False) -> None:
        self.station_port, self.missing, self.silent = station_port, missing, silent
        self.port = free_port()
        ae = AE(ae_title="ARCHIVE")
        ae.add_supported_context(STORAGE_COMMITMENT)
        self.server = ae.start_server(("127.0.0.1", self.port), block=False,
                                      evt_handlers=[(evt.EVT_N_ACTION, self._action)])
        self.reporters: list[threading.Thread] = []

    def _action(self, event: evt.Event) -> tuple[int, None]:
        if self.silent:
            time.sleep(3)  # longer than the station waits
            return 0x0000, None
        request = event.action_information
        reporter = threading.Thread(target=self._report, args=(request,))
        self.reporters.append(reporter)
        reporter.start()
        return 0x0000, None

    def _report(self, request: Dataset) -> None:
        time.sleep(0.1)  # after the N-ACTION response, as an archive's job would
        report = Dataset()
        report.TransactionUID = request.TransactionUID
        done = [item for item in request.ReferencedSOPSequence if item.ReferencedSOPInstanceUID not in self.missing]
        failed = [item for item in request.ReferencedSOPSequence if item.ReferencedSOPInstanceUID in self.missing]
        report.ReferencedSOPSequence = done
        if failed:
            for item in failed:
                item.FailureReason = 0x0112
            report.FailedSOPSequence = failed
        ae = AE(ae_title="ARCHIVE")
        ae.add_requested_context(STORAGE_COMMITMENT)
        role = SCP_SCU_RoleSelectionNegotiation()
        role.sop_class_uid, role.scu_role, role.scp_role = STORAGE_COMMITMENT, False, True
        assoc = ae.associate("127.0.0.1", self.station_port, ae_title="STATION", ext_neg=[role])
        if assoc.is_established:
            assoc.send_n_event_report(report, 2 if failed else 1, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE)
            assoc.release()

    def stop(self) -> None:
        for reporter in self.reporters:
            reporter.join(5)
        self.server.shutdown()


@pytest.fixture
def station_port() -> Iterator[int]:
    yield free_port()


def _listener_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "commitment-listener" and t.is_alive()]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def test_the_report_on_a_new_association_commits_and_names_the_failures(station_port: int) -> None:
    archive = CommitmentArchive(station_port, missing=frozenset({REFS[2][1]}))
    try:
        result = request_commitment(DicomNode("ARCHIVE", "127.0.0.1", archive.port), "STATION", REFS,
                                    listen_port=station_port, timeout=10, network_timeout=5, chunk=2)
    finally:
        archive.stop()
    assert result.state == "partial"
    assert result.committed == {uid for _c, uid in REFS} - {REFS[2][1]}
    assert result.failed == {REFS[2][1]: 0x0112}
    assert not _listener_threads() and _port_free(station_port)  # the station stopped listening


def test_an_archive_that_does_not_answer_is_unavailable_not_a_crash(station_port: int) -> None:
    archive = CommitmentArchive(station_port, silent=True)
    try:
        result = request_commitment(DicomNode("ARCHIVE", "127.0.0.1", archive.port), "STATION", REFS,
                                    listen_port=station_port, timeout=5, network_timeout=1)
    finally:
        archive.stop()
    assert result.state == "unavailable" and "no response" in result.note
    assert not result.committed and not result.failed
    assert not _listener_threads() and _port_free(station_port)
