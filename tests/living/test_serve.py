"""`review serve` on a copy of this checkout (every tracked file, its own package first on the path, as a
clone's environment has it), driven like a user: the command started, a rate edited and saved, the page
read over HTTP and in Chromium, invalid data saved, Ctrl-C.

- after an edit the served book equals, byte for byte (pages and published CSVs), what a cold
  `review build` of the same edited files gives in a fresh copy; the open page reloads itself;
- invalid data: the validation error (file, row, column) is shown in the open page and in the terminal,
  and the last good book stays served; fixing the data brings the page back;
- Ctrl-C: exit status 0 and no process the command started left running.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium

from benchmarks import serve as sb
from sarcoma_review.living.serve import RELOAD_TAG, strip_reload
from sarcoma_review.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _published(html: Path, get) -> dict[str, bytes]:
    """Every page of the book and every CSV it publishes, read through ``get(relative path)``."""
    names = [p.relative_to(html).as_posix() for p in sorted((html / "book").rglob("*.html"))]
    names += [p.relative_to(html).as_posix() for p in sorted((html / "_static" / "downloads").rglob("*.csv"))]
    return {n: get(n) for n in names}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    root = sb.checkout_copy(REPO_ROOT, base / "root")
    log = base / "serve.log"
    proc, url = sb.start_serve(root, log)
    try:
        first = sb.wait_for(url, lambda s: s["generation"] >= 1 or s["error"])
        assert first["error"] is None, first["error"]
        yield root, url, proc, log, base
    finally:
        sb.stop_serve(proc)


def test_an_edit_reloads_the_open_page_and_serves_what_a_cold_build_gives(served):
    require_chromium()
    from playwright.sync_api import sync_playwright

    root, url, proc, log, base = served
    endpoint, horizon = sb.first_rate(root / "data" / "literature" / "outcomes.csv")
    page_path = sb.pooled_page(endpoint, horizon)
    before = strip_reload(sb.get(url + page_path))
    generation = sb.status(url)["generation"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + page_path)
        text_before = page.inner_text("main")
        page.evaluate("window.__notReloaded = true")
        sb.flip_first_rate(root / "data" / "literature" / "outcomes.csv", 1)
        after = sb.wait_for(url, lambda s: s["generation"] > generation or s["error"], timeout=300)
        assert after["error"] is None, after["error"]
        page.wait_for_function("window.__notReloaded === undefined", timeout=10_000)  # it reloaded itself
        text_after = page.inner_text("main")
        browser.close()
    served_now = strip_reload(sb.get(url + page_path))
    assert served_now != before  # another pooled estimate
    assert RELOAD_TAG in sb.get(url + page_path).decode() and RELOAD_TAG not in served_now.decode()
    assert text_after != text_before  # the open page shows the new estimate

    # the same edited files, built cold in a fresh copy by `review build`
    cold_root = sb.checkout_copy(REPO_ROOT, base / "cold")
    shutil.rmtree(cold_root / "data")
    shutil.copytree(root / "data", cold_root / "data")
    sb.cold_build_seconds(cold_root)
    cold_html = cold_root / "_build" / "html"
    cold = _published(cold_html, lambda n: (cold_html / n).read_bytes())
    live = _published(cold_html, lambda n: strip_reload(sb.get(url + n)))
    assert sorted(n for n in cold if cold[n] != live[n]) == []
    assert cold[page_path] == served_now


def test_invalid_data_shows_the_error_and_keeps_the_last_good_book(served):
    require_chromium()
    from playwright.sync_api import sync_playwright

    root, url, proc, log, base = served
    outcomes = root / "data" / "literature" / "outcomes.csv"
    good = outcomes.read_text(encoding="utf-8")
    page_path = "book/literature.html"
    before = strip_reload(sb.get(url + page_path))
    generation = sb.status(url)["generation"]
    lines = good.splitlines(keepends=True)
    header = sb._row(lines[0])
    fields = sb._row(lines[1])
    fields[header.index("rate_percent")] = "not a number"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + page_path)
        outcomes.write_text(lines[0] + ",".join(fields) + "\n" + "".join(lines[2:]), encoding="utf-8")
        failed = sb.wait_for(url, lambda s: s["error"] is not None, timeout=120)
        message = failed["error"]
        assert "outcomes.csv" in message and "rate_percent" in message  # file and column named
        box = page.wait_for_selector("#review-serve-error", timeout=10_000)
        assert "rate_percent" in box.inner_text() and "last good build" in box.inner_text()
        assert sb.status(url)["generation"] == generation
        assert strip_reload(sb.get(url + page_path)) == before  # the last good book stays served
        time.sleep(0.5)
        assert message.splitlines()[0] in log.read_text(encoding="utf-8")  # and the terminal says it
        # fixed: the page comes back, without the error
        outcomes.write_text(good, encoding="utf-8")
        sb.wait_for(url, lambda s: s["generation"] > generation and s["error"] is None, timeout=300)
        page.wait_for_function("document.getElementById('review-serve-error') === null", timeout=10_000)
        browser.close()


def test_an_edit_of_the_package_starts_a_fresh_builder(served):
    """The builder has the package imported: after an edit of the package it would run stale code, so the
    server replaces it; the book is rebuilt with the edited package (every chapter: its code changed)."""
    root, url, proc, log, base = served
    s = sb.status(url)
    module = root / "src" / "sarcoma_review" / "pages" / "literature.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n# edited under review serve\n", encoding="utf-8")
    after = sb.wait_for(url, lambda x: x["generation"] > s["generation"] or x["error"], timeout=600)
    assert after["error"] is None, after["error"]
    assert after["builder"] != s["builder"]
    assert "book/literature" in after["last"]["executed"]


def test_ctrl_c_during_a_build_stops_it_cleanly(served):
    """Ctrl-C while a build runs (chapter processes, fork server, builder all alive): exit status 0, one
    line saying so, no traceback, and no process the command started left running; the last good book is
    still in place for the next start."""
    root, url, proc, log, base = served
    index = (root / "_build" / "html" / "index.html").read_bytes()
    sb.flip_first_rate(root / "data" / "literature" / "outcomes.csv", 1)
    sb.wait_for(url, lambda s: s["building"], timeout=60, every=0.02)
    time.sleep(1.0)  # chapters running
    started = _descendants(proc.pid)
    assert len(started) >= 2, "the builder and its fork server run beside the server"
    assert sb.stop_serve(proc) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    assert [p for p in started if _alive(p)] == []
    text = log.read_text(encoding="utf-8")
    assert "stopping (Ctrl-C)" in text and text.rstrip().endswith("stopped")
    assert "Traceback" not in text, text[-3000:]
    with pytest.raises(OSError):
        sb.get(url, timeout=2)
    assert (root / "_build" / "html" / "index.html").read_bytes() == index
