"""The R reference fixture the statistics are validated against (``tests/fixtures/r_reference.json``).

The Methods chapter quotes the R and package versions that produced it; reading it through
:func:`reference_versions` records the read, so the chapter is rebuilt when the fixture changes.
"""

from __future__ import annotations

import json

from sarcoma_review.data.tracking import record_read
from sarcoma_review.paths import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "r_reference.json"


def reference_versions() -> dict[str, str]:
    """``{"R": "R version 4.2.2 Patched", "metafor": ..., "survival": ..., "lme4": ...}`` as recorded
    by ``scripts/r/make_reference.R`` when it generated the fixture."""
    record_read(FIXTURE)
    meta = json.loads(FIXTURE.read_text(encoding="utf-8"))["meta"]
    return {"R": meta["R_version"].split(" (")[0], "metafor": meta["metafor"],
            "survival": meta["survival"], "lme4": meta["lme4"]}
