"""The decision engine (R2-R19), table-driven: each rule and each combination that changes the outcome."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timezone
from typing import Any

import pytest

from mediastation.domain.policy import ElectronicDestination, LegalBasis, ReleasePolicy
from mediastation.domain.release import Decision, Reason, decide
from mediastation.domain.request import ReleaseRequest, parse_request

POLICY = ReleasePolicy.default()
THURSDAY_MORNING = "2026-11-26T09:12:00+02:00"  # office hours (R9)

# A complete request that is released on CD: consent to a private provider, posted (R8, R16).
BASE: dict[str, Any] = {
    "received_at": THURSDAY_MORNING,
    "patient": {"name": "Mäkelä^Aino", "hetu": "010594Y9032"},
    "no_prohibition": {"confirmed": True, "confirmed_by": "Liisa Virtanen"},
    "requester": {"unit": "Terveystalo Kamppi", "person": "Liisa Virtanen"},
    "basis": {"kind": "consent", "reference": "HUS consent form 2026-11-25"},
    "destination": {"kind": "service_provider", "name": "Terveystalo Kamppi", "participates_in_care": True,
                    "address": {"name": "Terveystalo Kamppi", "street": "Jaakonkatu 3", "postal_code": "00100",
                                "city": "Helsinki"}},
    "studies": [{"accession_number": "HUS123456", "study_description": "TT VATSA",
                 "study_datetime": "2026-11-20T10:31:00"}],
}

CARE = {"basis.kind": "care", "basis.reference": ""}
HELSINKI_CARE = {**CARE, "destination.county": "Helsinki", "destination.name": "Kalasataman terveysasema"}
NODE = {"ae_title": "REMOTE", "host": "pacs.example", "port": 104}


def request(**changes: Any) -> ReleaseRequest:
    """BASE with dotted-path changes (`studies.0.register="X"`); value DROP removes the key."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        key: Any = int(last) if last.isdigit() else last
        if value is DROP:
            del node[key]
        else:
            node[key] = value
    return parse_request(json.dumps(data))


DROP = object()


def changes(**kw: Any) -> dict[str, Any]:
    """Dotted paths as keyword names: `c(basis__kind="care")` -> {"basis.kind": "care"}."""
    return {k.replace("__", "."): v for k, v in kw.items()}


def run(change: dict[str, Any], policy: ReleasePolicy = POLICY, **kw: Any) -> Decision:
    return decide(request(**change), policy, **kw)


# --- refused (R7, R10, R11) -----------------------------------------------------------------------

@pytest.mark.parametrize("path, field", [
    ("patient.name", "patient.name"),
    ("patient.hetu", "patient.hetu"),
    ("requester.unit", "requester.unit"),
    ("requester.person", "requester.person"),
    ("basis.kind", "basis.kind"),
    ("destination.kind", "destination.kind"),
    ("destination.name", "destination.name"),
    ("studies", "studies"),
    ("studies.0.accession_number", "studies[0].accession_number"),
    ("studies.0.study_description", "studies[0].study_description"),
    ("studies.0.study_datetime", "studies[0].study_datetime"),
    ("no_prohibition.confirmed_by", "no_prohibition.confirmed_by"),
])
@pytest.mark.parametrize("absent", [DROP, None, ""])
def test_each_missing_item_is_refused_by_name(path: str, field: str, absent: object) -> None:
    """R10: absent, null or empty, each missing item gets its own missing_field reason."""
    decision = run({path: absent})
    assert decision.decision == "refused"
    missing = [r for r in decision.reasons if r.code == "missing_field"]
    assert [r.field for r in missing] == [field]
    assert field in missing[0].message
    assert missing[0].rule in ("R10", "R11")
    assert (decision.channel, decision.billable, decision.earliest_delivery) == (None, False, None)


def test_statutory_basis_without_its_code_is_missing() -> None:
    decision = run(changes(basis__kind="statutory", basis__reference=""))
    assert [(r.code, r.field) for r in decision.reasons] == [("missing_field", "basis.reference")]


def test_every_missing_item_is_named_at_once() -> None:
    """R10: one reply to the requester fixes all of them."""
    decision = decide(parse_request('{"received_at": "%s", "studies": [{}, {"accession_number": "A2"}]}'
                                    % THURSDAY_MORNING), POLICY)
    fields = [r.field for r in decision.reasons if r.code == "missing_field"]
    assert fields == [
        "patient.name", "patient.hetu", "no_prohibition.confirmed", "requester.unit", "requester.person",
        "basis.kind", "destination.kind", "destination.name",
        "studies[0].accession_number", "studies[0].study_description", "studies[0].study_datetime",
        "studies[1].study_description", "studies[1].study_datetime"]
    assert decision.decision == "refused"


@pytest.mark.parametrize("hetu", ["010594Y9033", "310294-123X", "010594Q9032", "0105949032", "010594y9032"])
def test_invalid_hetu_is_refused(hetu: str) -> None:
    decision = run({"patient.hetu": hetu})
    assert decision.decision == "refused"
    assert [(r.code, r.rule, r.field) for r in decision.reasons] == [("invalid_hetu", "R10", "patient.hetu")]


@pytest.mark.parametrize("hetu", ["010594Y9032", "020516C903K", "010501E9032", "131052-308T"])
def test_valid_hetus_pass(hetu: str) -> None:
    assert run({"patient.hetu": hetu}).decision == "release"


@pytest.mark.parametrize("statement, expected", [
    ({"confirmed": False, "confirmed_by": "Liisa Virtanen"}, [("prohibited", "R7", "no_prohibition.confirmed")]),
    ({"confirmed": True}, [("missing_field", "R11", "no_prohibition.confirmed_by"),
                           ("prohibited", "R11", "no_prohibition.confirmed_by")]),
    ({"confirmed_by": "Liisa Virtanen"}, [("missing_field", "R10", "no_prohibition.confirmed"),
                                          ("prohibited", "R7", "no_prohibition.confirmed")]),
    (DROP, [("missing_field", "R10", "no_prohibition.confirmed"), ("prohibited", "R7", "no_prohibition.confirmed")]),
])
def test_prohibition_not_ruled_out_is_refused(statement: Any, expected: list[tuple[str, str, str]]) -> None:
    """R7, R11: no release unless the requester confirmed there is no prohibition and said who checked."""
    decision = run({"no_prohibition": statement})
    assert decision.decision == "refused"
    assert [(r.code, r.rule, r.field) for r in decision.reasons] == expected


@pytest.mark.parametrize("change", [{}, HELSINKI_CARE, {"content": "reports_only"}])
def test_prohibition_blocks_even_what_needs_no_release(change: dict[str, Any]) -> None:
    """R2 holds 'unless the patient has prohibited release'; refusals come before routes too."""
    decision = run({**change, "no_prohibition.confirmed": False})
    assert decision.decision == "refused"
    assert "prohibited" in decision.codes


def test_unknown_register_lists_the_known_ones() -> None:
    decision = run({"studies.0.register": "Pirkanmaa"})
    (reason,) = decision.reasons
    assert (decision.decision, reason.code, reason.field) == ("refused", "unknown_register", "studies[0].register")
    assert all(r.code in reason.message for r in POLICY.registers)


def test_unknown_destination_register_is_refused() -> None:
    decision = run(changes(destination__kind="register", destination__name="Pirkanmaa", channel="auto"))
    assert [(r.code, r.field) for r in decision.reasons] == [("unknown_register", "destination.name")]


def test_unknown_legal_basis_lists_the_configured_ones() -> None:
    decision = run(changes(basis__kind="statutory", basis__reference="tax-office"))
    (reason,) = decision.reasons
    assert (decision.decision, reason.code, reason.field) == ("refused", "unknown_legal_basis", "basis.reference")
    assert all(b.code in reason.message for b in POLICY.legal_bases)


@pytest.mark.parametrize("change, code", [
    (changes(channel="register_copy"), "channel_not_possible"),
    (changes(destination__kind="register", destination__name="Kymenlaakso", channel="cd"), "channel_not_possible"),
    (changes(channel="electronic"), "no_electronic_link"),
])
def test_channel_that_cannot_reach_the_destination_is_refused(change: dict[str, Any], code: str) -> None:
    decision = run(change)
    assert decision.decision == "refused"
    assert [(r.code, r.field) for r in decision.reasons] == [(code, "channel")]


def test_all_refusal_reasons_are_collected_together() -> None:
    decision = run(changes(patient__hetu="010594Y9033", no_prohibition__confirmed=False, requester__person="",
                           studies=[{"accession_number": "A1", "study_description": "RTG", "register": "X"}]))
    assert decision.codes == ("missing_field", "missing_field", "invalid_hetu", "prohibited", "unknown_register")
    assert [r.field for r in decision.reasons][:2] == ["requester.person", "studies[0].study_datetime"]


# --- route (R3, R9, R12) --------------------------------------------------------------------------

@pytest.mark.parametrize("register, code, rule, where", [
    ("Puolustusvoimat", "defence_forces_register", "R3", "Defence Forces unit"),
    ("HUS-tyoterveyshuolto", "occupational_health_register", "R3", "occupational health"),
    ("Kymenlaakso", "own_xray_unit", "R9", "Kymenlaakso"),
    ("Etela-Karjala", "own_xray_unit", "R9", "South Karelia"),
])
@pytest.mark.parametrize("change", [{}, HELSINKI_CARE, CARE, changes(basis__kind="consent", basis__reference="")])
def test_studies_of_routed_registers_are_routed(register: str, code: str, rule: str, where: str,
                                                 change: dict[str, Any]) -> None:
    """R3 before R2 and R8: the station does not release these, whoever asks and on what basis."""
    decision = run({**change, "studies.0.register": register})
    (reason,) = decision.reasons
    assert (decision.decision, reason.code, reason.rule) == ("route", code, rule)
    assert reason.where is not None and where in reason.where
    assert (decision.channel, decision.billable, decision.earliest_delivery) == (None, False, None)


def test_one_routed_study_routes_the_request() -> None:
    second = {"accession_number": "PV1", "study_description": "RTG NILKKA", "study_datetime": "2026-11-21T08:00:00",
              "register": "Puolustusvoimat"}
    decision = run({"studies": [BASE["studies"][0], second]})
    (reason,) = decision.reasons
    assert (decision.decision, reason.field) == ("route", "studies[1].register")
    assert "separately" in reason.message


@pytest.mark.parametrize("register, archive", [("HUS-yhtyma", "HUS"), ("Kymenlaakso", "Kotka"),
                                               ("Etela-Karjala", "Lappeenranta")])
@pytest.mark.parametrize("change", [{}, HELSINKI_CARE, changes(channel="usb")])
def test_reports_only_goes_to_the_hospital_archive(register: str, archive: str, change: dict[str, Any]) -> None:
    """R12: referral and report only -> the hospital archive of the study's register."""
    decision = run({**change, "content": "reports_only", "studies.0.register": register})
    (reason,) = decision.reasons
    assert (decision.decision, reason.code, reason.rule) == ("route", "reports_only", "R12")
    assert reason.where is not None and reason.where.startswith(archive)


# --- no release needed (R2) -----------------------------------------------------------------------

@pytest.mark.parametrize("county", ["Helsinki", "HUS", "Itä-Uusimaa", "ita-uusimaa", "Keski-Uusimaa",
                                    "Länsi-Uusimaa", "LANSI UUSIMAA", "Vantaa-Kerava"])
@pytest.mark.parametrize("treating", [CARE, changes(basis__kind="consent", basis__reference="",
                                                    destination__participates_in_care=True)])
def test_uusimaa_party_treating_the_patient_needs_no_release(county: str, treating: dict[str, Any]) -> None:
    decision = run({**treating, "destination.county": county})
    (reason,) = decision.reasons
    assert (decision.decision, reason.code, reason.rule) == ("no_release_needed", "uusimaa_care_access", "R2")
    assert (decision.channel, decision.billable, decision.earliest_delivery) == (None, False, None)


def test_register_copy_to_the_hus_register_for_care_needs_no_release() -> None:
    decision = run({**CARE, "destination.kind": "register", "destination.name": "HUS-yhtyma"})
    assert decision.decision == "no_release_needed"


@pytest.mark.parametrize("change, outcome", [
    # An Uusimaa party not treating the patient: its statutory basis decides (R8 c), not R2.
    (changes(destination__county="Helsinki", destination__kind="authority", destination__participates_in_care=False,
             basis__kind="statutory", basis__reference="police"), "release"),
    (changes(destination__county="Helsinki", destination__participates_in_care=False,
             basis__kind="consent", basis__reference=""), "needs_consent"),
    # Another county or a private provider treating the patient still needs consent (R8).
    ({**CARE, "destination.county": "Kymenlaakso"}, "needs_consent"),
    ({**CARE, "destination.county": "Pirkanmaa"}, "needs_consent"),
    ({**CARE, "destination.county": ""}, "needs_consent"),
    ({**CARE, "destination.kind": "register", "destination.name": "Kymenlaakso"}, "needs_consent"),
    # ... unless it treats the patient on HUS's commission (R8 b).
    ({**CARE, "destination.county": "Kymenlaakso", "destination.on_hus_commission": True}, "release"),
])
def test_outside_r2(change: dict[str, Any], outcome: str) -> None:
    assert run(change).decision == outcome


# --- consent (R8) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("change, outcome", [
    (changes(basis__kind="consent", basis__reference="HUS consent 2026-11-25"), "release"),
    (changes(basis__kind="consent", basis__reference=""), "needs_consent"),
    ({**CARE}, "needs_consent"),  # the interfaces.md example: private provider treating the patient
    ({**CARE, "destination.on_hus_commission": True}, "release"),  # R8 b
    (changes(basis__kind="statutory", basis__reference="accident-insurance", destination__kind="insurer"), "release"),
    (changes(basis__kind="statutory", basis__reference="police", destination__kind="authority"), "release"),
    (changes(basis__kind="statutory", basis__reference="court", destination__kind="authority"), "release"),
    (changes(basis__kind="statutory", basis__reference="kela", destination__kind="authority"), "release"),
    (changes(basis__kind="statutory", basis__reference="patient-insurance", destination__kind="insurer"), "release"),
    (changes(basis__kind="statutory", basis__reference="supervision", destination__kind="authority"), "release"),
    (changes(basis__kind="patient_own", basis__reference="", destination__kind="patient"), "release"),  # R8 d
    (changes(basis__kind="patient_own", basis__reference="valtakirja 2026-11-20",
             destination__kind="authorised_person"), "release"),
    (changes(basis__kind="patient_own", basis__reference="", destination__kind="authorised_person"), "needs_consent"),
    (changes(basis__kind="patient_own", basis__reference="", destination__kind="service_provider"), "needs_consent"),
    (changes(basis__kind="care", destination__kind="insurer", destination__participates_in_care=False),
     "needs_consent"),
])
def test_consent_and_its_exceptions(change: dict[str, Any], outcome: str) -> None:
    decision = run(change)
    assert decision.decision == outcome
    if outcome == "needs_consent":
        (reason,) = decision.reasons
        assert (reason.code, reason.rule) == ("consent_required", "R8")
        assert "consent" in reason.message


def test_configured_basis_that_needs_consent_does_not_waive_it() -> None:
    policy = ReleasePolicy(legal_bases=(LegalBasis("research", "Toisiolaki 552/2019", "Tutkimus", "Forskning",
                                                   "Research", consent_needed=True),))
    decision = run(changes(basis__kind="statutory", basis__reference="research"), policy)
    assert (decision.decision, decision.codes) == ("needs_consent", ("consent_required",))


# --- channel and billing (R5, R6, R17) ------------------------------------------------------------

LINKED = ReleasePolicy(electronic_destinations=(ElectronicDestination("Terveystalo Kamppi", "TT_KAMPPI",
                                                                      "pacs.terveystalo.example", 104),))


@pytest.mark.parametrize("change, policy, study_bytes, channel, billable, codes", [
    ({}, POLICY, None, "cd", True, ("postal_delivery_week",)),
    ({"destination.dicom_node": NODE}, POLICY, None, "electronic", False, ("electronic_preferred",)),
    ({}, LINKED, None, "electronic", False, ("electronic_preferred",)),
    ({"destination.name": "TERVEYSTALO  kamppi"}, LINKED, None, "electronic", False, ("electronic_preferred",)),
    ({"destination.dicom_node": NODE, "channel": "electronic"}, POLICY, None, "electronic", False,
     ("electronic_preferred",)),
    ({"destination.dicom_node": NODE, "channel": "cd"}, POLICY, None, "cd", True, ("postal_delivery_week",)),
    ({"channel": "usb"}, LINKED, None, "usb", True, ("postal_delivery_week",)),
    ({"channel": "dvd"}, POLICY, 10, "dvd", True, ("postal_delivery_week",)),
    ({}, POLICY, POLICY.cd_capacity_bytes, "cd", True, ("postal_delivery_week",)),
    ({}, POLICY, POLICY.cd_capacity_bytes + 1, "dvd", True, ("dvd_capacity", "postal_delivery_week")),
    ({"channel": "cd"}, POLICY, POLICY.cd_capacity_bytes * 3, "cd", True, ("postal_delivery_week",)),
    ({"destination.dicom_node": NODE}, POLICY, 10 ** 10, "electronic", False, ("electronic_preferred",)),
    (changes(destination__kind="register", destination__name="Kymenlaakso"), POLICY, None, "register_copy", False,
     ("register_copy",)),
    (changes(destination__kind="register", destination__name="Kymenlaakso", channel="register_copy"), POLICY, None,
     "register_copy", False, ("register_copy",)),
])
def test_channel_and_billing(change: dict[str, Any], policy: ReleasePolicy, study_bytes: int | None,
                             channel: str, billable: bool, codes: tuple[str, ...]) -> None:
    """R6: electronic when a link exists (and channel auto); media otherwise; R17: only media billed."""
    decision = run(change, policy, study_bytes=study_bytes)
    assert (decision.decision, decision.channel, decision.billable, decision.codes) == (
        "release", channel, billable, codes)


# --- on call and delivery (R9, R15, R16) ----------------------------------------------------------

@pytest.mark.parametrize("received, on_call, earliest", [
    ("2026-11-26T09:12:00+02:00", False, date(2026, 12, 3)),   # Thursday, office hours: posted today
    ("2026-11-26T07:30:00+02:00", False, date(2026, 12, 3)),   # opening minute
    ("2026-11-26T14:59:00+02:00", False, date(2026, 12, 3)),
    ("2026-11-26T15:00:00+02:00", True, date(2026, 12, 4)),    # closing: next working day, Friday
    ("2026-11-26T06:00:00+02:00", True, date(2026, 12, 3)),    # before opening: handled the same day
    ("2026-11-26T05:29:00Z", True, date(2026, 12, 3)),         # 07:29 in Helsinki
    ("2026-11-26T05:30:00Z", False, date(2026, 12, 3)),        # 07:30 in Helsinki
    ("2026-11-26T23:30:00Z", True, date(2026, 12, 4)),         # already Friday 01:30 in Helsinki
    ("2026-11-27T16:00:00+02:00", True, date(2026, 12, 7)),    # Friday evening: Monday + 7
    ("2026-11-28T10:00:00+02:00", True, date(2026, 12, 7)),    # Saturday
    ("2026-12-23T16:00:00+02:00", True, date(2027, 1, 4)),     # before Christmas: Mon 28.12 + 7
    ("2026-12-24T10:00:00+02:00", True, date(2027, 1, 4)),     # Christmas Eve (de facto holiday)
    ("2026-11-26T09:12:00", False, date(2026, 12, 3)),         # naive: Helsinki time
])
def test_media_on_call_and_postal_week(received: str, on_call: bool, earliest: date) -> None:
    decision = run({"received_at": received})
    assert (decision.decision, decision.channel, decision.on_call, decision.earliest_delivery) == (
        "release", "cd", on_call, earliest)
    assert ("on_call" in decision.codes) is on_call
    assert decision.codes[-1] == "postal_delivery_week"
    assert earliest.isoformat() in decision.reasons[-1].message


@pytest.mark.parametrize("change", [{"destination.dicom_node": NODE},
                                    changes(destination__kind="register", destination__name="Kymenlaakso")])
@pytest.mark.parametrize("received, on_call, earliest", [
    ("2026-11-26T09:12:00+02:00", False, date(2026, 11, 26)),
    ("2026-11-28T10:00:00+02:00", True, date(2026, 11, 28)),
    ("2026-11-26T23:30:00Z", True, date(2026, 11, 27)),
])
def test_unbilled_channels_are_available_on_the_day_received(change: dict[str, Any], received: str, on_call: bool,
                                                            earliest: date) -> None:
    """R15: a register copy or an electronic transfer is available at once."""
    decision = run({**change, "received_at": received})
    assert (decision.on_call, decision.earliest_delivery, decision.billable) == (on_call, earliest, False)
    assert "postal_delivery_week" not in decision.codes


@pytest.mark.parametrize("urgent, says", [(True, "Meilahti"), (False, "next working day")])
def test_on_call_reason_says_what_to_do(urgent: bool, says: str) -> None:
    decision = run({"received_at": "2026-11-28T10:00:00+02:00", "urgent": urgent})
    (reason,) = [r for r in decision.reasons if r.code == "on_call"]
    assert reason.rule == "R9" and says in reason.message


@pytest.mark.parametrize("change, outcome", [
    ({"patient.hetu": ""}, "refused"),
    ({"studies.0.register": "Puolustusvoimat"}, "route"),
    (HELSINKI_CARE, "no_release_needed"),
    (CARE, "needs_consent"),
])
def test_non_release_decisions_have_no_delivery_but_know_on_call(change: dict[str, Any], outcome: str) -> None:
    decision = run({**change, "received_at": "2026-11-28T10:00:00+02:00"})
    assert (decision.decision, decision.channel, decision.billable, decision.on_call, decision.earliest_delivery) == (
        outcome, None, False, True, None)
    assert "on_call" not in decision.codes


def test_received_at_argument_overrides_the_request() -> None:
    decision = run({}, received_at=datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc))
    assert decision.on_call and decision.earliest_delivery == date(2026, 12, 7)


def test_naive_received_at_argument_is_helsinki_time() -> None:
    assert not run({}, received_at=datetime(2026, 11, 26, 7, 45)).on_call


def test_receipt_time_is_required() -> None:
    with pytest.raises(ValueError, match="received_at"):
        run({"received_at": DROP})
    assert run({"received_at": DROP}, received_at=datetime(2026, 11, 26, 9, 0)).decision == "release"


# --- the Decision document (interfaces.md) --------------------------------------------------------

def test_to_json_has_the_interfaces_shape() -> None:
    document = run({}).to_json()
    assert document == {
        "decision": "release", "channel": "cd", "billable": True, "on_call": False, "earliest_delivery": "2026-12-03",
        "reasons": [{"code": "postal_delivery_week", "rule": "R16", "message": document["reasons"][0]["message"]}],
    }
    json.dumps(document)


def test_to_json_of_refusal_and_route_carries_field_and_where() -> None:
    refused = run({"patient.name": ""}).to_json()
    assert refused["reasons"] == [{"code": "missing_field", "rule": "R10", "field": "patient.name",
                                   "message": refused["reasons"][0]["message"]}]
    assert (refused["channel"], refused["earliest_delivery"]) == (None, None)
    routed = run({"studies.0.register": "Puolustusvoimat"}).to_json()
    assert "Defence Forces" in routed["reasons"][0]["where"]


@pytest.mark.parametrize("change", [{}, {"patient.name": ""}, {"studies.0.register": "Puolustusvoimat"}, CARE])
def test_decision_round_trips_through_json(change: dict[str, Any]) -> None:
    decision = run(change)
    document = json.loads(json.dumps({"request_id": "r1", **decision.to_json()}))
    assert Decision.from_json(document) == decision


def test_decision_is_a_frozen_value() -> None:
    decision = run({})
    with pytest.raises(AttributeError):
        decision.channel = "usb"  # type: ignore[misc]
    with pytest.raises(ValueError):
        Decision("release", None, True, False, None, ())
    assert Reason("x", "R1", "m").to_json() == {"code": "x", "rule": "R1", "message": "m"}


def test_every_reason_carries_a_rule_number() -> None:
    samples = [run(c) for c in ({}, {"patient.hetu": ""}, CARE, HELSINKI_CARE, {"content": "reports_only"},
                                {"received_at": "2026-11-28T10:00:00+02:00", "destination.dicom_node": NODE})]
    for reason in (r for d in samples for r in d.reasons):
        assert reason.rule.startswith("R") and reason.rule[1:].isdigit()
        assert reason.message.endswith(".")


# --- the policy (configuration as data) -----------------------------------------------------------

def test_default_policy_holds_the_values_of_domain_md() -> None:
    assert [r.code for r in POLICY.registers] == ["HUS-yhtyma", "Kymenlaakso", "Etela-Karjala", "Puolustusvoimat",
                                                  "HUS-tyoterveyshuolto"]
    assert [b.code for b in POLICY.legal_bases] == ["accident-insurance", "patient-insurance", "police", "court",
                                                    "kela", "supervision"]
    accident = POLICY.legal_basis("accident-insurance")
    assert accident is not None and "459/2015" in accident.law and not accident.consent_needed
    assert accident.label("sv") and accident.label("en") != accident.label("fi")
    assert [a.name.split()[0] for a in POLICY.hospital_archives] == ["HUS", "Kotka", "Lappeenranta"]
    assert POLICY.cd_capacity_bytes < 700 * 10**6 < POLICY.dvd_capacity_bytes < 4_700_372_992
    assert POLICY.electronic_destinations == ()


@pytest.mark.parametrize("name, party", [("Itä-Uusimaa", True), ("ITA_UUSIMAA", True), ("HUS-yhtymä", True),
                                         ("helsinki", True), ("Kymenlaakso", False), ("", False),
                                         ("Uusimaa", False), ("Espoo", False)])
def test_uusimaa_parties_match_as_people_type_them(name: str, party: bool) -> None:
    assert POLICY.is_uusimaa_party(name) is party


@pytest.mark.parametrize("build", [
    lambda: ReleasePolicy(cd_capacity_bytes=5 * 10**9),
    lambda: ReleasePolicy(legal_bases=POLICY.legal_bases * 2),
    lambda: ElectronicDestination("X", "A" * 17, "host", 104),
    lambda: ElectronicDestination("X", "AE", "host", 0),
    lambda: LegalBasis("", "law", "fi", "sv", "en"),
])
def test_policy_values_are_valid_on_construction(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


def test_policy_accepts_lists_from_configuration() -> None:
    policy = ReleasePolicy(uusimaa_parties=["Helsinki"], registers=list(POLICY.registers))  # type: ignore[arg-type]
    assert policy.uusimaa_parties == ("Helsinki",) and not policy.is_uusimaa_party("Vantaa-Kerava")
    hash(policy)


# --- dates that cannot be, and accession numbers the archive cannot hold (R9, R10) ---------------

DECIDED = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)  # two hours after THURSDAY_MORNING


@pytest.mark.parametrize("change, code, field", [
    ({"patient.hetu": "010599A903B"}, "invalid_hetu", "patient.hetu"),          # born 1.5.2099
    ({"received_at": "2026-11-27T09:00:00+02:00"}, "received_in_future", "received_at"),
    ({"studies.0.study_datetime": "2026-11-26T10:00:00"}, "study_after_request", "studies[0].study_datetime"),
    ({"studies.0.accession_number": "A" * 5000}, "invalid_accession_number", "studies[0].accession_number"),
    ({"studies.0.accession_number": "A" * 17}, "invalid_accession_number", "studies[0].accession_number"),
    ({"studies.0.accession_number": "HUS1\\2"}, "invalid_accession_number", "studies[0].accession_number"),
])
def test_impossible_dates_and_accession_numbers_are_refused(change: dict[str, Any], code: str, field: str) -> None:
    decision = run(change, now=DECIDED)
    assert decision.decision == "refused"
    (reason,) = [r for r in decision.reasons if r.field == field]
    assert reason.code == code and reason.rule in ("R9", "R10")
    assert len(reason.message) < 300  # the message names the problem, not the 5,000 characters


@pytest.mark.parametrize("change", [
    {"received_at": "2026-11-26T12:04:00+02:00"},          # 4 minutes ahead of the clock: the mail server's
    {"studies.0.study_datetime": "2026-11-26T09:12:00"},   # a study made the minute the request came
    {"patient.hetu": "261126A903F"},                        # born on the day the request came
    {"studies.0.accession_number": "A" * 16},
])
def test_possible_dates_and_accession_numbers_pass(change: dict[str, Any]) -> None:
    assert run(change, now=DECIDED).decision == "release"


def test_a_birth_date_after_the_request_is_refused_without_a_clock_too() -> None:
    """The birth date is judged against the request's own receipt: no `now` needed."""
    assert run({"patient.hetu": "010599A903B"}).codes == ("invalid_hetu",)


@pytest.mark.parametrize("now, earliest", [
    (datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc), date(2026, 12, 3)),   # decided the day it came
    (datetime(2026, 12, 5, 20, 0, tzinfo=timezone.utc), date(2026, 12, 14)),   # Saturday 5.12: Monday 7.12 + 7
    (datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc), date(2026, 12, 9)),     # Wednesday, office hours
])
def test_earliest_delivery_counts_from_the_later_of_receipt_and_now(now: datetime, earliest: date) -> None:
    """R16: a request decided days after it came is posted at the earliest on the day it is decided."""
    decision = run({}, now=now)
    assert decision.earliest_delivery == earliest and decision.on_call is False  # on-call is about the receipt
    assert earliest.isoformat() in decision.reasons[-1].message
