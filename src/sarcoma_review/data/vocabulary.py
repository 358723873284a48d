"""The vocabulary every layer shares: endpoint names and order, landmark names, study labels,
and the histology strata (chordoma series against all others), defined once."""

from __future__ import annotations

ENDPOINT_NAMES = {"LC": "local control", "OS": "overall survival", "DPFS": "distant progression-free survival",
                  "PFS": "progression-free survival", "DFS": "disease-free survival",
                  "DMFS": "distant metastasis-free survival", "LRFS": "local recurrence-free survival",
                  "CSS": "cause-specific survival"}


def landmark_name(endpoint: str, horizon_years: float) -> str:
    """``"5-year local control"``."""
    return f"{horizon_years:g}-year {ENDPOINT_NAMES.get(endpoint, endpoint)}"


def study_label(first_author: str, year) -> str:
    """``"Imai 2016"``: how a series is named on every page, in every table and CSV."""
    return f"{first_author} {int(year)}"


# --- histology strata -----------------------------------------------------------------------------
#: The derived study column holding the histology stratum (values :data:`CHORDOMA`, :data:`OTHER`).
HISTOLOGY_STRATUM = "histology_group"
#: Table I's word for a chordoma-only series (``studies.histology``).
CHORDOMA_HISTOLOGY = "Chordoma"
#: Table I's word for a series of mixed histologies (which may include chordomas).
MIXED_HISTOLOGY = "Various"
CHORDOMA, OTHER = "chordoma", "other"
#: Readers' names of the strata, in display order.
HISTOLOGY_STRATUM_NAMES = {CHORDOMA: "Chordoma series", OTHER: "All other series"}
#: Readers' names of the subgroup columns a pooled page reports.
SUBGROUP_NAMES = {HISTOLOGY_STRATUM: "histology", "particle_group": "particle group", "site": "site"}


def histology_stratum(histology: str) -> str:
    """The stratum of one series: :data:`CHORDOMA` when Table I gives "Chordoma", else :data:`OTHER`.

    A series of "Various" histology may include some chordomas; it is in :data:`OTHER` (Table I
    does not say how many), which the pooled pages state.
    """
    return CHORDOMA if str(histology).strip() == CHORDOMA_HISTOLOGY else OTHER


def with_strata(df):
    """``df`` (study rows with ``histology``) with the :data:`HISTOLOGY_STRATUM` column added.

    The one place the stratum is derived; every layer that needs it calls this. A table without
    ``histology`` is returned unchanged (there is nothing to stratify by).
    """
    if "histology" not in df.columns:
        return df
    out = df.copy()
    out[HISTOLOGY_STRATUM] = [histology_stratum(h) for h in out["histology"]]
    return out
