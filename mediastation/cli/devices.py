"""`devices` and `watch`: the drives and USB sticks the station sees, and what was just inserted."""

from __future__ import annotations

import json
import logging
import signal
from typing import Any

import click

from mediastation.cli.context import Station, json_option, pass_station, stderr

log = logging.getLogger("mediastation.watch")


@click.command()
@json_option
@pass_station
def devices(station: Station) -> None:
    """Drives and USB sticks the station sees, with their media, and the configured burners."""
    from burners.discovery import list_devices

    found = list_devices()
    configured = burners(station)
    document = {"devices": [d.to_json() for d in found], "burners": configured}
    lines = [f"{d.device}  {d.kind:8}  {d.state.value:10}  {d.medium_type or '-':14}  {d.label or ''}".rstrip()
             for d in found] or ["no optical drives or USB sticks found"]
    lines += [f"burner {b['name']} ({b['kind']}) {b['device'] or ''}{'  [default]' if b['default'] else ''}".rstrip()
              for b in configured]
    station.emit(document, "\n".join(lines))


def burners(station: Station) -> list[dict[str, Any]]:
    """The burners `export` can use here (workflows/devices.py)."""
    from mediastation.workflows.devices import configured_burners

    return configured_burners(station.settings.burners, station.path)


@click.command()
@click.option("--once", is_flag=True, help="Stop after the first drive or stick event.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds (default: run until stopped).")
@click.option("--max-events", type=click.IntRange(min=1), default=None, help="Stop after this many events.")
@json_option
@pass_station
def watch(station: Station, once: bool, timeout: float | None, max_events: int | None) -> None:
    """React to discs and sticks being inserted or removed: one line per event (JSON Lines with --json).

    A blank disc or empty FAT stick is a target for the export queue; a medium with DICOMDIR in its
    root is an outside medium to import ("import scan").
    """
    from burners.discovery import watch as watch_devices

    def on_event(record: dict[str, Any]) -> None:
        log.info("%s %s (%s): %s", record["event"], record["device"], record["kind"], record["action"])
        if station.json:
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            label = f" '{record['label']}'" if record.get("label") else ""
            click.echo(f"{record['event']} {record['device']} ({record['kind']}, {record['state']}{label}): "
                       f"{record['action']} - {record['reason']}")

    signal.signal(signal.SIGTERM, _stop)
    try:
        watch_devices(on_event, timeout=timeout, max_events=1 if once else max_events,
                      ready=lambda: stderr("watching for discs and USB sticks (udev)"))
    except (KeyboardInterrupt, _Stopped):
        pass


class _Stopped(Exception):
    """SIGTERM: stop watching and exit 0, like Ctrl-C."""


def _stop(_signum: int, _frame: Any) -> None:
    raise _Stopped()
