"""domain.reconcile: grouping outside patients, proposing and validating mappings (R-C1..R-C6, R-D1)."""

from __future__ import annotations

import pytest

from mediastation.domain.reconcile import (
    ArchivePatient,
    GroupMapping,
    MappingInvalid,
    PatientIdentity,
    group_keys,
    local_patient,
    normalise_name,
    parse_mapping,
    shared_id_warnings,
    suggest_hetu,
)

HETU = "010594Y9032"  # born 1.5.1994


def identity(pid: str = "X1", issuer: str = "", name: str = "Doe^John", birth: str = "19800101") -> PatientIdentity:
    return PatientIdentity.of(pid, issuer, name, birth)


def test_trailing_carets_and_spaces_do_not_make_another_patient() -> None:
    assert normalise_name("Doe^John^^^ ") == "Doe^John"
    assert identity(name="Doe^John^^") == identity(name="Doe^John")
    assert identity(name="DOE^JOHN") != identity(name="Doe^John")  # letters are kept: never a silent merge


def test_keys_are_stable_whatever_the_order_found() -> None:
    a, b, c = identity("B"), identity("A"), identity("A", name="Other^Name")
    assert group_keys({a, b, c}) == group_keys({c, b, a})
    assert sorted(group_keys({a, b, c}).values()) == ["P1", "P2", "P3"]


def test_same_patient_id_with_another_name_warns_both_groups() -> None:
    keys = group_keys({identity("X1", name="Doe^John"), identity("X1", name="Roe^Jane"), identity("X2")})
    warnings = shared_id_warnings(keys)
    flagged = [key for key, found in warnings.items() if any("X1" in w for w in found)]
    assert len(flagged) == 2
    assert not warnings[keys[identity("X2")]]


def test_missing_patient_id_is_flagged() -> None:
    keys = group_keys({identity("")})
    assert "no Patient ID" in shared_id_warnings(keys)["P1"][0]


@pytest.mark.parametrize("pid, issuer, birth, expected", [
    (HETU, "", "19940501", HETU),
    (HETU, "1.2.246.21", "19940501", HETU),
    ("010594y9032", "", "19940501", HETU),
    (HETU, "", "19940502", None),           # birth date does not match the HETU
    (HETU, "", "", None),                   # nothing to match against
    (HETU, "OTHER-HOSPITAL", "19940501", None),  # somebody else's number that looks like a HETU
    ("010594Y9033", "", "19940501", None),  # wrong check character
])
def test_suggestion_needs_a_valid_hetu_and_its_birth_date(pid: str, issuer: str, birth: str, expected: str | None) -> None:
    assert suggest_hetu(identity(pid, issuer, birth=birth)) == expected


def test_a_valid_mapping_parses() -> None:
    mapping = parse_mapping(["p1=010594y9032"], ["P1=Mäkelä^Aino"], ["P1=19940501"], known_keys={"P1", "P2"},
                            accession="ACC1")
    assert mapping.groups == (GroupMapping("P1", HETU, "Mäkelä^Aino", "19940501"),)
    assert mapping.for_key("P2") is None


def test_every_problem_of_a_mapping_is_named_at_once() -> None:
    with pytest.raises(MappingInvalid) as caught:
        parse_mapping(["P1=010594Y9033", "P9=010594Y9032", "P2"], ["P3=Doe^John"], ["P1=19940231"],
                      known_keys={"P1", "P2", "P3"}, accession="X" * 17)
    text = " | ".join(caught.value.problems)
    for expected in ("--map P1", "P9: no such group", "'P2': expected KEY=VALUE", "--name/--birth-date P3",
                     "--accession"):
        assert expected in text, text


def test_nothing_mapped_is_refused_with_the_way_to_see_the_groups() -> None:
    with pytest.raises(MappingInvalid, match="import scan"):
        parse_mapping([], known_keys={"P1"})


def test_birth_date_contradicting_the_hetu_is_refused() -> None:
    with pytest.raises(MappingInvalid, match="differs from the birth date"):
        parse_mapping([f"P1={HETU}"], birth_dates=["P1=19940502"], known_keys={"P1"})


def test_a_group_mapped_twice_to_different_patients_is_refused() -> None:
    with pytest.raises(MappingInvalid, match="given twice"):
        parse_mapping([f"P1={HETU}", "P1=131052-308T"], known_keys={"P1"})


def test_fingerprint_changes_with_the_mapping() -> None:
    one = parse_mapping([f"P1={HETU}"], known_keys={"P1"})
    assert one.fingerprint() == parse_mapping([f"p1={HETU.lower()}"], known_keys={"P1"}).fingerprint()
    assert one.fingerprint() != parse_mapping([f"P1={HETU}"], known_keys={"P1"}, accession="A").fingerprint()


def test_local_identity_comes_from_the_archive_when_it_knows_the_patient() -> None:
    resolution = local_patient(GroupMapping("P1", HETU, "Wrong^Name"), identity(birth="19940501"),
                               ArchivePatient("Mäkelä^Aino", "19940501", "F"))
    assert resolution.patient is not None
    assert (resolution.patient.name, resolution.patient.sex, resolution.patient.source) == ("Mäkelä^Aino", "F", "pacs")
    assert any("archive's name is used" in w for w in resolution.warnings)


def test_unknown_patient_needs_the_operators_name() -> None:
    resolution = local_patient(GroupMapping("P1", HETU), identity(), None)
    assert resolution.patient is None and "--name P1=" in resolution.problems[0]
    resolution = local_patient(GroupMapping("P1", HETU, "Mäkelä^Aino^^"), identity(birth="19800101"), None)
    assert resolution.patient is not None
    assert (resolution.patient.name, resolution.patient.birth_date, resolution.patient.sex) == ("Mäkelä^Aino", "19940501", None)
    assert any("birth date 19800101" in w for w in resolution.warnings)
