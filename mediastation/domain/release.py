"""The decision engine: a release request + the station's policy + the moment of receipt -> a decision.

Pure (no I/O). The order follows what HUS's instruction refuses first:
1. refused: every missing R10 item, an invalid HETU, a prohibition not ruled out (R7, R11), an
   unknown register or legal basis, a channel that cannot reach the destination, dates that cannot
   be (a birth, a study or the receipt after the moment they are judged on), an accession number
   the archive cannot hold; all collected so one reply to the requester fixes everything (R10);
2. route: only the report wanted (R12), or studies in a register served elsewhere (R3, R9);
3. no_release_needed: an Uusimaa party treating the patient (R2);
4. needs_consent: no consent and no exception of R8;
5. release through a channel: register copy, electronic link (R6), else media; with billing (R17),
   on-call (R9) and the earliest delivery date (R15, R16).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from mediastation.domain.calendar import (
    HELSINKI,
    OFFICE_OPENS,
    helsinki_date,
    is_office_hours,
    is_working_day,
    next_working_day,
    postal_earliest_delivery,
)
from mediastation.domain.hetu import Hetu, InvalidHetu
from mediastation.domain.policy import ReleasePolicy
from mediastation.domain.request import ReleaseRequest

DecisionCode = Literal["release", "no_release_needed", "route", "needs_consent", "refused"]
MEDIA_CHANNELS = ("cd", "dvd", "usb")
UNBILLED_CHANNELS = ("register_copy", "electronic")  # R17
# A request stamped a little ahead of the station's clock is the mail server's clock, not a mistake.
CLOCK_TOLERANCE = timedelta(minutes=5)
# The Accession Number is DICOM VR SH (PS3.5 6.2): at most 16 characters, no backslash or control
# characters. Longer text cannot be an accession number of the archive, so the study cannot match.
ACCESSION_MAX = 16


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision came out as it did: a stable `code`, the rule behind it, and what to do."""

    code: str
    rule: str
    message: str
    field: str | None = None  # the request path of a missing or wrong item
    where: str | None = None  # where to turn instead (route decisions)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "rule": self.rule, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        if self.where is not None:
            data["where"] = self.where
        return data


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a release request (interfaces.md "Decision", without request_id)."""

    decision: DecisionCode
    channel: str | None
    billable: bool
    on_call: bool
    earliest_delivery: date | None
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", tuple(self.reasons))
        if (self.decision == "release") != (self.channel is not None):
            raise ValueError("a release has a channel, and only a release has one")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "channel": self.channel,
            "billable": self.billable,
            "on_call": self.on_call,
            "earliest_delivery": self.earliest_delivery.isoformat() if self.earliest_delivery else None,
            "reasons": [r.to_json() for r in self.reasons],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        """The inverse of `to_json` (a stored decision read back); extra keys such as request_id are ignored."""
        earliest = data.get("earliest_delivery")
        reasons = tuple(Reason(r["code"], r["rule"], r["message"], r.get("field"), r.get("where"))
                        for r in data.get("reasons", ()))
        return cls(data["decision"], data.get("channel"), bool(data.get("billable")), bool(data.get("on_call")),
                   date.fromisoformat(earliest) if earliest else None, reasons)


def decide(request: ReleaseRequest, policy: ReleasePolicy, *, received_at: datetime | None = None,
           study_bytes: int | None = None, now: datetime | None = None) -> Decision:
    """Decide a release request (R2-R19); see the module docstring for the order of the rules.

    `received_at` defaults to the request's own; a naive time is Helsinki time. One of them must be
    given: office hours (R9) and delivery dates (R15, R16) depend on it. `study_bytes`, when known,
    chooses DVD over CD for studies that do not fit on a CD. `now` is the moment the decision is
    made (the station passes its clock): a receipt after it is refused, and delivery is promised
    from the later of the two (a request decided days after it came cannot be posted in the past).
    """
    moment = _receipt(request, received_at)
    now = _aware(now) if now is not None else None
    on_call = not is_office_hours(moment)

    def answer(code: DecisionCode, reasons: list[Reason]) -> Decision:
        return Decision(code, None, False, on_call, None, tuple(reasons))

    refusals = refusal_reasons(request, policy, received=moment, now=now)
    if refusals:
        return answer("refused", refusals)
    routes = route_reasons(request, policy)
    if routes:
        return answer("route", routes)
    if _uusimaa_care(request, policy):
        return answer("no_release_needed", [_uusimaa_reason(request)])
    consent = consent_reason(request, policy)
    if consent is not None:
        return answer("needs_consent", [consent])
    return _release(request, policy, max(moment, now) if now is not None else moment, on_call, study_bytes)


def _receipt(request: ReleaseRequest, received_at: datetime | None) -> datetime:
    moment = received_at if received_at is not None else request.received_at
    if moment is None:
        raise ValueError("the request has no received_at: pass received_at (the moment it reached customer service)")
    return _aware(moment)


def _aware(moment: datetime) -> datetime:
    """A naive moment is Helsinki wall-clock time (R9)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=HELSINKI)
    return moment


# 1. Refusals (R7, R10, R11) ------------------------------------------------------------------------

R10_ITEMS = (
    ("patient.name", "the patient's name"),
    ("patient.hetu", "the patient's personal identity code (HETU)"),
    ("no_prohibition.confirmed", "a statement that the patient has not prohibited release"),
    ("requester.unit", "the requesting unit"),
    ("requester.person", "the requesting person"),
    ("basis.kind", "what the release is based on (care, consent, statutory, patient_own)"),
    ("destination.kind", "the kind of destination (patient, authority, service_provider, ...)"),
    ("destination.name", "where the data goes (the destination's name)"),
)
STUDY_ITEMS = (
    ("accession_number", "the accession number (AC-numero)"),
    ("study_description", "the study name (tutkimusnimike)"),
    ("study_datetime", "the study's date and time"),
)


def refusal_reasons(request: ReleaseRequest, policy: ReleasePolicy, *, received: datetime | None = None,
                    now: datetime | None = None) -> list[Reason]:
    """Every reason to refuse the request, all at once (R7, R10, R11) plus unknown codes and channels;
    with `received` (and `now`) also the dates that cannot be (`date_reasons`)."""
    return [
        *missing_items(request),
        *_hetu_reasons(request),
        *(date_reasons(request, received, now) if received is not None else []),
        *accession_reasons(request),
        *_prohibition_reasons(request),
        *_unknown_code_reasons(request, policy),
        *_channel_reasons(request, policy),
    ]


def missing_items(request: ReleaseRequest) -> list[Reason]:
    """R10 (and R11): one `missing_field` reason per missing item, named by its path, in file order."""
    reasons = []
    for path, what in R10_ITEMS:
        if _absent(_value(request, path)):
            reasons.append(_missing(path, what))
        reasons.extend(_missing_details(request, path))
    if not request.studies:
        reasons.append(_missing("studies", "the studies to release (accession number, name, date and time)"))
    for index, study in enumerate(request.studies):
        for name, what in STUDY_ITEMS:
            if _absent(getattr(study, name)):
                reasons.append(_missing(f"studies[{index}].{name}", what))
    return reasons


def _missing_details(request: ReleaseRequest, path: str) -> list[Reason]:
    """Items needed only given another: who confirmed the statement (R11), which law (R10.4)."""
    if path == "no_prohibition.confirmed" and request.no_prohibition.confirmed is not None:
        if not request.no_prohibition.confirmed_by:
            return [_missing("no_prohibition.confirmed_by", "who confirmed that release is not prohibited", "R11")]
    if path == "basis.kind" and request.basis.kind == "statutory" and not request.basis.reference:
        return [_missing("basis.reference", "the legal basis code (which law gives the right)")]
    return []


def _missing(path: str, what: str, rule: str = "R10") -> Reason:
    return Reason("missing_field", rule, f"The request does not give {what}: add `{path}` and send it again.",
                  field=path)


def _value(request: ReleaseRequest, path: str) -> Any:
    owner, name = path.split(".")
    return getattr(getattr(request, owner), name)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _hetu_reasons(request: ReleaseRequest) -> list[Reason]:
    """R10: the HETU must be a valid code (a typo would release another person's images)."""
    if not request.patient.hetu:
        return []
    try:
        Hetu(request.patient.hetu)
    except InvalidHetu as error:
        return [Reason("invalid_hetu", "R10", f"The personal identity code is not valid: {error}. "
                       "Check it against the patient's records and send the request again.", field="patient.hetu")]
    return []


def date_reasons(request: ReleaseRequest, received: datetime, now: datetime | None = None) -> list[Reason]:
    """R9, R10: a request cannot arrive after the moment it is decided (`now`, with a few minutes for
    clocks that differ), nor ask for a person born, or a study made, after it arrived: each is a
    typo that would otherwise stand in the letter and the disclosure log."""
    reasons = []
    received = _aware(received)
    if now is not None and received > _aware(now) + CLOCK_TOLERANCE:
        reasons.append(Reason("received_in_future", "R9", f"The request says it was received at "
                              f"{_local(received)}, which is later than now ({_local(_aware(now))}): give the "
                              "moment it reached customer service.", field="received_at"))
    day = helsinki_date(received)
    try:
        born = Hetu(request.patient.hetu).birth_date
    except InvalidHetu:
        born = None  # `_hetu_reasons` says why
    if born is not None and born > day:
        reasons.append(Reason("invalid_hetu", "R10", f"The personal identity code gives the birth date "
                              f"{born:%d.%m.%Y}, after the request was received ({day:%d.%m.%Y}): check the code "
                              "(its century sign) against the patient's records.", field="patient.hetu"))
    local = received.astimezone(HELSINKI).replace(tzinfo=None)
    for index, study in enumerate(request.studies):
        if study.study_datetime is not None and study.study_datetime > local:
            reasons.append(Reason("study_after_request", "R10", f"Study {index + 1} ({study.accession_number}) is "
                                  f"dated {study.study_datetime:%d.%m.%Y %H:%M}, after the request was received "
                                  f"({local:%d.%m.%Y %H:%M}): check its date and time.",
                                  field=f"studies[{index}].study_datetime"))
    return reasons


def accession_reasons(request: ReleaseRequest) -> list[Reason]:
    """R10.6: an accession number is one the archive can hold (DICOM SH: `ACCESSION_MAX`)."""
    reasons = []
    for index, study in enumerate(request.studies):
        number = study.accession_number
        if len(number) > ACCESSION_MAX:
            problem = f"has {len(number)} characters; an accession number has at most {ACCESSION_MAX}"
        elif any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in number):
            problem = "contains a backslash or a control character"
        else:
            continue
        reasons.append(Reason("invalid_accession_number", "R10", f"Study {index + 1}'s accession number {problem}: "
                              "copy it from the archive (AC-numero).", field=f"studies[{index}].accession_number"))
    return reasons


def _local(moment: datetime) -> str:
    return moment.astimezone(HELSINKI).strftime("%d.%m.%Y %H:%M")


def _prohibition_reasons(request: ReleaseRequest) -> list[Reason]:
    """R7, R11: release only when the requester confirmed there is no prohibition, and said who checked."""
    statement = request.no_prohibition
    if statement.confirmed is True and statement.confirmed_by:
        return []
    if statement.confirmed is False:
        message = ("The request does not rule out a release prohibition (luovutuskielto): nothing is released. "
                   "If the patient has not prohibited release, confirm it and name who checked.")
        return [Reason("prohibited", "R7", message, field="no_prohibition.confirmed")]
    if statement.confirmed is None:
        message = ("A release prohibition (luovutuskielto) is not ruled out: the requester must check that "
                   "the patient has not prohibited release and confirm it in the request.")
        return [Reason("prohibited", "R7", message, field="no_prohibition.confirmed")]
    message = ("A release prohibition is not ruled out until the request names who checked it: "
               "give `no_prohibition.confirmed_by`.")
    return [Reason("prohibited", "R11", message, field="no_prohibition.confirmed_by")]


def _unknown_code_reasons(request: ReleaseRequest, policy: ReleasePolicy) -> list[Reason]:
    """Registers (R1) and statutory bases (R8 c) must be ones the station knows, else no rule applies."""
    allowed_registers = ", ".join(r.code for r in policy.registers)
    reasons = [
        Reason("unknown_register", "R1", f"Study {i + 1} is in register {s.register!r}, which this station does "
               f"not know. Use one of: {allowed_registers}.", field=f"studies[{i}].register")
        for i, s in enumerate(request.studies) if policy.register(s.register) is None
    ]
    destination = request.destination
    if destination.kind == "register" and destination.name and policy.register(destination.name) is None:
        reasons.append(Reason("unknown_register", "R5", f"The destination register {destination.name!r} is not "
                              f"a register of the PACS. Use one of: {allowed_registers}.", field="destination.name"))
    basis = request.basis
    if basis.kind == "statutory" and basis.reference and policy.legal_basis(basis.reference) is None:
        allowed = ", ".join(b.code for b in policy.legal_bases)
        reasons.append(Reason("unknown_legal_basis", "R8", f"{basis.reference!r} is not a configured legal basis. "
                              f"Use one of: {allowed}; or send the patient's written consent.",
                              field="basis.reference"))
    return reasons


def _channel_reasons(request: ReleaseRequest, policy: ReleasePolicy) -> list[Reason]:
    """A requested channel must be able to reach the destination (R5, R6)."""
    channel, kind = request.channel, request.destination.kind
    if kind == "register" and channel not in ("auto", "register_copy"):
        return [Reason("channel_not_possible", "R5", f"A copy to another PACS register is made inside the PACS, "
                       f"not by {channel}: use channel auto or register_copy.", field="channel")]
    if channel == "register_copy" and kind not in ("register", None):
        return [Reason("channel_not_possible", "R5", "A register copy only goes to another register inside the "
                       "PACS: set destination.kind to register, or choose another channel.", field="channel")]
    if channel == "electronic" and not _has_electronic_link(request, policy):
        return [Reason("no_electronic_link", "R6", f"No electronic image link to {request.destination.name!r} is "
                       "configured or given: add destination.dicom_node, or use channel auto to get media.",
                       field="channel")]
    return []


# 2. Routes (R3, R9, R12) ---------------------------------------------------------------------------

def route_reasons(request: ReleaseRequest, policy: ReleasePolicy) -> list[Reason]:
    """Requests the station does not serve: the report only (R12), or studies of a routed register (R3, R9)."""
    if request.content == "reports_only":
        archives = policy.archives_for([s.register for s in request.studies])
        where = "; ".join(f"{a.name}: {a.contact}" for a in archives)
        return [Reason("reports_only", "R12", "Only the referral and the report are asked for: order them from "
                       "the hospital archive, not from the image station.", where=where)]
    reasons = []
    for index, study in enumerate(request.studies):
        register = policy.register(study.register)
        if register is not None and register.route is not None:
            message = (f"Study {study.accession_number} is in the {register.label} register: the station does "
                       f"not release it; ask {register.route}.")
            if len(request.studies) > 1:
                message += " Request the other studies separately."
            reasons.append(Reason(register.route_code or "routed_register", register.route_rule, message,
                                  field=f"studies[{index}].register", where=register.route))
    return reasons


# 3. No release needed (R2) -------------------------------------------------------------------------

def _uusimaa_care(request: ReleaseRequest, policy: ReleasePolicy) -> bool:
    """R2: an Uusimaa party treating the patient, for studies in the Uusimaa parties' registers."""
    treats = request.basis.kind == "care" or request.destination.participates_in_care
    studies_in_area = all(policy.register(s.register).uusimaa_area for s in request.studies)
    return treats and studies_in_area and _recipient_in_uusimaa(request, policy)


def _recipient_in_uusimaa(request: ReleaseRequest, policy: ReleasePolicy) -> bool:
    destination = request.destination
    if destination.kind == "register":
        register = policy.register(destination.name)
        return register is not None and register.uusimaa_area
    return policy.is_uusimaa_party(destination.county)


def _uusimaa_reason(request: ReleaseRequest) -> Reason:
    party = request.destination.county or request.destination.name
    return Reason("uusimaa_care_access", "R2", f"{party} is one of the HUS group, City of Helsinki and Uusimaa "
                  "wellbeing services counties and treats the patient: it may use the images in the PACS "
                  "directly to the extent the care requires. Nothing is released or made.")


# 4. Consent (R8) -----------------------------------------------------------------------------------

def consent_reason(request: ReleaseRequest, policy: ReleasePolicy) -> Reason | None:
    """R8: None when consent or an exception (b, c, d) holds; else why consent is required."""
    basis, destination = request.basis, request.destination
    if basis.kind == "consent" and basis.reference:
        return None
    if destination.on_hus_commission:  # R8 b
        return None
    if basis.kind == "statutory":  # R8 c
        legal = policy.legal_basis(basis.reference)
        if legal is not None and not legal.consent_needed:
            return None
    if basis.kind == "patient_own":  # R8 d
        if destination.kind == "patient" or (destination.kind == "authorised_person" and basis.reference):
            return None
    return Reason("consent_required", "R8", _consent_message(request, policy))


def _consent_message(request: ReleaseRequest, policy: ReleasePolicy) -> str:
    basis, destination = request.basis, request.destination
    ask = ("Ask for the written consent of the patient or their legal representative (HUS consent form) "
           "and send its reference as basis kind consent.")
    if basis.kind == "consent":
        return "The basis is consent but no consent document is referenced. " + ask
    if basis.kind == "statutory":
        return f"The legal basis {basis.reference!r} is configured as needing consent. " + ask
    if basis.kind == "patient_own" and destination.kind == "authorised_person":
        return ("An authorised person's copy needs the power of attorney: give it as basis.reference. "
                "Otherwise: " + ask)
    if basis.kind == "patient_own":
        return "A patient's own copy goes to the patient or an authorised person, not to a provider. " + ask
    return (f"{destination.name} is not an Uusimaa party of R2 nor on HUS's commission; a private provider or "
            "another wellbeing services county treating the patient still needs consent. " + ask)


# 5. Release (R5, R6, R9, R15-R17) ------------------------------------------------------------------

def _release(request: ReleaseRequest, policy: ReleasePolicy, moment: datetime, on_call: bool,
             study_bytes: int | None) -> Decision:
    channel, reasons = choose_channel(request, policy, study_bytes)
    if on_call:
        reasons.append(_on_call_reason(request))
    if channel in UNBILLED_CHANNELS:
        earliest = helsinki_date(moment)  # R15: available at once
    else:
        earliest = postal_earliest_delivery(posting_day(moment))
        reasons.append(Reason("postal_delivery_week", "R16", f"Media go by post, which needs at least a week: "
                              f"promise delivery no earlier than {earliest.isoformat()}."))
    return Decision("release", channel, channel not in UNBILLED_CHANNELS, on_call, earliest, tuple(reasons))


def choose_channel(request: ReleaseRequest, policy: ReleasePolicy,
                   study_bytes: int | None = None) -> tuple[str, list[Reason]]:
    """R5/R6: register copy inside the PACS; electronic when a link exists; else CD, or DVD when too big."""
    if request.destination.kind == "register":
        return "register_copy", [Reason("register_copy", "R5", f"Copy the studies to the {request.destination.name} "
                                        "register inside the PACS; available at once, not billed.")]
    if request.channel == "electronic" or (request.channel == "auto" and _has_electronic_link(request, policy)):
        return "electronic", [Reason("electronic_preferred", "R6", f"An electronic image link to "
                                     f"{request.destination.name} exists: send the studies over it; no media.")]
    if request.channel in MEDIA_CHANNELS:
        return request.channel, []
    if study_bytes is not None and study_bytes > policy.cd_capacity_bytes:
        return "dvd", [Reason("dvd_capacity", "R6", f"The studies ({study_bytes} bytes) do not fit on a CD "
                              f"({policy.cd_capacity_bytes} bytes usable): write a DVD.")]
    return "cd", []


def _has_electronic_link(request: ReleaseRequest, policy: ReleasePolicy) -> bool:
    destination = request.destination
    return destination.dicom_node is not None or policy.electronic_destination(destination.name) is not None


def _on_call_reason(request: ReleaseRequest) -> Reason:
    """R9: outside 07:30-15:00 on working days the request is the on-call unit's."""
    message = "Received outside office hours (07:30-15:00 on working days): handled by the on-call service."
    if request.urgent:
        message += " Urgent: the requester must also phone the Meilahti on-call X-ray unit."
    else:
        message += " Not urgent: customer service handles it on the next working day."
    return Reason("on_call", "R9", message)


def posting_day(moment: datetime) -> date:
    """R9, R16: the day media can be posted: the receipt day in office hours, else the next opening day.

    A request that arrives before 07:30 on a working day is handled that same day.
    """
    local = moment.astimezone(HELSINKI)
    day = helsinki_date(moment)
    if is_office_hours(moment) or (is_working_day(day) and local.time() < OFFICE_OPENS):
        return day
    return next_working_day(day)
