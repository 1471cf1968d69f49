"""`init` and `config`: setting a station up and seeing what it runs with."""

from __future__ import annotations

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.config import default_station_toml, load_settings
from mediastation.errors import ConfigError


@click.command()
@click.option("--archive-host", help="Write [archive] kind = \"dicom\" with this host.")
@click.option("--archive-port", type=click.IntRange(1, 65535), default=4242, show_default=True)
@click.option("--archive-ae", default="ORTHANC", show_default=True, help="The archive's AE title.")
@click.option("--samples", is_flag=True,
              help="Also put the demo's sample studies (a synthetic patient) in the folder archive, for a first "
                   "export of examples/first_release.json.")
@json_option
@pass_station
def init(station: Station, archive_host: str | None, archive_port: int, archive_ae: str, samples: bool) -> None:
    """Create the home folder, a commented station.toml and the database. Safe to run again:
    an existing station.toml or database is never overwritten (the database is only upgraded)."""
    if samples and archive_host:
        raise click.UsageError("--samples fills the folder archive; it does not go with --archive-host")
    document = ensure_initialised(station, archive_host=archive_host, archive_port=archive_port,
                                  archive_ae=archive_ae)
    created = document["config_created"]
    text = f"Station home {station.home}\n{'wrote' if created else 'kept existing'} {station.config_file}\n"
    if not created and archive_host:
        document["ignored"] = ["--archive-host", "--archive-port", "--archive-ae"]
        text += "station.toml exists: --archive-* ignored; edit [archive] in it instead\n"
    text += f"database {document['database']} at schema {document['schema_revision']}"
    if samples:
        document["samples"] = _samples(station)
        text += f"\nsample studies {', '.join(document['samples']['accession_numbers'])} in {document['samples']['archive']}"
    document["desk_users"] = len(_desk_users(station))
    if not document["desk_users"]:
        text += ("\ndesk: no users yet; `mediastation users add NAME --role admin` adds the first, "
                 "`mediastation serve` opens the desk")
    _warn(station, document, _price_list_warnings(station))
    station.emit(document, text)


def _desk_users(station: Station) -> list:
    """The desk's users (`init` tells how to add the first one)."""
    from mediastation.workflows.users import list_users

    return list_users(station.database())


def _samples(station: Station) -> dict:
    """The demo's sample studies in the folder archive (made once; a second run keeps them)."""
    from mediastation.workflows.samples import STUDIES, sample_archive

    settings = station.settings
    if settings.archive.kind != "folder":
        raise click.UsageError(f"--samples needs [archive] kind = \"folder\"; {station.config_file} says "
                               f"{settings.archive.kind!r}")
    folder = station.path(settings.archive.path)
    sample_archive(folder)
    return {"archive": str(folder), "accession_numbers": [study[0] for study in STUDIES]}


def _price_list_warnings(station: Station) -> list[str]:
    from mediastation.workflows.billing import price_list_warnings

    return price_list_warnings(station.path(station.settings.pricing.price_list))


def _warn(station: Station, document: dict, warnings: list[str]) -> None:
    """Warnings go to stderr and into the JSON document: a warning is told, never a refusal."""
    from mediastation.cli.context import stderr

    for warning in warnings:
        stderr(f"warning: {warning}")
    if warnings:
        document["warnings"] = warnings


def ensure_initialised(station: Station, *, archive_host: str | None = None, archive_port: int = 4242,
                       archive_ae: str = "ORTHANC") -> dict:
    """What `init` makes, made only where missing: home, station.toml, archive folder, database."""
    station.home.mkdir(parents=True, exist_ok=True)
    created = not station.config_file.exists()
    if created:
        text = default_station_toml(
            archive_kind="dicom" if archive_host else "folder",
            archive_host=archive_host or "127.0.0.1", archive_port=archive_port, archive_ae=archive_ae,
        )
        load_settings_from_text(text)
        from mediastation.files import write_text_atomic

        write_text_atomic(station.config_file, text)
    settings = station.settings
    if settings.archive.kind == "folder":
        station.path(settings.archive.path).mkdir(parents=True, exist_ok=True)
    from mediastation.workflows.billing import install_example_price_list

    price_list = station.path(settings.pricing.price_list)
    price_list_created = install_example_price_list(price_list)
    from mediastation.workflows.disclosures import create_log_key, refuse_foreign_key

    key_file = station.path(settings.log.key_file)
    key_created = create_log_key(key_file)  # before the database: migration 0006 seals the log with it
    database = station.database(create=True)
    refuse_foreign_key(database, key_file, key_created)
    return {
        "home": str(station.home),
        "config": str(station.config_file),
        "config_created": created,
        "price_list": str(price_list),
        "price_list_created": price_list_created,
        "database": database.engine.url.render_as_string(hide_password=True),
        "schema_revision": database.revision(),
        "log_key_file": str(key_file),
        "log_key_created": key_created,
    }


def load_settings_from_text(text: str) -> None:
    """Guard: the file init writes must itself be valid (a broken template is a bug)."""
    import tomllib

    from mediastation.config import parse_settings

    parse_settings(tomllib.loads(text), source="default station.toml")


@click.group()
def config() -> None:
    """Inspect the station's configuration."""


@config.command("show")
@json_option
@pass_station
def config_show(station: Station) -> None:
    """Print the effective settings as TOML: defaults filled in, {home} expanded, the release
    lists in force."""
    from mediastation.config import effective_settings, to_toml

    settings = station.settings
    effective = effective_settings(settings, station.home)
    document = {"config": str(station.config_file), "exists": station.config_file.exists(),
                "settings": settings.model_dump(mode="json"), "effective": effective}
    header = (f"# the settings in force: {station.config_file} with every default filled in,\n"
              f"# {{home}} = {station.home} and [release] as the lists in force\n")
    station.emit(document, header + to_toml(effective).rstrip("\n"))


@config.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@pass_station
def config_check(station: Station, file: str) -> None:
    """Validate a station.toml without using it."""
    from pathlib import Path

    from mediastation.config import expand_home
    from mediastation.workflows.billing import price_list_warnings

    settings = load_settings(Path(file))
    document = {"ok": True, "config": str(Path(file).resolve())}
    _warn(station, document, price_list_warnings(Path(expand_home(settings.pricing.price_list, station.home))))
    station.emit(document, f"{file}: valid")


__all__ = ["init", "config", "ConfigError"]
