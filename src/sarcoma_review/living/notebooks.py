"""Execute one notebook with papermill and clean the result for publication.

The functions here run in a worker process of the build (see :mod:`sarcoma_review.living.build`) or in the
``review run`` process. Each execution:

* starts the kernel with its working directory at the repository root, so a notebook uses paths
  relative to the root exactly as ``papermill book/x.ipynb out.ipynb -p name value`` run from the
  root would;
* sets ``$REVIEW_ROOT`` to that root when it is a checkout (:mod:`sarcoma_review.paths`), so the
  kernel's package reads the same project as the build;
* sets ``$REVIEW_READS_LOG`` (every loader appends the data file it read, see
  :mod:`sarcoma_review.data.tracking`) and ``$REVIEW_DATA_DIR`` (the data folder, see
  :func:`sarcoma_review.paths.data_dir`) for the kernel;
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

from sarcoma_review.data.tracking import ENV_VAR as READS_ENV_VAR
from sarcoma_review.data.tracking import reads_from_log

DATA_ENV_VAR = "REVIEW_DATA_DIR"
#: Start-up attempts for a kernel (see the port race handled in :func:`run_notebook`).
KERNEL_START_ATTEMPTS = 3
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


def clean_executed_notebook(nb: nbformat.NotebookNode,
                            parameters: Mapping[str, Any] | None = None) -> nbformat.NotebookNode:
    """Make an executed notebook fit for publication (in place; also returned).

    Removes the cell papermill injects (tag ``injected-parameters``), adds ``remove-cell`` to the
    ``parameters`` cell, and drops papermill's notebook and cell metadata (input/output paths,
    timings) so no local path or timing noise reaches the page or the cache. When ``parameters``
    are given, :data:`TITLE_PLACEHOLDER` in Markdown cells becomes :func:`page_title`.
    """
    if parameters is not None:
        title = page_title(parameters)
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
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
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


def run_notebook(task: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one notebook; never raises for a failing cell (returns a description instead).

    Parameters
    ----------
    task
        ``source`` (notebook path), ``output`` (executed notebook path), ``parameters`` (dict),
        ``cwd`` (kernel working directory: the repository root), ``data_dir`` (set as
        ``$REVIEW_DATA_DIR`` for the kernel), ``reads_log`` (set as ``$REVIEW_READS_LOG``) and
        ``label`` (how messages name the notebook).

    Returns
    -------
    dict
        ``ok``; ``seconds``; ``reads`` (absolute paths of the data files read, first-read order);
        on failure ``message`` (names the notebook and the cell) and ``output`` (the failed notebook).

    Notes
    -----
    Top-level and picklable so a :class:`concurrent.futures.ProcessPoolExecutor` can run it; the
    environment variables are set in this (worker) process, which the kernel inherits, and restored.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    source, output = Path(task["source"]), Path(task["output"])
    label = task.get("label", str(source))
    reads_log = Path(task["reads_log"])
    output.parent.mkdir(parents=True, exist_ok=True)
    reads_log.parent.mkdir(parents=True, exist_ok=True)
    reads_log.unlink(missing_ok=True)
    env = {READS_ENV_VAR: str(reads_log), DATA_ENV_VAR: str(task["data_dir"])}
    # The kernel's project is the checkout it runs in (see sarcoma_review.paths), whatever the
    # working directory of the process that started the build.
    from sarcoma_review.paths import ROOT_ENV_VAR, is_project

    if is_project(Path(task["cwd"])):
        env[ROOT_ENV_VAR] = str(Path(task["cwd"]).resolve())
    # Chapters run in parallel, one kernel per core: a kernel whose maths libraries also start one
    # thread per core oversubscribes the machine (measured: the cold build took ~1.8x longer).
    # One thread per kernel, unless the caller has chosen otherwise.
    env.update({k: os.environ.get(k, "1") for k in THREAD_ENV_VARS})
    # Deterministic Kaplan-Meier feasibility solves are memoised across chapters and builds.
    from sarcoma_review.audit.feasibility import MEMO_ENV_VAR

    env[MEMO_ENV_VAR] = str(Path(task["cwd"]) / "_build" / "cache" / "feasibility")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # The kernel writes start-up chatter to stderr: keep it in a log next to the reads log, quoted on failure.
    stderr_log = reads_log.with_suffix(".stderr")
    saved_fd = os.dup(2)
    log_fd = os.open(stderr_log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    t0 = time.perf_counter()
    kernel = None
    try:
        nb0 = nbformat.read(source, as_version=4)
        if not nb0.metadata.get("kernelspec", {}).get("name"):
            kernel = "python3"
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                pm.execute_notebook(str(source), str(output), parameters=dict(task.get("parameters") or {}),
                                    cwd=str(task["cwd"]), kernel_name=kernel, progress_bar=False,
                                    log_output=False, request_save_on_cell_execute=False)
                break
            except RuntimeError as exc:
                # Two kernels started at once can be handed the same free TCP port by
                # jupyter_client; the loser dies before its first reply. Nothing of the
                # notebook ran, so starting it again is safe. Any other failure is not retried.
                if "Kernel died before replying to kernel_info" not in str(exc) or attempt == KERNEL_START_ATTEMPTS:
                    raise
                reads_log.unlink(missing_ok=True)
    except PapermillExecutionError as exc:
        cell_src = (exc.source or _error_cell_source(output)).strip()
        first = cell_src.splitlines()[0] if cell_src else ""
        where = f"cell In [{exc.exec_count}]" if exc.exec_count else f"cell #{exc.cell_index}"
        msg = (f"{label}: {where} failed: {exc.ename}: {strip_ansi(str(exc.evalue))}\n"
               f"  the cell begins: {first!r}")
        return {"ok": False, "message": msg, "output": str(output), "seconds": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - kernel start, bad notebook JSON, missing parameter ...
        tail = stderr_log.read_text(errors="replace")[-2000:] if stderr_log.exists() else ""
        return {"ok": False, "message": f"{label}: could not be executed: {type(exc).__name__}: "
                                        f"{strip_ansi(str(exc))}" + (f"\n  kernel log: {tail}" if tail else ""),
                "output": str(output), "seconds": time.perf_counter() - t0}
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    nb = clean_executed_notebook(nbformat.read(output, as_version=4), dict(task.get("parameters") or {}))
    nbformat.write(nb, output)
    return {"ok": True, "seconds": seconds, "output": str(output),
            "reads": [str(p) for p in reads_from_log(reads_log)]}
