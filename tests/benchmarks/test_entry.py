"""``python -m benchmarks`` (``make bench``): bad options end in one line before any benchmark runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from benchmarks.__main__ import app


@pytest.mark.parametrize(
    "args, words",
    [
        (["--report", "{missing}/BENCH.md"], ["--report", "does not exist"]),
        (["--report", "{dir}"], ["--report", "is a folder"]),
        (["--repeat", "0"], ["--repeat"]),
    ],
)
def test_bad_options_end_in_one_line(tmp_path, args, words):
    args = [a.format(missing=tmp_path / "missing", dir=tmp_path) for a in args]
    res = CliRunner().invoke(app, args)
    assert res.exit_code in (1, 2), res.output
    out = res.output.strip()
    assert "Traceback" not in out and all(w in out for w in words), out


def test_the_package_does_not_ship_the_benchmarks():
    """The harness lives outside the runtime package: ``review`` has no bench command and nothing in
    ``sarcoma_review`` imports ``benchmarks``."""
    from pathlib import Path

    import sarcoma_review
    from sarcoma_review.cli import app as review

    pkg = Path(sarcoma_review.__file__).parent
    importing = [
        p.name
        for p in pkg.rglob("*.py")
        if any(w in p.read_text(encoding="utf-8") for w in ("import benchmarks", "from benchmarks"))
    ]
    assert importing == []
    names = {c.name or c.callback.__name__ for c in review.registered_commands}
    assert "serve" in names and not any(n.startswith("bench") for n in names)
