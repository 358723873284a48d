"""`review serve`'s watcher and page script, without a build (fast): which edits start a build, which
replace the builder (the package's), and the served page's script removed again exactly."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sarcoma_review.living import serve


def _tree(root: Path) -> tuple[list[Path], Path]:
    for rel in (
        "data/literature/outcomes.csv",
        "book/intro.md",
        "_config.yml",
        "_toc.yml",
        "pkg/mod.py",
        "book/__pycache__/x.pyc",
        "book/.ipynb_checkpoints/x.ipynb",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("a\n")
    return serve.watched_roots(root, root / "pkg"), root / "pkg"


def test_watched_files_leave_out_caches_and_checkpoints(tmp_path):
    roots, _ = _tree(tmp_path)
    names = sorted(Path(p).relative_to(tmp_path).as_posix() for p in serve.watched_files(roots))
    assert names == ["_config.yml", "_toc.yml", "book/intro.md", "data/literature/outcomes.csv", "pkg/mod.py"]


def test_each_settled_edit_is_reported_once_and_package_edits_are_told_apart(tmp_path):
    roots, pkg = _tree(tmp_path)
    seen: list[tuple[list[str], bool]] = []
    stop = threading.Event()
    t = threading.Thread(target=serve.watch, args=(roots, pkg, lambda c, p: seen.append((c, p)), stop))
    t.start()
    try:
        time.sleep(0.3)
        (tmp_path / "data" / "literature" / "outcomes.csv").write_text("a\nb\n")
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        (pkg / "mod.py").write_text("changed = True\n")
        while len(seen) < 2 and time.monotonic() < deadline + 5:
            time.sleep(0.05)
        (tmp_path / "book" / "__pycache__" / "x.pyc").write_text("ignored\n")
        time.sleep(0.6)
    finally:
        stop.set()
        t.join()
    assert seen == [([str(tmp_path / "data" / "literature" / "outcomes.csv")], False), ([str(pkg / "mod.py")], True)]


def test_the_reload_script_is_removed_exactly():
    page = b"<html><body><p>x</p></body></html>"
    served = page.replace(b"</body>", serve.RELOAD_TAG.encode() + b"</body>")
    assert serve.strip_reload(served) == page
