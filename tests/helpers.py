"""The frozen inputs of the R reference fixture.

``scripts/regenerate_r_fixtures.sh`` copies the data tables ``scripts/r/make_reference.R`` reads
into ``tests/fixtures/r_inputs/`` (same ``<group>/<table>`` layout as ``data/``, schemas included)
before running R. Tests that compare the package with ``r_reference.json`` read those copies, never
the live ``data/``, so adding a study to ``data/`` does not break them
(``tests/test_fixture_inputs.py`` warns when ``data/`` has moved on).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: A data folder (``data_dir=``) holding exactly what the R fixture was computed from.
FROZEN_DATA = Path(__file__).parent / "fixtures" / "r_inputs"


def frozen_literature() -> pd.DataFrame:
    """``loaders.load_literature()`` on the frozen copies (validated, foreign keys checked)."""
    from sarcoma_review import loaders

    return loaders.load_literature(FROZEN_DATA)


def frozen_patients() -> pd.DataFrame:
    """``loaders.load_ifosfamide_patients()`` on the frozen copy."""
    from sarcoma_review import loaders

    return loaders.load_ifosfamide_patients(FROZEN_DATA)
