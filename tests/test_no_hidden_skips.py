"""Under CI a skipped test is a failure, whatever skipped it (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROBE = """
import pytest

@pytest.fixture
def needs_something():
    pytest.skip("something is missing")

def test_skips_in_its_body():
    pytest.skip("probe")

def test_skips_in_a_fixture(needs_something):
    pass

@pytest.mark.skipif(True, reason="marked")
def test_marked():
    pass
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    shutil.copy2(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "REQUIRE_BROWSER")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
    )


def test_every_kind_of_skip_fails_under_ci(tmp_path):
    res = _run(tmp_path, CI="true")
    last = res.stdout.strip().splitlines()[-1]
    # a skip in the test body or a skipif mark fails; a skip in a fixture's setup is an error
    assert res.returncode == 1 and "skipped" not in last and "1 failed, 2 errors" in last, res.stdout[-2000:]
    for name in ("test_skips_in_its_body", "test_skips_in_a_fixture", "test_marked"):
        assert name in res.stdout


def test_skips_stay_skips_outside_ci(tmp_path):
    res = _run(tmp_path)
    assert res.returncode == 0 and "3 skipped" in res.stdout, res.stdout[-2000:]
