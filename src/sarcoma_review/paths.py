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

import os
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
            return (f"${ROOT_ENV_VAR}={env} is not a checkout of the review (it needs _config.yml and data/); "
                    f"unset {ROOT_ENV_VAR} or point it at a checkout")
    else:
        found = find_project(cwd)
        if found is None:
            here = Path(cwd or Path.cwd()).resolve()
            return (f"{here} is not inside a checkout of the review (no folder above it holds _config.yml and "
                    "data/); cd into your clone and run the command again")
        root = found
    pkg = package_checkout()
    if pkg is not None and pkg.resolve() != root.resolve():
        return (f"you stand in {root}, but this environment runs the sarcoma_review package of another "
                f"checkout ({pkg}); use this checkout's own environment (cd {root} && make env && "
                f".venv/bin/review ...) or PYTHONPATH={root / 'src'}")
    if root.resolve() != REPO_ROOT.resolve():
        return (f"the package was imported for {REPO_ROOT} but you stand in {root}; start the command from "
                "the checkout you mean")
    return None


def data_dir() -> Path:
    """The data folder: ``$REVIEW_DATA_DIR`` when set (used by ``review run --data``), else ``<root>/data``."""
    override = os.environ.get("REVIEW_DATA_DIR")
    return Path(override).resolve() if override else REPO_ROOT / "data"


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
