"""Outside media the way other hospitals and patients bring them, built from synthetic studies and
pydicom's own test files (the difficult cases of docs/import-requirements.md): PDI trees with a DICOMDIR made by DCMTK's
dcmmkdir, ISO images by xorriso (Rock Ridge + Joliet) or pycdlib (plain ISO 9660, `;1` names),
files without preamble, Big Endian, Deflate, compressed syntaxes, zip archives, viewers and HTML.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom import dcmread
from pydicom.data import get_testdata_file

from support.synthetic import StudyInfo, make_study

OUTSIDE_ISSUER = "JORVI-RIS"
OUTSIDE_INSTITUTION = "Jorvin sairaala"


@dataclass(frozen=True)
class OutsideStudy:
    info: StudyInfo
    files: tuple[Path, ...]  # where the instances are on the medium

    @property
    def sop_instance_uids(self) -> tuple[str, ...]:
        return self.info.sop_instance_uids


def outside_study(medium: Path, folder: str, *, patient_id: str = "JOR-4711", patient_name: str = "Virtanen^Ville",
                  birth_date: str = "19800101", sex: str = "M", issuer: str = OUTSIDE_ISSUER, images: int = 3,
                  series: int = 1, transfer_syntax: str = "1.2.840.10008.1.2.1", seed: int | None = None,
                  accession: str = "JOR123", charset: str = "ISO_IR 100", modality: str = "CT") -> OutsideStudy:
    """A study as another hospital wrote it, laid out PDI-style: FOLDER/Snnn/Innnnnnn (no extension)."""
    scratch = medium.parent / f".scratch-{folder.replace('/', '_')}"
    info = make_study(scratch, images=images, series=series, patient_id=patient_id, patient_name=patient_name,
                      transfer_syntax=transfer_syntax, seed=seed, accession=accession, charset=charset,  # type: ignore[arg-type]
                      modality=modality)  # type: ignore[arg-type]
    files = []
    for n, source in enumerate(info.files):
        target = medium / folder / f"S{(n // images) + 1:03d}" / f"I{n + 1:07d}"
        target.parent.mkdir(parents=True, exist_ok=True)
        ds = dcmread(source)
        ds.IssuerOfPatientID = issuer
        ds.PatientBirthDate = birth_date
        ds.PatientSex = sex
        ds.InstitutionName = OUTSIDE_INSTITUTION
        ds.save_as(target, enforce_file_format=True)
        files.append(target)
    shutil.rmtree(scratch, ignore_errors=True)
    return OutsideStudy(info, tuple(files))


def without_preamble(source: Path, target: Path) -> None:
    """The dataset alone: no 128-byte preamble, no DICM, no File Meta Information (catalogue #8)."""
    ds = dcmread(source)
    syntax = ds.file_meta.TransferSyntaxUID
    buffer = io.BytesIO()
    del ds.file_meta
    ds.preamble = None
    pydicom.dcmwrite(buffer, ds, implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian,
                     enforce_file_format=False, force_encoding=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buffer.getvalue())


def restamp(path: Path, **attributes: object) -> None:
    ds = dcmread(path)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def copy_testdata(name: str, target: Path) -> Path:
    """One of pydicom's own test files copied onto the medium."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(get_testdata_file(name), target)
    return target


def make_dicomdir(root: Path) -> Path:
    """DCMTK dcmmkdir over the tree (real tool, as many CD writers use)."""
    result = subprocess.run(["dcmmkdir", "+r", "+id", str(root), "+D", str(root / "DICOMDIR"), "+I", "-Nxc", "-Nec",
                             "-Nrc", "+F", "OUTSIDE", "-q"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and (root / "DICOMDIR").exists(), result.stderr
    return root / "DICOMDIR"


def edit_dicomdir(path: Path, *, shift_offsets: int = 0, reverse: bool = False, drop_lowest: bool = False,
                  file_id_suffix: str = "") -> None:
    """Damage a DICOMDIR the ways catalogue #2-#5 describe."""
    ds = dcmread(path)
    records = list(ds.DirectoryRecordSequence)
    if shift_offsets:
        for record in records:
            for keyword in ("OffsetOfTheNextDirectoryRecord", "OffsetOfReferencedLowerLevelDirectoryEntity"):
                if record.get(keyword):
                    setattr(record, keyword, int(record.get(keyword)) + shift_offsets)
        for keyword in ("OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity",
                        "OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity"):
            setattr(ds, keyword, int(ds.get(keyword)) + shift_offsets)
    if file_id_suffix:
        for record in records:
            if record.get("ReferencedFileID"):
                parts = list(record.ReferencedFileID) if not isinstance(record.ReferencedFileID, str) else [record.ReferencedFileID]
                parts[-1] = parts[-1] + file_id_suffix
                record.ReferencedFileID = parts
    if reverse:
        records.reverse()
    if drop_lowest:
        records = [r for r in records if r.DirectoryRecordType != "IMAGE"][:] + [r for r in records if r.DirectoryRecordType == "IMAGE"][:-1]
    ds.DirectoryRecordSequence = records
    ds.save_as(path, enforce_file_format=True)


def lowercase_tree(root: Path) -> None:
    """What a Linux iso9660 mount without map=n shows: every name in lower case (catalogue #5)."""
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.name != path.name.lower():
            path.rename(path.with_name(path.name.lower()))


def non_dicom_files(root: Path) -> dict[str, str]:
    """A PDI disc's and a vendor viewer's extra files, with the reason the inventory must give."""
    files = {
        "README.TXT": (b"Kuvat CD-levylla. Avaa INDEX.HTM.\r\n", "text"),
        "INDEX.HTM": (b"<!DOCTYPE html><html><body>viewer</body></html>", "html"),
        "AUTORUN.INF": (b"[autorun]\r\nopen=VIEWER/VIEWER.EXE\r\n", "autorun"),
        "VIEWER/VIEWER.EXE": (b"MZ\x90\x00" + bytes(200), "executable"),
        "VIEWER/run.sh": (b"#!/bin/sh\ntouch \"$(dirname \"$0\")/EXECUTED\"\n", "executable"),
        "REPORT.PDF": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "pdf"),
        "EXPORT/IMG0001.JPG": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), "image"),
        "EMPTY.DAT": (b"", "empty"),
    }
    expected = {}
    for name, (content, reason) in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o755)
        expected[name] = reason
    return expected


def xorriso_iso(tree: Path, image: Path, *, volume: str = "OUTSIDE") -> Path:
    """ISO 9660 + Rock Ridge + Joliet, as most burning software writes."""
    result = subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-J", "-V", volume, "-o", str(image), str(tree)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return image


def plain_iso(tree: Path, image: Path) -> Path:
    """ISO 9660 level 1 only (no Rock Ridge, no Joliet): upper-case 8.3 names with `;1` versions."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, vol_ident="OUTSIDE")
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree).as_posix().upper()
        if path.is_dir():
            iso.add_directory("/" + rel)
        else:
            name = rel if "." in rel.rsplit("/", 1)[-1] else rel + "."
            iso.add_file(str(path), "/" + name + ";1")
    iso.write(str(image))
    iso.close()
    return image


def zip_tree(paths: Iterable[tuple[Path, str]], target: Path, *, extra: dict[str, bytes] | None = None) -> Path:
    """A zip with the given files under the given member names, plus raw extra members."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, name in paths:
            archive.write(path, name)
        for name, content in (extra or {}).items():
            info = zipfile.ZipInfo(name)
            archive.writestr(info, content)
    return target


def new_instance_like(source: Path, target: Path, **changes: object) -> None:
    """A different file with the same SOP Instance UID (a conflict) or other changes."""
    ds = dcmread(source)
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)

