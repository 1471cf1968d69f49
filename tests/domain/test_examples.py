"""The shipped example requests: each file's name says the decision it gets (examples/requests/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediastation.domain.policy import ReleasePolicy
from mediastation.domain.release import decide
from mediastation.domain.request import parse_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DECISIONS = ("release", "no_release_needed", "route", "needs_consent", "refused")
FILES = sorted((EXAMPLES / "requests").glob("*.json"))


def implied_decision(path: Path) -> str:
    """`route_defence_forces.json` -> route; the longest decision code the name starts with."""
    return max((d for d in DECISIONS if path.stem.startswith(d)), key=len)


def test_one_example_per_decision_code() -> None:
    assert {implied_decision(p) for p in FILES} == set(DECISIONS)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_gets_the_decision_its_name_says(path: Path) -> None:
    decision = decide(parse_request(path.read_bytes()), ReleasePolicy.default())
    assert decision.decision == implied_decision(path)
    if decision.decision == "release":
        assert decision.channel == path.stem.removeprefix("release_")


@pytest.mark.parametrize("name, codes", [
    ("release_cd", ("postal_delivery_week",)),
    ("release_electronic", ("electronic_preferred",)),
    ("no_release_needed", ("uusimaa_care_access",)),
    ("route_defence_forces", ("defence_forces_register",)),
    ("route_reports_only", ("reports_only",)),
    ("needs_consent", ("consent_required",)),
    ("refused_invalid_hetu", ("invalid_hetu",)),
    ("refused_missing_fields", ("missing_field",) * 5 + ("prohibited",)),
])
def test_example_reason_codes(name: str, codes: tuple[str, ...]) -> None:
    decision = decide(parse_request((EXAMPLES / "requests" / f"{name}.json").read_bytes()), ReleasePolicy.default())
    assert decision.codes == codes


def test_refused_example_names_every_missing_item() -> None:
    decision = decide(parse_request((EXAMPLES / "requests" / "refused_missing_fields.json").read_bytes()),
                      ReleasePolicy.default())
    assert [r.field for r in decision.reasons if r.code == "missing_field"] == [
        "patient.hetu", "no_prohibition.confirmed_by", "requester.person",
        "studies[0].study_description", "studies[0].study_datetime"]


def test_interfaces_example_needs_consent() -> None:
    """interfaces.md's own example: Terveystalo, a private provider, treats the patient on basis care.

    Not an Uusimaa party (R2), not on HUS's commission (R8 b), no statutory basis (R8 c), not the
    patient's own copy (R8 d): written consent is needed (R8).
    """
    decision = decide(parse_request((EXAMPLES / "request.json").read_bytes()), ReleasePolicy.default())
    assert decision.to_json() == {
        "decision": "needs_consent", "channel": None, "billable": False, "on_call": False,
        "earliest_delivery": None, "reasons": [decision.reasons[0].to_json()]}
    assert decision.codes == ("consent_required",)
    assert decision.reasons[0].rule == "R8"


def test_interfaces_example_with_consent_matches_the_documented_decision() -> None:
    """With a consent reference the example is released on CD, due 2026-12-03 (interfaces.md's Decision)."""
    request = parse_request((EXAMPLES / "request.json").read_bytes())
    consented = request.model_copy(update={"basis": request.basis.model_copy(
        update={"kind": "consent", "reference": "HUS consent form 2026-11-25"})})
    document = decide(consented, ReleasePolicy.default()).to_json()
    assert {k: document[k] for k in ("decision", "channel", "billable", "on_call", "earliest_delivery")} == {
        "decision": "release", "channel": "cd", "billable": True, "on_call": False, "earliest_delivery": "2026-12-03"}
