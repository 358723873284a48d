"""Record which data files a chapter reads, so the build can tell what a chapter depends on.

When ``$REVIEW_READS_LOG`` names a file, every loader call appends the absolute path it read, one
per line. The build sets it for each chapter it executes and stores the list with the chapter's
content hash; a later build re-executes the chapter only when one of those files changed.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "REVIEW_READS_LOG"


def record_read(path: str | os.PathLike[str]) -> None:
    """Note that ``path`` was read (no-op unless ``$REVIEW_READS_LOG`` is set)."""
    log = os.environ.get(ENV_VAR)
    if not log:
        return
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(str(Path(path).resolve()) + "\n")


def reads_from_log(log: str | os.PathLike[str]) -> list[Path]:
    """The distinct files listed in a reads log, in first-read order."""
    p = Path(log)
    if not p.exists():
        return []
    seen: dict[str, None] = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            seen.setdefault(line.strip(), None)
    return [Path(s) for s in seen]
