"""Shared fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sarcoma_review import paths


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the repository's ``data/`` folder (tests corrupt it without touching the real one)."""
    dest = tmp_path / "data"
    shutil.copytree(paths.REPO_ROOT / "data", dest)
    return dest
