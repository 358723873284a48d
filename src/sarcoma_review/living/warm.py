"""Warm, isolated chapter execution: one forked process per chapter, the heavy imports already done.

A fresh Jupyter kernel per chapter costs about a second to start and one to two more to import
pandas, SciPy, Altair, pandera, IPython, myst-nb and the package, before the chapter does any work;
with twelve chapters that was most of a cold build. Here the imports are done once, in a
:mod:`multiprocessing` *fork server* that preloads :mod:`sarcoma_review.living.preload`; every chapter
then runs in its own process forked from it (``max_tasks_per_child=1``), on an in-process IPython
shell (:func:`sarcoma_review.living.notebooks.run_notebook`). Chapters stay isolated: each process
starts from the preloaded modules as imported, never from another chapter's state (globals,
monkeypatched module attributes, working directory, environment), and exits after its chapter.

Soundness: the fork server records the SHA-256 of every ``sarcoma_review`` module it imported; a chapter
process whose package files have changed since (a long-lived process, e.g. a test session, that
edits the package) drops the preloaded ``sarcoma_review`` modules, so the chapter imports the current
code (slower, never stale).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

#: Module imported once by the fork server (its import does the heavy imports).
PRELOAD_MODULE = "sarcoma_review.living.preload"
#: Thread-pool sizes of the numerical libraries; one thread per chapter process (see notebooks.THREAD_ENV_VARS).
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _thread_env() -> Iterator[None]:
    """One maths thread per process while the fork server starts (it inherits this environment,
    and the BLAS libraries read it when first imported), unless the caller has chosen otherwise."""
    saved = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    for k in THREAD_ENV_VARS:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_fork_server() -> None:
    """Start the preloaded fork server now (returns at once; it imports in the background), so its
    imports overlap the build's validation, staging and cache checks. A no-op when it runs already."""
    from multiprocessing import forkserver

    get_context("forkserver").set_forkserver_preload([PRELOAD_MODULE])
    with _thread_env():
        forkserver.ensure_running()


def stop_fork_server() -> None:
    """Stop this process's fork server (the next pool starts a fresh one, as a new ``review build`` would).

    Used by the benchmarks, so that every measured build pays for its own preload.
    """
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # noqa: SLF001 - CPython's own test hook
    if stop is not None:
        stop()


def warm_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose every task runs in a new process forked from the preloaded fork server."""
    start_fork_server()
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context("forkserver"),
                               max_tasks_per_child=1)


def run_isolated(task: dict) -> dict:
    """Execute one notebook task (:func:`~sarcoma_review.living.notebooks.run_notebook`) in a fresh chapter
    process with this process's environment (see :func:`submit`); the notebook is written here
    (:func:`~sarcoma_review.living.notebooks.finish_notebook`)."""
    from sarcoma_review.living.notebooks import finish_notebook, run_notebook

    with warm_pool(1) as pool:
        return finish_notebook(task, submit(pool, run_notebook, task).result())


def submit(pool: ProcessPoolExecutor, fn, task: dict):
    """Submit ``fn(task)``, the task carrying this process's environment as ``environ``: the chapter
    process, forked from a fork server started earlier, then runs with the environment a kernel
    started now would inherit (what the fork server already imported stays as imported). The
    parameters are injected here (:func:`~sarcoma_review.living.notebooks.prepare_task`)."""
    from sarcoma_review.living.notebooks import prepare_task

    return pool.submit(fn, dict(prepare_task(task), environ=dict(os.environ)))


__all__ = ["PRELOAD_MODULE", "run_isolated", "start_fork_server", "stop_fork_server", "submit", "warm_pool"]
