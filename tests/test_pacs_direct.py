"""C-STORE and C-FIND sent and answered on the association's socket (pacs/pdata.py), against a real
pynetdicom SCP on loopback: the same bytes as pynetdicom would send, the same answers, and a peer
that does not answer ends the association instead of hanging it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode, split_dataset
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import CTImageStorage, StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

from mediastation.pacs.network import application_entity
from mediastation.pacs.pdata import C_STORE_RQ as C_STORE_FIELD
from mediastation.pacs.pdata import IDLE_LOOP_DELAY, DirectAssociation, data_set_offset, file_blocks, request_command, send_request
from support.orthanc import free_port
from support.synthetic import make_study


@pytest.fixture(scope="module")
def ct_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return list(make_study(tmp_path_factory.mktemp("ct"), modality="CT", images=3, series=1, seed=61,
                           rows=96, cols=80).files)


class Peer:
    """A pynetdicom SCP that keeps what it receives and answers as told."""

    def __init__(self, *, store_delay: float = 0.0, matches: int = 3, abort: bool = False) -> None:
        self.received: list[bytes] = []
        self.abort = abort
        self.store_delay = store_delay
        self.matches = matches
        self.port = free_port()
        ae = AE(ae_title="PEER")
        ae.add_supported_context(CTImageStorage, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
        self.ae = ae
        self.server = ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=[
            (evt.EVT_C_STORE, self._store), (evt.EVT_C_FIND, self._find)])

    def _store(self, event: evt.Event) -> int:
        time.sleep(self.store_delay)
        if self.abort:
            event.assoc.abort()
            return 0xA700
        self.received.append(event.request.DataSet.getvalue())
        return 0x0000

    def _find(self, event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        for n in range(self.matches):
            found = Dataset()
            found.QueryRetrieveLevel = "IMAGE"
            found.SOPInstanceUID = f"1.2.3.{n}"
            found.PatientName = "Mäkelä^Åsa"
            found.SpecificCharacterSet = "ISO_IR 192"
            yield 0xFF00, found
        yield 0x0000, None

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def peer() -> Iterator[Peer]:
    running = Peer()
    yield running
    running.close()


def _associate(port: int, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    ae = application_entity("STATION", timeout)
    ae.add_requested_context(CTImageStorage, ["1.2.840.10008.1.2.1"])
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", port, ae_title="PEER")
    assert assoc.is_established
    return assoc


def test_the_command_set_is_what_pynetdicom_encodes(ct_files: list[Path]) -> None:
    request = C_STORE()
    request.MessageID, request.Priority = 7, 0
    request.AffectedSOPClassUID, request.AffectedSOPInstanceUID = CTImageStorage, "1.2.246.10.123"
    request._dataset_path = (ct_files[0], data_set_offset(ct_files[0]))  # a data set follows
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    expected = encode(message.command_set, True, True)
    assert request_command(C_STORE_FIELD, CTImageStorage, 7, "1.2.246.10.123") == expected


def _pdu(primitive: object) -> bytes:
    pdu = P_DATA_TF()
    pdu.from_primitive(primitive)
    return pdu.encode()


@pytest.mark.parametrize("max_pdu", [4096, 16384, 1000, 0])
def test_the_pdus_are_those_pynetdicom_sends(ct_files: list[Path], max_pdu: int) -> None:
    path = ct_files[0]
    request = C_STORE()
    request.MessageID, request.Priority = 1, 0
    request.AffectedSOPClassUID, request.AffectedSOPInstanceUID = CTImageStorage, "1.2.3"
    request._dataset_path = (path, data_set_offset(path))  # pynetdicom's own chunked sending
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    expected = b"".join(_pdu(p) for p in message.encode_msg(5, max_pdu))

    class Sink:
        def __init__(self) -> None:
            self.data = bytearray()

        def sendmsg(self, buffers: list[bytes | memoryview]) -> int:
            taken = 0  # a socket takes what it can: at most 1,000 bytes here, across the buffers
            for buffer in buffers:
                part = bytes(buffer[:1000 - taken])
                self.data += part
                taken += len(part)
                if taken == 1000:
                    break
            return taken

        def fileno(self) -> int:  # select() on it: a pipe's writing end is always writable here
            return pipe_write

    pipe_read, pipe_write = os.pipe()
    try:
        sink = Sink()
        with open(path, "rb") as source:
            blocks = list(file_blocks(source, data_set_offset(path)))
        odd = [piece for block in blocks for piece in (block[:777], block[777:])]  # blocks of any size
        send_request(sink, 5, encode(message.command_set, True, True), odd, max_pdu, 5)
    finally:
        os.close(pipe_read)
        os.close(pipe_write)
    assert bytes(sink.data) == expected
    assert data_set_offset(path) == int(split_dataset(path)[1])


def test_instances_arrive_whole_and_the_association_goes_back_to_pynetdicom(peer: Peer, ct_files: list[Path]) -> None:
    assoc = _associate(peer.port)
    assert DirectAssociation.usable(assoc)
    polling = assoc.dul._run_loop_delay
    with DirectAssociation(assoc) as direct:
        assert assoc.dul._run_loop_delay == IDLE_LOOP_DELAY > polling  # the idle DUL thread polls less
        for path in ct_files:
            header = dcmread(path, stop_before_pixels=True)
            status = direct.store(path, CTImageStorage, str(header.SOPInstanceUID), "1.2.840.10008.1.2.1").status
            assert status == 0x0000
        with pytest.raises(KeyError):  # no context for this syntax: the caller falls back
            direct.store(ct_files[0], CTImageStorage, "1.2.3", "1.2.840.10008.1.2.4.50")
    with open(ct_files[0], "rb") as fp:
        fp.seek(data_set_offset(ct_files[0]))
        assert peer.received[0] == fp.read()
    assert len(peer.received) == 3
    assert assoc.dul._run_loop_delay == polling
    status = assoc.send_c_store(ct_files[1])  # pynetdicom's own sending works on after the batch
    assert status.Status == 0x0000 and len(peer.received) == 4
    assoc.release()
    assert assoc.is_released


def test_find_yields_each_match_decoded_then_the_final_status(peer: Peer) -> None:
    assoc = _associate(peer.port)
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.SOPInstanceUID = ""
    with DirectAssociation(assoc) as direct:
        responses = list(direct.find(query, StudyRootQueryRetrieveInformationModelFind))
        again = list(direct.find(query, StudyRootQueryRetrieveInformationModelFind))  # message IDs move on
    assert [status for status, _ in responses] == [0xFF00, 0xFF00, 0xFF00, 0x0000]
    assert [str(found.SOPInstanceUID) for _, found in responses[:3]] == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
    assert str(responses[0][1].PatientName) == "Mäkelä^Åsa" and responses[3][1] is None
    assert len(again) == 4
    assoc.release()


def test_a_peer_that_does_not_answer_ends_the_association(ct_files: list[Path]) -> None:
    slow = Peer(store_delay=3.0)
    try:
        assoc = _associate(slow.port, timeout=0.5)
        started = time.monotonic()
        with DirectAssociation(assoc) as direct:
            header = dcmread(ct_files[0], stop_before_pixels=True)
            status = direct.store(ct_files[0], CTImageStorage, str(header.SOPInstanceUID), "1.2.840.10008.1.2.1")
        assert status.status is None and time.monotonic() - started < 2.5
        deadline = time.monotonic() + 5
        while assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not assoc.is_established and assoc.is_aborted
    finally:
        slow.close()


def test_a_peer_that_aborts_ends_the_association_without_a_status(ct_files: list[Path]) -> None:
    aborting = Peer(abort=True)
    try:
        assoc = _associate(aborting.port, timeout=5.0)
        with DirectAssociation(assoc) as direct:
            header = dcmread(ct_files[0], stop_before_pixels=True)
            status = direct.store(ct_files[0], CTImageStorage, str(header.SOPInstanceUID), "1.2.840.10008.1.2.1")
        assert status.status is None
        deadline = time.monotonic() + 5
        while assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not assoc.is_established
    finally:
        aborting.close()
