"""Retrieving requested studies: C-FIND, C-GET and C-MOVE against a real Orthanc, and the folder archive."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

from mediastation.config import ArchiveSection, StationSection
from mediastation.domain.matching import StudyFound, compare
from mediastation.domain.request import Study
from mediastation.errors import PacsError
from mediastation.files import part_path
from mediastation.pacs import dicom_archive, pdata
from mediastation.pacs.archive import RetrievedStudy, instance_file_name
from mediastation.pacs.dicom_archive import MAX_CONTEXTS, RETRIEVE_SYNTAXES, DicomArchive, storage_contexts
from mediastation.pacs.factory import open_archive
from mediastation.pacs.folder_archive import INDEX_NAME, FolderArchive
from mediastation.pacs.network import DicomNode
from support.orthanc import OrthancServer, free_port
from support.synthetic import StudyInfo, make_study

STATION_AE = "MEDIASTATION"
WHEN = datetime(2025, 2, 11, 14, 5, 0)


@dataclass(frozen=True)
class Stored:
    """The studies put into the session's Orthanc for this module (accession numbers unique per run)."""

    mixed: StudyInfo  # one CT study, four transfer syntaxes (one presentation context each)
    mr: StudyInfo  # JPEG-LS, UTF-8 name
    twins: tuple[StudyInfo, StudyInfo]  # two studies under one accession number
    source: Path  # where the generated files are


def _recompress(path: Path, syntax: str) -> None:
    """Re-encode a file losslessly in place; its SOP Instance UID stays (same image, other syntax)."""
    ds = dcmread(path)
    ds.compress(syntax, generate_instance_uid=False)
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    source = tmp_path_factory.mktemp("studies")
    run = uuid.uuid4().hex[:6].upper()
    mixed = make_study(source, accession=f"A{run}1", patient_name="Öhman^Åsa", patient_id="010594Y9032",
                       study_description="TT vatsa ja lantio", study_datetime=WHEN, series=2, images=2)
    for path, syntax in zip(mixed.files[1:], (JPEG2000Lossless, JPEGLSLossless, RLELossless)):
        _recompress(path, syntax)
    mr = make_study(source, modality="MR", accession=f"A{run}2", patient_name="Häkkinen^Jörö",
                    patient_id="311299-999E", charset="ISO_IR 192", transfer_syntax=JPEGLSLossless, images=2)
    twins = tuple(make_study(source, modality="CR", accession=f"A{run}3", images=1) for _ in range(2))
    return Stored(mixed, mr, twins, source)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stored(orthanc: OrthancServer, generated: Stored) -> Stored:
    """The generated studies, stored in the session's Orthanc."""
    files = [p for study in (generated.mixed, generated.mr, *generated.twins) for p in study.files]
    assert orthanc.store(files) == len(files)
    return generated


def dicom_archive_for(orthanc: OrthancServer, method: str = "c-get", **kw: object) -> DicomArchive:
    node = DicomNode(orthanc.ae_title, orthanc.host, orthanc.dicom_port)
    options = {"calling_ae": STATION_AE, "timeout": 10.0, "method": method, "listen_port": orthanc.station_port, **kw}
    return DicomArchive(node, **options)  # type: ignore[arg-type]


def requested(study: StudyInfo, when: datetime = WHEN) -> Study:
    return Study(accession_number=study.accession, study_description=study.study_description, study_datetime=when)


def assert_same_instances(study: StudyInfo, got: RetrievedStudy, dest: Path) -> None:
    """Every instance arrived once, named by its UID, in its original transfer syntax, pixels unchanged."""
    originals = {dcmread(p).SOPInstanceUID: dcmread(p) for p in study.files}
    assert got.instances == len(got.files) == study.instance_count
    assert sorted(got.files) == sorted(dest / instance_file_name(uid) for uid in originals)
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in got.files)  # no .part left
    assert got.bytes == sum(p.stat().st_size for p in got.files)
    for path in got.files:
        ds = dcmread(path)  # a PS3.10 file: preamble, DICM, file meta
        original = originals[ds.SOPInstanceUID]
        assert path.name == f"{ds.SOPInstanceUID}.dcm"
        assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPClassUID == original.SOPClassUID
        assert ds.PixelData == original.PixelData  # encoded bytes: not transcoded on the way
        assert ds.StudyInstanceUID == study.study_instance_uid
        assert str(ds.PatientName) == study.patient_name


# -- C-FIND ------------------------------------------------------------------------------------------

@pytest.mark.orthanc
def test_c_find_by_accession_returns_the_study_as_requested(orthanc: OrthancServer, stored: Stored) -> None:
    found = dicom_archive_for(orthanc).find_studies(stored.mixed.accession)
    assert found == [StudyFound(
        accession_number=stored.mixed.accession, study_instance_uid=stored.mixed.study_instance_uid,
        study_description="TT vatsa ja lantio", study_date="20250211", study_time="140500",
        patient_id="010594Y9032", patient_name="Öhman^Åsa", modalities=("CT",), instances=4)]
    assert compare([requested(stored.mixed)], found, "010594Y9032") == []
    later = compare([requested(stored.mixed, datetime(2025, 2, 11, 14, 6))], found, "010594Y9032")
    assert [(m.field, m.requested, m.found) for m in later] == [("study_time", "14:06", "14:05")]


@pytest.mark.orthanc
def test_c_find_reads_utf8_names_and_other_patients(orthanc: OrthancServer, stored: Stored) -> None:
    [found] = dicom_archive_for(orthanc).find_studies(f"  {stored.mr.accession} ")
    assert (found.patient_name, found.modalities, found.instances) == ("Häkkinen^Jörö", ("MR",), 2)
    mismatches = compare([requested(stored.mr, datetime(2024, 3, 14, 9, 30))], [found], "010594Y9032")
    assert [(m.field, m.found) for m in mismatches] == [("patient_id", "311299-999E")]  # another patient


@pytest.mark.orthanc
def test_c_find_of_an_unknown_or_wildcard_accession_is_empty(orthanc: OrthancServer, stored: Stored) -> None:
    archive = dicom_archive_for(orthanc)
    assert archive.find_studies(f"NO{uuid.uuid4().hex[:10]}") == []
    assert archive.find_studies(stored.mixed.accession[:-1] + "*") == []  # C-FIND would expand it
    assert archive.find_studies("") == []  # a universal match would list the whole archive


@pytest.mark.orthanc
def test_two_studies_under_one_accession_number_are_both_returned(orthanc: OrthancServer, stored: Stored) -> None:
    found = dicom_archive_for(orthanc).find_studies(stored.twins[0].accession)
    assert {s.study_instance_uid for s in found} == {t.study_instance_uid for t in stored.twins}
    mismatches = compare([requested(stored.twins[0], datetime(2024, 3, 14, 9, 30))], found, "010594Y9032")
    assert [(m.field, m.found) for m in mismatches] == [("study_count", "2")]


# -- C-GET and C-MOVE --------------------------------------------------------------------------------

@pytest.mark.orthanc
@pytest.mark.parametrize("method", ["c-get", "c-move"])
def test_retrieve_brings_every_instance_unchanged(orthanc: OrthancServer, stored: Stored, tmp_path: Path,
                                                  method: str) -> None:
    calls: list[tuple[int, int | None]] = []
    dest = tmp_path / "retrieved" / stored.mixed.accession
    got = dicom_archive_for(orthanc, method).retrieve(stored.mixed.study_instance_uid, dest,
                                                      lambda done, total, what: calls.append((done, total)))
    assert_same_instances(stored.mixed, got, dest)
    assert {dcmread(p).file_meta.TransferSyntaxUID for p in got.files} == {
        ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless}
    assert [done for done, _ in calls] == [1, 2, 3, 4] and calls[-1] == (4, 4)
    assert {dcmread(p).file_meta.SourceApplicationEntityTitle for p in got.files} == {orthanc.ae_title}


@pytest.mark.orthanc
def test_retrieve_again_into_the_same_folder_overwrites(orthanc: OrthancServer, stored: Stored, tmp_path: Path) -> None:
    """A job killed half-way runs retrieve again: the same files, nothing doubled."""
    archive = dicom_archive_for(orthanc)
    first = archive.retrieve(stored.mr.study_instance_uid, tmp_path)
    (tmp_path / f".{first.files[0].name}.part").write_bytes(b"torn")  # what a kill mid-write leaves
    again = archive.retrieve(stored.mr.study_instance_uid, tmp_path)
    assert again == first
    assert_same_instances(stored.mr, again, tmp_path)


@pytest.mark.orthanc
@pytest.mark.parametrize("method", ["c-get", "c-move"])
def test_instances_arrive_over_sockets_without_nagle(orthanc: OrthancServer, stored: Stored, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """With Nagle's algorithm on, each C-STORE stalls ~40 ms on delayed ACKs (measured on loopback).
    The C-MOVE listener's accepted sockets must have TCP_NODELAY too, not only our outgoing ones; the
    C-GET's instances come on our own association, read directly from its socket (pacs/pdata.py)."""
    seen: list[int] = []
    if method == "c-move":
        on_store = dicom_archive._Receiver.on_store

        def spy(self: dicom_archive._Receiver, event: object) -> int:
            sock = event.assoc.dul.socket.socket  # type: ignore[attr-defined]
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            return on_store(self, event)  # type: ignore[arg-type]

        monkeypatch.setattr(dicom_archive._Receiver, "on_store", spy)
    else:
        sink = dicom_archive._Receiver.sink

        def spy_sink(self: dicom_archive._Receiver, incoming: object) -> object:
            seen.append(nodelay[0])
            return sink(self, incoming)  # type: ignore[arg-type]

        get = pdata.DirectAssociation.get
        nodelay: list[int] = []

        def spy_get(self: pdata.DirectAssociation, *args: object) -> object:
            nodelay.append(self.assoc.dul.socket.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            return get(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(dicom_archive._Receiver, "sink", spy_sink)
        monkeypatch.setattr(pdata.DirectAssociation, "get", spy_get)
    dicom_archive_for(orthanc, method).retrieve(stored.mr.study_instance_uid, tmp_path)
    assert len(seen) == 2 and all(seen)


@pytest.mark.orthanc
def test_c_move_listener_is_stopped_afterwards(orthanc: OrthancServer, stored: Stored, tmp_path: Path) -> None:
    dicom_archive_for(orthanc, "c-move").retrieve(stored.mr.study_instance_uid, tmp_path)
    with socket.socket() as sock:  # the port is free again: the storage SCP lived only for the move
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", orthanc.station_port))


@pytest.mark.orthanc
def test_c_move_to_an_ae_the_archive_does_not_know_says_so(orthanc: OrthancServer, stored: Stored,
                                                           tmp_path: Path) -> None:
    archive = dicom_archive_for(orthanc, "c-move", calling_ae="STRANGER", listen_port=free_port())
    with pytest.raises(PacsError, match="knows our AE title .STRANGER. as a C-MOVE destination"):
        archive.retrieve(stored.mr.study_instance_uid, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.orthanc
def test_c_move_when_our_port_is_taken_fails_clearly(orthanc: OrthancServer, stored: Stored, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        archive = dicom_archive_for(orthanc, "c-move", listen_port=port)
        with pytest.raises(PacsError, match=f"cannot listen on port {port}"):
            archive.retrieve(stored.mr.study_instance_uid, tmp_path)


@pytest.mark.orthanc
def test_a_partial_retrieve_raises_with_the_numbers(orthanc: OrthancServer, stored: Stored, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Offer only Explicit VR Little Endian: Orthanc cannot decode J2K/JPEG-LS for us, those sub-operations fail."""
    monkeypatch.setattr(dicom_archive, "RETRIEVE_SYNTAXES", (ExplicitVRLittleEndian,))
    with pytest.raises(PacsError) as caught:
        dicom_archive_for(orthanc).retrieve(stored.mixed.study_instance_uid, tmp_path)
    error = caught.value
    assert orthanc.ae_title in error.message and "incomplete" in error.message
    assert error.exit_status == 3
    assert error.details["failed"] >= 1 and error.details["received"] < 4 and error.details["expected"] == 4
    assert f"{error.details['received']} of 4 instances arrived" in error.message
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.mark.orthanc
def test_retrieve_of_a_study_the_archive_lacks_is_refused(orthanc: OrthancServer, tmp_path: Path) -> None:
    with pytest.raises(PacsError, match="has no study '1.2.3.4.5'"):
        dicom_archive_for(orthanc).retrieve("1.2.3.4.5", tmp_path / "x")
    assert not (tmp_path / "x").exists()


# -- each file told as soon as it is whole (a relay sends it on while the rest arrive) ----------------

def _whole_when_told(told: list[Path]) -> Callable[[Path], None]:
    def on_instance(path: Path) -> None:
        assert path.is_file() and not path.name.startswith(".")  # its final name, not the .part
        assert dcmread(path).PixelData  # whole: reads to its end
        told.append(path)
    return on_instance


class _Enough(Exception):
    """What a relay's sender raises into the fetch when the destination went away."""


def _enough(told: list[Path]) -> Callable[[Path], None]:
    def on_instance(path: Path) -> None:
        told.append(path)
        raise _Enough()
    return on_instance


@pytest.mark.orthanc
@pytest.mark.parametrize("method", ["c-get", "c-move"])
def test_each_instance_is_told_once_whole_under_its_final_name(orthanc: OrthancServer, stored: Stored,
                                                               tmp_path: Path, method: str) -> None:
    told: list[Path] = []
    got = dicom_archive_for(orthanc, method).retrieve(stored.mixed.study_instance_uid, tmp_path,
                                                      on_instance=_whole_when_told(told))
    assert sorted(told) == got.files and len(told) == 4


@pytest.mark.orthanc
@pytest.mark.parametrize("method", ["c-get", "c-move"])
def test_a_callback_that_raises_stops_the_retrieve_with_its_exception(orthanc: OrthancServer, stored: Stored,
                                                                      tmp_path: Path, method: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[Path] = []
    offered: list[str] = []  # every instance the archive sent us
    on_store = dicom_archive._Receiver.on_store

    def spy(self: dicom_archive._Receiver, event: object) -> int:
        offered.append(str(event.request.AffectedSOPInstanceUID))  # type: ignore[attr-defined]
        return on_store(self, event)  # type: ignore[arg-type]

    sink = dicom_archive._Receiver.sink

    def spy_sink(self: dicom_archive._Receiver, incoming: pdata.IncomingStore) -> object:
        offered.append(incoming.sop_instance)
        return sink(self, incoming)

    monkeypatch.setattr(dicom_archive._Receiver, "on_store", spy)
    monkeypatch.setattr(dicom_archive._Receiver, "sink", spy_sink)
    started = time.monotonic()
    with pytest.raises(_Enough):
        dicom_archive_for(orthanc, method).retrieve(stored.mixed.study_instance_uid, tmp_path,
                                                    on_instance=_enough(told))
    assert time.monotonic() - started < 5  # aborted, not released after the archive's last instance
    assert len(told) == 1 and list(tmp_path.iterdir()) == told  # nothing taken after it
    assert len(offered) < 4  # the archive was stopped, not left to send the rest of the study
    assert dicom_archive_for(orthanc, method).retrieve(stored.mixed.study_instance_uid, tmp_path).instances == 4


@pytest.mark.orthanc
def test_an_archive_killed_mid_c_get_is_a_clear_pacs_error_and_leaves_no_part_files(
        fresh_orthanc: OrthancServer, tmp_path: Path) -> None:
    """The C-GET's instances are read from the socket by pacs/pdata.py: a peer that vanishes between
    two PDUs of an instance ends the retrieve at once with exit 3, the instance being written is
    removed, and the instances whole before it stay for the next attempt."""
    study = make_study(tmp_path / "source", accession=f"K{uuid.uuid4().hex[:6].upper()}", images=40,
                       rows=256, cols=256)
    fresh_orthanc.store(study.files)
    dest = tmp_path / "dest"
    told: list[Path] = []

    def kill_after_three(path: Path) -> None:
        told.append(path)
        if len(told) == 3:
            os.kill(fresh_orthanc.pid, signal.SIGKILL)

    started = time.monotonic()
    with pytest.raises(PacsError) as caught:
        dicom_archive_for(fresh_orthanc).retrieve(study.study_instance_uid, dest, on_instance=kill_after_three)
    assert time.monotonic() - started < 8  # not the 10 s timeout: the closed connection is seen at once
    assert caught.value.exit_status == 3 and "stopped answering during C-GET" in caught.value.message
    left = sorted(dest.iterdir())
    assert left == sorted(told) and not [p for p in left if p.name.endswith(".part")]
    for path in left:  # whole PS3.10 files
        assert dcmread(path).SOPInstanceUID == path.stem


def test_the_folder_archive_tells_each_instance_and_stops_likewise(generated: Stored, folder: Path,
                                                                   tmp_path: Path) -> None:
    archive = FolderArchive(folder)
    told: list[Path] = []
    got = archive.retrieve(generated.mixed.study_instance_uid, tmp_path / "all", on_instance=_whole_when_told(told))
    assert sorted(told) == got.files and len(told) == 4
    stopped: list[Path] = []
    with pytest.raises(_Enough):
        archive.retrieve(generated.mixed.study_instance_uid, tmp_path / "one", on_instance=_enough(stopped))
    assert list((tmp_path / "one").iterdir()) == stopped and len(stopped) == 1


# -- the archive is down -----------------------------------------------------------------------------

def test_archive_down_fails_quickly_with_a_clear_message(tmp_path: Path) -> None:
    port = free_port()
    archive = DicomArchive(DicomNode("NOBODY", "127.0.0.1", port), calling_ae=STATION_AE, timeout=2.0)
    for attempt in (lambda: archive.find_studies("HUS1"), lambda: archive.retrieve("1.2.3", tmp_path)):
        started = time.monotonic()
        with pytest.raises(PacsError) as caught:
            attempt()
        assert time.monotonic() - started < 3
        assert f"NOBODY@127.0.0.1:{port}" in caught.value.message and "station.toml" in caught.value.message
        assert caught.value.exit_status == 3


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_a_silent_archive_gives_up_after_the_timeout(silent_listener: int) -> None:
    archive = DicomArchive(DicomNode("SILENT", "127.0.0.1", silent_listener), calling_ae=STATION_AE, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(PacsError, match="no answer within 1 s"):
        archive.find_studies("HUS1")
    assert 1.0 <= time.monotonic() - started < 5


# -- the folder archive ------------------------------------------------------------------------------

@pytest.fixture
def folder(generated: Stored, tmp_path: Path) -> Path:
    """The module's studies in a folder of another layout, with files that are not instances."""
    root = tmp_path / "archive"
    for i, path in enumerate(sorted(generated.source.rglob("*.dcm"))):
        target = root / f"d{i % 3}" / "deeper" / f"file{i}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    (root / "README.TXT").write_text("not DICOM", encoding="utf-8")
    (root / "d0" / "empty.dcm").write_bytes(b"")
    return root


def count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.orthanc
def test_folder_archive_finds_what_the_dicom_archive_finds(orthanc: OrthancServer, stored: Stored,
                                                           folder: Path) -> None:
    archive = FolderArchive(folder)
    for study in (stored.mixed, stored.mr, stored.twins[0]):
        from_folder = archive.find_studies(study.accession)
        from_pacs = dicom_archive_for(orthanc).find_studies(study.accession)
        assert sorted(from_folder, key=lambda s: s.study_instance_uid) == \
            sorted(from_pacs, key=lambda s: s.study_instance_uid)
    assert archive.find_studies("NOTHERE") == [] and archive.find_studies(" ") == []


def test_folder_archive_retrieves_by_hard_link(generated: Stored, folder: Path, tmp_path: Path) -> None:
    archive = FolderArchive(folder)
    [study] = archive.find_studies(generated.mixed.accession)
    dest = tmp_path / "job" / "retrieved" / generated.mixed.accession
    calls: list[tuple[int, int | None]] = []
    got = archive.retrieve(study.study_instance_uid, dest, lambda d, t, w: calls.append((d, t)))
    assert_same_instances(generated.mixed, got, dest)
    assert calls[-1] == (4, 4)
    sources = {dcmread(p, stop_before_pixels=True).SOPInstanceUID: p for p in folder.rglob("file*")}
    for path in got.files:
        source = sources[path.name.removesuffix(".dcm")]
        assert path.read_bytes() == source.read_bytes()
        assert os.path.samefile(path, source)  # same file system: linked, not copied


def test_folder_index_is_reused_and_refreshed(generated: Stored, folder: Path, tmp_path: Path) -> None:
    first = FolderArchive(folder)
    assert first.find_studies(generated.mixed.accession)
    assert first.headers_read == count_files(folder)  # README and the empty file too: once
    assert (folder / INDEX_NAME).is_file()

    second = FolderArchive(folder)  # as the next command would
    assert second.find_studies(generated.mr.accession) and second.find_studies(generated.mixed.accession)
    assert second.headers_read == 0

    new = make_study(tmp_path / "new", accession="NEWONE", images=2)
    for path in new.files:
        shutil.copy2(path, folder / "d1" / path.name)
    third = FolderArchive(folder)
    [found] = third.find_studies("NEWONE")
    assert (found.study_instance_uid, found.instances) == (new.study_instance_uid, 2)
    assert third.headers_read == 2

    changed = folder / "d1" / new.files[0].name
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10_000_000_000))
    (folder / "d1" / new.files[1].name).unlink()
    fourth = FolderArchive(folder)
    assert fourth.find_studies("NEWONE")[0].instances == 1
    assert fourth.headers_read == 1


def test_folder_archive_works_when_its_index_cannot_be_written(generated: Stored, folder: Path) -> None:
    """A read-only share: the index cannot be saved (here a directory stands in its place, which also
    holds when the tests run as root), the archive is read all the same."""
    (folder / INDEX_NAME).mkdir()
    archive = FolderArchive(folder)
    assert archive.find_studies(generated.mr.accession)
    assert (folder / INDEX_NAME).is_dir() and not part_path(folder / INDEX_NAME).exists()
    assert FolderArchive(folder).find_studies(generated.mr.accession)


def test_a_corrupt_index_is_rebuilt(generated: Stored, folder: Path) -> None:
    FolderArchive(folder).find_studies(generated.mr.accession)
    (folder / INDEX_NAME).write_text('{"version": 1, "files": {"d0/deeper/file0": ', encoding="utf-8")
    archive = FolderArchive(folder)
    assert archive.find_studies(generated.mr.accession)
    assert archive.headers_read == count_files(folder)
    assert FolderArchive(folder).find_studies(generated.mr.accession)


def test_folder_archive_missing_folder_is_a_pacs_error(tmp_path: Path) -> None:
    with pytest.raises(PacsError, match="does not exist"):
        FolderArchive(tmp_path / "nowhere").find_studies("HUS1")


def test_folder_instances_of_two_patients_in_one_study_never_match(tmp_path: Path) -> None:
    study = make_study(tmp_path / "a", accession="MIXED", images=2, seed=7)
    ds = dcmread(study.files[1])
    ds.PatientID = "311299-999E"
    ds.save_as(study.files[1], enforce_file_format=True)
    [found] = FolderArchive(tmp_path / "a").find_studies("MIXED")
    assert found.patient_id == "010594Y9032\\311299-999E"
    request = Study(accession_number="MIXED", study_description=study.study_description,
                    study_datetime=datetime(2024, 3, 14, 9, 30))
    assert [m.field for m in compare([request], [found], "010594Y9032")] == ["patient_id"]


# -- the factory and the helpers ---------------------------------------------------------------------

def test_open_archive_follows_the_configuration(tmp_path: Path) -> None:
    station = StationSection(ae_title="HUSMEDIA1", port=11999)
    folder = open_archive(ArchiveSection(), station, tmp_path)
    assert isinstance(folder, FolderArchive) and folder.path == tmp_path / "archive"
    dicom = open_archive(ArchiveSection(kind="dicom", host="10.0.0.5", port=104, ae_title="HUSPACS",
                                        retrieve="c-move", timeout=7.5), station, tmp_path)
    assert isinstance(dicom, DicomArchive)
    assert (dicom.node, dicom.calling_ae, dicom.timeout, dicom.method, dicom.listen_port, dicom.listen_host) == (
        DicomNode("HUSPACS", "10.0.0.5", 104), "HUSMEDIA1", 7.5, "c-move", 11999, "0.0.0.0")
    assert dicom.label == "HUSPACS@10.0.0.5:104"
    local = open_archive(ArchiveSection(kind="dicom"), station, tmp_path)
    assert isinstance(local, DicomArchive) and local.listen_host == "127.0.0.1"  # archive on this machine


@pytest.mark.parametrize("classes", [1, 3, 7, 8, 40, 127, 300])
def test_storage_contexts_fit_one_association(classes: int) -> None:
    sop_classes = [f"1.2.3.{n}" for n in range(classes)]
    contexts = storage_contexts(sop_classes, MAX_CONTEXTS - 1)
    assert len(contexts) <= MAX_CONTEXTS - 1
    offered = {(c, s) for c, syntaxes in contexts for s in syntaxes}
    covered = sop_classes[:MAX_CONTEXTS - 1]
    assert {c for c, _ in offered} == set(covered)
    assert offered == {(c, s) for c in covered for s in RETRIEVE_SYNTAXES}  # every syntax still offered
    if classes * len(RETRIEVE_SYNTAXES) <= MAX_CONTEXTS - 1:
        assert all(len(syntaxes) == 1 for _, syntaxes in contexts)  # exact: no transcoding needed


@pytest.mark.parametrize("uid, name", [
    ("1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.1.dcm"),
    (" 1.2.3\0", "1.2.3.dcm"),
])
def test_instance_file_names_are_the_uid(uid: str, name: str) -> None:
    assert instance_file_name(uid) == name


@pytest.mark.parametrize("uid", ["../../etc/passwd", "1.2/3", "", "1." + "2" * 80, "1..2", "CON"])
def test_instance_file_names_are_safe_for_anything_else(uid: str) -> None:
    name = instance_file_name(uid)
    assert name.startswith("X") and name.endswith(".dcm") and "/" not in name and len(name) <= 45
    assert name != instance_file_name(uid + "x")


def test_study_found_is_comparable_between_archives() -> None:
    """The folder archive reports `instances` as an int; a PACS may not say (None), which never matters to compare()."""
    found = StudyFound("A", "1.2", "X", "20250211", "140500", "010594Y9032", "N", ("CT",), None)
    assert compare([Study(accession_number="A", study_description="x", study_datetime=WHEN)],
                   [replace(found, instances=3)], "010594Y9032") == []


def test_folder_archive_copies_when_it_cannot_link(generated: Stored, folder: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A job folder on another file system (EXDEV): the files are copied instead, byte for byte."""
    def no_link(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    archive = FolderArchive(folder)
    [study] = archive.find_studies(generated.mr.accession)
    monkeypatch.setattr(os, "link", no_link)
    got = archive.retrieve(study.study_instance_uid, tmp_path / "dest")
    assert_same_instances(generated.mr, got, tmp_path / "dest")
    sources = {dcmread(p, stop_before_pixels=True).SOPInstanceUID: p for p in folder.rglob("file*")}
    for path in got.files:
        source = sources[path.name.removesuffix(".dcm")]
        assert path.read_bytes() == source.read_bytes() and not os.path.samefile(path, source)
