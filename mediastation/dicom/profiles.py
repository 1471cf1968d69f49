"""PS3.11 general-purpose application profiles: which transfer syntaxes a medium may carry (§b11-14).

The sets are those of PS3.11 Table H.3-1 for the profiles the station offers. A plain PDI CD is
uncompressed (STD-GEN-CD); the DVD and USB profiles add the JPEG or the JPEG 2000 family, which
every reader of those profiles must decode. The DICOMDIR itself is always Explicit VR Little Endian.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mediastation.errors import InputError

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_2000 = "1.2.840.10008.1.2.4.91"

MediumKind = Literal["cd", "dvd", "dvd-dl", "usb"]
Flavour = Literal["JPEG", "J2K"]
Choice = Literal["auto", "JPEG", "J2K"]  # [export] compressed_profile

_JPEG = frozenset({EXPLICIT_VR_LITTLE_ENDIAN, JPEG_LOSSLESS_SV1, JPEG_BASELINE, JPEG_EXTENDED})
_J2K = frozenset({EXPLICIT_VR_LITTLE_ENDIAN, JPEG_2000_LOSSLESS, JPEG_2000})


@dataclass(frozen=True)
class Profile:
    """A PS3.11 application profile: its name and the transfer syntaxes its files may use."""

    name: str
    transfer_syntaxes: frozenset[str]
    description: str

    def allows(self, transfer_syntax: str) -> bool:
        return transfer_syntax in self.transfer_syntaxes


STD_GEN_CD = Profile("STD-GEN-CD", frozenset({EXPLICIT_VR_LITTLE_ENDIAN}),
                     "General Purpose CD-R Interchange: uncompressed (Explicit VR Little Endian) only")
STD_GEN_DVD_JPEG = Profile("STD-GEN-DVD-JPEG", _JPEG,
                           "General Purpose DVD with JPEG: uncompressed, JPEG lossless SV1, baseline, extended")
STD_GEN_DVD_J2K = Profile("STD-GEN-DVD-J2K", _J2K,
                          "General Purpose DVD with JPEG 2000: uncompressed, JPEG 2000 lossless and lossy")
STD_GEN_USB_JPEG = Profile("STD-GEN-USB-JPEG", _JPEG,
                           "General Purpose USB and Flash Memory with JPEG: same syntaxes as STD-GEN-DVD-JPEG")
STD_GEN_USB_J2K = Profile("STD-GEN-USB-J2K", _J2K,
                          "General Purpose USB and Flash Memory with JPEG 2000: same syntaxes as STD-GEN-DVD-J2K")

PROFILES: dict[str, Profile] = {p.name: p for p in (
    STD_GEN_CD, STD_GEN_DVD_JPEG, STD_GEN_DVD_J2K, STD_GEN_USB_JPEG, STD_GEN_USB_J2K)}


def profile_named(name: str) -> Profile:
    """The profile called `name` (case-insensitive); a clear refusal naming the choices otherwise."""
    profile = PROFILES.get(name.strip().upper())
    if profile is None:
        raise InputError(f"unknown application profile {name!r}; use one of: {', '.join(PROFILES)}")
    return profile


def fewest_conversions(transfer_syntaxes: Iterable[str]) -> Flavour:
    """The flavour of DVD/USB profile under which the fewest of these instances must be converted
    (§b11-14): content already in JPEG baseline goes on a JPEG medium as it is, JPEG 2000 on a J2K
    one, instead of decoding a lossy image to a far larger uncompressed copy for nothing. A tie
    (for instance all uncompressed) keeps J2K, the profile the station used before it chose."""
    syntaxes = list(transfer_syntaxes)
    jpeg = sum(1 for syntax in syntaxes if syntax not in _JPEG)
    j2k = sum(1 for syntax in syntaxes if syntax not in _J2K)
    return "JPEG" if jpeg < j2k else "J2K"


def profile_for_medium(kind: MediumKind | str, flavour: Choice | str = "J2K",
                       transfer_syntaxes: Iterable[str] = ()) -> Profile:
    """The profile a medium gets (§b11): CD is always STD-GEN-CD; DVD (also dual layer) and USB
    take the JPEG or the JPEG 2000 general-purpose profile, as configured; `auto` takes the one
    under which the fewest of `transfer_syntaxes` (the content's) need converting."""
    kind = kind.lower()
    flavour = flavour.upper()
    if flavour == "AUTO":
        flavour = fewest_conversions(transfer_syntaxes) if kind != "cd" else "J2K"
    if flavour not in ("JPEG", "J2K"):
        raise InputError(f"unknown profile flavour {flavour!r}; use auto, JPEG or J2K")
    if kind == "cd":
        return STD_GEN_CD
    if kind in ("dvd", "dvd-dl"):
        return STD_GEN_DVD_JPEG if flavour == "JPEG" else STD_GEN_DVD_J2K
    if kind == "usb":
        return STD_GEN_USB_JPEG if flavour == "JPEG" else STD_GEN_USB_J2K
    raise InputError(f"unknown medium kind {kind!r}; use cd, dvd, dvd-dl or usb")
