"""The Orthanc harness: it starts, takes what we store, moves to the station's AE, and stops by pid."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove  # type: ignore[attr-defined]
from pynetdicom.presentation import AllStoragePresentationContexts

from mediastation.pacs.network import application_entity
from support.orthanc import OrthancError, OrthancServer
from support.synthetic import TRANSFER_SYNTAXES, make_study

pytestmark = pytest.mark.orthanc


def test_store_arrives_whole_in_an_empty_archive(fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    assert fresh_orthanc.instance_count() == 0
    study = make_study(tmp_path, images=3, series=2)
    assert fresh_orthanc.store(study.files) == 6
    assert fresh_orthanc.instance_count() == 6
    assert fresh_orthanc.study_uids() == {study.study_instance_uid}


def test_every_transfer_syntax_is_stored_as_sent(fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    """One association, one presentation context per (SOP class, transfer syntax) found."""
    studies = [make_study(tmp_path / str(i), modality=m, images=1, transfer_syntax=ts)
               for i, (m, ts) in enumerate((m, ts) for m in ("CT", "CR") for ts in TRANSFER_SYNTAXES)]
    files = [path for study in studies for path in study.files]
    assert fresh_orthanc.store(files) == len(files) == 10
    sent = {dcmread(p, stop_before_pixels=True).SOPInstanceUID: p for p in files}
    for instance in fresh_orthanc.rest("/instances"):
        meta = fresh_orthanc.rest(f"/instances/{instance}/metadata?expand")
        sop_uid = fresh_orthanc.rest(f"/instances/{instance}/simplified-tags")["SOPInstanceUID"]
        assert meta["TransferSyntax"] == dcmread(sent.pop(sop_uid), stop_before_pixels=True).file_meta.TransferSyntaxUID
    assert sent == {}


def test_session_archive_counts_up(orthanc: OrthancServer, tmp_path: Path) -> None:
    before = orthanc.instance_count()
    study = make_study(tmp_path, modality="MR", images=4, charset="ISO_IR 192")
    orthanc.store(study.files)
    assert orthanc.instance_count() == before + 4
    assert study.study_instance_uid in orthanc.study_uids()


def test_c_move_reaches_the_station_ae(orthanc: OrthancServer, tmp_path: Path) -> None:
    """Orthanc knows the station's AE title and port, so a C-MOVE to it is delivered there."""
    study = make_study(tmp_path, images=2)
    orthanc.store(study.files)
    received: list[str] = []
    with _storage_scp(orthanc.station_ae, orthanc.station_port, received):
        statuses = _c_move(orthanc, study.study_instance_uid, move_aet=orthanc.station_ae)
    assert statuses[-1] == 0x0000
    assert sorted(received) == sorted(study.sop_instance_uids)


def test_context_stops_the_process_by_pid() -> None:
    with OrthancServer(ae_title="LIFECYCLE") as server:
        pid = server.pid
        assert pid is not None and _alive(pid)
        assert server.echo()
        assert server.rest("/system")["DicomAet"] == "LIFECYCLE"
        folder = server.folder
    assert not _alive(pid)
    assert not folder.exists()
    assert not server.echo(timeout=1.0)


def test_a_server_that_dies_at_start_raises_with_its_log(tmp_path: Path) -> None:
    class Broken(OrthancServer):
        def configuration(self, storage: Path) -> dict[str, Any]:
            return {**super().configuration(storage), "DicomPort": "not-a-port"}

    server = Broken(folder=tmp_path)
    with pytest.raises(OrthancError, match="must be an integer"):
        server.start()
    assert server.pid is None


def test_configuration_is_loopback_only_without_plugins(tmp_path: Path) -> None:
    config = OrthancServer(folder=tmp_path, station_port=11999).configuration(tmp_path / "s")
    assert config["Plugins"] == [] and config["RemoteAccessAllowed"] is False
    assert config["DicomModalities"] == {"station": ["MEDIASTATION", "127.0.0.1", 11999]}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class _storage_scp:
    """A pynetdicom Storage SCP on loopback recording the SOP Instance UIDs it receives."""

    def __init__(self, ae_title: str, port: int, received: list[str]) -> None:
        self.ae = application_entity(ae_title, 10.0)
        self.ae.supported_contexts = AllStoragePresentationContexts
        self.port, self.received, self.lock = port, received, threading.Lock()

    def _on_store(self, event: evt.Event) -> int:
        with self.lock:
            self.received.append(str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    def __enter__(self) -> "_storage_scp":
        self.server = self.ae.start_server(("127.0.0.1", self.port), block=False,
                                           evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def _c_move(orthanc: OrthancServer, study_uid: str, move_aet: str) -> list[int]:
    ae: AE = application_entity("HARNESS", 10.0)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    assoc = ae.associate(orthanc.host, orthanc.dicom_port, ae_title=orthanc.ae_title)
    assert assoc.is_established
    try:
        responses = assoc.send_c_move(query, move_aet, StudyRootQueryRetrieveInformationModelMove)
        return [status.Status for status, _ in responses if status]
    finally:
        assoc.release()

