"""The `mediastation` command: global options, command registry and the error boundary.

Exit statuses (interfaces.md): 0 done, 1 refused or bad input, 2 usage error, 3 an outside party
failed. A MediaStationError prints one message (or one JSON document) without a traceback.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Sequence

import click

from mediastation import __version__
from mediastation.cli.context import Station
from mediastation.errors import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, MediaStationError, disk_error

# Command name -> "module:attribute". Each area keeps its commands in its own module, loaded only
# when used, so a command starts without importing the whole station.
COMMANDS = {
    "init": "mediastation.cli.setup:init",
    "config": "mediastation.cli.setup:config",
    "demo": "mediastation.cli.demo:demo",
    "pacs": "mediastation.cli.pacs:pacs",
    "request": "mediastation.cli.request:request",
    "log": "mediastation.cli.log:log",
    "export": "mediastation.cli.export:export",
    "send": "mediastation.cli.send:send",
    "fileset": "mediastation.cli.fileset:fileset",
    "import": "mediastation.cli.importing:import_",
    "shipments": "mediastation.cli.shipments:shipments",
    "billing": "mediastation.cli.billing:billing",
    "devices": "mediastation.cli.devices:devices",
    "watch": "mediastation.cli.devices:watch",
    "worker": "mediastation.cli.jobs:worker",
    "jobs": "mediastation.cli.jobs:jobs",
    "audit": "mediastation.cli.audit:audit",
    "users": "mediastation.cli.users:users",
    "serve": "mediastation.cli.serve:serve",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; modules not yet written are left out."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attribute, None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="MEDIASTATION_HOME", type=click.Path(file_okay=False),
              help="The station's folder (station.toml, database, jobs). Env: MEDIASTATION_HOME.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this configuration file instead of HOME/station.toml.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Log details (and network traffic) on stderr.")
@click.version_option(__version__, prog_name="mediastation")
@click.pass_context
def cli(ctx: click.Context, home: str | None, config_file: str | None, as_json: bool, verbose: bool) -> None:
    """HUS imaging media station: release requests, media export and import, delivery, billing."""
    ctx.obj = Station.from_options(home, config_file, as_json, verbose)
    ctx.call_on_close(ctx.obj.close)
    _configure_logging(verbose)



def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # pynetdicom logs every refused association as ERROR; our own message says it once, clearly.
    logging.getLogger("pynetdicom").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the command and turn its outcome into an exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in args
    try:
        status = cli.main(args=args, prog_name="mediastation", standalone_mode=False)
    except MediaStationError as exc:
        _report(exc.to_json(), exc.message, want_json)
        status = exc.exit_status
    except click.UsageError as exc:
        _report({"error": {"code": "usage", "message": exc.format_message()}}, None, want_json, exc)
        status = EXIT_USAGE
    except click.ClickException as exc:
        _report({"error": {"code": "invalid_input", "message": exc.format_message()}}, None, want_json, exc)
        status = exc.exit_code
    except click.Abort:
        click.echo("Aborted.", file=sys.stderr)
        status = EXIT_REFUSED
    except BrokenPipeError:  # stdout closed by the reader (`| head`): nothing left to tell it
        status = EXIT_REFUSED
    except OSError as exc:  # a disk full, read-only or gone under any command: exit 3 with the path
        error = disk_error(exc)
        _report(error.to_json(), error.message, want_json)
        status = error.exit_status
    sys.exit(status if isinstance(status, int) else EXIT_OK)


def _report(document: dict, message: str | None, want_json: bool,
            click_exc: click.ClickException | None = None) -> None:
    if want_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif click_exc is not None:
        click_exc.show()
    else:
        click.echo(f"mediastation: {message}", file=sys.stderr)
