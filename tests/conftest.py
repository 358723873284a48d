"""Shared fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sarcoma_review import paths


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the repository's ``data/`` folder (tests corrupt it without touching the real one)."""
    dest = tmp_path / "data"
    shutil.copytree(paths.REPO_ROOT / "data", dest)
    return dest


@pytest.fixture
def table_i_copy(data_copy: Path) -> Path:
    """``data_copy`` with its literature tables replaced by the frozen copy of Table I as extracted
    (``tests/fixtures/published/literature``): the tests of validation messages edit known rows of it,
    whatever series the live data hold."""
    lit = data_copy / "literature"
    for name in ("studies", "outcomes", "particle_groups", "restatements"):
        for suffix in (".csv", ".schema.yaml"):
            shutil.copy(
                paths.REPO_ROOT / "tests" / "fixtures" / "published" / "literature" / f"{name}{suffix}",
                lit / f"{name}{suffix}",
            )
    return data_copy


# ----------------------------------------------------------------------------- no hidden skips
def _skips_fail() -> bool:
    """Under CI (``$CI`` set, or ``REQUIRE_BROWSER=1`` as ``.ci/run`` sets it) a skipped test fails."""
    import os

    return bool(os.environ.get("CI")) or os.environ.get("REQUIRE_BROWSER") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Turn every skip into a failure under CI, whatever skipped it (a missing browser, a missing
    commit, a ``skipif``): a green run there means every test ran."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and _skips_fail():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which counts as a failure: {reason}"


# ----------------------------------------------------------------------------- browser tests
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; never `playwright install`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip without Chromium, unless REQUIRE_BROWSER=1 (CI), where a missing browser fails."""
    import os

    if CHROMIUM.exists():
        return
    msg = f"{CHROMIUM} is missing: `apt-get install chromium` (Debian's package)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(msg + " (REQUIRE_BROWSER=1)")
    pytest.skip(msg)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by playwright (one per test module)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def serve_dir():
    """``serve_dir(root) -> origin``: a threaded static server on 127.0.0.1 (stopped after the module)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
            pass

    servers = []

    def serve(root: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for s in servers:
        s.shutdown()
        s.server_close()


# ----------------------------------------------------------------------------- the site (review site)
@pytest.fixture(scope="session")
def site_tree(tmp_path_factory):
    """The publishable site assembled once per test session from the built book (`make book` first) and
    every release's book built from its record (kept under _build/cache/site by the hash of everything it
    is built from, so a later session reuses them). Returns (site folder, report of the first assembly)."""
    from sarcoma_review.living.site import build_site

    if not (paths.HTML_DIR / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first")
    out = tmp_path_factory.mktemp("site") / "site"
    report = build_site(paths.REPO_ROOT, out, build_current=False)
    return out, report
