"""viewer_bundle/: the committed viewer files are what its pinned build makes, and use only what
works from file:// (classic scripts; no fetch/XHR, workers, ES modules or WebGL in our code)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mediastation.media.web import VIEWER_FILES, bundle_dir

BUNDLE = bundle_dir()
SOURCES = ("package.json", "package-lock.json", "build.js", "src", "licenses")


def _recorded() -> dict[str, str]:
    lines = (BUNDLE / "VIEWER.SHA256").read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def _digests(folder: Path) -> dict[str, str]:
    return {f"VIEWER/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_committed_files_match_the_recorded_hashes() -> None:
    assert sorted(_recorded()) == sorted(f"VIEWER/{name}" for name in VIEWER_FILES)
    assert _digests(BUNDLE / "VIEWER") == _recorded()


def test_pinned_versions() -> None:
    package = (BUNDLE / "package.json").read_text(encoding="utf-8")
    assert re.search(r'"daikon": "1\.2\.46"', package) and re.search(r'"esbuild": "\d+\.\d+\.\d+"', package)


def test_rebuild_gives_the_same_files(tmp_path: Path) -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node/npm are not installed: the rebuild needs them (the station itself does not)")
    work = tmp_path / "viewer_bundle"
    work.mkdir()
    for name in SOURCES:
        source = BUNDLE / name
        if source.is_dir():
            shutil.copytree(source, work / name)
        else:
            shutil.copyfile(source, work / name)
    install = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=work,
                             capture_output=True, text=True, timeout=300)
    if install.returncode != 0:
        pytest.skip(f"npm ci could not fetch the pinned packages (registry unreachable?): {install.stderr[-300:]}")
    build = subprocess.run(["node", "build.js"], cwd=work, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    assert _digests(work / "VIEWER") == _recorded()
    assert (work / "VIEWER.SHA256").read_text() == (BUNDLE / "VIEWER.SHA256").read_text()


def test_viewer_uses_only_what_works_from_file_urls() -> None:
    viewer = (BUNDLE / "VIEWER" / "VIEWER.JS").read_text(encoding="ascii")
    for pattern in (r"(?<![\w.])fetch\(", r"XMLHttpRequest", r"new Worker", r"\bimport\s*\(", r"^\s*import ",
                    r"^\s*export ", r"webgl", r"innerHTML", r"\beval\("):
        assert not re.search(pattern, viewer, re.M | re.I), pattern
    page = (BUNDLE / "templates" / "INDEX.HTM").read_text(encoding="utf-8")
    assert 'type="module"' not in page and "viewer/viewer.js" in page and "VIEWER/VIEWER.JS" in page


def test_licences_of_every_bundled_package() -> None:
    text = (BUNDLE / "VIEWER" / "LICENSES.TXT").read_text(encoding="utf-8")
    for needle in ("daikon 1.2.46", "RII-UTHSCSA", "Redistributions in binary form", "jpeg-lossless-decoder-js",
                   "pako", "Jan de Vaan", "Mozilla Foundation", "Apache License", "Version 2.0"):
        assert needle in text, needle
