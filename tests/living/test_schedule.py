"""The build starts the longest chapters first: by the time each took when it last executed, and in a
first build (nothing recorded) by the notebook's own ``metadata.sarcoma_review.expected_seconds``.

One worker, so the order in which chapters execute is the order they were submitted in. A tiny
throwaway book; never the real one.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

from sarcoma_review.living.build import build_book, expected_seconds

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}


def _chapter(root: Path, name: str, code: str, expected: float | None = None) -> None:
    nb = nbformat.v4.new_notebook(metadata=dict(KERNEL))
    if expected is not None:
        nb.metadata["sarcoma_review"] = {"expected_seconds": expected}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, root / "book" / f"{name}.ipynb")


def test_longest_chapters_start_first(tmp_path):
    root = tmp_path / "repo"
    (root / "book").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "book" / "intro.md").write_text("# Tiny\n")
    _chapter(root, "quick", "print('quick')")
    _chapter(root, "slow", "import time\ntime.sleep(1.0)\nprint('slow')")
    _chapter(root, "estimated", "print('estimated')", expected=30)
    (root / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "book/intro", "chapters": [
        {"file": "book/quick"}, {"file": "book/slow"}, {"file": "book/estimated"}]}, sort_keys=False))
    (root / "_config.yml").write_text(yaml.safe_dump({
        "title": "Tiny", "author": "Test", "only_build_toc_files": True, "exclude_patterns": ["_build", "data"],
        "execute": {"execute_notebooks": "off"}}))
    assert expected_seconds(root / "book" / "estimated.ipynb") == 30
    assert expected_seconds(root / "book" / "quick.ipynb") == 0

    first = build_book(root=root, validator=lambda d: None, quiet=True, jobs=1)
    # nothing recorded: the chapter that says it is long first, then the table of contents' order
    assert first.executed_pages == ["book/estimated", "book/quick", "book/slow"]

    again = build_book(root=root, validator=lambda d: None, quiet=True, jobs=1, force=True)
    # recorded times win over the estimate: the slow chapter (about a second) first
    assert again.executed_pages[0] == "book/slow"
    assert [t.seconds for t in again.executed][0] >= 1.0
