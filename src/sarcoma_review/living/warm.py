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


@contextlib.contextmanager
def _interrupt_ignored() -> Iterator[None]:
    """SIGINT ignored while the fork server is started: an ignored signal stays ignored across exec, so
    the server (from its first line, before its imports) and every chapter process forked from it
    leave Ctrl-C to the command, which ends them (:func:`end_pool`) and says so in one line."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def start_fork_server() -> None:
    """Start the preloaded fork server now (returns at once; it imports in the background), so its
    imports overlap the build's validation, staging and cache checks. A no-op when it runs already."""
    from multiprocessing import forkserver

    get_context("forkserver").set_forkserver_preload([PRELOAD_MODULE])
    with _thread_env(), _interrupt_ignored():
        forkserver.ensure_running()


def stop_fork_server() -> None:
    """Stop this process's fork server (the next pool starts a fresh one, as a new ``review build`` would).

    Used by the benchmarks, so that every measured build pays for its own preload.
    """
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # noqa: SLF001 - CPython's own test hook
    if stop is not None:
        stop()


def _ignore_interrupt() -> None:
    """Chapter processes ignore SIGINT (Ctrl-C reaches the whole process group): the command that
    started them handles it once, ends them (:func:`end_pool`) and says so in one line."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _WarmPool(ProcessPoolExecutor):
    """A process pool that, left by Ctrl-C (KeyboardInterrupt), ends its chapter processes at once
    (:func:`end_pool`) instead of waiting for every queued chapter to run."""

    def __exit__(self, exc_type, exc, tb):  # noqa: ANN001 - the context-manager protocol
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            end_pool(self)
            return False
        return super().__exit__(exc_type, exc, tb)


def warm_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose every task runs in a new process forked from the preloaded fork server."""
    start_fork_server()
    return _WarmPool(
        max_workers=max(1, workers),
        mp_context=get_context("forkserver"),
        max_tasks_per_child=1,
        initializer=_ignore_interrupt,
    )


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Ctrl-C held back while a chapter process is being started, then raised: a process interrupted
    half-started is unknown to its pool, outlives the command and fails noisily once the command's
    locks are gone; started, it is ended with the pool."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if caught:
        raise KeyboardInterrupt


def end_pool(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now (after Ctrl-C): cancel what has not started and end the running chapter
    processes, instead of waiting for them to finish."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # noqa: SLF001 - no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in procs:  # gone before this process exits (a process still starting needs its parent's locks)
        with contextlib.suppress(Exception):
            proc.join(timeout=10)


def run_isolated(task: dict) -> dict:
    """Execute one notebook task (:func:`~sarcoma_review.living.notebooks.run_notebook`) in a fresh chapter
    process with this process's environment (see :func:`submit`); the notebook is written here
    (:func:`~sarcoma_review.living.notebooks.finish_notebook`)."""
    from sarcoma_review.living.notebooks import finish_notebook, run_notebook

    with warm_pool(1) as pool:
        return finish_notebook(task, submit(pool, run_notebook, task).result())


def submit_call(pool: ProcessPoolExecutor, fn, *args):
    """``pool.submit(fn, *args)`` with Ctrl-C held back while a chapter process is being started."""
    with _interrupt_deferred():
        return pool.submit(fn, *args)


def submit(pool: ProcessPoolExecutor, fn, task: dict):
    """Submit ``fn(task)``, the task carrying this process's environment as ``environ``: the chapter
    process, forked from a fork server started earlier, then runs with the environment a kernel
    started now would inherit (what the fork server already imported stays as imported). The
    parameters are injected here (:func:`~sarcoma_review.living.notebooks.prepare_task`)."""
    from sarcoma_review.living.notebooks import prepare_task

    with _interrupt_deferred():
        return pool.submit(fn, dict(prepare_task(task), environ=dict(os.environ)))


__all__ = [
    "PRELOAD_MODULE",
    "end_pool",
    "run_isolated",
    "start_fork_server",
    "stop_fork_server",
    "submit",
    "submit_call",
    "warm_pool",
]
