"""`demo`: the station's main job on embedded defaults, end to end, on this machine alone.

A folder archive with generated sample studies (synthetic patient, test HETU), SQLite, the folder
burner: one release request, one verified disc image with viewer and cover letter. Safe to run
again: the sample archive and request are made once, and a finished export is shown, not redone.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.workflows.samples import PATIENT, STUDIES, demo_request, sample_archive

__all__ = ["PATIENT", "STUDIES", "demo", "demo_reports", "demo_request", "sample_archive"]


def demo_reports(home: Path) -> dict[str, Path]:
    """The radiologist's report of the first study, as the RIS would leave it (UTF-8 text)."""
    report = home / "demo" / f"{STUDIES[0][0]}.txt"
    report.write_text(
        "TT VATSA\n\nKliiniset tiedot: Vatsakipu, kuumeilu.\n\n"
        "Löydökset: Maksa, sappirakko, haima, perna ja munuaiset ovat normaalit. Ei vapaata nestettä.\n\n"
        "Johtopäätös: Ei akuuttia löydöstä.\n\nRadiologi Åsa Öhman (synteettinen esimerkki)\n", encoding="utf-8")
    return {STUDIES[0][0]: report}


@click.command()
@json_option
@pass_station
def demo(station: Station) -> None:
    """Run the main job on embedded defaults and print where everything is."""
    from mediastation.cli.export import export_environment, export_text, tell_warnings
    from mediastation.cli.request import actor, policy
    from mediastation.cli.setup import ensure_initialised
    from mediastation.jobs.queue import JobQueue
    from mediastation.workflows.export import ExportOptions, run_export
    from mediastation.workflows.requests import add_request

    ensure_initialised(station)
    if station.settings.archive.kind != "folder":
        raise click.UsageError("demo needs [archive] kind = \"folder\" (the embedded default); use another --home")
    sample_archive(station.path(station.settings.archive.path))
    request_file = station.home / "demo" / "request.json"
    request_file.parent.mkdir(parents=True, exist_ok=True)
    request_file.write_text(json.dumps(demo_request(), ensure_ascii=False, indent=2), encoding="utf-8")
    added = add_request(station.database(), request_file.read_bytes(), policy(station), actor=actor(None),
                        station=station.settings.station.name)
    done = [j for j in JobQueue(station.database()).for_subject("export", added.request_id) if j.state == "done"]
    output = station.home / "demo" / "output"
    if done:
        document = dict(done[-1].result or {})
    else:
        result = run_export(export_environment(station), ExportOptions(
            request_id=added.request_id, to_dir=output, actor=actor(None), reports=demo_reports(station.home),
            mkdir=True))
        document = result.document
    document = {**document, "request_file": str(request_file), "home": str(station.home)}
    tell_warnings(document)
    station.emit(document, f"demo request {request_file}\n" + export_text(document)
                 + "\nOpen INDEX.HTM of the disc image (or the image itself) to see the viewer.")
