"""The viewer's quick paths (media/web_pixels.py `_plain_frames`, media/web.py `_header_data_set`):
plain native greyscale frames read straight from the file are exactly pydicom's (values, type,
bit correction, window, rescale), the header pass gives the layout exactly what dcmread gives, and
everything else still goes through pydicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from mediastation.media import web, web_pixels

BUNDLED = ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "rtdose.dcm",
           "MR_small_RLE.dcm", "JPEG2000.dcm", "SC_rgb_small_odd.dcm"]
PLAIN = {"CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm"}


def _bundled(name: str) -> Path:
    path = get_testdata_file(name, download=False)  # installed with pydicom; never fetched
    assert path is not None, name
    return Path(path)


def _pydicom_frames(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[web_pixels.Frame]:
    with monkeypatch.context() as patch:
        patch.setattr(web_pixels, "_plain_frames", lambda _source: None)
        return list(web_pixels.frames(path))


def _same(ours: list[web_pixels.Frame], theirs: list[web_pixels.Frame]) -> bool:
    return len(ours) == len(theirs) and all(
        a.stored.dtype == b.stored.dtype and np.array_equal(a.stored, b.stored)
        and (a.slope, a.intercept, a.photometric, a.center, a.width) == (b.slope, b.intercept, b.photometric,
                                                                         b.center, b.width)
        for a, b in zip(ours, theirs, strict=True))


def _synthetic(path: Path, *, bits: int, stored: int, signed: bool, frames: int = 1, implicit: bool = False,
               photometric: str = "MONOCHROME2", rows: int = 7, columns: int = 5) -> Path:
    """A greyscale instance whose unused high bits are set: the reader must mask them as pydicom does."""
    rng = np.random.default_rng(bits * 100 + stored + frames)
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    samples = rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, size=(frames, rows, columns), dtype=dtype,
                           endpoint=True)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.PatientName, ds.PatientID, ds.Modality = "Virtanen^Ville", "X1", "OT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored = rows, columns, bits, stored
    ds.HighBit, ds.PixelRepresentation = stored - 1, int(signed)
    ds.RescaleSlope, ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = "2", "-1024", ["40", "50"], ["400", "500"]
    if frames > 1:
        ds.NumberOfFrames = frames
    payload = samples.tobytes()
    ds.PixelData = payload + (b"\0" if len(payload) % 2 else b"")
    ds.save_as(path, enforce_file_format=True, implicit_vr=implicit, little_endian=True)
    return path


@pytest.mark.parametrize("name", BUNDLED)
def test_library_files_give_pydicoms_frames(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bundled(name)
    assert (web_pixels._plain_frames(path) is not None) == (name in PLAIN)  # the quick path is taken where it can be
    assert _same(list(web_pixels.frames(path)), _pydicom_frames(path, monkeypatch))


@pytest.mark.parametrize(("bits", "stored", "signed", "frames", "implicit", "photometric", "rows"), [
    (16, 12, False, 1, False, "MONOCHROME2", 7), (16, 12, True, 1, False, "MONOCHROME2", 7),
    (16, 16, True, 3, True, "MONOCHROME1", 7), (8, 6, True, 2, False, "MONOCHROME2", 7),
    (8, 8, False, 1, True, "MONOCHROME2", 3)])  # 3 x 5 bytes: an odd length with its padding byte
def test_plain_frames_keep_pydicoms_bit_correction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bits: int,
                                                   stored: int, signed: bool, frames: int, implicit: bool,
                                                   photometric: str, rows: int) -> None:
    path = _synthetic(tmp_path / "x.dcm", bits=bits, stored=stored, signed=signed, frames=frames, implicit=implicit,
                      photometric=photometric, rows=rows)
    assert web_pixels._plain_frames(path) is not None
    ours = list(web_pixels.frames(path))
    assert len(ours) == frames and _same(ours, _pydicom_frames(path, monkeypatch))
    if stored < bits:  # the unused bits were set in the file and are gone
        limit = 1 << (stored - 1 if signed else stored)
        assert all(int(np.abs(f.stored.astype(np.int64)).max()) <= limit for f in ours)


def test_a_frame_shorter_than_its_header_says_is_left_to_pydicom(tmp_path: Path) -> None:
    path = _synthetic(tmp_path / "x.dcm", bits=16, stored=12, signed=False)
    ds = dcmread(path)
    ds.Rows = 9  # more rows than the pixel data holds
    ds.save_as(path)
    assert web_pixels._plain_frames(path) is None


@pytest.mark.parametrize("path", [*(str(_bundled(n)) for n in BUNDLED), *get_charset_files("chr*.dcm")],
                         ids=lambda p: Path(p).name)
def test_the_header_pass_reads_what_dcmread_reads(path: str) -> None:
    assert web._header(web._header_values(Path(path))) == _dcmread_header(path)


def _dcmread_header(path: Path | str) -> web._Header | None:
    return web._header(web._Values.of(dcmread(path, stop_before_pixels=True)))


# raw values the quick decoder must read as pydicom does, or leave to pydicom (tag, VR, bytes)
ODD_VALUES = {
    "padding": [(0x00100020, "LO", b" ID 7  "), (0x00080018, "UI", b"1.2.3.4\0"), (0x00100040, "CS", b"F ")],
    "integers": [(0x00200011, "IS", b" +12 "), (0x00200013, "IS", b"007 "), (0x00280008, "IS", b"3 ")],
    "not plain integers": [(0x00200011, "IS", b"1.0 "), (0x00200013, "IS", b"-0")],
    "empty": [(0x00200011, "IS", b""), (0x00081030, "LO", b""), (0x00100010, "PN", b"")],
    "several values": [(0x00200013, "IS", b"1\\2 "), (0x0008103E, "LO", b"A\\B"), (0x00080060, "CS", b"CT\\MR")],
    "latin-1 text": [(0x00080005, "CS", b"ISO_IR 100"), (0x00100010, "PN", "Mäkelä^Åsa".encode("latin-1")),
                     (0x00081030, "LO", "TT KEUHKOT ÄÖ ".encode("latin-1"))],
    "utf-8 text": [(0x00080005, "CS", b"ISO_IR 192"), (0x00100010, "PN", "Mäkelä^Åsa=まきら".encode())],
    "another VR": [(0x00280010, "SS", b"\x07\x00"), (0x00100040, "LO", b"M ")],
    "nul inside": [(0x0008103E, "LO", b"AB\x00C")],
}


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
@pytest.mark.parametrize("case", sorted(ODD_VALUES))
def test_the_quick_header_decodes_odd_values_as_pydicom_does(tmp_path: Path, case: str, implicit: bool) -> None:
    path = _synthetic(tmp_path / "x.dcm", bits=16, stored=12, signed=False, frames=3, implicit=implicit)
    ds = dcmread(path)
    for tag, vr, value in ODD_VALUES[case]:
        value += b" " if len(value) % 2 else b""
        ds._dict[Tag(tag)] = RawDataElement(Tag(tag), vr, len(value), value, 0, implicit, True)  # bytes as given
    ds.save_as(path, implicit_vr=implicit, little_endian=True)
    assert web._header(web._header_values(path)) == _dcmread_header(path)


def test_plain_values_are_decoded_without_pydicom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _synthetic(tmp_path / "x.dcm", bits=16, stored=12, signed=False)
    expected = _dcmread_header(path)
    monkeypatch.setattr(web_pixels, "raw_dataset", lambda *a, **k: pytest.fail("pydicom asked for plain values"))
    assert web._header(web._header_values(path)) == expected
    assert expected is not None and expected.patient[:2] == ("X1", "Virtanen^Ville") and expected.frames == 1
