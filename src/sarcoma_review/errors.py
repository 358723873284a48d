"""Every error the review raises for a reason the user can fix: one hierarchy under :class:`ReviewError`.

The command line (:mod:`sarcoma_review.cli`) catches :class:`ReviewError` once and prints its message
on one line (no traceback, exit status 1). Anything else that escapes is a bug.

ReviewError
├── DataValidationError      a data file is missing, malformed or breaks its schema (file, line, column)
├── UsageError               a bad option or argument (unknown chapter, parameter, date, version...)
├── ProjectError             the working directory is not inside a checkout of the review
├── BuildError               the book could not be built
│   ├── ChapterExecutionError    a chapter's cell raised (names the notebook and the cell)
│   ├── BuildLockedError         another build holds the lock
│   └── ConfigurationError       _toc.yml, book/analyses.yml or _config.yml are inconsistent
└── ReleaseError             a release cannot proceed, or a frozen release does not verify
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sarcoma_review.paths import REPO_ROOT

#: One problem: (data row number, 1-based, or None for the whole file/header; column or None; expected; got).
Problem = tuple[int | None, str | None, str, str]


def display_path(path: str | Path) -> str:
    """``path`` relative to the repository root when inside it, else absolute."""
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(p)


class ReviewError(Exception):
    """Base of every error whose message tells the user what is wrong and how to fix it."""


class UsageError(ReviewError, ValueError):
    """A command-line option or argument has a value the command cannot use."""


class ProjectError(ReviewError):
    """The working directory is not inside a checkout of the review (no ``_config.yml`` and ``data/``)."""


class BuildError(ReviewError, RuntimeError):
    """A build failed for a reason the message explains (no traceback needed)."""


class ChapterExecutionError(BuildError):
    """A chapter's cell raised; the message names the notebook and the cell."""


class CellExecutionError(ChapterExecutionError):
    """One cell raised (or did not compile) during in-process execution: ``exec_count``, ``cell_index``,
    ``ename``, ``evalue`` and the cell's ``source`` (the chapter runner turns it into its message)."""

    def __init__(self, exec_count: int | None, cell_index: int, ename: str, evalue: str, source: str):
        super().__init__(f"{ename}: {evalue}")
        self.exec_count, self.cell_index, self.ename, self.evalue, self.source = (
            exec_count,
            cell_index,
            ename,
            evalue,
            source,
        )


class BuildLockedError(BuildError):
    """Another build holds the lock."""


class ConfigurationError(BuildError):
    """``_toc.yml``, ``book/analyses.yml`` or ``_config.yml`` is inconsistent."""


class ReleaseError(ReviewError, RuntimeError):
    """A release cannot proceed (or a frozen release does not verify); the message says how to fix it."""


class DataValidationError(ReviewError, ValueError):
    """A data file is missing, malformed, or breaks its schema.

    Attributes
    ----------
    path : Path
        The offending file.
    problems : list of (row, column, expected, got)
        ``row`` is the 1-based data row (the CSV line is ``row + 1`` for files without
        multi-line fields) or ``None`` for file-level problems; ``column`` may be ``None``.
    lines : dict
        Optional CSV line number per data row, used in the message when known.
    """

    def __init__(
        self,
        path: str | Path,
        problems: Sequence[Problem],
        lines: dict[int, int] | None = None,
    ) -> None:
        self.path = Path(path)
        self.problems: list[Problem] = list(problems)
        self.lines = dict(lines or {})
        super().__init__(self._message())

    def _where(self, row: int | None, column: str | None) -> str:
        parts = [display_path(self.path)]
        if row is not None:
            parts.append(f"line {self.lines.get(row, row + 1)} (row {row})")
        if column is not None:
            parts.append(f"column {column!r}")
        return ", ".join(parts)

    def _message(self) -> str:
        n = len(self.problems)
        head = f"{display_path(self.path)}: {n} problem{'s' if n != 1 else ''} found"
        body = [
            f"  {self._where(row, col)}: expected {expected}, got {got}" for row, col, expected, got in self.problems
        ]
        if n == 1:
            return body[0].strip()
        return "\n".join([head, *body])
