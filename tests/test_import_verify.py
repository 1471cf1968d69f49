"""Series are looked up and committed while the store goes on (workflows/imports/verify.py), against
a real Orthanc: a finished series is in the collected answers before `finish()` is called, what the
archive lacks is simply absent, and the commitment covers every stored instance."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydicom import dcmread

from mediastation.pacs.commitment import CommitmentResult
from mediastation.pacs.network import DicomNode
from mediastation.workflows.imports.verify import OverlappedVerifier, merge_commitments
from support.orthanc import OrthancServer, free_port, orthanc_binary
from support.synthetic import make_study

pytestmark = pytest.mark.skipif(orthanc_binary() is None, reason="needs Debian's orthanc (installed by make)")


@dataclass
class Settings:
    storage_commitment: bool = True
    commitment_timeout: float = 15.0


@dataclass
class Env:
    node: DicomNode
    calling_ae: str
    listen_port: int
    timeout: float = 10.0
    settings: Settings = field(default_factory=Settings)


def test_a_finished_series_is_checked_before_the_store_ends(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", modality="CT", images=3, series=2, seed=71, rows=32, cols=32)
    headers = [dcmread(p, stop_before_pixels=True) for p in study.files]
    series = sorted({str(h.SeriesInstanceUID) for h in headers})
    first = [n for n, h in enumerate(headers) if str(h.SeriesInstanceUID) == series[0]]
    second = [n for n, h in enumerate(headers) if str(h.SeriesInstanceUID) == series[1]]
    port = free_port()
    with OrthancServer(ae_title="HUSPACS", station_ae="MEDIASTATION", station_port=port) as pacs:
        pacs.store([study.files[n] for n in first])  # the second series never reaches the archive
        env = Env(DicomNode("HUSPACS", "127.0.0.1", pacs.dicom_port), "MEDIASTATION", port)
        verifier = OverlappedVerifier(
            env, {n: (str(h.StudyInstanceUID), str(h.SeriesInstanceUID)) for n, h in enumerate(headers)},
            {n: (str(h.SOPClassUID), str(h.SOPInstanceUID)) for n, h in enumerate(headers)})
        for n in first:
            verifier.outcome(n, True)
        deadline = time.monotonic() + 10
        while len(verifier.collected.archived) < len(first) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {headers[n].SOPInstanceUID for n in first} == set(verifier.collected.archived)  # before finish()
        for n in second:
            verifier.outcome(n, n != second[-1])  # the last one was rejected before sending
        collected = verifier.finish()
    assert collected.error is None
    assert set(collected.archived) == {str(headers[n].SOPInstanceUID) for n in first}  # nothing of series 2
    assert isinstance(collected.commitment, CommitmentResult)
    assert collected.commitment.committed == {str(headers[n].SOPInstanceUID) for n in first}
    assert set(collected.commitment.failed) == {str(headers[n].SOPInstanceUID) for n in second[:-1]}


def test_what_the_archive_lists_only_after_the_series_was_looked_up_is_found_at_the_end(tmp_path: Path) -> None:
    """An archive may answer a C-STORE before a C-FIND lists it (Orthanc did, now and then): the
    series looked up too early is looked up again once the archive answered the commitment."""
    study = make_study(tmp_path / "src", modality="CT", images=3, series=1, seed=73, rows=32, cols=32)
    headers = [dcmread(p, stop_before_pixels=True) for p in study.files]
    port = free_port()
    with OrthancServer(ae_title="HUSPACS", station_ae="MEDIASTATION", station_port=port) as pacs:
        env = Env(DicomNode("HUSPACS", "127.0.0.1", pacs.dicom_port), "MEDIASTATION", port)
        verifier = OverlappedVerifier(
            env, {n: (str(h.StudyInstanceUID), str(h.SeriesInstanceUID)) for n, h in enumerate(headers)},
            {n: (str(h.SOPClassUID), str(h.SOPInstanceUID)) for n, h in enumerate(headers)})
        for n in range(len(headers)):
            verifier.outcome(n, True)  # the store said stored; the archive does not list them yet
        deadline = time.monotonic() + 10
        while not verifier.ready.empty() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # the series' look-up, taken from the queue, has run and found nothing
        assert verifier.collected.archived == {}
        pacs.store(study.files)  # now the archive lists them
        collected = verifier.finish()
    assert collected.error is None
    assert set(collected.archived) == {str(h.SOPInstanceUID) for h in headers}


def test_a_failure_inside_the_worker_is_an_error_not_a_verified_import(tmp_path: Path) -> None:
    study = make_study(tmp_path / "src", modality="CT", images=2, series=1, seed=72, rows=32, cols=32)
    headers = [dcmread(p, stop_before_pixels=True) for p in study.files]
    port = free_port()
    with OrthancServer(ae_title="HUSPACS", station_ae="MEDIASTATION", station_port=port) as pacs:
        pacs.store(study.files)
        env = Env(DicomNode("HUSPACS", "127.0.0.1", pacs.dicom_port), "MEDIASTATION", port)
        verifier = OverlappedVerifier(  # no SOP references: preparing the commitment fails
            env, {n: (str(h.StudyInstanceUID), str(h.SeriesInstanceUID)) for n, h in enumerate(headers)}, {})
        for n in range(len(headers)):
            verifier.outcome(n, True)
        collected = verifier.finish()
    assert collected.error is not None and "verification stopped unexpectedly" in collected.error.message
    assert not verifier.thread.is_alive()


def test_commitment_answers_merge_to_the_worst_state() -> None:
    env = Env(DicomNode("X", "127.0.0.1", 1), "Y", 2)
    one = CommitmentResult("committed", committed={"1"})
    two = CommitmentResult("partial", committed={"2"}, failed={"3": 0x0112}, note="one missing")
    merged = merge_commitments([one, two], env)
    assert isinstance(merged, CommitmentResult)
    assert (merged.state, merged.committed, merged.failed, merged.note) == ("partial", {"1", "2"}, {"3": 0x0112},
                                                                            "one missing")
    assert merge_commitments([], env) == {"state": "nothing_to_commit"}
    assert merge_commitments([one], Env(env.node, "Y", 2, settings=Settings(storage_commitment=False)))["state"] == "off"
