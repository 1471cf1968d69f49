"""Media for the burner tests: a small file-set-shaped tree, its ISO image, a damaged byte."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

LABEL = "TESTDISC"


def make_tree(root: Path, *, files: int = 3, size: int = 200_000) -> Path:
    """A tree shaped like a PDI medium (DICOMDIR + 8.3 folders); the bytes are random, not DICOM."""
    series = root / "PT000000" / "ST000000" / "SE000000"
    series.mkdir(parents=True)
    (root / "DICOMDIR").write_bytes(b"DICM" + os.urandom(1000))
    (root / "README.TXT").write_text("Synthetic test medium\n", encoding="ascii")
    for n in range(files):
        (series / f"IM{n:06d}").write_bytes(os.urandom(size))
    return root


def make_iso(tree: Path, iso: Path, label: str = LABEL) -> Path:
    subprocess.run(["xorriso", "-as", "mkisofs", "-iso-level", "1", "-J", "-V", label, "-o", str(iso), str(tree)],
                   check=True, capture_output=True)
    return iso


def flip_byte(path: Path, offset: int) -> None:
    """Change one byte of a written medium, as a bad sector would."""
    with open(path, "r+b") as fp:
        fp.seek(offset)
        byte = fp.read(1)
        fp.seek(offset)
        fp.write(bytes([byte[0] ^ 0xFF]))
