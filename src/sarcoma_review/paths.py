"""Where things are: the project is the checkout you stand in.

The repository root (:data:`REPO_ROOT`) is, in this order:

1. ``$REVIEW_ROOT`` when set (the ``review`` command sets it for every kernel and subprocess it
   starts, so a chapter's kernel reads the same project as the command that started it);
2. the nearest folder, from the working directory upwards, that holds ``_config.yml`` and ``data/``
   (a checkout of the review);
3. the checkout the package's source sits in (an editable install run from outside any checkout,
   e.g. a library call from ``/tmp``).

:func:`project_problem` (checked by every ``review`` command, which raises it as a ``ProjectError``) refuses
to run outside a checkout, or with the package of one checkout while standing in another: an
environment installed (editable) from clone A and run in clone B would otherwise mix A's code with
B's data and book. Use B's own environment (``make env`` in B), or ``PYTHONPATH=B/src``.

Every path below is derived from that root, never from the caller's cwd after start-up.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming the project root (set by ``review`` for the processes it starts).
ROOT_ENV_VAR = "REVIEW_ROOT"
#: Files and folders that make a folder a checkout of the review.
MARKERS = ("_config.yml", "data")

#: Where the package's source is (``<checkout>/src/sarcoma_review`` for an editable install).
PACKAGE_DIR = Path(__file__).resolve().parent


def is_project(folder: Path) -> bool:
    """True when ``folder`` holds ``_config.yml`` (a file) and ``data/`` (a folder)."""
    folder = Path(folder)
    return (folder / "_config.yml").is_file() and (folder / "data").is_dir()


def find_project(start: Path | None = None) -> Path | None:
    """The nearest checkout containing ``start`` (default: the working directory), or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    return None


def package_checkout() -> Path | None:
    """The checkout the package's source sits in (``<root>/src/sarcoma_review``), or None when the
    package is installed outside any checkout (a wheel in site-packages)."""
    root = PACKAGE_DIR.parents[1]
    return root if is_project(root) else None


def _initial_root() -> Path:
    env = os.environ.get(ROOT_ENV_VAR)
    if env:
        return Path(env).resolve()
    return find_project() or package_checkout() or Path.cwd().resolve()


#: The repository root, fixed when the package is first imported (see the module docstring).
REPO_ROOT = _initial_root()


def project_problem(cwd: Path | None = None) -> str | None:
    """Why ``review`` must not run here, or None when the project is the checkout you stand in.

    A problem when ``$REVIEW_ROOT`` names no checkout, when the working directory is not inside a
    checkout (and ``$REVIEW_ROOT`` is unset), or when the package imported here is the source of a
    different checkout. The command line raises it as a ``ProjectError``.
    """
    env = os.environ.get(ROOT_ENV_VAR)
    if env:
        root = Path(env).resolve()
        if not is_project(root):
            return (
                f"${ROOT_ENV_VAR}={env} is not a checkout of the review (it needs _config.yml and data/); "
                f"unset {ROOT_ENV_VAR} or point it at a checkout"
            )
    else:
        found = find_project(cwd)
        if found is None:
            here = Path(cwd or Path.cwd()).resolve()
            return (
                f"{here} is not inside a checkout of the review (no folder above it holds _config.yml and "
                "data/); cd into your clone and run the command again"
            )
        root = found
    pkg = package_checkout()
    if pkg is not None and pkg.resolve() != root.resolve():
        return (
            f"you stand in {root}, but this environment runs the sarcoma_review package of another "
            f"checkout ({pkg}); use this checkout's own environment (cd {root} && make env && "
            f".venv/bin/review ...) or PYTHONPATH={root / 'src'}"
        )
    if root.resolve() != REPO_ROOT.resolve():
        return (
            f"the package was imported for {REPO_ROOT} but you stand in {root}; start the command from "
            "the checkout you mean"
        )
    return None


@dataclass(frozen=True)
class BuildContext:
    """What the work in this process reads and where it may keep what it computed: created once by
    whoever starts the work (the build, for itself and for each chapter it executes; ``review run``;
    ``review validate --data``) and entered with :func:`using`; read by the loaders, the reads log, the
    feasibility solver and the charts through :func:`context`. Outside any (a notebook opened by hand,
    papermill run from the root, a library call) it is the checkout's ``data/`` and no caches.

    Attributes
    ----------
    data_dir
        The data folder every loader reads by default.
    cache_dir
        The build's cache folder (``_build/cache``): validated tables under ``tables/``, solver results
        under ``feasibility/``, chart pictures under ``svg/``; ``None``: nothing is kept on disk.
    reads_log
        The file where the loaders record what a chapter read (the build's dependencies); ``None``:
        nothing is recorded.
    """

    data_dir: Path
    cache_dir: Path | None = None
    reads_log: Path | None = None

    def cache(self, name: str) -> Path | None:
        """The cache folder ``name`` under :attr:`cache_dir`, or ``None`` when there is no cache."""
        return None if self.cache_dir is None else self.cache_dir / name


_contexts: list[BuildContext] = []


def context() -> BuildContext:
    """The innermost context entered with :func:`using`, else the checkout's ``data/`` and no caches."""
    return _contexts[-1] if _contexts else BuildContext(data_dir=REPO_ROOT / "data")


@contextlib.contextmanager
def using(ctx: BuildContext) -> Iterator[BuildContext]:
    """Work under ``ctx`` until the block ends (contexts nest; the outer one is back afterwards)."""
    _contexts.append(ctx)
    try:
        yield ctx
    finally:
        _contexts.pop()


def data_dir() -> Path:
    """The data folder of the current :func:`context` (``<root>/data`` outside any)."""
    return Path(context().data_dir)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place, so that a concurrent
    reader (another chapter process) sees the old state or the whole new file, never part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


BOOK_DIR = REPO_ROOT / "book"
BUILD_DIR = REPO_ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
