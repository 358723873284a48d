"""The R fixture's frozen inputs (tests/fixtures/r_inputs) against its record and against data/.

``scripts/regenerate_r_fixtures.sh`` copies the tables ``scripts/r/make_reference.R`` reads into
``tests/fixtures/r_inputs/`` and R records each copy's sha256 under ``meta.inputs``. The copies must
match that record (else the fixture and its inputs are out of step: a failure). When the live
``data/`` has moved on (a study added or corrected), the tests still compare with R on the copies;
one warning says the fixture can be regenerated.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from helpers import FROZEN_DATA

from sarcoma_review.data import loaders
from sarcoma_review.paths import REPO_ROOT

META = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())["meta"]


class StaleRFixtureWarning(UserWarning):
    """data/ differs from the inputs the R reference fixture was computed from."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_frozen_copies_are_the_recorded_inputs():
    recorded = META["inputs"]
    assert META["inputs_dir"] == "tests/fixtures/r_inputs"
    present = sorted(p.relative_to(FROZEN_DATA).as_posix() for p in FROZEN_DATA.rglob("*") if p.is_file())
    assert present == sorted(recorded), "tests/fixtures/r_inputs holds other files than the fixture records"
    changed = [rel for rel, sha in recorded.items() if _sha256(FROZEN_DATA / rel) != sha]
    assert not changed, f"frozen inputs edited after the fixture was computed: {changed}"


def test_frozen_copies_are_a_loadable_data_folder():
    # every table validates against its frozen schema, foreign keys included
    tables = loaders.validate_all(FROZEN_DATA)
    assert {"literature/studies", "literature/outcomes", "ifosfamide/patients"} <= set(tables)
    assert len(loaders.load_literature(FROZEN_DATA)) == len(tables["literature/outcomes"])


def test_live_data_against_frozen_inputs():
    live = REPO_ROOT / "data"
    differ = [
        rel for rel, sha in sorted(META["inputs"].items()) if not (live / rel).exists() or _sha256(live / rel) != sha
    ]
    if differ:
        warnings.warn(
            StaleRFixtureWarning(
                f"the R reference fixture was computed from earlier data (data/{', data/'.join(differ)} changed "
                f"since); "
                "the R comparisons use tests/fixtures/r_inputs; regenerate with "
                "scripts/regenerate_r_fixtures.sh (needs R)"
            ),
            stacklevel=1,
        )
