"""``review serve``: the book on localhost, rebuilt on every edit, the open page reloaded.

One command, two processes:

- **the server** (this module, standard library only, never imports the package's build code, so
  an edit of the package can never leave it running stale code): serves ``_build/html`` on
  ``http://127.0.0.1:PORT/``, watches ``data/``, ``book/``, ``_config.yml``, ``_toc.yml`` and the
  package (:func:`watched_files`, polled every :data:`POLL_SECONDS`), and asks the builder for a build
  after each edit (edits arriving within :data:`SETTLE_SECONDS` are taken together);
- **the builder** (:func:`builder_main`, a child process in a session of its own): calls the build's
  public entry point :func:`sarcoma_review.living.build.build_book` for every request, so a served book
  obeys exactly the rules of ``make book`` (content-hash caches, a chapter re-executed only when what it
  read changed, bad data stopping the build, the last good book left in place). Between edits it stays
  alive, with the package imported and the build's preloaded fork server (the chapter processes'
  heavy imports) running, so an edit pays only for the chapters it changes and for Jupyter Book. When a
  file of the package changes, the builder is replaced by a fresh one (never stale code).

Every HTML page is served with a small script (:data:`RELOAD_JS`) that polls ``/__serve__/status``:
after a successful build the page reloads itself; after a failed one it shows the error above the
last good page, which stays served (the terminal prints the same error).

Ctrl-C stops the server and the builder with every process it started (:meth:`Builder.stop`).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: Seconds between two looks at the watched files.
POLL_SECONDS = 0.1
#: Seconds the watched files must stay unchanged before a build starts (an editor's save in several writes).
SETTLE_SECONDS = 0.1
#: The path under which the server answers its own requests.
ENDPOINT = "/__serve__/"
#: Marks the script added to every served page (removed again by :func:`strip_reload`).
RELOAD_TAG = f'<script src="{ENDPOINT}reload.js"></script>'

RELOAD_JS = """\
/* review serve: reload this page after each build; show a failed build's error above the last good book. */
(function () {
  "use strict";
  var seen = null;
  function show(error) {
    var box = document.getElementById("review-serve-error");
    if (!error) { if (box) { box.remove(); } return; }
    if (!box) {
      box = document.createElement("pre");
      box.id = "review-serve-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;margin:0;padding:1em;" +
        "max-height:50vh;overflow:auto;white-space:pre-wrap;background:#fff0f0;color:#8b0000;" +
        "border-bottom:3px solid #8b0000;font-size:14px";
      document.body.appendChild(box);
    }
    box.textContent = "The book was not rebuilt: the page below is the last good build.\\n\\n" + error;
  }
  function poll() {
    fetch("/__serve__/status", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (seen === null) { seen = s.generation; }
      if (s.generation !== seen) { window.location.reload(); return; }
      show(s.error);
    }).catch(function () {}).then(function () { setTimeout(poll, 250); });
  }
  poll();
})();
"""


def strip_reload(html: bytes) -> bytes:
    """A served page as the build wrote it (the reload script removed)."""
    return html.replace(RELOAD_TAG.encode(), b"", 1)


# --- what is watched ---------------------------------------------------------------------------------


def watched_roots(root: Path, package_dir: Path) -> list[Path]:
    """The files and folders whose edits trigger a build."""
    root = Path(root)
    return [root / "data", root / "book", root / "_config.yml", root / "_toc.yml", Path(package_dir)]


def watched_files(roots: list[Path]) -> dict[str, tuple[int, int]]:
    """``path -> (mtime_ns, size)`` of every file under ``roots`` (caches and checkpoints left out)."""
    out: dict[str, tuple[int, int]] = {}
    skip = {"__pycache__", ".ipynb_checkpoints", "_build", ".pytest_cache"}
    for top in roots:
        if top.is_file():
            st = top.stat()
            out[str(top)] = (st.st_mtime_ns, st.st_size)
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in skip]
            for name in files:
                if name.endswith((".pyc", ".swp", "~")) or name.startswith(".#"):
                    continue
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    st = os.stat(path)
                    out[path] = (st.st_mtime_ns, st.st_size)
    return out


def changed_files(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


# --- the builder process -------------------------------------------------------------------------------


def builder_main(root: str) -> None:
    """The builder: one JSON request per line on stdin (``{"force": false}``), one JSON answer per line
    (``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``) on the original stdout; everything else
    it prints (the build's progress) goes to stderr, the terminal."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Builder.stop's Ctrl-C, even if started ignoring it
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # chapter processes and libraries print to stdout: the terminal, never the protocol
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1)
    from sarcoma_review.errors import ReviewError
    from sarcoma_review.living.build import build_book
    from sarcoma_review.living.warm import start_fork_server

    try:
        start_fork_server()  # the chapter processes' imports, done once, before the first edit
        for line in sys.stdin:
            proto.write(json.dumps(_answer(Path(root), json.loads(line), build_book, ReviewError)) + "\n")
    except KeyboardInterrupt:  # the server stops the builder (Builder.stop): leave quietly
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # nothing left to interrupt: exit without a traceback


def _answer(root: Path, request: dict[str, Any], build_book: Callable[..., Any], review_error: type) -> dict[str, Any]:
    """Build once for ``request``; the answer the server reads."""
    t0 = time.perf_counter()
    try:
        report = build_book(root=root, force=bool(request.get("force")), wait=True)
        answer: dict[str, Any] = {
            "ok": True,
            "executed": report.executed_pages,
            "cached": len(report.cached),
            "timings": report.timings,
        }
    except review_error as exc:
        answer = {"ok": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a bug in a chapter must not end the server
        answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    answer["seconds"] = time.perf_counter() - t0
    return answer


_BUILDER_CODE = "import sys; from sarcoma_review.living.serve import builder_main; builder_main(sys.argv[1])"


class Builder:
    """The builder process, started in a session (and process group) of its own: Ctrl-C in the
    terminal reaches only the server, which ends the builder and everything it started (:meth:`stop`)."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.env = dict(env if env is not None else os.environ)
        self.env["REVIEW_ROOT"] = str(self.root)
        self.proc: subprocess.Popen | None = None
        self.busy = False

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BUILDER_CODE, str(self.root)],
            cwd=str(self.root),
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def build(self, force: bool = False) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.busy = True
        try:
            self.proc.stdin.write(json.dumps({"force": force}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        self.busy = False  # not reached when Ctrl-C interrupts the build: stop() then interrupts it too
        if not line:
            self.stop()
            return {"ok": False, "error": "the builder stopped unexpectedly; it is started again at the next edit"}
        return json.loads(line)

    def stop(self, timeout: float = 10.0) -> None:
        """End the builder and its process group (chapter processes, fork server, Jupyter Book): an idle
        builder leaves when its input closes; a building one gets Ctrl-C (the build ends its chapter
        processes); after ``timeout``, SIGKILL to whatever of the group is left."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        if proc.poll() is None:
            if self.busy:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
            self.busy = False
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left (a fork server, a chapter)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        if proc.stdout:
            proc.stdout.close()


# --- the server ----------------------------------------------------------------------------------------


class State:
    """What the pages poll: the number of successful builds and the last build's error (None when good)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.error: str | None = None
        self.building = False
        self.last: dict[str, Any] = {}
        self.builder_pid: int | None = None

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps(
                {
                    "generation": self.generation,
                    "error": self.error,
                    "building": self.building,
                    "last": self.last,
                    "builder": self.builder_pid,
                }
            ).encode()


class _Handler(http.server.SimpleHTTPRequestHandler):
    state: State

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the terminal shows builds, not requests

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == ENDPOINT + "status":
            return self._send(self.state.as_json(), "application/json")
        if path == ENDPOINT + "reload.js":
            return self._send(RELOAD_JS.encode(), "text/javascript; charset=utf-8")
        local = Path(self.translate_path(path))
        if local.is_dir():
            local = local / "index.html"
        if local.suffix == ".html" and local.is_file():
            try:
                html = local.read_bytes()
            except OSError:  # swapped away by a build this very moment
                return super().do_GET()
            i = html.rfind(b"</body>")
            tag = RELOAD_TAG.encode()
            body = html[:i] + tag + html[i:] if i >= 0 else html + tag
            return self._send(body, "text/html; charset=utf-8")
        if not (Path(self.directory) / "index.html").exists() and path in ("/", "/index.html"):
            page = (
                f"<!doctype html><title>review serve</title><body><p>No book built yet.</p>{RELOAD_TAG}</body>"
            ).encode()
            return self._send(page, "text/html; charset=utf-8")
        return super().do_GET()


def make_server(
    html_dir: Path, state: State, host: str = "127.0.0.1", port: int = 8000
) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"state": state})
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(html_dir)))
    server.daemon_threads = True
    return server


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _run_build(builder: Builder, state: State, why: str, say: Callable[[str], None]) -> dict[str, Any]:
    with state.lock:
        state.building = True
        state.builder_pid = builder.proc.pid if builder.proc is not None else None
    say(f"… building ({why})")
    result = builder.build()
    with state.lock:
        state.building = False
        state.last = {k: result.get(k) for k in ("ok", "seconds", "executed", "timings")}
        if result.get("ok"):
            state.generation += 1
            state.error = None
        else:
            state.error = result.get("error", "the build failed")
    if result.get("ok"):
        executed = result.get("executed", [])
        say(f"✓ built in {result['seconds']:.1f} s ({len(executed)} executed): the open page reloads")
    else:
        say(f"error: {state.error}\n  the last good book stays served; fix it and save again")
    return result


def watch(
    roots: list[Path], package_dir: Path, on_change: Callable[[list[str], bool], None], stop: threading.Event
) -> None:
    """Call ``on_change(changed, package_changed)`` after each settled edit, until ``stop`` is set."""
    before = watched_files(roots)
    while not stop.wait(POLL_SECONDS):
        now = watched_files(roots)
        if now == before:
            continue
        while not stop.wait(SETTLE_SECONDS):  # until the editor has finished writing
            later = watched_files(roots)
            if later == now:
                break
            now = later
        changed = changed_files(before, now)
        before = now
        pkg = str(Path(package_dir))
        on_change(changed, any(c.startswith(pkg + os.sep) for c in changed))


def serve(
    root: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    say: Callable[[str], None] = _say,
    ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Build, serve ``<root>/_build/html`` at ``http://host:port/`` and rebuild on every edit, until
    Ctrl-C, SIGTERM or ``stop``; return 0. ``port`` 0 picks a free port; ``ready`` gets the address."""
    from sarcoma_review.errors import UsageError
    from sarcoma_review.paths import PACKAGE_DIR

    root = Path(root).resolve()
    stop = stop or threading.Event()
    state = State()
    builder = Builder(root)
    try:
        server = make_server(root / "_build" / "html", state, host, port)
    except OSError as exc:
        raise UsageError(
            f"cannot serve on {host}:{port} ({exc.strerror or exc}); give another port with --port, "
            "or --port 0 for any free port"
        ) from None
    url = f"http://{server.server_address[0]}:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, name="review-serve-http", daemon=True)
    try:
        with _terminate_as_interrupt():
            builder.start()
            thread.start()
            say(f"serving {url} (the last good book while the first build runs); Ctrl-C stops")
            if ready:
                ready(url)
            _run_build(builder, state, "start", say)

            def on_change(changed: list[str], package_changed: bool) -> None:
                names = ", ".join(os.path.relpath(c, root) if c.startswith(str(root)) else c for c in changed[:3])
                if package_changed:  # the builder's imported code is stale: a fresh builder imports it again
                    builder.stop()
                    builder.start()
                more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
                _run_build(builder, state, names + more, say)

            watch(watched_roots(root, PACKAGE_DIR), PACKAGE_DIR, on_change, stop)
    except KeyboardInterrupt:
        say("stopping (Ctrl-C)")
    finally:
        with _signals_held():  # a second Ctrl-C must not interrupt the cleanup and leave processes behind
            stop.set()
            if thread.is_alive():
                server.shutdown()
            server.server_close()
            builder.stop()
    say("stopped")
    return 0


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM (e.g. ``kill``) stop the server (in the main thread), even when it was started with
    SIGINT ignored (a background job of a shell ignores it, and Python then leaves it ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored while the server stops (in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


__all__ = [
    "Builder",
    "RELOAD_TAG",
    "State",
    "builder_main",
    "changed_files",
    "make_server",
    "serve",
    "strip_reload",
    "watched_files",
    "watched_roots",
]
