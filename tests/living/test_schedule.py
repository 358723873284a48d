"""The build starts the longest chapters first: by the time each took when it last executed, and in a
first build (nothing recorded) by the notebook's own ``metadata.sarcoma_review.expected_seconds``.

One worker, so the order in which chapters execute is the order they were submitted in. A tiny
throwaway book; never the real one.
"""

from __future__ import annotations

from helpers import notebook, tiny_book

from sarcoma_review.living.build import build_book
from sarcoma_review.living.cache import expected_seconds


def test_longest_chapters_start_first(tmp_path):
    root = tiny_book(
        tmp_path / "repo",
        {
            "quick": "print('quick')",
            "slow": "import time\ntime.sleep(1.0)\nprint('slow')",
            "estimated": "print('estimated')",
        },
    )
    notebook(
        root / "book" / "estimated.ipynb",
        "print('estimated')",
        title="Chapter",
        metadata={"sarcoma_review": {"expected_seconds": 30}},
    )
    assert expected_seconds(root / "book" / "estimated.ipynb") == 30
    assert expected_seconds(root / "book" / "quick.ipynb") == 0

    first = build_book(root=root, validator=lambda d: None, quiet=True, jobs=1)
    # nothing recorded: the chapter that says it is long first, then the table of contents' order
    assert first.executed_pages == ["book/estimated", "book/quick", "book/slow"]

    again = build_book(root=root, validator=lambda d: None, quiet=True, jobs=1, force=True)
    # recorded times win over the estimate: the slow chapter (about a second) first
    assert again.executed_pages[0] == "book/slow"
    assert [t.seconds for t in again.executed][0] >= 1.0
