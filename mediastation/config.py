"""The station's configuration file (`station.toml`), typed and validated at start.

A wrong key or value stops the program with a message that names the key and what is allowed
(interfaces.md). `{home}` in a path or URL stands for the station's home folder.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from mediastation.errors import ConfigError, listing

if TYPE_CHECKING:
    from mediastation.domain.policy import ReleasePolicy

HOME_ENV = "MEDIASTATION_HOME"
CONFIG_NAME = "station.toml"

AETitle = Annotated[
    str,
    StringConstraints(min_length=1, max_length=16, pattern=r"^[\x20-\x5b\x5d-\x7e]*[^ ][\x20-\x5b\x5d-\x7e]*$"),
]
Port = Annotated[int, Field(ge=1, le=65535)]
Language = Literal["fi", "sv", "en"]
# A UID root (PS3.5 9.1) ending in ".", short enough to leave 24+ digits for the derived part.
UidRoot = Annotated[str, StringConstraints(max_length=40, pattern=r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\.$")]


class Section(BaseModel):
    """A table of station.toml: unknown keys are errors, values are checked on construction."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StationSection(Section):
    name: str = "HUS media station"
    ae_title: AETitle = "MEDIASTATION"
    port: Port = 11112
    language: Language = "fi"
    uid_root: UidRoot = "1.2.826.0.1.3680043.8.498."  # placeholder (pydicom's root): set HUS's registered OID


class ArchiveSection(Section):
    kind: Literal["dicom", "folder"] = "folder"
    host: str = "127.0.0.1"
    port: Port = 4242
    ae_title: AETitle = "ORTHANC"
    retrieve: Literal["c-get", "c-move"] = "c-get"
    path: str = "{home}/archive"
    timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0


# The databases the station runs on (README "Database"): anything else would pass the check and
# then fail on every command with a missing driver.
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")


class DatabaseSection(Section):
    url: str = "sqlite:///{home}/station.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in DATABASE_SCHEMES or (scheme.startswith("sqlite") and not rest.startswith("/")):
            raise ValueError("not a database the station runs on; use sqlite:///PATH (one station, the "
                             "default) or postgresql+psycopg://USER@HOST/DB (stations sharing one database)")
        return value


class PricingSection(Section):
    price_list: str = "{home}/price_list.toml"


class RegisterEntry(Section):
    code: str
    label: str
    route: str | None = None
    route_code: str | None = None
    route_rule: str = "R3"
    uusimaa_area: bool = False
    ae_title: AETitle | None = None  # the register's DICOM node (R5 copies between registers)
    host: str | None = None
    port: Port | None = None


class LegalBasisEntry(Section):
    code: str
    law: str
    label_fi: str
    label_sv: str
    label_en: str
    consent_needed: bool = False


class ElectronicDestinationEntry(Section):
    name: str
    ae_title: AETitle
    host: str
    port: Port
    method: Literal["relay", "c-move"] = "relay"  # relay: retrieve + C-STORE; c-move: the archive moves
    transfer_syntaxes: list[str] = []             # what the destination accepts ([]: what it negotiates)
    commitment: bool = False                      # it answers storage commitment (else C-FIND counts)


class HospitalArchiveEntry(Section):
    name: str
    contact: str
    registers: list[str] = []


class ReleaseSection(Section):
    """R1-R4, R6, R8 c, R12 as data. A list given here replaces the default list as a whole;
    `file` names a TOML file with the same keys (kept by the registry office, say), which
    station.toml's own keys override."""

    file: str | None = None
    registers: list[RegisterEntry] | None = None
    uusimaa_parties: list[str] | None = None
    legal_bases: list[LegalBasisEntry] | None = None
    electronic_destinations: list[ElectronicDestinationEntry] | None = None
    hospital_archives: list[HospitalArchiveEntry] | None = None


class SenderSection(Section):
    """Who sends the media: printed on the cover letter and README.TXT (replace with your unit)."""

    unit: str = "HUS Diagnostiikkakeskus, Kuvantamisen erikoissairaanhoidon asiakaspalvelu"
    street: str = "PL 224"
    postal_code: str = "00029"
    city: str = "HUS"
    phone: str = "09 471 76658"
    email: str = "kuvapalvelut@hus.fi"


class ExportSection(Section):
    """How exports are composed: profiles, folders, spanning (capacities: [burners])."""

    jobs: str = "{home}/jobs"
    # DVD and USB: STD-GEN-DVD-J2K / -JPEG; auto: the one under which the fewest instances need converting
    compressed_profile: Literal["auto", "J2K", "JPEG"] = "auto"
    # The viewer's embedded image data per medium: what is left on the disc, at most this (0: previews and the
    # folder picker only). Embedding costs disc space and export time; the originals are always on the disc.
    viewer_budget_mb: Annotated[float, Field(ge=0)] = 250
    newest_study_first: bool = True


class JobsSection(Section):
    """[jobs]: the job queue several stations share (mediastation/jobs/). A worker holds a job for
    `lease_seconds` and renews it every third of that while it works; a job whose lease ran out (its
    station died) is taken over by another worker. `poll_seconds`: how often an idle worker looks."""

    lease_seconds: Annotated[float, Field(ge=2, le=3600)] = 60.0
    poll_seconds: Annotated[float, Field(gt=0, le=600)] = 2.0


class ImportSection(Section):
    """[imports]: outside media into the archive. `accession` without --accession: "blank"
    (IHE IRWF unscheduled import, the original kept in Original Attributes) or "keep"."""

    associations: Annotated[int, Field(ge=1, le=8)] = 2
    accession: Literal["blank", "keep"] = "blank"
    institution: str = "HUS"
    storage_commitment: bool = True
    commitment_timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    folder: str = "{home}/imports"
    # the wait for a C-STORE response: [archive] timeout plus the instance's size at this rate (an
    # archive stores the whole instance before it answers; 20 MB/s is a slow disk's pace)
    slowest_archive_mb_s: Annotated[float, Field(gt=0, le=10000)] = 20.0


class BurnerEntry(Section):
    """One device of [[burners.devices]]; keys that do not apply to its kind are ignored."""

    name: Annotated[str, StringConstraints(min_length=1)]
    kind: Literal["optical", "usb", "folder", "robot-epson", "robot-primera"]
    device: str = ""                # optical: /dev/sr0 or stdio:FILE; usb: /dev/sdb1 or a FAT image; "": the one found
    path: str = ""                  # folder: the target folder; robots: the hot folder the robot's service watches
    status_path: str = ""           # robots: Primera status folder / Epson TDBStatus.txt; "": inside the hot folder
    publisher: str = ""             # robots: the robot's name (Epson PUBLISHER, Primera <name>.txt)
    share_prefixes: dict[str, str] = {}  # robots: local path prefix -> the robot PC's prefix (\\PC\share)
    timeout: Annotated[float, Field(gt=0)] = 3600.0  # robots: seconds a job may take
    poll_interval: Annotated[float, Field(gt=0)] = 2.0
    copies: Annotated[int, Field(ge=1, le=100)] = 1
    media: Literal["auto", "cd", "dvd", "dvd-dl"] = "auto"
    data_format: str = ""           # robots: Epson FORMAT (JOLIET | UDF102), Primera DataImageType
    label_file: str = ""            # robots: label layout (.tdd for Epson, .std/.jpg for Primera)
    verify_disc: bool = True        # Primera VerifyDisc
    allow_overwrite: bool | None = None  # overrides [burners] allow_overwrite for this device
    format_usb: bool = False        # usb: format FAT32 before writing (wiping must still be confirmed)


class BurnersSection(Section):
    """[burners]: the devices that write media. Capacities in MB of 10^6 bytes, used where
    the medium cannot be measured (robots); a drive reports its blank's own size."""

    default: str = "folder"         # burner name or kind used when `export` names none
    folder: str = "{home}/outbox"   # the folder burner's folder when no [[burners.devices]] entry names one
    allow_overwrite: bool = False   # write over non-blank rewritable discs / existing files
    cd_capacity_mb: Annotated[float, Field(gt=0)] = 700
    dvd_capacity_mb: Annotated[float, Field(gt=0)] = 4700
    dvd_dl_capacity_mb: Annotated[float, Field(gt=0)] = 8500
    usb_capacity_mb: Annotated[float, Field(gt=0)] = 32000  # planning size when no stick is measured
    devices: list[BurnerEntry] = []

    @model_validator(mode="after")
    def _default_exists(self) -> "BurnersSection":
        """`default` names a device or a kind (a robot only with its device entry), and device names
        are unique: found here, not at the first export."""
        names = [entry.name for entry in self.devices]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"the device name {', '.join(repr(n) for n in twice)} is used more than once in "
                             "[[burners.devices]]")
        kinds = get_args(BurnerEntry.model_fields["kind"].annotation)
        if self.default in names or self.default in {entry.kind for entry in self.devices}:
            return self
        if self.default in kinds and not self.default.startswith("robot"):
            return self
        allowed = ", ".join([*names, *(k for k in kinds if not k.startswith("robot"))])
        raise ValueError(f"default = {self.default!r} is neither a [[burners.devices]] name nor a kind the "
                         f"station has without one; use one of: {allowed}")


class ReportsSection(Section):
    """[reports]: radiology reports on the media. `folder`: where the RIS writes one
    <ACCESSION>.pdf or .txt per study ("" = no folder); `missing`: a study without a report only
    warns or blocks the export; `sources`: asked in this order, the first that has a report wins."""

    folder: str = ""
    missing: Literal["warn", "block"] = "warn"
    sources: Annotated[list[Literal["given", "study", "folder"]], Field(min_length=1)] = ["given", "study", "folder"]


class AuditSection(Section):
    """[audit]: DICOM audit messages (PS3.15 A.5) to the hospital's audit repository by syslog
    (RFC 5424) over TLS (RFC 5425) or UDP (RFC 5426). `host` "" = audit off. `ca` checks the
    repository's certificate (the system's CAs when ""); `cert` and `key`: our client certificate,
    when the repository asks for one."""

    host: str = ""
    port: Port = 6514
    transport: Literal["tls", "udp"] = "tls"
    ca: str = ""
    cert: str = ""
    key: str = ""
    timeout: Annotated[float, Field(gt=0, le=300)] = 5.0


class LogSection(Section):
    """[log]: the disclosure log's HMAC key, kept outside the database (mode 0600). Every station
    sharing one database needs a copy of the same key file."""

    key_file: str = "{home}/disclosure.key"


class DeskSection(Section):
    """[desk]: the web desk (`mediastation serve`, docs/desk.md). A host other than loopback without
    `tls_cert`/`tls_key` starts with a warning (passwords and session cookies would cross the network
    in clear). `worker`: the desk starts a `mediastation worker` process beside it, so an export or
    import started at the desk runs without a worker started by hand."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8420
    public_url: str = ""
    session_idle_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    upload_limit_mb: Annotated[int, Field(ge=1)] = 9000
    import_roots: list[str] = []
    tls_cert: str = ""
    tls_key: str = ""
    worker: bool = True

    @model_validator(mode="after")
    def _tls_pair(self) -> "DeskSection":
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together: give both (HTTPS) or neither (HTTP)")
        return self


class Settings(Section):
    """Everything station.toml can say; every table and key has a default."""

    station: StationSection = StationSection()
    archive: ArchiveSection = ArchiveSection()
    database: DatabaseSection = DatabaseSection()
    pricing: PricingSection = PricingSection()
    release: ReleaseSection = ReleaseSection()
    sender: SenderSection = SenderSection()
    export: ExportSection = ExportSection()
    imports: ImportSection = ImportSection()
    jobs: JobsSection = JobsSection()
    burners: BurnersSection = BurnersSection()
    reports: ReportsSection = ReportsSection()
    audit: AuditSection = AuditSection()
    log: LogSection = LogSection()
    desk: DeskSection = DeskSection()


def default_home() -> Path:
    """The home folder when neither --home nor MEDIASTATION_HOME says otherwise."""
    return Path(platformdirs.user_data_dir("mediastation", appauthor=False))


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    if home:
        return Path(home).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser().resolve() if env else default_home()


def expand_home(value: str, home: Path) -> str:
    """Replace `{home}` (the only placeholder) in a path or URL."""
    return value.replace("{home}", str(home))


def load_settings(path: Path) -> Settings:
    """Read and validate station.toml (which must exist: `init` writes it)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; `mediastation init` writes one", details={"file": str(path)})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return parse_settings(data, source=str(path))


def parse_settings(data: dict[str, Any], *, source: str = "station.toml") -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise ConfigError(listing(source, problems), details={"problems": problems, "file": source}) from None


def _describe(err: Any) -> str:
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(loc[:-1]))
        where = f"[{'.'.join(loc[:-1])}]" if len(loc) > 1 else "the top level"
        return f"unknown key '{key}'; allowed in {where}: {allowed}"
    if err["type"] == "missing":
        return f"'{key}': required but missing"
    if err["type"] == "value_error" and isinstance(err.get("input"), dict):  # a table's own check
        return f"[{key}]: {err['msg'].removeprefix('Value error, ')}"
    return f"'{key}': {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})"


def _allowed_keys(loc: list[str]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in loc:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def release_policy(settings: Settings, home: Path) -> "ReleasePolicy":
    """The domain's ReleasePolicy from [release] (and the file it names), defaults elsewhere; the
    CD/DVD sizes the rules choose between (R6) are the burners' (one place for capacities)."""
    from mediastation.domain.policy import (
        ElectronicDestination, HospitalArchive, LegalBasis, Register, ReleasePolicy,
    )

    section = settings.release
    merged = _release_file(section.file, home).model_dump(exclude_none=True) if section.file else {}
    merged.update(section.model_dump(exclude_none=True, exclude={"file"}))
    kwargs: dict[str, Any] = {}
    builders = {"registers": Register, "legal_bases": LegalBasis,
                "electronic_destinations": ElectronicDestination, "hospital_archives": HospitalArchive}
    for key, build in builders.items():
        if key in merged:
            kwargs[key] = tuple(build(**_entry(key, item)) for item in merged[key])
    if "uusimaa_parties" in merged:
        kwargs["uusimaa_parties"] = tuple(merged["uusimaa_parties"])
    kwargs["cd_capacity_bytes"] = int(settings.burners.cd_capacity_mb * 1_000_000)
    kwargs["dvd_capacity_bytes"] = int(settings.burners.dvd_capacity_mb * 1_000_000)
    try:
        return ReleasePolicy(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[release]: {exc}") from None


def effective_settings(settings: Settings, home: Path) -> dict[str, Any]:
    """The settings in force as plain data: every default filled in, `{home}` expanded, and
    [release] as the lists in force (the built-in ones, or those of `file` and station.toml), so
    `config show` prints what the station runs with, as TOML that station.toml could hold."""
    data = _expanded(settings.model_dump(mode="json", exclude_none=True), home)
    policy = release_policy(settings, home)
    release: dict[str, Any] = {"uusimaa_parties": list(policy.uusimaa_parties)}
    for key, entry in (("registers", RegisterEntry), ("legal_bases", LegalBasisEntry),
                       ("electronic_destinations", ElectronicDestinationEntry),
                       ("hospital_archives", HospitalArchiveEntry)):
        release[key] = [_entry_data(item, entry) for item in getattr(policy, key)]
    data["release"] = release
    return data


def _expanded(value: Any, home: Path) -> Any:
    if isinstance(value, str):
        return expand_home(value, home)
    if isinstance(value, list):
        return [_expanded(item, home) for item in value]
    if isinstance(value, dict):
        return {key: _expanded(item, home) for key, item in value.items()}
    return value


def _entry_data(item: Any, entry: type[Section]) -> dict[str, Any]:
    """A domain list entry (Register, LegalBasis, ...) as its [release] table in station.toml."""
    node = getattr(item, "node", None)
    values = {}
    for name in entry.model_fields:
        value = getattr(item, name, None)
        if value is None and node is not None:  # a register's DICOM node is its ae_title/host/port keys
            value = getattr(node, name, None)
        if value is not None:
            values[name] = list(value) if isinstance(value, tuple) else value
    return entry.model_validate(values).model_dump(mode="json", exclude_none=True)


def to_toml(data: dict[str, Any]) -> str:
    """Tables of plain values as TOML (what `effective_settings` gives): scalars, lists, inline
    tables, and lists of tables as arrays of tables. None has no TOML spelling and is left out."""
    lines: list[str] = []
    for name, table in data.items():
        _toml_table(lines, [name], table, array=False)
    return "\n".join(lines).strip() + "\n"


def _toml_table(lines: list[str], path: list[str], table: dict[str, Any], *, array: bool) -> None:
    header = ".".join(_toml_key(part) for part in path)
    lines += ["", f"[[{header}]]" if array else f"[{header}]"]
    nested = []
    for key, value in table.items():
        if value is None:
            continue
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            nested.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, items in nested:
        for item in items:
            _toml_table(lines, [*path, key], item, array=True)


def _toml_key(key: str) -> str:
    return key if key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(f"no TOML spelling for {type(value).__name__}")


def _entry(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """A [release] list entry as the domain's constructor takes it: lists as tuples, a register's
    ae_title/host/port as its node."""
    from mediastation.domain.policy import DicomNodeSpec

    values = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}
    if key == "registers":
        node = {k: values.pop(k, None) for k in ("ae_title", "host", "port")}
        if any(v is not None for v in node.values()):
            if None in node.values():
                raise ConfigError(f"[[release.registers]] {item.get('code')}: a register's node needs ae_title, "
                                  "host and port together")
            values["node"] = DicomNodeSpec(**node)
    return values


def _release_file(name: str, home: Path) -> ReleaseSection:
    path = Path(expand_home(name, home))
    if not path.is_file():
        raise ConfigError(f"'release.file': {path} does not exist; fix the path or remove the key")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as TOML: {exc}") from None
    try:
        return ReleaseSection.model_validate({k: v for k, v in data.items() if k != "file"})
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise ConfigError(listing(str(path), problems), details={"problems": problems}) from None


DEFAULT_STATION_TOML = """\
# Media station configuration. Every key is optional; the values shown are the defaults.
# `{{home}}` stands for the station's home folder. A wrong key or value stops the station with a
# message naming it. Documentation: README.md and docs/interfaces.md.

[station]
name = "HUS media station"
ae_title = "MEDIASTATION"        # our AE title for C-GET/C-MOVE/C-STORE (1-16 characters)
port = 11112                     # our listening port (C-MOVE destination, storage commitment)
language = "fi"                  # default letter language: fi | sv | en
uid_root = "1.2.826.0.1.3680043.8.498."  # root of UIDs the station makes (report instances): set HUS's own OID

[archive]                        # where exports come from and imports go to
kind = "{archive_kind}"                 # dicom | folder  (folder = embedded default used by `demo`)
host = "{archive_host}"
port = {archive_port}
ae_title = "{archive_ae}"
retrieve = "c-get"               # c-get | c-move
path = "{{home}}/archive"         # for kind = "folder": DICOM files, indexed by accession number
timeout = 30.0                   # seconds to wait for the archive before giving up

[database]
url = "sqlite:///{{home}}/station.db"   # or postgresql+psycopg://user@host/db for shared stations

[pricing]
price_list = "{{home}}/price_list.toml"

[sender]                         # printed on cover letters and README.TXT: the releasing unit
unit = "HUS Diagnostiikkakeskus, Kuvantamisen erikoissairaanhoidon asiakaspalvelu"
street = "PL 224"
postal_code = "00029"
city = "HUS"
phone = "09 471 76658"
email = "kuvapalvelut@hus.fi"

[reports]                        # radiology reports on the media
folder = ""                      # folder the RIS fills with <ACCESSION>.pdf / .txt ("" = none)
missing = "warn"                 # a study without a report: warn | block (the export is refused)
sources = ["given", "study", "folder"]  # --report file, the study's SR/PDF instances, the folder

[export]                         # composing media (medium capacities: [burners])
jobs = "{{home}}/jobs"            # job folders: fetched studies, staged discs, images
compressed_profile = "auto"      # DVD/USB profile: auto (fewest conversions), J2K (STD-GEN-DVD-J2K) or JPEG
viewer_budget_mb = 250           # the viewer's embedded image data: at most this, or what is left on the disc
newest_study_first = true        # spanning: the newest study goes on disc 1

[jobs]                           # the job queue (`mediastation worker` on each station)
lease_seconds = 60               # a job whose worker stopped renewing this long is taken over
poll_seconds = 2                 # how often an idle worker looks for queued jobs

[burners]                        # devices that write media: optical | usb | folder | robot-epson | robot-primera
default = "folder"               # the burner name or kind `export` uses when none is named
folder = "{{home}}/outbox"        # the folder burner's folder (`export --to DIR` overrides it)
allow_overwrite = false          # write over non-blank rewritable discs and existing files
cd_capacity_mb = 700             # nominal sizes where the medium cannot be measured (robots)
dvd_capacity_mb = 4700
dvd_dl_capacity_mb = 8500
#
# [[burners.devices]]              # a CD/DVD drive (xorriso address; stdio:FILE is a pseudo-drive)
# name = "dvd"
# kind = "optical"
# device = "/dev/sr0"
#
# [[burners.devices]]              # a USB stick: "" = the one stick inserted; a FAT image file also works
# name = "usb"
# kind = "usb"
# device = ""
#
# [[burners.devices]]              # a disc robot: its hot folder, as shared with the robot's PC
# name = "robot"
# kind = "robot-primera"           # or robot-epson (TD Bridge monitoring folder)
# path = "/srv/ptburn/jobs"
# publisher = "Disc Publisher SE"
# share_prefixes = {{ "/srv/mediastation" = "\\\\ROBOTPC\\mediastation" }}
# timeout = 3600

[audit]                          # DICOM audit messages (PS3.15 A.5) to the hospital's audit repository
host = ""                        # the repository's syslog host ("" = audit off)
port = 6514
transport = "tls"                # tls (RFC 5425) | udp (RFC 5426)
ca = ""                          # CA that signed the repository's certificate ("" = the system's CAs)
cert = ""                        # our client certificate and key, when the repository asks for one
key = ""

[log]
key_file = "{{home}}/disclosure.key"   # the disclosure log's HMAC key (mode 0600): copy it to every station of a shared database

[desk]                           # the web desk: `mediastation serve` (users: `mediastation users add`)
host = "127.0.0.1"               # another host than loopback needs tls_cert and tls_key (else a warning)
port = 8420
public_url = ""                  # the address people open, when a proxy stands in front
session_idle_minutes = 30        # a session unused this long is ended
upload_limit_mb = 9000           # the largest ISO or zip an importer may upload
import_roots = []                # folders an importer may pick a source from at the desk
tls_cert = ""                    # with tls_key: serve HTTPS (cookies are then Secure)
tls_key = ""
worker = true                    # start a `mediastation worker` beside the desk for its exports and imports

[release]                        # the release rules' data (domain.md R1-R4, R6, R8 c, R12)
# A list given here replaces the built-in default list as a whole. `mediastation config show`
# prints the lists in force. Examples:
# file = "{{home}}/release.toml"        # the same keys in a file of their own
# uusimaa_parties = ["HUS", "HUS-yhtyma", "Helsinki", "Ita-Uusimaa", "Keski-Uusimaa", "Lansi-Uusimaa", "Vantaa-Kerava"]
#
# [[release.electronic_destinations]]   # an image link: requests to it go electronically (R6)
# name = "Kymenlaakson keskussairaala"
# ae_title = "KYMSPACS"
# host = "pacs.example.fi"
# port = 104
#
# [[release.legal_bases]]               # R8 c: a law gives the recipient the right to the data
# code = "accident-insurance"
# law = "Tyotapaturma- ja ammattitautilaki 459/2015"
# label_fi = "Lakisaateinen tapaturmavakuutus"
# label_sv = "Lagstadgad olycksfallsforsakring"
# label_en = "Statutory accident insurance"
#
# [[release.registers]]                 # R1: registers inside the PACS; `route` = where to turn (R3)
# code = "Puolustusvoimat"
# label = "Defence Forces"
# route = "the performing Defence Forces unit"
# route_code = "defence_forces_register"
"""


def default_station_toml(
    *, archive_kind: str = "folder", archive_host: str = "127.0.0.1", archive_port: int = 4242,
    archive_ae: str = "ORTHANC",
) -> str:
    """The commented file `init` writes; its values parse back to the given settings."""
    return DEFAULT_STATION_TOML.format(
        archive_kind=archive_kind, archive_host=archive_host, archive_port=archive_port,
        archive_ae=archive_ae,
    )
