"""Record what data a chapter consumed, so the build can tell what a chapter depends on.

When the build context (:func:`sarcoma_review.paths.context`) names a reads log, two kinds of record are appended to
it, one per line:

* ``read <path>``: a data file read outside any frame loader (its bytes are the dependency);
* ``via <path>``: a data file read inside a *frame loader* (a function decorated with
  :func:`frame_loader`); the dependency is then the frame the loader returned, recorded as
* ``frame <json>``: ``{"module", "loader", "args", "sha256"}``, the loader, the arguments it was
  called with (``data_dir`` resolved) and :func:`frame_digest` of what it returned.

The build names one for each chapter it executes and stores the records with the chapter's
cache entry. A later build reuses the chapter when every file it read is unchanged (fast path), or,
when some changed, when none of the changed files was read outside a frame loader and every recorded
frame loader, called again on the current data, returns a frame with the same digest: the chapter
would receive exactly the same data, so it would compute exactly the same page. When unsure (a raw
read of a changed file, a loader that now fails, a value that cannot be hashed) it re-executes.

Only the outermost frame loader of a nested call is recorded (``load_literature`` calls
``load_table``): its frame is what the chapter received.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import inspect
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sarcoma_review import paths

#: Attribute set on every frame loader (only such functions are re-evaluated by :func:`evaluate_frame`).
MARK = "__frame_loader__"

F = TypeVar("F", bound=Callable[..., Any])
_stack: list[list[str]] = []  # files read inside each active frame-loader call (outermost first)


def _append(lines: list[str]) -> None:
    log = paths.context().reads_log
    if log is None or not lines:
        return
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))


def record_read(path: str | os.PathLike[str]) -> None:
    """Note that ``path`` was read (no-op unless the build context names a reads log)."""
    if paths.context().reads_log is None:
        return
    p = str(Path(path).resolve())
    if _stack:
        _stack[0].append(p)
    else:
        _append([f"read {p}"])


def frame_digest(obj: Any) -> str:
    """SHA-256 of a DataFrame's columns, dtypes, index and values (deterministic across processes).

    Raises ``TypeError`` for anything else (the caller then records the reads as raw).
    """
    import pandas as pd

    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"a frame loader returned {type(obj).__name__}, not a DataFrame")
    h = hashlib.sha256()
    h.update(json.dumps([[str(c) for c in obj.columns], [str(t) for t in obj.dtypes], len(obj)]).encode())
    h.update(pd.util.hash_pandas_object(obj, index=True, categorize=False).to_numpy().tobytes())
    return h.hexdigest()


def _arguments(fn: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The call's arguments as JSON values (``data_dir`` resolved to an absolute path)."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if name == "data_dir":
            value = str(Path(value if value is not None else paths.data_dir()).resolve())
        elif isinstance(value, os.PathLike):
            value = str(Path(value).resolve())
        json.dumps(value)  # TypeError for anything that cannot be recorded faithfully
        out[name] = value
    return out


def frame_loader(fn: F) -> F:
    """Decorate a data loader whose result depends only on its arguments and the data files.

    With a reads log in the build context, the outermost call records the returned frame's digest (see the
    module docstring); the files read inside are recorded as ``via``. If the arguments or the
    result cannot be recorded, the files are recorded as raw reads instead (always safe).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _memo is not None:
            try:
                key = json.dumps([fn.__module__, fn.__name__, _arguments(fn, args, kwargs)], sort_keys=True)
            except (TypeError, ValueError):
                key = None
            if key is not None:
                if key not in _memo:
                    _memo[key] = fn(*args, **kwargs)
                hit = _memo[key]
                return hit.copy() if hasattr(hit, "copy") else hit
        if paths.context().reads_log is None or _stack:
            return fn(*args, **kwargs)
        _stack.append([])
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            _append([f"read {p}" for p in dict.fromkeys(_stack.pop())])  # a caught failure still read them
            raise
        files = _stack.pop()
        try:
            record = {
                "module": fn.__module__,
                "loader": fn.__name__,
                "args": _arguments(fn, args, kwargs),
                "sha256": frame_digest(result),
            }
        except (TypeError, ValueError):
            _append([f"read {p}" for p in dict.fromkeys(files)])
            return result
        _append([f"via {p}" for p in dict.fromkeys(files)] + ["frame " + json.dumps(record, sort_keys=True)])
        return result

    setattr(wrapper, MARK, True)
    return wrapper  # type: ignore[return-value]


_memo: dict[str, Any] | None = None


@contextlib.contextmanager
def memoised() -> Iterator[None]:
    """Within the block, each frame loader called with the same arguments loads once (callers get
    copies). For the build process, whose cache checks and validation load the same tables while the
    data do not change; never active in a chapter."""
    global _memo
    outer = _memo
    _memo = {} if outer is None else outer
    try:
        yield
    finally:
        _memo = outer


def evaluate_frame(record: Mapping[str, Any]) -> str | None:
    """:func:`frame_digest` of the recorded loader called again now, or ``None`` if it cannot be.

    Only functions decorated with :func:`frame_loader` inside ``sarcoma_review`` are called.
    """
    module, name = str(record.get("module", "")), str(record.get("loader", ""))
    if not module.startswith("sarcoma_review."):
        return None
    try:
        fn = getattr(importlib.import_module(module), name)
        if not getattr(fn, MARK, False):
            return None
        args = dict(record.get("args", {}))
        if "data_dir" in args:
            args["data_dir"] = Path(args["data_dir"])
        # the build's own evaluation is not a chapter's read: no reads log while it runs
        with paths.using(dataclasses.replace(paths.context(), reads_log=None)):
            return frame_digest(fn(**args))
    except Exception:  # noqa: BLE001 - any failure means "unsure": re-execute the chapter
        return None


def records_from_log(log: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"files": [...], "raw": [...], "frames": [...]}`` from a reads log.

    ``files``: every distinct file read, first-read order; ``raw``: those read outside a frame loader
    at least once; ``frames``: the distinct frame records. A line of the old format (a bare path) is raw.
    """
    p = Path(log)
    files: dict[str, None] = {}
    raw: dict[str, None] = {}
    frames: dict[str, dict[str, Any]] = {}
    if p.exists():
        for line in p.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            kind, _, rest = line.partition(" ")
            if kind == "frame":
                rec = json.loads(rest)
                frames.setdefault(json.dumps(rec, sort_keys=True), rec)
            elif kind == "via":
                files.setdefault(rest, None)
            elif kind == "read":
                files.setdefault(rest, None)
                raw.setdefault(rest, None)
            else:
                files.setdefault(line, None)
                raw.setdefault(line, None)
    return {"files": list(files), "raw": list(raw), "frames": list(frames.values())}


def reads_from_log(log: str | os.PathLike[str]) -> list[Path]:
    """The distinct files listed in a reads log, in first-read order."""
    return [Path(s) for s in records_from_log(log)["files"]]
