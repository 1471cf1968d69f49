"""Plain-ASCII names for robots and volume labels (export_anchors.md B7 36).

Finnish and Swedish names (Mäkelä, Åsa) must not break a robot's job parser or a file system label,
so accents are stripped and everything outside `[A-Za-z0-9_]` becomes `_`.
"""

from __future__ import annotations

import re
import unicodedata

_OTHER = re.compile(r"[^A-Za-z0-9_]+")


def plain_ascii(text: str, max_length: int, *, fallback: str = "MEDIA") -> str:
    """`Mäkelä Åsa/2024` -> `Makela_Asa_2024`, cut to max_length; never empty."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    name = _OTHER.sub("_", stripped.encode("ascii", "ignore").decode("ascii")).strip("_")
    return (name or fallback)[:max_length].rstrip("_") or fallback[:max_length]


def volume_label(text: str, max_length: int = 32) -> str:
    """An ISO 9660 / FAT volume label: upper-case d-characters (FAT allows 11, ISO 9660 32)."""
    return plain_ascii(text, max_length).upper()
