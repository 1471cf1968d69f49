"""Fixtures of the burner tests (helpers live in support/burner_media.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.burner_media import make_iso, make_tree


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "tree")


@pytest.fixture
def iso_image(tmp_path: Path, source_tree: Path) -> Path:
    return make_iso(source_tree, tmp_path / "disc.iso")
