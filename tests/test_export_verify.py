"""The export's verify stage (workflows/export/verify.py): a large file-set's DICOMDIR is
checked in a worker process while the medium is read back. The worker finds what the check in
line finds, a worker that dies is replaced by the check in line, and a bad file-set is still
reported before a bad medium."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from burners.base import WrittenMedium
from mediastation.dicom.fileset import verify_fileset
from mediastation.dicom.samples import make_study
from mediastation.media.iso import IsoVerificationFailed, build_iso
from mediastation.workflows.export import verify as export_verify
from mediastation.workflows.export.types import Composed, Disc, Packaged, PackagedDisc, Written, WrittenDisc
from support.fileset import stage


def _file_set(tmp_path: Path) -> Path:
    study = make_study(tmp_path / "source", images=4, rows=16, cols=16)
    stage(study.files, tmp_path / "disc", fileset_id="T_1", prefix=("DICOM",))
    return tmp_path / "disc"


def _broken(root: Path) -> Path:
    """A file-set whose DICOMDIR references a file that is gone."""
    next(p for p in sorted((root / "DICOM").rglob("*")) if p.is_file()).unlink()
    return root


@pytest.mark.parametrize("aside", [False, True], ids=["in line", "worker process"])
def test_the_checker_finds_what_verify_fileset_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      aside: bool) -> None:
    monkeypatch.setattr(export_verify, "ASIDE_CHECK_MIN", 0 if aside else 10**9)
    sound = _file_set(tmp_path / "a")
    broken = _broken(_file_set(tmp_path / "b"))
    expected = verify_fileset(broken)
    assert expected and any("missing" in problem for problem in expected)
    with export_verify.file_set_checker(4) as check:
        waiting = [check(sound, None), check(broken, None)]
        assert [problems() for problems in waiting] == [[], expected]


def test_a_worker_that_dies_is_replaced_by_the_check_in_line(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    class DeadPool:
        def __init__(self, **_kwargs: Any) -> None:
            pass

        def submit(self, *_args: Any) -> Future[list[str]]:
            future: Future[list[str]] = Future()
            future.set_exception(BrokenProcessPool("the worker was killed"))
            return future

        def shutdown(self, **_kwargs: Any) -> None:
            pass

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", DeadPool)
    monkeypatch.setattr(export_verify, "ASIDE_CHECK_MIN", 0)
    broken = _broken(_file_set(tmp_path))
    with export_verify.file_set_checker(4) as check:
        assert check(broken, None)() == verify_fileset(broken) != []


def _run(tree: Path, image: Path, sha256: str, *, instances: int) -> SimpleNamespace:
    medium = WrittenMedium(burner="folder", target=str(image.parent), bytes=image.stat().st_size, sha256=sha256,
                           location=str(image))
    return SimpleNamespace(
        env=SimpleNamespace(settings=SimpleNamespace(export=SimpleNamespace(compressed_profile="J2K"))),
        composed=Composed(medium="dvd", profile="STD-GEN-DVD-J2K", discs=[Disc(
            index=1, count=1, fileset_id="T_1", tree=str(tree), instances=instances, studies=[])]),
        packaged=Packaged(images=[PackagedDisc(index=1, image=str(image), sha256=sha256)]),
        written=Written(discs=[WrittenDisc(index=1, medium=medium.to_json())]))


@pytest.mark.parametrize("aside", [False, True], ids=["in line", "worker process"])
def test_a_bad_file_set_is_reported_before_a_bad_medium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        aside: bool) -> None:
    monkeypatch.setattr(export_verify, "ASIDE_CHECK_MIN", 0 if aside else 10**9)
    monkeypatch.setattr(export_verify, "job_burner", lambda job: SimpleNamespace(kind="folder"))
    tree = _file_set(tmp_path)
    image = build_iso(tree, tmp_path / "T_1.iso", volume_id="T_1")
    run = _run(tree, image.path, "0" * 64, instances=4)  # the medium's digest is wrong
    with pytest.raises(IsoVerificationFailed, match="reads back with SHA-256"):
        export_verify.verify(run)  # type: ignore[arg-type]
    _broken(tree)
    with pytest.raises(IsoVerificationFailed, match="disc 1: the file-set is not valid: .*missing"):
        export_verify.verify(run)  # type: ignore[arg-type]
