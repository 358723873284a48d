"""Execute one notebook (papermill's parameters, an in-process IPython shell) and clean it for publication.

:func:`run_notebook` runs in a chapter process of its own, forked from the preloaded fork server
(see :mod:`sarcoma_review.living.warm`), for the build and for ``review run`` alike. Each execution:

* injects the parameters exactly as papermill does (its ``injected-parameters`` cell), so
  ``papermill book/x.ipynb out.ipynb -p name value`` run from the root executes the same code;
* runs with its working directory at the repository root, so a notebook uses paths relative to
  the root;
* sets ``$REVIEW_ROOT`` to that root when it is a checkout (:mod:`sarcoma_review.paths`), so the
  chapter's package reads the same project as the build;
* runs under the build context (:class:`sarcoma_review.paths.BuildContext`) the task names: the data
  folder, the reads log (every loader records the data it read, see :mod:`sarcoma_review.data.tracking`)
  and the build's cache folder;
* removes papermill's injected-parameters cell, tags the ``parameters`` cell ``remove-cell`` and
  strips papermill's metadata, so readers see neither the parameters nor local paths.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from sarcoma_review.data.tracking import records_from_log
from sarcoma_review.errors import CellExecutionError

#: Thread-pool sizes of the numerical libraries, set to 1 for each kernel (see :func:`run_notebook`).
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes."""
    return _ANSI.sub("", text)


#: Placeholder in a template's Markdown replaced by the run's page title (see :func:`page_title`).
TITLE_PLACEHOLDER = "{{ analysis_title }}"


def page_title(parameters: Mapping[str, Any]) -> str:
    """The title of a parameterised page: its ``title`` parameter, else one made from its
    ``endpoint`` and ``horizon_years`` ("Pooled 5-year local control"), else "Pooled analysis"."""
    if parameters.get("title"):
        return str(parameters["title"])
    if parameters.get("endpoint") and parameters.get("horizon_years") not in (None, ""):
        from sarcoma_review.data.vocabulary import landmark_name

        return "Pooled " + landmark_name(str(parameters["endpoint"]), float(parameters["horizon_years"]))
    return "Pooled analysis"


def clean_executed_notebook(
    nb: nbformat.NotebookNode, parameters: Mapping[str, Any] | None = None
) -> nbformat.NotebookNode:
    """Make an executed notebook fit for publication (in place; also returned).

    Removes the cell papermill injects (tag ``injected-parameters``), adds ``remove-cell`` to the
    ``parameters`` cell, and drops papermill's notebook and cell metadata (input/output paths,
    timings) so no local path or timing noise reaches the page or the cache. When ``parameters``
    are given, :data:`TITLE_PLACEHOLDER` in Markdown cells becomes :func:`page_title`.
    """
    if parameters is not None:
        from sarcoma_review.pages.render.tables import md_text

        # a parameter is text, never markup (`-p title='<script>'`): escaped for Markdown, and its angle
        # brackets shown as ‹ › because the theme prints page titles through Jinja's striptags, which
        # turns &lt; back into a raw < in the navigation and the print header
        title = md_text(page_title(parameters).replace("<", "‹").replace(">", "›"))
        for cell in nb.cells:
            if cell.cell_type == "markdown" and TITLE_PLACEHOLDER in cell.source:
                cell.source = cell.source.replace(TITLE_PLACEHOLDER, title)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        meta = cell.setdefault("metadata", {})
        meta.pop("papermill", None)
        meta.pop("execution", None)
        tags = meta.get("tags", [])
        if "parameters" in tags and "remove-cell" not in tags:
            meta["tags"] = [*tags, "remove-cell"]
    nb.metadata.pop("papermill", None)
    # Cell ids from the cell's place and text, not random: nbformat gives a cell without one (a
    # notebook stored before ids, papermill's parameterised copy) a random id at every execution, so
    # the published notebook sources would differ between two builds of the same book.
    import hashlib

    for i, cell in enumerate(nb.cells):
        cell["id"] = hashlib.sha256(f"{i}\0{cell.source}".encode()).hexdigest()[:8]
    return nb


def notebook_parameters(path: str | os.PathLike[str]) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell (empty when it has none).

    Parsed with :mod:`ast` (papermill's own inspector gives up on lines whose comment holds a quote).
    """
    import ast

    nb = nbformat.read(path, as_version=4)
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        for node in ast.parse(cell.source).body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, ast.AnnAssign) else [])
            )
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
    return names


def _error_cell_source(path: Path) -> str:
    """Source of the first cell with an error output in the executed notebook at ``path``."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - best effort: the message stays useful without it
        return ""
    for cell in nb.cells:
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return cell.get("source", "")
    return ""


LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


def parameterize(nb: nbformat.NotebookNode, parameters: Mapping[str, Any]) -> nbformat.NotebookNode:
    """``nb`` with papermill's ``injected-parameters`` cell (exactly what ``papermill -p`` injects;
    like papermill, nothing is injected when there are no parameters)."""
    if not parameters:
        return nb
    from papermill.parameterize import (
        parameterize_notebook,  # imported only when needed (~0.2 s)
    )

    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.setdefault("metadata", {}).setdefault("tags", [])
    if not nb.metadata.get("kernelspec", {}).get("name"):
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return parameterize_notebook(nb, dict(parameters))


def execute_in_process(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Execute every code cell of ``nb`` on an IPython shell in THIS process; outputs as a kernel gives them.

    Streams (stdout, stderr, warnings), ``display()`` calls (glue included), a cell's last value
    (``execute_result`` with its execution count) and errors become the cell's outputs, as nbclient
    records them from a Jupyter kernel. Stops at the first failing cell (raises :class:`CellExecutionError`,
    ``nb`` keeps the outputs so far). Meant for a process that runs this one notebook and exits
    (:mod:`sarcoma_review.living.warm`): the shell's state is the process's state.
    """
    import io
    import platform
    import sys

    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from nbformat.v4 import new_output
    from traitlets.config import Config

    sink: dict[str, Any] = {"outputs": []}

    def stream(name: str, text: str) -> None:
        outs = sink["outputs"]
        if outs and outs[-1].output_type == "stream" and outs[-1].name == name:
            outs[-1].text += text
        else:
            outs.append(new_output("stream", name=name, text=text))

    class Stream(io.TextIOBase):
        def __init__(self, name: str):
            self.name_ = name

        def write(self, text: str) -> int:
            if text:
                stream(self.name_, text)
            return len(text)

        def writable(self) -> bool:
            return True

        @property
        def encoding(self) -> str:  # type: ignore[override]
            return "utf-8"

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            sink["outputs"].append(new_output("display_data", data=data, metadata=metadata or {}))

        def clear_output(self, wait=False):
            sink["outputs"].clear()

    class Hook(DisplayHook):
        def start_displayhook(self):
            self._bundle = None

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self._bundle = (format_dict, md_dict or {})

        def finish_displayhook(self):
            if self._bundle is not None:
                sink["outputs"].append(
                    new_output(
                        "execute_result",
                        data=self._bundle[0],
                        metadata=self._bundle[1],
                        execution_count=self.prompt_count,
                    )
                )
            self._bundle = None

    class Shell(InteractiveShell):
        def _showtraceback(self, etype, evalue, stb):
            sink["outputs"].append(
                new_output("error", ename=str(etype.__name__), evalue=str(evalue), traceback=list(stb))
            )
            sink["error"] = (str(etype.__name__), str(evalue))

    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = Shell.instance(config=cfg, displayhook_class=Hook, display_pub_class=Publisher, colors="nocolor")
    nb.metadata["language_info"] = dict(LANGUAGE_INFO, version=platform.python_version())
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Stream("stdout"), Stream("stderr")
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            if not cell.source.strip():
                cell.execution_count = None
                continue
            count = shell.execution_count
            sink["outputs"], sink["error"] = cell.outputs, None
            shell.run_cell(cell.source, store_history=True)
            cell.execution_count = count
            if sink["error"] is not None:
                raise CellExecutionError(count, index, sink["error"][0], sink["error"][1], cell.source)
    finally:
        sys.stdout, sys.stderr = saved
    return nb


def ensure_current_package() -> None:
    """In a process forked from the preloaded fork server: when the package's files changed since the
    fork server imported them, drop the preloaded ``sarcoma_review`` modules, so that what runs next
    imports the current code (slower, never stale)."""
    import sys

    preload = sys.modules.get("sarcoma_review.living.preload")
    if preload is not None and preload.stale_package_modules():
        for name in [n for n in sys.modules if n.startswith("sarcoma_review.") and n != __name__]:
            del sys.modules[name]


def run_notebook(task: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one notebook IN THIS PROCESS; never raises for a failing cell (returns a description instead).

    Run it in a process of its own (:func:`sarcoma_review.living.warm.warm_pool`): the process changes
    its working directory and environment and keeps the chapter's state until it exits.

    Parameters
    ----------
    task
        ``source`` (notebook path), ``output`` (executed notebook path), ``parameters`` (dict),
        ``cwd`` (working directory: the repository root), ``data_dir`` and ``reads_log`` (the
        chapter's build context), optionally ``cache_dir`` (default ``<cwd>/_build/cache``), and
        ``label`` (how messages name the notebook); optionally ``environ`` (the environment to run
        with, replacing this process's) and ``injected`` (the parameters are already in ``source``,
        see :func:`prepare_task`).

    Returns
    -------
    dict
        ``ok``; ``seconds``; ``notebook`` (the executed notebook, uncleaned; ``None`` if it could not
        be read); ``max_rss_mb`` (peak resident memory of this process); on failure ``message``
        (names the notebook and the cell). Pass it to :func:`finish_notebook` in the submitting process.
    """
    import resource
    import sys

    source, output = Path(task["source"]), Path(task["output"])
    label = task.get("label", str(source))
    reads_log = Path(task["reads_log"])
    output.parent.mkdir(parents=True, exist_ok=True)
    reads_log.parent.mkdir(parents=True, exist_ok=True)
    reads_log.unlink(missing_ok=True)
    if task.get("environ") is not None:  # the submitting process's environment (see warm.submit)
        os.environ.clear()
        os.environ.update(task["environ"])
    ensure_current_package()
    # The chapter's project is the checkout it runs in (see sarcoma_review.paths), whatever the
    # working directory of the process that started the build.
    from sarcoma_review.paths import ROOT_ENV_VAR, BuildContext, is_project, using

    env = {}
    if is_project(Path(task["cwd"])):
        env[ROOT_ENV_VAR] = str(Path(task["cwd"]).resolve())
    # Chapters run in parallel, one process per core: maths libraries that also start one thread per
    # core oversubscribe the machine (measured: the cold build took ~1.8x longer). One thread each,
    # unless the caller has chosen otherwise (the fork server read these when it imported NumPy).
    env.update({k: os.environ.get(k, "1") for k in THREAD_ENV_VARS})
    # The chapter's context: its data folder, the reads log, and the build's cache (validated tables,
    # Kaplan-Meier feasibility solves and static chart pictures, memoised across chapters and builds).
    cache_dir = task.get("cache_dir") or Path(task["cwd"]) / "_build" / "cache"
    ctx = BuildContext(data_dir=Path(task["data_dir"]), cache_dir=Path(cache_dir), reads_log=reads_log)
    saved = {k: os.environ.get(k) for k in env}
    saved_cwd, saved_path = os.getcwd(), list(sys.path)
    os.environ.update(env)
    os.chdir(task["cwd"])
    sys.path.insert(0, str(task["cwd"]))  # as a kernel started in the root would have it
    # Libraries writing to file descriptor 2 directly: keep it in a log next to the reads log.
    stderr_log = reads_log.with_suffix(".stderr")
    saved_fd = os.dup(2)
    log_fd = os.open(stderr_log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    t0 = time.perf_counter()
    nb = None
    try:
        nb = nbformat.read(source, as_version=4)
        if not task.get("injected"):
            nb = parameterize(nb, task.get("parameters") or {})
        with using(ctx):
            execute_in_process(nb)
    except CellExecutionError as exc:
        first = exc.source.strip().splitlines()[0] if exc.source.strip() else ""
        where = f"cell In [{exc.exec_count}]" if exc.exec_count else f"cell #{exc.cell_index}"
        msg = f"{label}: {where} failed: {exc.ename}: {strip_ansi(exc.evalue)}\n  the cell begins: {first!r}"
        return {"ok": False, "message": msg, "notebook": nb, "seconds": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - bad notebook JSON, a missing parameter ...
        tail = stderr_log.read_text(errors="replace")[-2000:] if stderr_log.exists() else ""
        return {
            "ok": False,
            "message": f"{label}: could not be executed: {type(exc).__name__}: "
            f"{strip_ansi(str(exc))}" + (f"\n  log: {tail}" if tail else ""),
            "notebook": nb,
            "seconds": time.perf_counter() - t0,
        }
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {
        "ok": True,
        "seconds": time.perf_counter() - t0,
        "notebook": nb,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def prepare_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """In the submitting process: inject the parameters (:func:`parameterize`) into a copy of the
    notebook beside ``task["output"]``, so the chapter process need not import papermill.

    Returns the task with ``source`` that copy and ``injected`` true (unchanged without parameters)."""
    task = dict(task)
    if not task.get("parameters") or task.get("injected"):
        return task
    nb = parameterize(nbformat.read(task["source"], as_version=4), task["parameters"])
    dest = Path(task["output"]).with_suffix(".parameterized.ipynb")
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    task.update(source=str(dest), injected=True)
    return task


def finish_notebook(task: Mapping[str, Any], res: Mapping[str, Any]) -> dict[str, Any]:
    """In the submitting process: write the notebook :func:`run_notebook` returned and read its reads log.

    Done here, not in the chapter process, because the chapter may have changed anything in its own
    process (even ``json.dumps``). Writes ``task["output"]`` (cleaned when the run succeeded; with
    its error outputs when it failed) and returns ``res`` with ``output`` and, on success, ``reads``,
    ``raw`` and ``frames`` (see :mod:`sarcoma_review.data.tracking`).
    """
    out = {k: v for k, v in res.items() if k != "notebook"}
    output = Path(task["output"])
    out["output"] = str(output)
    nb = res.get("notebook")
    if nb is not None:
        nb = nbformat.from_dict(nb)
        if res.get("ok"):
            nb = clean_executed_notebook(nb, dict(task.get("parameters") or {}))
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, output)
    if res.get("ok"):
        records = records_from_log(task["reads_log"])
        out.update(reads=records["files"], raw=records["raw"], frames=records["frames"])
    return out
