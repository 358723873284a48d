"""What a build does: the layout of a checkout, the chapters of the table of contents (each analysis
of ``book/analyses.yml`` a page of its own), and the records a build returns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import sarcoma_review
from sarcoma_review import paths
from sarcoma_review.errors import (  # noqa: F401  (re-exported for callers of the build)
    BuildError,
    BuildLockedError,
    ChapterExecutionError,
    ConfigurationError,
    DataValidationError,
    UsageError,
)
from sarcoma_review.living.analyses import ANALYSES_FILE, load_analyses

POOLED_PREFIX = "book/pooled/"
TEMPLATE = "book/pooled.ipynb"
DOWNLOADS = "book/_static/downloads"
POOLED_CSV = f"{DOWNLOADS}/pooled_estimates.csv"
#: Parameter through which a chapter receives the folder of files to publish (see :func:`build_book`).
DOWNLOADS_PARAMETER = "downloads_dir"
#: Names under ``_static/downloads`` the build writes itself (pooled estimates).
RESERVED_DOWNLOADS = frozenset({"pooled_estimates.csv", "pooled"})
#: Parameters that name outputs, not inputs: excluded from the cache key.
OUTPUT_PARAMETERS = frozenset({"estimates_out", DOWNLOADS_PARAMETER})


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Layout:
    """Where a book's sources and build folders are (``root`` is the repository root)."""

    root: Path
    package_dir: Path = Path(sarcoma_review.__file__).resolve().parent

    @property
    def config(self) -> Path:
        return self.root / "_config.yml"

    @property
    def toc(self) -> Path:
        return self.root / "_toc.yml"

    @property
    def book(self) -> Path:
        return self.root / "book"

    @property
    def analyses(self) -> Path:
        return self.root / ANALYSES_FILE

    @property
    def build(self) -> Path:
        return self.root / "_build"

    @property
    def html(self) -> Path:
        return self.build / "html"

    @property
    def cache(self) -> Path:
        return self.build / "cache"

    @property
    def lock(self) -> Path:
        return self.build / ".lock"

    def default_data_dir(self) -> Path:
        """``paths.data_dir()`` (the current build context's data folder) for the real repository, else
        ``root/data``."""
        if self.root.resolve() == paths.REPO_ROOT.resolve():
            return paths.data_dir()
        return self.root / "data"

    def rel(self, p: Path) -> str:
        """``p`` relative to the root when inside it (posix), else absolute."""
        p = Path(p).resolve()
        try:
            return p.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(p)


@dataclass
class ChapterJob:
    """One page of the book: a notebook to execute, or a Markdown page to copy."""

    page: str  # toc name, e.g. "book/intro" or "book/pooled/lc5"
    source: Path  # file in the sources
    parameters: dict[str, Any] = field(default_factory=dict)
    analysis_id: str | None = None

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"


@dataclass
class ChapterTiming:
    page: str
    seconds: float


@dataclass
class BuildReport:
    """What a build did."""

    html_dir: Path
    executed: list[ChapterTiming] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    static: list[str] = field(default_factory=list)
    pooled_csv: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: Files published under ``_static/downloads/`` by chapters (file name -> page).
    downloads: dict[str, str] = field(default_factory=dict)
    #: True when the staged sources equalled those of the published book, so Sphinx was not run.
    sphinx_skipped: bool = False
    #: Peak resident memory of the largest chapter process (MB; 0 when nothing executed).
    chapter_rss_mb: float = 0.0

    @property
    def executed_pages(self) -> list[str]:
        return [t.page for t in self.executed]


@dataclass
class RunResult:
    """What :func:`execute_chapter` wrote."""

    output_dir: Path
    notebook: Path
    html: Path | None
    estimates: Path | None
    reads: list[Path]
    seconds: float
    downloads: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------- hashing
def toc_pages(toc_path: Path) -> list[str]:
    """Every page named in ``_toc.yml`` (``root`` and each ``file``, depth first, in order)."""
    if not toc_path.exists():
        raise ConfigurationError(f"{toc_path.name} not found at {toc_path}")
    data = yaml.safe_load(toc_path.read_text(encoding="utf-8")) or {}
    pages: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    pages.append(re.sub(r"\.(ipynb|md|rst)$", "", node[key]))
            for key, value in node.items():
                if key not in ("root", "file"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return pages


def check_toc_matches_analyses(pages: Sequence[str], analyses: Sequence[Mapping[str, Any]]) -> None:
    """Raise :class:`ConfigurationError` unless the toc's ``book/pooled/<id>`` pages are exactly the analyses."""
    in_toc = [p[len(POOLED_PREFIX) :] for p in pages if p.startswith(POOLED_PREFIX)]
    ids = [str(a["id"]) for a in analyses]
    missing_in_toc = [i for i in ids if i not in in_toc]
    unknown = [i for i in in_toc if i not in ids]
    problems = []
    if missing_in_toc:
        problems.append(
            "analyses not in _toc.yml (add `- file: " + POOLED_PREFIX + "<id>`): " + ", ".join(missing_in_toc)
        )
    if unknown:
        problems.append(
            f"_toc.yml pages with no analysis in {ANALYSES_FILE} (add the analysis or "
            "remove the page): " + ", ".join(POOLED_PREFIX + i for i in unknown)
        )
    if problems:
        raise ConfigurationError("_toc.yml and " + ANALYSES_FILE + " disagree: " + "; ".join(problems))


def analysis_parameters(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """Template parameters for one analysis: ``analysis_id`` plus every key but ``id``."""
    params = {k: v for k, v in analysis.items() if k != "id"}
    params["analysis_id"] = str(analysis["id"])
    return params


def plan_chapters(layout: Layout, data_dir: Path) -> list[ChapterJob]:
    """Every toc page as a job, with toc/analyses agreement checked."""
    pages = toc_pages(layout.toc)
    analyses = load_analyses(layout.analyses)
    by_id = {str(a["id"]): a for a in analyses}

    def has_source(page: str) -> bool:
        return any((layout.root / (page + sfx)).exists() for sfx in (".ipynb", ".md", ".rst"))

    clash = [aid for aid in by_id if has_source(POOLED_PREFIX + aid)]
    if clash:
        raise ConfigurationError(
            f"{ANALYSES_FILE}: analysis id(s) {', '.join(clash)} clash with existing files "
            f"under {POOLED_PREFIX}; rename the analysis"
        )
    # pages under book/pooled/ with a source file of their own (e.g. an index.md) are ordinary pages
    generated = {p for p in pages if p.startswith(POOLED_PREFIX) and not has_source(p)}
    check_toc_matches_analyses([p for p in pages if p in generated or not p.startswith(POOLED_PREFIX)], analyses)
    template = layout.root / TEMPLATE
    if analyses and not template.exists():
        raise ConfigurationError(f"{ANALYSES_FILE} lists analyses but the template {TEMPLATE} is missing")
    jobs: list[ChapterJob] = []
    for page in pages:
        if page in generated:
            aid = page[len(POOLED_PREFIX) :]
            params = analysis_parameters(by_id[aid])
            params["data_dir"] = layout.rel(data_dir)
            jobs.append(ChapterJob(page, template, params, analysis_id=aid))
            continue
        for suffix in (".ipynb", ".md", ".rst"):
            src = layout.root / (page + suffix)
            if src.exists():
                jobs.append(ChapterJob(page, src))
                break
        else:
            raise ConfigurationError(
                f"_toc.yml names {page!r} but no {page}.ipynb/.md exists; create the chapter or remove the entry"
            )
    return jobs


# --------------------------------------------------------------------------- validation
