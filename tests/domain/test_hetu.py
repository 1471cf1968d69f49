"""The HETU value (domain.md §6, used by R10): table tests on the documented examples, then properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediastation.domain.hetu import CENTURIES, CHECK_CHARACTERS, Hetu, InvalidHetu, check_character, is_valid

VALID = [
    # code, birth date, individual number, temporary
    ("131052-308T", date(1952, 10, 13), 308, False),
    ("010594Y9032", date(1994, 5, 1), 903, True),
    ("020516C903K", date(2016, 5, 2), 903, True),
    ("010501E9032", date(2001, 5, 1), 903, True),
]


@pytest.mark.parametrize(("code", "born", "individual", "temporary"), VALID)
def test_documented_examples_are_valid(code: str, born: date, individual: int, temporary: bool) -> None:
    hetu = Hetu(code)
    assert hetu.birth_date == born
    assert hetu.individual_number == individual
    assert hetu.is_temporary is temporary
    assert str(hetu) == code
    assert is_valid(code)


INVALID = [
    # code, a word the message must contain
    ("", "DDMMYYCZZZQ"),
    ("131052-308", "DDMMYYCZZZQ"),  # too short
    ("131052-308TT", "DDMMYYCZZZQ"),  # too long
    ("131052*308T", "DDMMYYCZZZQ"),  # no such century sign
    ("1310521308T", "DDMMYYCZZZQ"),  # digit where the sign goes
    ("131052-308t", "DDMMYYCZZZQ"),  # lower-case check character
    ("010594y9032", "DDMMYYCZZZQ"),  # lower-case century sign
    (" 131052-308T", "DDMMYYCZZZQ"),
    ("131052-308T ", "DDMMYYCZZZQ"),
    ("131052-308T\n", "DDMMYYCZZZQ"),  # `$` used to let this through
    ("131052 -308T", "DDMMYYCZZZQ"),
    ("\u0661\u06633052-308T", "DDMMYYCZZZQ"),  # Arabic-Indic digits: int() reads them, a HETU does not
    ("310252-308T", "not a calendar day"),  # 31.02.
    ("290200-308T", "not a calendar day"),  # 1900 was no leap year
    ("131052-000T", "individual number"),
    ("131052-001T", "individual number"),
    ("131052-308U", "check character"),
    ("010594Y903Z", "DDMMYYCZZZQ"),  # Z is outside the check alphabet and the pattern
    ("010594Y903G", "check character"),  # G passes the pattern, not the check
]


@pytest.mark.parametrize(("code", "problem"), INVALID)
def test_invalid_codes_are_refused_naming_the_problem(code: str, problem: str) -> None:
    with pytest.raises(InvalidHetu, match=problem):
        Hetu(code)
    assert not is_valid(code)


@pytest.mark.parametrize("value", [None, 131052308, b"131052-308T", ["131052-308T"]])
def test_non_text_is_refused(value: object) -> None:
    with pytest.raises(InvalidHetu, match="text, not"):
        Hetu(value)  # type: ignore[arg-type]


def test_invalid_hetu_is_a_value_error() -> None:
    assert issubclass(InvalidHetu, ValueError)


def test_check_character_of_documented_example() -> None:
    assert check_character("131052", "308") == "T"


# --- properties -----------------------------------------------------------------------------------

SIGNS_BY_CENTURY = {century: [s for s, c in CENTURIES.items() if c == century] for century in set(CENTURIES.values())}
# Characters a slip of the finger could plausibly put into a code: digits, every sign, the check alphabet.
ALPHABET = sorted(set("0123456789") | set(CENTURIES) | set(CHECK_CHARACTERS))


def _code(born: date, sign: str, individual: int) -> str:
    ddmmyy = born.strftime("%d%m") + f"{born.year % 100:02d}"
    zzz = f"{individual:03d}"
    return f"{ddmmyy}{sign}{zzz}{check_character(ddmmyy, zzz)}"


@st.composite
def valid_hetus(draw: st.DrawFn) -> tuple[str, date, int]:
    """Any real date 1800-2099 with a sign of its century, an issued individual number, its check."""
    born = draw(st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)))
    sign = draw(st.sampled_from(SIGNS_BY_CENTURY[born.year // 100 * 100]))
    individual = draw(st.integers(min_value=2, max_value=999))
    return _code(born, sign, individual), born, individual


@given(valid_hetus())
def test_every_generated_code_is_valid_and_round_trips(case: tuple[str, date, int]) -> None:
    code, born, individual = case
    hetu = Hetu(code)
    assert hetu.birth_date == born
    assert hetu.individual_number == individual
    assert hetu.is_temporary is (individual >= 900)
    assert str(hetu) == code


@settings(max_examples=300)
@given(valid_hetus(), st.integers(min_value=0, max_value=10), st.sampled_from(ALPHABET))
def test_a_single_character_change_is_caught_or_means_someone_else(
    case: tuple[str, date, int], position: int, replacement: str
) -> None:
    code, _, _ = case
    if code[position] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    changed = code[:position] + replacement + code[position + 1:]
    try:
        other = Hetu(changed)
    except InvalidHetu:
        return
    # Only a century sign can change without breaking the check (a digit change moves the
    # number by k*10^p, never a multiple of the prime 31); the result is another person.
    assert position == 6
    assert other != Hetu(code)
    original = Hetu(code)
    assert (other.birth_date, other.individual_number, other.code[6]) != (
        original.birth_date, original.individual_number, original.code[6])


@given(valid_hetus(), st.data())
def test_signs_of_the_same_century_are_never_normalised(case: tuple[str, date, int], data: st.DataObject) -> None:
    code, born, _ = case
    others = [s for s in SIGNS_BY_CENTURY[born.year // 100 * 100] if s != code[6]]
    if not others:  # the 1800s have only "+"
        return
    sibling = Hetu(code[:6] + data.draw(st.sampled_from(others)) + code[7:])
    assert sibling.birth_date == Hetu(code).birth_date
    assert sibling != Hetu(code)
    assert len({sibling, Hetu(code)}) == 2


def test_dash_and_y_are_two_people() -> None:
    assert Hetu("010594-9032") != Hetu("010594Y9032")
    assert Hetu("010594-9032").birth_date == Hetu("010594Y9032").birth_date
