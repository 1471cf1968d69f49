"""The station's release configuration as plain data (R1-R4, R6, R8 c, R12).

Registers, the Uusimaa parties of R2, the statutory legal bases of R8 (c), electronic destinations
and hospital archives change without a code change (domain.md R1, R8): `ReleasePolicy.default()`
holds the values domain.md names and the lead maps `station.toml` onto the same dataclasses.
Pure: no I/O; every value is valid on construction.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MIB = 1024 * 1024


def normalise_name(text: str) -> str:
    """Compare names as people type them: case, diacritics, spaces and dashes do not matter.

    "Itä-Uusimaa", "ita uusimaa" and "ITA-UUSIMAA" are the same county; "HUS-yhtymä" is "HUS-yhtyma".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "", plain.casefold())


def _require_text(owner: str, **values: str) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{owner}: {name} must be non-empty text, not {value!r}")


@dataclass(frozen=True, slots=True)
class DicomNodeSpec:
    """A DICOM node as configured: AE title, host, port (PS3.8 addressing)."""

    ae_title: str
    host: str
    port: int

    def __post_init__(self) -> None:
        _require_text("DICOM node", ae_title=self.ae_title, host=self.host)
        if len(self.ae_title) > 16:
            raise ValueError(f"DICOM node: AE title {self.ae_title!r} is over 16 characters")
        if not isinstance(self.port, int) or isinstance(self.port, bool) or not 0 < self.port < 65536:
            raise ValueError(f"DICOM node {self.ae_title}: port {self.port!r} is not 1-65535")

    def same_as(self, ae_title: str, host: str, port: int) -> bool:
        """The same node: AE titles compare without padding, host names without case."""
        return (self.ae_title.strip() == ae_title.strip() and self.host.strip().lower() == host.strip().lower()
                and self.port == port)


@dataclass(frozen=True, slots=True)
class Register:
    """A register inside the PACS (R1).

    `route` set: the station does not release this register's studies, it tells where to turn
    (R3: Defence Forces, occupational health; R9: Kymenlaakso and South Karelia have their own
    X-ray units); `route_code` is the reason code of that answer and `route_rule` its rule.
    `uusimaa_area`: the register belongs to the parties of R2 (no release needed between them).
    """

    code: str
    label: str
    route: str | None = None
    route_code: str | None = None
    route_rule: str = "R3"
    uusimaa_area: bool = False
    node: DicomNodeSpec | None = None  # R5: the register's own DICOM node, for copies between registers

    def __post_init__(self) -> None:
        _require_text("Register", code=self.code, label=self.label)
        if self.route is not None:
            _require_text(f"Register {self.code}", route=self.route)


@dataclass(frozen=True, slots=True)
class LegalBasis:
    """A law that gives a recipient the right to the data without consent (R8 c).

    `consent_needed` marks a configured basis that still needs the patient's consent (kept so a
    basis can be listed for the record yet not waive consent).
    """

    code: str
    law: str
    label_fi: str
    label_sv: str
    label_en: str
    consent_needed: bool = False

    def __post_init__(self) -> None:
        _require_text("LegalBasis", code=self.code, law=self.law, label_fi=self.label_fi,
                      label_sv=self.label_sv, label_en=self.label_en)

    def label(self, language: str) -> str:
        """The label in fi, sv or en (HUS serves all three); Finnish for anything else."""
        return {"sv": self.label_sv, "en": self.label_en}.get(language, self.label_fi)


@dataclass(frozen=True, slots=True)
class ElectronicDestination:
    """An outside archive reachable over an electronic image link (R6: preferred to media).

    `method`: "relay" (the station retrieves from the HUS archive and stores to the destination) or
    "c-move" (the HUS archive moves the studies itself; it must know the destination's AE).
    `transfer_syntaxes`: what the destination accepts (empty: whatever it negotiates).
    `commitment`: the destination answers storage commitment (else a C-FIND count verifies)."""

    name: str
    ae_title: str
    host: str
    port: int
    method: str = "relay"
    transfer_syntaxes: tuple[str, ...] = ()
    commitment: bool = False

    @property
    def node(self) -> DicomNodeSpec:
        return DicomNodeSpec(self.ae_title, self.host, self.port)

    def __post_init__(self) -> None:
        if self.method not in ("relay", "c-move"):
            raise ValueError(f"ElectronicDestination {self.name}: method {self.method!r} is not relay or c-move")
        _require_text("ElectronicDestination", name=self.name, ae_title=self.ae_title, host=self.host)
        if len(self.ae_title) > 16:
            raise ValueError(f"ElectronicDestination {self.name}: AE title {self.ae_title!r} is over 16 characters")
        if not isinstance(self.port, int) or isinstance(self.port, bool) or not 0 < self.port < 65536:
            raise ValueError(f"ElectronicDestination {self.name}: port {self.port!r} is not 1-65535")


@dataclass(frozen=True, slots=True)
class HospitalArchive:
    """A hospital archive that hands out referrals and reports (R12), with the registers it serves."""

    name: str
    contact: str
    registers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_text("HospitalArchive", name=self.name, contact=self.contact)


DEFAULT_REGISTERS = (
    Register("HUS-yhtyma", "HUS group (HUS-yhtymä)", uusimaa_area=True),
    Register("Kymenlaakso", "Kymenlaakso wellbeing services county (Kymen HVA)",
             route="the Kymenlaakso wellbeing services county X-ray unit (Kymen HVA röntgenyksikkö)",
             route_code="own_xray_unit", route_rule="R9"),
    Register("Etela-Karjala", "South Karelia wellbeing services county (Etelä-Karjalan HVA)",
             route="the South Karelia wellbeing services county X-ray unit (Etelä-Karjalan HVA röntgenyksikkö)",
             route_code="own_xray_unit", route_rule="R9"),
    Register("Puolustusvoimat", "Defence Forces (Puolustusvoimat)",
             route="the performing Defence Forces unit (the unit where the study was done)",
             route_code="defence_forces_register"),
    Register("HUS-tyoterveyshuolto", "HUS occupational health (HUS Työterveyshuolto)",
             route="HUS occupational health (Työterveyshuolto), which transfers studies done on its own referrals",
             route_code="occupational_health_register"),
)

DEFAULT_UUSIMAA_PARTIES = (
    "HUS", "HUS-yhtyma", "Helsinki", "Ita-Uusimaa", "Keski-Uusimaa", "Lansi-Uusimaa", "Vantaa-Kerava",
)

# Act numbers as in Finlex; the exact sections are in HUS's Patient record guide, appendix 4, which
# the station's configuration should follow (R8 c).
DEFAULT_LEGAL_BASES = (
    LegalBasis("accident-insurance", "Työtapaturma- ja ammattitautilaki 459/2015",
               "Lakisääteinen tapaturmavakuutus", "Lagstadgad olycksfallsförsäkring",
               "Statutory accident insurance"),
    LegalBasis("patient-insurance", "Potilasvakuutuslaki 948/2019",
               "Potilasvakuutuskeskus", "Patientförsäkringscentralen", "Patient Insurance Centre"),
    LegalBasis("police", "Poliisilaki 872/2011; esitutkintalaki 805/2011",
               "Poliisi ja esitutkinta", "Polisen och förundersökning", "Police and pre-trial investigation"),
    LegalBasis("court", "Oikeudenkäymiskaari 4/1734",
               "Tuomioistuimen määräys", "Domstolens förordnande", "A court's order"),
    LegalBasis("kela", "Sairausvakuutuslaki 1224/2004",
               "Kansaneläkelaitos (Kela)", "Folkpensionsanstalten (FPA)", "Social Insurance Institution (Kela)"),
    LegalBasis("supervision", "Laki sosiaali- ja terveydenhuollon valvonnasta 741/2023",
               "Valvira / aluehallintovirasto", "Valvira / regionförvaltningsverket",
               "Valvira / regional state administrative agency"),
)

DEFAULT_HOSPITAL_ARCHIVES = (
    HospitalArchive("HUS hospital archive (HUS sairaala-arkisto)",
                    "HUS patient records archive: order the referral and report there", ("HUS-yhtyma",)),
    HospitalArchive("Kotka hospital archive (Kotkan sairaala-arkisto)",
                    "Kymenlaakso wellbeing services county, Kotka hospital archive", ("Kymenlaakso",)),
    HospitalArchive("Lappeenranta hospital archive (Lappeenrannan sairaala-arkisto)",
                    "South Karelia wellbeing services county, Lappeenranta hospital archive", ("Etela-Karjala",)),
)

# Usable bytes for studies after the viewer, DICOMDIR and file-system overhead: a 700 MB CD-R holds
# 737,280,000 bytes, a single-layer DVD+-R 4,700,372,992.
DEFAULT_CD_CAPACITY = 650 * MIB
DEFAULT_DVD_CAPACITY = 4300 * MIB


@dataclass(frozen=True, slots=True)
class ReleasePolicy:
    """Everything the release rules need to know about this station (R1-R4, R6, R8, R12)."""

    registers: tuple[Register, ...] = DEFAULT_REGISTERS
    uusimaa_parties: tuple[str, ...] = DEFAULT_UUSIMAA_PARTIES
    legal_bases: tuple[LegalBasis, ...] = DEFAULT_LEGAL_BASES
    electronic_destinations: tuple[ElectronicDestination, ...] = ()
    hospital_archives: tuple[HospitalArchive, ...] = DEFAULT_HOSPITAL_ARCHIVES
    cd_capacity_bytes: int = DEFAULT_CD_CAPACITY
    dvd_capacity_bytes: int = DEFAULT_DVD_CAPACITY
    _parties: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("registers", "uusimaa_parties", "legal_bases", "electronic_destinations", "hospital_archives"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _unique("register", [r.code for r in self.registers])
        _unique("legal basis", [b.code for b in self.legal_bases])
        _unique("electronic destination", [normalise_name(d.name) for d in self.electronic_destinations])
        if not 0 < self.cd_capacity_bytes < self.dvd_capacity_bytes:
            raise ValueError("ReleasePolicy: need 0 < cd_capacity_bytes < dvd_capacity_bytes")
        object.__setattr__(self, "_parties", frozenset(normalise_name(p) for p in self.uusimaa_parties))

    @classmethod
    def default(cls) -> ReleasePolicy:
        """The values domain.md names; the station's configuration overrides them."""
        return cls()

    def register(self, code: str) -> Register | None:
        """The register with this code (exact, as PACS spells it), or None."""
        return next((r for r in self.registers if r.code == code), None)

    def legal_basis(self, code: str) -> LegalBasis | None:
        """The configured statutory basis with this code (R8 c), or None."""
        return next((b for b in self.legal_bases if b.code == code), None)

    def is_uusimaa_party(self, name: str) -> bool:
        """R2: HUS group, City of Helsinki or an Uusimaa wellbeing services county."""
        return bool(name) and normalise_name(name) in self._parties

    def electronic_destination(self, name: str) -> ElectronicDestination | None:
        """The configured electronic link to a destination of this name (R6), or None."""
        key = normalise_name(name)
        return next((d for d in self.electronic_destinations if key and normalise_name(d.name) == key), None)

    def archives_for(self, register_codes: tuple[str, ...] | list[str]) -> tuple[HospitalArchive, ...]:
        """The hospital archives serving these registers (R12); all of them when none is specific."""
        chosen = tuple(a for a in self.hospital_archives if set(a.registers) & set(register_codes))
        return chosen or self.hospital_archives


def _unique(what: str, keys: list[str]) -> None:
    seen = {k for k in keys if keys.count(k) > 1}
    if seen:
        raise ValueError(f"ReleasePolicy: {what} listed twice: {', '.join(sorted(seen))}")
