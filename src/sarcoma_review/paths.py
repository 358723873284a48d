"""Where things are. Every path is derived from the repository root, never from the caller's cwd."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root (this file is ``<root>/src/sarcoma_review/paths.py``).
REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The data folder: ``$REVIEW_DATA_DIR`` when set (used by ``review run --data``), else ``<root>/data``."""
    override = os.environ.get("REVIEW_DATA_DIR")
    return Path(override).resolve() if override else REPO_ROOT / "data"


BOOK_DIR = REPO_ROOT / "book"
BUILD_DIR = REPO_ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
