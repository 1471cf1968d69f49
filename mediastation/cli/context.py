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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the database stack costs half a second to import; commands load it on use
    from mediastation.store import Database

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Station:
    """The invocation's view of the station; settings and database are opened on first use."""

    home: Path
    config_file: Path
    json: bool = False
    verbose: bool = False
    _database: "Database | None" = field(default=None, repr=False)

    @classmethod
    def from_options(cls, home: str | None, config: str | None, as_json: bool, verbose: bool) -> "Station":
        resolved = resolve_home(home)
        config_file = Path(config).expanduser().resolve() if config else resolved / CONFIG_NAME
        return cls(home=resolved, config_file=config_file, json=as_json, verbose=verbose)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_file)

    def path(self, value: str) -> Path:
        """A path setting with `{home}` expanded, absolute."""
        return Path(expand_home(value, self.home)).expanduser().resolve()

    @property
    def database_url(self) -> str:
        return expand_home(self.settings.database.url, self.home)

    def database(self) -> "Database":
        """The database at the newest schema (upgraded on first use in this run)."""
        if self._database is None:
            from mediastation.store import open_database

            self._database = open_database(self.database_url)
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()

    def emit(self, document: dict[str, Any], text: str | None = None) -> None:
        """Print the result: one JSON document with --json, else the human text."""
        if self.json:
            click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        else:
            click.echo(text if text is not None else _as_text(document))


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
