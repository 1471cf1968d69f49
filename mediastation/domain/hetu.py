"""The Finnish personal identity code (henkilötunnus, HETU), valid on construction.

Format `DDMMYYCZZZQ` (domain.md §6): C is the century sign (`+` 1800s; `-YXWVU` 1900s; `A-F`
2000s, the extra signs since 2023: two people may differ only in the sign, so it is never
normalised away), ZZZ the individual number (002-899 normal, 900-999 temporary or test codes),
Q the check character over DDMMYYZZZ modulo 31. Used by R10 (the request must carry a valid HETU).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURIES = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
             "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}
# ASCII digits only and \Z, not $: `\d` also matches e.g. Arabic-Indic digits (which int() accepts) and
# `$` matches before a trailing newline, so either would let a second spelling of the same code through.
PATTERN = re.compile(r"\A([0-9]{2})([0-9]{2})([0-9]{2})([-+YXWVUABCDEF])([0-9]{3})([0-9A-Y])\Z")
OID = "1.2.246.21"  # Issuer of Patient ID for a HETU


class InvalidHetu(ValueError):
    """The text is not a valid HETU; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class Hetu:
    """A valid HETU. `Hetu("010594Y9032")` raises InvalidHetu for anything else."""

    code: str

    def __post_init__(self) -> None:
        _validate(self.code)

    def __str__(self) -> str:
        return self.code

    @property
    def birth_date(self) -> date:
        day, month, year, sign = int(self.code[0:2]), int(self.code[2:4]), int(self.code[4:6]), self.code[6]
        return date(CENTURIES[sign] + year, month, day)

    @property
    def individual_number(self) -> int:
        return int(self.code[7:10])

    @property
    def is_temporary(self) -> bool:
        """900-999: temporary or test codes (not a person's permanent identity)."""
        return self.individual_number >= 900


def check_character(ddmmyy: str, individual: str) -> str:
    """The HETU check character for the birth-date digits and the individual number."""
    return CHECK_CHARACTERS[int(ddmmyy + individual) % 31]


def is_valid(code: str) -> bool:
    try:
        _validate(code)
    except InvalidHetu:
        return False
    return True


def _validate(code: object) -> None:
    if not isinstance(code, str):
        raise InvalidHetu(f"a HETU is text, not {type(code).__name__}")
    match = PATTERN.fullmatch(code)
    if match is None:
        raise InvalidHetu(f"{code!r} is not of the form DDMMYYCZZZQ (C one of + - Y X W V U A B C D E F)")
    dd, mm, yy, sign, zzz, check = match.groups()
    try:
        date(CENTURIES[sign] + int(yy), int(mm), int(dd))
    except ValueError:
        raise InvalidHetu(f"{code!r}: {dd}.{mm}.{CENTURIES[sign] + int(yy)} is not a calendar day") from None
    if int(zzz) < 2:
        raise InvalidHetu(f"{code!r}: individual number {zzz} is not issued (002-999)")
    expected = check_character(dd + mm + yy, zzz)
    if check != expected:
        raise InvalidHetu(f"{code!r}: check character is {check!r}, should be {expected!r} (typo in the code?)")
