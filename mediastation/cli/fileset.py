"""`fileset`: write or check the DICOMDIR of a folder of DICOM files, like DCMTK's dcmmkdir.

Needs no home folder, configuration or database: it works on the folder it is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from mediastation.cli.context import Station, json_option, pass_station
from mediastation.cli.progress import Progress
from mediastation.errors import EXIT_OK, EXIT_REFUSED

PROFILE_HELP = "PS3.11 application profile to enforce: STD-GEN-CD, STD-GEN-DVD-JPEG, STD-GEN-DVD-J2K, " \
               "STD-GEN-USB-JPEG or STD-GEN-USB-J2K."


def _profile(name: str | None):  # -> Profile | None
    from mediastation.dicom.profiles import profile_named

    return profile_named(name) if name else None


@click.group()
def fileset() -> None:
    """DICOM file-sets (DICOMDIR) of folders."""


@fileset.command("index")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--profile", "profile_name", metavar="P", help=PROFILE_HELP)
@click.option("--id", "fileset_id", metavar="FILESETID",
              help="File-set ID, 1-16 characters A-Z 0-9 _ (default: from the folder's name).")
@json_option
@pass_station
def fileset_index(station: Station, directory: Path, profile_name: str | None, fileset_id: str | None) -> None:
    """Write DIRECTORY/DICOMDIR for the DICOM files under DIRECTORY, in place.

    Every file must already have a conformant file ID (at most 8 levels of 1-8 characters A-Z, 0-9, _,
    no extension); README.TXT, INDEX.HTM, *.PDF and the IHE_PDI, VIEWER and REPORTS folders at the
    root are left out. Anything else is refused with the list of offending files.
    """
    from mediastation.dicom.fileset import index_tree

    summary = index_tree(directory, fileset_id=fileset_id.upper() if fileset_id else None,
                         profile=_profile(profile_name), progress=Progress("fileset"))
    text = (f"{summary.dicomdir.resolve()}: file-set {summary.fileset_id}"
            f"{' (' + summary.profile + ')' if summary.profile else ''}: {summary.patients} patient(s), "
            f"{summary.studies} study(ies), {summary.series} series, {summary.instances} instance(s)")
    if summary.filled:
        text += "\ndefaults filled: " + ", ".join(f"{k} x{n}" for k, n in summary.filled.items())
    station.emit(summary.to_json(), text)


@fileset.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--profile", "profile_name", metavar="P", help=PROFILE_HELP)
@json_option
@pass_station
def fileset_verify(station: Station, directory: Path, profile_name: str | None) -> int:
    """Check DIRECTORY/DICOMDIR against the files: exit 0 when sound, 1 with the list of problems."""
    from mediastation.dicom.fileset import verify_fileset

    profile = _profile(profile_name)
    problems = verify_fileset(directory, profile)
    document = {"dicomdir": str((directory / "DICOMDIR").resolve()), "profile": profile.name if profile else None,
                "ok": not problems, "problems": problems}
    if problems:
        document["error"] = {"code": "fileset_invalid",
                             "message": f"{len(problems)} problem(s) in the file-set under {directory}"}
        text = f"{directory}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)
    else:
        text = f"{directory}: the file-set is sound"
    station.emit(document, text)
    return EXIT_REFUSED if problems else EXIT_OK
