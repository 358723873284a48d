"""Two concurrent builds, and a build killed while Jupyter Book runs, leave the last good book intact.

tests/test_build.py covers the lock held in-process and a build killed while a chapter executes;
this file adds two real concurrent build processes and a kill during the Sphinx phase (after every
chapter executed, before the swap). Tiny throwaway books in tmp_path; never the real book.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import helpers
import pytest

from sarcoma_review.living.build import BuildLockedError, build_book


def tiny_book(root: Path, code: str) -> Path:
    """A one-chapter book whose chapter runs ``code``."""
    return helpers.tiny_book(root, {"ch": code})


def last_good(root: Path) -> Path:
    html = root / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<p>LAST GOOD BOOK</p>")
    return html / "index.html"


def _spawn(root: Path) -> subprocess.Popen:
    code = (
        "from sarcoma_review.living.build import build_book\n"
        f"build_book(root={str(root)!r}, validator=lambda d: None, quiet=True)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(cond, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_two_concurrent_builds_one_refuses_and_the_book_stays_whole(tmp_path):
    started = tmp_path / "started.flag"
    root = tiny_book(
        tmp_path / "repo", f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(4)\nprint('MARK_FIRST')"
    )
    index = last_good(root)
    first = _spawn(root)
    try:
        assert _wait_for(started.exists, 90), "the first build never started its chapter"
        # a second build (another process: this one) while the first runs: refused at once
        with pytest.raises(BuildLockedError, match=r"another build is running \(pid \d+"):
            build_book(root=root, validator=lambda d: None, quiet=True)
        assert index.read_text() == "<p>LAST GOOD BOOK</p>"  # untouched while the first build runs
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-2000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    page = (root / "_build" / "html" / "book" / "ch.html").read_text(encoding="utf-8")
    assert "MARK_FIRST" in page and (root / "_build" / "html" / "index.html").exists()
    assert not (root / "_build" / "html.old").exists() and not (root / "_build" / "html.new").exists()
    # with wait=True a second build queues behind the lock instead of failing, then builds
    report = build_book(root=root, validator=lambda d: None, quiet=True, wait=True)
    assert report.cached == ["book/ch"]


@pytest.mark.slow
def test_build_killed_during_jupyter_book_leaves_last_good_book(tmp_path):
    root = tiny_book(tmp_path / "repo", "print('MARK_KILLED')")
    index = last_good(root)
    proc = _spawn(root)
    work = root / "_build" / "work"
    sphinx = root / "_build" / "sphinx"
    try:
        # Jupyter Book writes into _build/sphinx/out: the chapters have executed, Sphinx runs
        assert _wait_for(lambda: (sphinx / "out").exists(), 120), "the build never reached Jupyter Book"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert index.read_text() == "<p>LAST GOOD BOOK</p>"
    assert not (root / "_build" / "html" / "book").exists()
    assert not (sphinx / "state.json").exists()  # the interrupted Sphinx folder is not trusted next time
    # the next build clears the killed build's work folder and publishes (the chapter comes from the cache)
    report = build_book(root=root, validator=lambda d: None, quiet=True)
    assert report.cached == ["book/ch"] and not any(work.glob("*"))
    assert (sphinx / "state.json").exists()
    assert "MARK_KILLED" in (root / "_build" / "html" / "book" / "ch.html").read_text(encoding="utf-8")


#: Parts of ``_build`` a user (or a disk clean-up) may delete between two builds.
DELETED_PARTS = [
    ["html"],  # the case: rm -rf _build/html; make book
    ["html"],  # again: it failed intermittently (1 in 3, 4 in 5)
    ["html", "sphinx/out/_build/html/_static"],
    ["html/_static"],  # part of the published book
    ["html/book/ch.html"],
    ["sphinx/out/_build/html/_static"],  # parts of Sphinx's own folder
    ["sphinx/out/_build/html"],
    ["sphinx/out/_build/.doctrees", "html"],
    ["sphinx/state.json", "html"],
    ["sphinx/src", "html"],
    ["cache/published-stage.sha256"],
    ["cache", "html"],
    ["cache/generated"],
    ["work"],
    ["sphinx"],
    [""],  # all of _build
]


@pytest.mark.slow
def test_a_build_after_deleting_any_part_of_build_always_succeeds(tmp_path):
    """`rm -rf _build/html; make book` failed when Sphinx found nothing out of date: it skipped copying
    _static, which the incremental build had removed, and myst-nb's stylesheet copy then raised
    FileNotFoundError. Every deletion here is followed by a build that must give the whole book again:
    the same files, each page with the same bytes (the published copy of a first, cold build)."""
    import shutil

    root = helpers.tiny_book(tmp_path / "repo", {"ch": "print('CHAPTER OUTPUT')"})
    build_book(root=root, validator=lambda d: None, quiet=True, jobs=1)
    html = root / "_build" / "html"

    def pages() -> dict[str, bytes]:
        return {
            p.relative_to(html).as_posix(): p.read_bytes()
            for p in sorted(html.rglob("*"))
            if p.is_file() and p.suffix in (".html", ".css", ".js") and p.name != "searchindex.js"
        }

    cold = pages()
    assert "index.html" in cold and "book/ch.html" in cold and any(n.startswith("_static/mystnb.") for n in cold)
    assert b"CHAPTER OUTPUT" in cold["book/ch.html"]
    for parts in DELETED_PARTS:
        for part in parts:
            target = root / "_build" / part
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        build_book(root=root, validator=lambda d: None, quiet=True, jobs=1)  # raises on any failure
        now = pages()
        assert sorted(now) == sorted(cold), (parts, set(cold) ^ set(now))
        changed = [n for n in cold if now[n] != cold[n]]
        assert not changed, (parts, changed)
