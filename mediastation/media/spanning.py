"""Spanning: which instances go on which disc when a release does not fit on one (b38, b39).

Every disc is a complete file-set of its own, so a disc break may fall anywhere; but a reader is
best served when a study, or at least a series, stays on one disc. The plan therefore breaks at a
study boundary when the whole study fits on a fresh disc, else at a series boundary when the series
fits, and only splits a series between instances when the series alone exceeds a disc.
The newest study goes on disc 1 (b38). Pure: sizes in, plan out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby

from mediastation.errors import MediaStationError

SECTOR = 2048
RECORD_BYTES = 512  # a DICOMDIR record and the file's directory entries, generously


class DoesNotFit(MediaStationError):
    """One instance is larger than the medium: no plan can place it."""

    code = "medium_too_small"


@dataclass(frozen=True)
class Item:
    """One instance to place, in reading order: newest study first, then series, then instance."""

    study_key: str
    series_key: str
    key: str
    bytes: int

    @property
    def footprint(self) -> int:
        """Space on the medium: whole sectors plus its share of directory records."""
        return -(-self.bytes // SECTOR) * SECTOR + RECORD_BYTES


@dataclass
class Disc:
    items: list[Item] = field(default_factory=list)
    used: int = 0


def plan_discs(items: Sequence[Item], *, capacity: int, reserve: int) -> list[list[Item]]:
    """Split `items` (already in reading order) over as few discs as the breaking rules allow.

    `capacity` is the medium's usable bytes, `reserve` what each disc needs besides the instances
    (README, INDEX.HTM, letter, viewer code, file-system structures).
    """
    room = capacity - reserve
    if room <= 0:
        raise DoesNotFit(f"the medium holds {capacity} bytes but each disc needs {reserve} for its documents")
    discs = [Disc()]
    for _study, study_items in groupby(items, key=lambda i: i.study_key):
        study = list(study_items)
        _break_if_whole_fits(discs, study, room)
        for _series, series_items in groupby(study, key=lambda i: i.series_key):
            series = list(series_items)
            _break_if_whole_fits(discs, series, room)
            for item in series:
                _place(discs, item, room)
    return [disc.items for disc in discs if disc.items]


def _size(items: Sequence[Item]) -> int:
    return sum(item.footprint for item in items)


def _break_if_whole_fits(discs: list[Disc], group: Sequence[Item], room: int) -> None:
    """Start a new disc when the group does not fit in what is left but fits on a fresh disc."""
    current = discs[-1]
    size = _size(group)
    if current.items and current.used + size > room and size <= room:
        discs.append(Disc())


def _place(discs: list[Disc], item: Item, room: int) -> None:
    if item.footprint > room:
        raise DoesNotFit(
            f"instance {item.key} needs {item.footprint} bytes but a disc has room for {room}; "
            "choose a larger medium (--medium dvd or usb)")
    if discs[-1].used + item.footprint > room:
        discs.append(Disc())
    discs[-1].items.append(item)
    discs[-1].used += item.footprint
