"""What every command shares: the home folder, the settings, the database, how to print."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from mediastation.config import CONFIG_NAME, Settings, expand_home, load_settings, resolve_home
from mediastation.errors import ConfigError
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the database stack costs half a second to import; commands load it on use
    from mediastation.audit.trail import AuditTrail
    from mediastation.store import Database

F = TypeVar("F", bound=Callable[..., Any])


class NotAStationHome(ConfigError):
    """A command that needs a station ran where none was set up: nothing is created in passing (an
    empty station answering "no requests" would look like lost data)."""

    code = "not_a_station_home"


@dataclass
class Station:
    """The invocation's view of the station; settings and database are opened on first use.

    Only `init` and `demo` set a home up; every other command that reads the settings or the
    database refuses a folder that `init` never made (no station.toml, or a SQLite database that
    does not exist) and a `--config` file that does not exist, instead of running on defaults."""

    home: Path
    config_file: Path
    json: bool = False
    verbose: bool = False
    config_given: bool = False
    _database: "Database | None" = field(default=None, repr=False)

    @classmethod
    def from_options(cls, home: str | None, config: str | None, as_json: bool, verbose: bool) -> "Station":
        resolved = resolve_home(home)
        config_file = Path(config).expanduser().resolve() if config else resolved / CONFIG_NAME
        return cls(home=resolved, config_file=config_file, json=as_json, verbose=verbose, config_given=bool(config))

    @cached_property
    def settings(self) -> Settings:
        if not self.config_file.is_file():
            if self.config_given:
                raise ConfigError(f"--config {self.config_file}: no such file; give the station.toml to use "
                                  "(or leave --config out to use HOME/station.toml)",
                                  details={"file": str(self.config_file)})
            raise NotAStationHome(
                f"not a station home: {self.home} has no {CONFIG_NAME}; run `mediastation init` to set one up "
                "there, or point --home (MEDIASTATION_HOME) at the station's folder",
                details={"home": str(self.home)})
        return load_settings(self.config_file)

    def path(self, value: str) -> Path:
        """A path setting with `{home}` expanded, absolute."""
        return Path(expand_home(value, self.home)).expanduser().resolve()

    @property
    def database_url(self) -> str:
        return expand_home(self.settings.database.url, self.home)

    def database(self, *, create: bool = False) -> "Database":
        """The database at the newest schema (upgraded on first use in this run). A SQLite file that
        does not exist is refused unless `create` (`init` makes it)."""
        if self._database is None:
            from mediastation.store import open_database

            url = self.database_url
            missing = sqlite_file(url)
            if not create and missing is not None and not missing.exists():
                raise NotAStationHome(
                    f"not a station home: the database {missing} does not exist; run `mediastation init` "
                    f"(--home {self.home}) to create it, or fix [database] url in {self.config_file}",
                    details={"home": str(self.home), "database": str(missing)})
            self._database = open_database(url, log_key=self.log_key())
            self._database.audit = self.audit_trail()
        return self._database

    def log_key(self) -> bytes | None:
        """The disclosure log's key from [log] key_file (None when the file does not exist)."""
        from mediastation.store.disclosures import read_key_file

        return read_key_file(self.path(self.settings.log.key_file))

    @cached_property
    def _audit_trail(self) -> "AuditTrail":
        import socket

        from mediastation.audit.messages import AuditSource
        from mediastation.audit.trail import AuditTrail

        station = self.settings.station
        return AuditTrail(AuditSource(station=station.name, ae_title=station.ae_title, host=socket.gethostname()),
                          enabled=bool(self.settings.audit.host))

    def audit_trail(self) -> "AuditTrail":
        """The station's audit trail: its events as DICOM audit messages into the outbox."""
        return self._audit_trail

    def close(self) -> None:
        """Send what the audit outbox holds (every command does, so messages leave as events
        happen), then let the database go."""
        if self._database is not None:
            try:
                if self.settings.audit.host:
                    self.send_audit(budget_seconds=10.0)
            finally:
                self._database.dispose()

    def send_audit(self, *, force: bool = False, budget_seconds: float | None = None) -> Any:
        """The outbox to the repository (None when audit is off); a failure is told on stderr and
        the messages wait for the next command."""
        from mediastation.audit.sender import endpoint, flush, sender_id

        target = endpoint(self.settings.audit, self.home)
        if target is None:
            return None
        try:
            result = flush(self.database(), target, owner=sender_id(self.settings.station.name), force=force,
                           budget_seconds=budget_seconds)
        except Exception as exc:  # noqa: BLE001 - the command's own outcome stands; the messages wait
            stderr(f"audit: messages wait in the outbox ({exc.__class__.__name__}: {exc})")
            return None
        if result.error and not force:
            stderr(f"audit: {result.waiting} message(s) wait for the repository ({result.error}); "
                   "they go with the next command or `mediastation audit flush`")
        return result

    def keep_sending_audit(self) -> Any:
        """For a command that runs until stopped (`worker`, `serve`): a started thread that sends the
        outbox while it runs (mediastation/audit/background.py); None when audit is off. Stop it
        before the command ends: the send at exit (`close`) takes what is left."""
        from mediastation.audit.background import BackgroundSender
        from mediastation.audit.sender import endpoint, flush, sender_id

        target = endpoint(self.settings.audit, self.home)
        if target is None:
            return None
        database, owner = self.database(), sender_id(self.settings.station.name) + "/background"
        return BackgroundSender(lambda: flush(database, target, owner=owner, budget_seconds=5.0),
                                announce=stderr).start()

    def emit(self, document: dict[str, Any], text: str | None = None) -> None:
        """Print the result: one JSON document with --json, else the human text."""
        if self.json:
            click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        else:
            click.echo(text if text is not None else _as_text(document))


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (`sqlite:///PATH`); None for another database or an in-memory one."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] != "sqlite":
        return None
    path = rest[1:].split("?")[0] if rest.startswith("/") else ""
    return Path(path) if path and path != ":memory:" else None


def _as_text(document: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in document.items())


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        station = ctx.find_object(Station)
        if station is not None:
            station.json = True


def json_option(func: F) -> F:
    """`--json` after the command, equivalent to the global `mediastation --json CMD`."""
    return click.option(
        "--json", is_flag=True, expose_value=False, is_eager=True, callback=_set_json,
        help="Print exactly one JSON document on stdout.",
    )(func)


pass_station = click.make_pass_decorator(Station)


def stderr(message: str) -> None:
    click.echo(message, file=sys.stderr)
