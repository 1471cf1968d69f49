"""What a multi-frame image says about its frames: window and rescale per frame, the order of the
frames in space and time, and the rate to play them at.

Enhanced objects (Enhanced CT/MR/XA/US, Legacy Converted Enhanced; PS3.3 C.7.6.16) keep these not at
the top level but in the Shared Functional Groups Sequence (5200,9229), for all frames, and the
Per-frame Functional Groups Sequence (5200,9230), one item per frame, which overrides it:
  Frame VOI LUT (0028,9132)             Window Center / Width          PS3.3 C.7.6.16.2.10
  Pixel Value Transformation (0028,9145) Rescale Slope / Intercept     PS3.3 C.7.6.16.2.9
  Plane Position (Patient) (0020,9113)   Image Position (Patient)      PS3.3 C.7.6.16.2.3
  Plane Orientation (Patient) (0020,9116) Image Orientation (Patient)  PS3.3 C.7.6.16.2.4
  Frame Content (0020,9111)              Temporal Position Index       PS3.3 C.7.6.16.2.2
A viewer that reads only the top level finds no window there (the white image of an Enhanced MR
drawn at "L 0 W 1"). Cine timing is top-level: Recommended Display Frame Rate (0008,2144), Cine
Rate (0018,0040), Frame Time (0018,1063), Frame Time Vector (0018,1065) (PS3.3 C.7.6.5, C.7.6.6).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset

SHARED_GROUPS = 0x52009229
PER_FRAME_GROUPS = 0x52009230
FUNCTIONAL_GROUPS = frozenset({SHARED_GROUPS, PER_FRAME_GROUPS})
RATE_KEYWORDS = ("RecommendedDisplayFrameRate", "CineRate", "FrameTime", "FrameTimeVector")
MAX_RATE = 240.0  # frames per second a viewer plays at most; more is a damaged value


@dataclass(frozen=True)
class FrameValues:
    """Window and rescale of one frame; None where no group (nor the top level) gives one."""

    center: float | None = None
    width: float | None = None
    slope: float | None = None
    intercept: float | None = None


@dataclass(frozen=True)
class FrameSlot:
    """Where a frame belongs: its stack (temporal position, or 0) and its place in that stack."""

    stack: int
    position: float


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        value = value[0] if len(value) else None
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and number == number and abs(number) != float("inf") else None


def _item(group: Dataset | None, keyword: str) -> Dataset | None:
    sequence = group.get(keyword) if group is not None else None
    return sequence[0] if sequence else None


def _groups(ds: Dataset) -> tuple[Dataset | None, list[Dataset]]:
    shared = ds.get("SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    return (shared[0] if shared else None), list(per_frame or [])


def _frames(ds: Dataset, count: int) -> Iterator[tuple[Dataset | None, Dataset | None]]:
    """(the frame's own item or None, the shared item or None) for each of `count` frames."""
    shared, per_frame = _groups(ds)
    for index in range(count):
        yield (per_frame[index] if index < len(per_frame) else None), shared


def _lookup(keyword: str, frame: Dataset | None, shared: Dataset | None) -> Dataset | None:
    """The macro item `keyword` of a frame: its own, else the shared one (PS3.3 C.7.6.16.1)."""
    return _item(frame, keyword) or _item(shared, keyword)


def has_functional_groups(ds: Dataset) -> bool:
    return "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds


def frame_values(ds: Dataset, count: int) -> list[FrameValues] | None:
    """Each frame's window and rescale from the functional groups (the frame's own, else the shared
    ones); None when the object has none (the top level applies to every frame). A window narrower
    than 1 is no window (PS3.3 C.11.2.1.2 requires Window Width >= 1)."""
    if not has_functional_groups(ds):
        return None
    out = []
    for frame, shared in _frames(ds, count):
        voi = _lookup("FrameVOILUTSequence", frame, shared)
        rescale = _lookup("PixelValueTransformationSequence", frame, shared)
        center = _number(voi.get("WindowCenter")) if voi is not None else None
        width = _number(voi.get("WindowWidth")) if voi is not None else None
        if center is None or width is None or width < 1:
            center = width = None
        out.append(FrameValues(center, width,
                               _number(rescale.get("RescaleSlope")) if rescale is not None else None,
                               _number(rescale.get("RescaleIntercept")) if rescale is not None else None))
    return out


def frame_slots(ds: Dataset, count: int) -> tuple[FrameSlot, ...] | None:
    """Each frame's stack and place for viewing: stacks by Temporal Position Index (a dynamic series
    is several stacks over time), within a stack by Image Position (Patient) along the normal of
    the image plane (the cross product of the orientation's row and column directions), else by
    In-Stack Position Number, else in stored order. None without functional groups."""
    if not has_functional_groups(ds):
        return None
    slots = []
    for index, (frame, shared) in enumerate(_frames(ds, count)):
        content = _lookup("FrameContentSequence", frame, None)
        position = _lookup("PlanePositionSequence", frame, shared)
        orientation = _lookup("PlaneOrientationSequence", frame, shared)
        stack = _number(content.get("TemporalPositionIndex")) if content is not None else None
        place = _along_normal(position, orientation)
        if place is None and content is not None:
            place = _number(content.get("InStackPositionNumber"))
        slots.append(FrameSlot(int(stack or 0), float(index) if place is None else place))
    return tuple(slots)


def _along_normal(position: Dataset | None, orientation: Dataset | None) -> float | None:
    point = list(position.get("ImagePositionPatient") or []) if position is not None else []
    cosines = list(orientation.get("ImageOrientationPatient") or []) if orientation is not None else []
    if len(point) != 3 or len(cosines) != 6:
        return None
    try:
        x, y, z = (float(v) for v in point)
        r = [float(v) for v in cosines[:3]]
        c = [float(v) for v in cosines[3:]]
    except (TypeError, ValueError):
        return None
    normal = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    return x * normal[0] + y * normal[1] + z * normal[2]


def frame_rate(get: Any, frames: int) -> float | None:
    """Frames per second to play a multi-frame image at, from `get(keyword)`: Recommended Display
    Frame Rate, else Cine Rate, else 1000 / Frame Time (ms), else 1000 / the mean of Frame Time
    Vector's increments (its first value is 0, PS3.3 C.7.6.5.1.2). None for a single frame or
    when nothing usable is given."""
    if frames < 2:
        return None
    for keyword in ("RecommendedDisplayFrameRate", "CineRate"):
        rate = _number(get(keyword))
        if rate is not None and 0 < rate <= MAX_RATE:
            return rate
    frame_time = _number(get("FrameTime"))
    if frame_time is not None and frame_time > 0 and 1000 / frame_time <= MAX_RATE:
        return 1000 / frame_time
    vector = get("FrameTimeVector")
    if vector is not None and not isinstance(vector, str | bytes):
        values = [_number(v) for v in (vector if isinstance(vector, Sequence) else [vector])]
        increments = [v for v in values[1:] if v is not None and v > 0]
        if increments:
            mean = sum(increments) / len(increments)
            if 1000 / mean <= MAX_RATE:
                return 1000 / mean
    return None
