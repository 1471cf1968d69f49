"""Multi-frame images as vendors write them: transcoded a frame at a time, windowed and ordered by
their functional groups, played at their recorded rate (mediastation.dicom.multiframe, transcode,
media.web_pixels)."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import RLELossless, generate_uid

from mediastation.dicom.multiframe import FrameSlot, frame_rate, frame_slots, frame_values
from mediastation.dicom.profiles import STD_GEN_CD, STD_GEN_DVD_J2K
from mediastation.dicom.transcode import conform
from mediastation.media import web, web_pixels
from support import multiframe as mf
from support.viewer_disc import lay_out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, mf.Made]:
    folder = tmp_path_factory.mktemp("multiframe")
    study = generate_uid()
    return {
        "ct": mf.enhanced(folder / "ct", study, modality="CT", frames=5),
        "mr": mf.enhanced(folder / "mr", study, modality="MR", frames=4, syntax=RLELossless, series_number=2),
        "dynamic": mf.enhanced(folder / "dyn", study, modality="MR", frames=3, temporal=2, series_number=5),
        "us": mf.us_cine_jpeg(folder / "us", study, frames=40, rows=240, cols=320),
        "rgb": mf.rgb_cine(folder / "rgb", study),
        "legacy": mf.legacy_converted(folder / "legacy" / "IM1"),
    }


def test_a_jpeg_cine_is_decoded_a_frame_at_a_time_and_stays_lossy(made, tmp_path: Path) -> None:
    """40 frames of 320 x 240 RGB are 9.2 MB decoded; the transcode holds about one of them (230 KB).
    Decoding the instance whole (pydicom's Dataset.decompress) peaks above 18 MB here."""
    source = made["us"].path
    tracemalloc.start()
    try:
        conversion = conform(source, tmp_path / "us", STD_GEN_CD)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert conversion is not None and conversion.lossy
    assert peak < 4 * 1024 * 1024, peak
    out, original = dcmread(tmp_path / "us"), dcmread(source)
    assert out.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert out.PhotometricInterpretation == "RGB" and out.PlanarConfiguration == 0 and out.NumberOfFrames == 40
    assert out.LossyImageCompression == "01" and out.LossyImageCompressionMethod == "ISO_10918_1"
    original.decompress(generate_instance_uid=False)
    assert np.array_equal(out.pixel_array, original.pixel_array)
    assert out.SOPInstanceUID == original.SOPInstanceUID and out.FrameTime == original.FrameTime


def test_an_rle_enhanced_image_keeps_its_functional_groups_and_is_not_marked_lossy(made, tmp_path: Path) -> None:
    conversion = conform(made["mr"].path, tmp_path / "mr", STD_GEN_DVD_J2K)
    assert conversion is not None and not conversion.lossy
    out, original = dcmread(tmp_path / "mr"), dcmread(made["mr"].path)
    assert out.LossyImageCompression == "00"
    assert out.PerFrameFunctionalGroupsSequence == original.PerFrameFunctionalGroupsSequence
    assert np.array_equal(out.pixel_array, original.pixel_array)


def test_window_and_rescale_per_frame_from_the_functional_groups(made) -> None:
    for key in ("ct", "mr", "legacy"):
        info = made[key]
        ds = dcmread(info.path, stop_before_pixels=True)
        assert "WindowCenter" not in ds and "RescaleSlope" not in ds
        values = frame_values(ds, info.frames)
        assert [(v.center, v.width) for v in values] == list(info.windows)
        assert [(v.slope, v.intercept) for v in values] == list(info.rescales)
        frames = list(web_pixels.frames(info.path))  # the preview's and the embedded copy's frames
        assert [(f.center, f.width) for f in frames] == list(info.windows)
        assert [(f.slope, f.intercept) for f in frames] == list(info.rescales)
        stored = dcmread(info.path).pixel_array
        for frame, raw, (slope, intercept) in zip(frames, stored, info.rescales, strict=True):
            np.testing.assert_allclose(frame.modality_values(), raw * slope + intercept)
            assert len(np.unique(web_pixels.grey(frame))) > 16  # neither white nor black


def test_without_any_window_the_preview_uses_the_frames_own_range(made, tmp_path: Path) -> None:
    ds = dcmread(made["ct"].path)
    for item in ds.PerFrameFunctionalGroupsSequence:
        del item.FrameVOILUTSequence
    ds.save_as(tmp_path / "nowindow")
    frame = next(web_pixels.frames(tmp_path / "nowindow"))
    assert frame.center is None
    grey = web_pixels.grey(frame)
    assert grey.min() == 0 and grey.max() == 255 and len(np.unique(grey)) > 16


def test_frames_are_ordered_along_the_stack_and_split_by_temporal_position(made) -> None:
    info = made["dynamic"]
    slots = frame_slots(dcmread(info.path, stop_before_pixels=True), info.frames)
    assert [s.stack for s in slots] == list(info.temporal)
    assert [s.position for s in slots] == list(info.z)  # axial: the position along the normal is z
    assert sorted(slots, key=lambda s: (s.stack, s.position))[0] == FrameSlot(1, min(info.z))


@pytest.mark.parametrize(("values", "frames", "rate"), [
    ({"FrameTime": "40"}, 30, 25.0),
    ({"FrameTimeVector": ["0", "50", "50", "50"]}, 4, 20.0),
    ({"CineRate": "30", "FrameTime": "40"}, 30, 30.0),
    ({"RecommendedDisplayFrameRate": "15", "CineRate": "30"}, 30, 15.0),
    ({"FrameTime": "0"}, 30, None),  # a damaged value: no cine
    ({"FrameTime": "40"}, 1, None),  # one frame: nothing to play
    ({}, 30, None),
])
def test_frame_rate(values: dict, frames: int, rate: float | None) -> None:
    assert frame_rate(values.get, frames) == rate


@dataclass(frozen=True)
class _Study:
    """What support.viewer_disc.lay_out reads of a study: its files (one series per folder) and patient."""

    files: tuple[Path, ...]
    patient_id: str = mf.HETU


def _manifest(root: Path) -> dict:
    text = (root / "IHE_PDI" / "MANIFEST.JS").read_text(encoding="ascii")
    return json.loads(text[text.index("{"):text.rindex("}") + 1])


def _embedded_meta(root: Path, image: dict) -> dict:
    text = (root / image["data"]).read_text(encoding="ascii")
    return json.loads(text[text.index(",") + 1:text.index('},"') + 1])


@pytest.fixture(scope="module")
def disc(made, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("multiframe-disc")
    files = []
    for key, info in made.items():
        target = folder / "src" / key / "IM1"
        target.parent.mkdir(parents=True)
        shutil.copyfile(info.path, target)
        files.append(target)
    return lay_out([_Study(tuple(files))], folder / "tree").root


def test_the_viewer_gets_each_frame_in_stack_order_with_its_own_window(made, disc: Path) -> None:
    series = {s["uid"]: s for st in _manifest(disc)["patients"][0]["studies"] for s in st["series"]
              if not s["stack"] or s["stack"] == "1/1"}
    ct = made["ct"]
    images = series[ct.series_uid]["images"]
    order = sorted(range(ct.frames), key=lambda n: ct.z[n])  # feet to head
    assert [i["frame"] for i in images] == order
    for image in images:
        meta = _embedded_meta(disc, image)
        assert (meta["center"], meta["width"]) == ct.windows[image["frame"]]
        assert (meta["slope"], meta["intercept"]) == ct.rescales[image["frame"]]
    assert series[ct.series_uid]["frameRate"] is None


def test_a_dynamic_series_is_one_stack_per_time_point_and_cines_carry_their_rate(made, disc: Path) -> None:
    entries = [s for st in _manifest(disc)["patients"][0]["studies"] for s in st["series"]]
    dynamic = [s for s in entries if s["uid"] == made["dynamic"].series_uid]
    assert [s["stack"] for s in dynamic] == ["1/2", "2/2"]
    assert len({s["key"] for s in dynamic}) == 2
    for number, stack in enumerate(dynamic, start=1):
        frames = [i["frame"] for i in stack["images"]]
        assert {made["dynamic"].temporal[f] for f in frames} == {number}
        assert [made["dynamic"].z[f] for f in frames] == sorted(made["dynamic"].z[f] for f in frames)
    rates = {s["uid"]: s["frameRate"] for s in entries}
    assert rates[made["us"].series_uid] == pytest.approx(25.0)
    assert rates[made["rgb"].series_uid] == pytest.approx(20.0)
    plain = (disc / "IHE_PDI" / "INDEX.HTM").read_text(encoding="utf-8")
    assert "25 fps" in plain and "20 fps" in plain and "[2/2]" in plain
    for stack in entries:  # the script-free page has a preview of every stack
        assert f'id="{stack["key"].lower()}"' in plain and stack["thumb"]


def test_a_tight_budget_keeps_a_preview_of_every_stack(made, disc: Path, tmp_path: Path) -> None:
    """Over budget, previews are dropped down to one per list entry: each time point and cine loop
    of a series split into stacks keeps its own thumbnail."""
    unlimited = _manifest(disc)
    stacks = [s for st in unlimited["patients"][0]["studies"] for s in st["series"]]
    thumbs = {s["thumb"] for s in stacks}
    previews = [i["preview"] for s in stacks for i in s["images"]]
    dropped = sum(web.blocks((disc / p).stat().st_size) for p in set(previews) - thumbs)
    data = sum(web.blocks((disc / i["data"]).stat().st_size) for s in stacks for i in s["images"])
    used = sum(web.blocks(p.stat().st_size) for p in disc.rglob("*")
               if p.is_file() and p.relative_to(disc).parts[0] in ("IHE_PDI", "VIEWER", "INDEX.HTM"))
    files = tuple(sorted((disc.parent / "src").rglob("IM1")))
    tight = lay_out([_Study(files)], tmp_path / "tree", budget_bytes=used - data - dropped + 8 * web.SECTOR)
    assert tight.report.decision == "picker" and tight.report.previews < len(previews)
    kept = [s for st in _manifest(tight.root)["patients"][0]["studies"] for s in st["series"]]
    assert len(kept) == len(stacks) and all(s["thumb"] and (tight.root / s["thumb"]).is_file() for s in kept)
