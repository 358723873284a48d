"""From executed chapters to the published book: the lock, the staged sources, the generated pages,
Jupyter Book (incremental, in a pre-started process), the checks of the HTML and the swap into ``_build/html``."""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from sarcoma_review.errors import (  # noqa: F401  (re-exported for callers of the build)
    BuildError,
    BuildLockedError,
    ChapterExecutionError,
    ConfigurationError,
    DataValidationError,
    UsageError,
)
from sarcoma_review.living.cache import environment_hash
from sarcoma_review.living.plan import Layout


# --------------------------------------------------------------------------- lock and swap
@contextlib.contextmanager
def build_lock(path: Path, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path``; raise :class:`BuildLockedError` if busy and not ``wait``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
            raise BuildLockedError(
                f"another build is running ({holder}; lock {path}). Wait for it to "
                "finish, or run `review build --wait` to queue behind it."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {_dt.datetime.now().isoformat(timespec='seconds')}".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the lock


def swap_into_place(new_html: Path, target: Path) -> None:
    """Replace ``target`` by ``new_html`` with renames only, so a reader never sees half a book.

    ``target`` is moved to ``<target>.old`` and ``new_html`` renamed to ``target``; if a build is
    killed between the two renames, :func:`recover_html` restores the old book next time.
    """
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    new_html.rename(target)
    if old.exists():
        shutil.rmtree(old)


def recover_html(target: Path) -> None:
    """Put ``<target>.old`` back if a build died between the two renames of :func:`swap_into_place`."""
    old = target.with_name(target.name + ".old")
    if old.exists() and not target.exists():
        old.rename(target)


# --------------------------------------------------------------------------- cache
def stage_sources(layout: Layout, stage: Path) -> None:
    """Copy ``_config.yml``, ``_toc.yml`` and ``book/`` (without notebooks) into a fresh ``stage``.

    Jupyter Book's own execution is forced off in the staged configuration.
    """
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    shutil.copy2(layout.toc, stage / "_toc.yml")
    config = yaml.safe_load(layout.config.read_text(encoding="utf-8")) or {}
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (stage / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copytree(
        layout.book, stage / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb", "__pycache__")
    )


def generate_pages(layout: Layout, stage: Path, data_dir: Path) -> None:
    """Write the pages generated from the repository's metadata into the stage.

    Only for a root that has a ``CITATION.cff`` (the review itself, not the small test books):
    the version/data-date banner on every page (``html.announcement``), the "How to cite" page
    from ``CITATION.cff``, the "What's new" page comparing the data with the last release and,
    when the toc lists ``book/versions``, the Versions page with every release's frozen files
    published under ``_static/releases/<version>/``.
    They are regenerated whenever anything they read changed (:func:`generated_pages_key`; and with
    ``--force``), so they can never be stale.
    """
    from sarcoma_review.living import citation, versions, whatsnew

    if (layout.book / "versions.md").exists():
        # Always regenerated (even in a tree without CITATION.cff): the committed page may list
        # releases this tree does not hold, whose files would then be missing.
        has_version = (layout.root / "src" / "sarcoma_review" / "_version.py").exists()
        versions.write_page(
            stage / "book" / "versions.md",
            root=layout.root,
            current_version=citation.read_version(layout.root) if has_version else None,
        )
        versions.publish_release_files(stage / "book", root=layout.root)
    if not (layout.root / "CITATION.cff").exists():
        return
    citation.inject_banner(stage / "_config.yml", root=layout.root)
    citation.write_cite_page(stage / "book" / "cite.md", cff_path=layout.root / "CITATION.cff", root=layout.root)
    whatsnew.write_page(stage / "book" / "whats-new.md", root=layout.root, data_dir=data_dir)


#: Modules Jupyter Book's build imports (its command line, Sphinx, the extensions and theme it loads).
SPHINX_PRELOAD = (
    "jupyter_book.cli.main",
    "jupyter_book.sphinx",
    "sphinx.application",
    "sphinx.builders.html",
    "sphinx.search",
    "myst_nb",
    "myst_parser",
    "sphinx_book_theme",
    "pydata_sphinx_theme",
    "sphinx_external_toc",
    "sphinx_copybutton",
    "sphinx_togglebutton",
    "sphinx_design",
    "sphinx_comments",
    "sphinx_multitoc_numbering",
    "sphinx_jupyterbook_latex",
    "sphinxcontrib.bibtex",
)

#: A Jupyter Book process that imports :data:`SPHINX_PRELOAD`, then waits for one line on its standard
#: input (the command-line arguments, JSON) and runs ``jupyter-book`` with them, exiting with its code.
_SPHINX_PROCESS_CODE = (
    "import importlib, json, sys\n"
    "for m in json.loads(sys.argv[1]):\n"
    "    try:\n"
    "        importlib.import_module(m)\n"
    "    except ImportError:\n"
    "        pass\n"
    "line = sys.stdin.readline()\n"
    "from jupyter_book.cli.main import main\n"
    "main.main(args=json.loads(line), prog_name='jupyter-book', standalone_mode=True)\n"
)


class SphinxProcess:
    """Jupyter Book started ahead: its imports (about a second) overlap the chapters' execution.

    :meth:`run` hands it the build's arguments; :meth:`close` ends it unused. Either way it runs once.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SPHINX_PROCESS_CODE, json.dumps(SPHINX_PRELOAD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess:
        stdout, stderr = self.proc.communicate(json.dumps(list(args)) + "\n")
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, stdout, stderr)

    def close(self) -> None:
        """End it if it has not run (it has only imported modules: nothing to lose)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def run_jupyter_book(stage: Path, out: Path, strict: bool = True, process: SphinxProcess | None = None) -> Path:
    """Run Jupyter Book on ``stage`` (warnings as errors when ``strict``); return the HTML folder.

    With ``process`` (a :class:`SphinxProcess` started earlier) it runs there, its imports done."""
    args = ["build", str(stage), "--path-output", str(out), "--keep-going"]
    if strict:
        args += ["--warningiserror", "--nitpick"]
    if process is not None:
        proc = process.run(args)
    else:
        exe = Path(sys.executable).with_name("jupyter-book")
        proc = subprocess.run([str(exe) if exe.exists() else "jupyter-book", *args], capture_output=True, text=True)
    html = out / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        text = (proc.stdout + proc.stderr).replace(str(stage) + os.sep, "")
        lines = [ln for ln in text.splitlines() if re.search(r"WARNING:|ERROR:|CRITICAL:|^\w*(Error|Exception)\b", ln)]
        detail = "\n".join(lines[-30:]) or text[-3000:]
        raise BuildError(f"Jupyter Book failed (warnings are errors):\n{detail}")
    return html


#: Folder under ``_build`` where Sphinx keeps its environment between builds (sources, doctrees, HTML).
SPHINX_DIR = "sphinx"


def _markdown_text(path: Path) -> str:
    """The authored text of a notebook: its Markdown cells (not its outputs, which come from the data),
    each starting a line of its own."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return "\0unreadable"
    return "\n\0\n".join(
        "".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
        for c in cells
        if c.get("cell_type") == "markdown"
    )


def _first_heading(path: Path) -> str:
    """The first Markdown heading of a page (a staged ``.md`` or ``.ipynb``): what the navigation shows."""
    if path.suffix == ".ipynb":
        text = _markdown_text(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return "\0unreadable"
    for line in text.splitlines():
        if line.startswith("#"):
            return line.strip()
    return ""


#: Staged files computed from the data on every build: a change in them re-writes only their own pages
#: (they define nothing other pages show). Every other staged file is authored source.
DATA_DRIVEN = (
    "book/whats-new.md",
    "book/cite.md",
    "book/versions.md",
    "book/_static/downloads/",
    "book/_static/releases/",
)


def navigation_digest(stage: Path) -> str:
    """SHA-256 of everything a page can show about another page: the configuration, the table of
    contents, the set of staged files, every authored file's content (Markdown pages, the Markdown
    cells of notebooks: titles, section labels and glossary terms other pages link to; the
    bibliography; the local Sphinx extension; stylesheets and scripts) and the first heading of
    each page computed from the data (:data:`DATA_DRIVEN`). A page that is not re-written keeps what it
    showed: an incremental Sphinx build is sound only while this digest is unchanged, so any authored
    edit starts Sphinx afresh and a data edit re-writes only the pages whose sources changed."""
    h = hashlib.sha256()
    for p in sorted(q for q in stage.rglob("*") if q.is_file()):
        rel = p.relative_to(stage).as_posix()
        if rel.startswith(DATA_DRIVEN):
            part = _first_heading(p) if p.suffix in (".md", ".ipynb") else ""
        elif p.suffix == ".ipynb":
            part = _markdown_text(p)
        else:
            part = hashlib.sha256(p.read_bytes()).hexdigest()
        h.update(f"{rel}\0{part}\0".encode())
    return h.hexdigest()


def _sync_tree(src: Path, dest: Path) -> int:
    """Make ``dest`` hold exactly the files of ``src``; a file whose bytes are unchanged keeps its
    modification time (Sphinx then knows it need not read it again); a changed one is written now.
    Returns how many files were written or removed."""
    changed = 0
    wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    if dest.exists():
        for p in sorted(dest.rglob("*"), reverse=True):
            rel = p.relative_to(dest)
            if p.is_file() and rel not in wanted:
                p.unlink()
                changed += 1
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
    for rel in sorted(wanted):
        a, b = src / rel, dest / rel
        if b.is_file() and b.stat().st_size == a.stat().st_size and b.read_bytes() == a.read_bytes():
            continue
        b.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(a, b)  # not copy2: the new file must look newer than Sphinx's last read
        changed += 1
    return changed


def _touch_root_page(src: Path) -> None:
    """Mark the book's root page as changed (its modification time now), so that Sphinx writes it and
    with it the static files: with no source changed Sphinx stops early ("no targets are out of date"),
    skipping the copy of ``_static`` (removed before each run, see below) while myst-nb still writes its
    stylesheet there at the end, which fails, and the HTML would lack ``_static``."""
    try:
        root = yaml.safe_load((src / "_toc.yml").read_text(encoding="utf-8"))["root"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        root = None
    pages = [src / f"{root}{suffix}" for suffix in ("", ".md", ".ipynb")] if root else []
    for page in [*pages, src / "_toc.yml"]:
        if page.is_file():
            os.utime(page)
            return


def run_jupyter_book_incremental(
    layout: Layout, stage: Path, force: bool = False, process: SphinxProcess | None = None
) -> Path:
    """Jupyter Book on a copy of ``stage`` kept under ``_build/sphinx`` with Sphinx's environment, so
    that Sphinx re-reads and re-writes only the pages whose sources changed; returns its HTML folder
    (copy it before publishing: the next build writes there).

    Never stale: when :func:`navigation_digest` differs from the last run's (an authored file edited, a
    page or file added or removed, the configuration or table of contents changed), with ``force``,
    after a failed or interrupted run, or with another Jupyter Book or pinned environment
    (``requirements.txt``, ``constraints.txt``), the folder is emptied first and every page is written
    anew. A build that fails empties it too.
    """
    import jupyter_book

    folder = layout.build / SPHINX_DIR
    src, out, state_file = folder / "src", folder / "out", folder / "state.json"
    state = {
        "navigation": navigation_digest(stage),
        "jupyter_book": jupyter_book.__version__,
        "python": sys.version,
        "environment": environment_hash(layout.root),
    }
    try:
        previous = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = None
    if force or previous != state:
        shutil.rmtree(folder, ignore_errors=True)
    state_file.unlink(missing_ok=True)  # until this run succeeds, the next build starts afresh
    if not _sync_tree(stage, src):  # the published HTML (or the stage marker) was removed, nothing else
        _touch_root_page(src)
    # Sphinx adds "?v=<checksum>" to a stylesheet link when the file is already in _static as it
    # writes a page; myst-nb writes its stylesheet at the end of a build, so pages written from
    # nothing have no such suffix. Without the old _static (Sphinx copies it again), a page written
    # now is byte for byte what a build from nothing writes.
    shutil.rmtree(out / "_build" / "html" / "_static", ignore_errors=True)
    try:
        html = run_jupyter_book(src, out, process=process)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    state_file.write_text(json.dumps(state), encoding="utf-8")
    return html


def check_published(html: Path, root: Path) -> None:
    """Raise :class:`BuildError` if any page holds the repository's absolute path or a traceback."""
    needle = str(root.resolve())
    bad: list[str] = []
    for p in sorted(html.rglob("*")):
        if p.is_dir() or p.suffix not in {".html", ".txt", ".ipynb", ".md", ".csv", ".json", ".js"}:
            continue
        if "vendor" in p.relative_to(html).parts:
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        if needle in text:
            bad.append(f"{p.relative_to(html)} contains the local path {needle}")
        if p.suffix == ".html" and "Traceback" in text:
            bad.append(f"{p.relative_to(html)} contains a Python traceback")
    if bad:
        raise BuildError(
            "the built book would publish local details; fix the chapters "
            "(use paths relative to the repository root, silence warnings):\n  " + "\n  ".join(bad[:20])
        )


def concat_estimates(files: Sequence[tuple[str, Path]], out: Path) -> Path:
    """Concatenate each analysis' estimates CSV (with an ``analysis_id`` column) into ``out``.

    Each pooled page writes every estimate it shows (primary, sensitivity rows, strata, leave-one-out,
    cumulative; :func:`sarcoma_review.stats.sensitivity.estimates_table`), so the published table
    holds them all. ``kind`` says whether a row is pooled or one series shown as itself (derived
    from ``k`` for a CSV written without it).
    """
    import pandas as pd

    frames = []
    for aid, path in files:
        df = pd.read_csv(path, dtype={"subgroup_value": "string", "series": "string"})
        if "analysis_id" not in df.columns:
            df.insert(0, "analysis_id", aid)
        if "kind" not in df.columns and "k" in df.columns:
            df["kind"] = ["single series" if k == 1 else "pooled" for k in df["k"]]
        frames.append(df)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(out, index=False)
    return out


# --------------------------------------------------------------------------- the build
def _console():
    from rich.console import Console

    return Console(stderr=True)


def generate_pages_isolated(root: str, package_dir: str, stage: str, data_dir: str) -> BaseException | None:
    """:func:`generate_pages` in a chapter process forked from the preloaded fork server (its imports
    done), so that What's new is computed beside the chapters instead of before them.

    Returns the exception it raised (one that survives pickling, else a :class:`BuildError` naming it),
    or ``None``: the submitting process raises it.
    """
    import pickle

    from sarcoma_review.living.notebooks import ensure_current_package

    ensure_current_package()
    try:
        from sarcoma_review.data.tracking import memoised as _memoised
        from sarcoma_review.living.plan import Layout as _Layout

        _generate = generate_pages

        with _memoised():
            _generate(_Layout(Path(root), package_dir=Path(package_dir)), Path(stage), Path(data_dir))
    except Exception as exc:  # noqa: BLE001 - handed to the submitting process, which raises it
        try:
            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:  # noqa: BLE001 - an exception that cannot cross processes
            return BuildError(
                f"the generated pages (What's new, How to cite, Versions) failed: {type(exc).__name__}: {exc}"
            )
    return None
